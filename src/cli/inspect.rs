//! `fsrgan inspect`.

use std::process::ExitCode;

/// Arguments of `fsrgan inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `fsrgan inspect`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
