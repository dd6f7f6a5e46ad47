//! `fsrgan demo`.

use std::process::ExitCode;

/// Arguments of `fsrgan demo`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `fsrgan demo`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
