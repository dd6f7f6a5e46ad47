//! `fsrgan sample`.

use std::process::ExitCode;

/// Arguments of `fsrgan sample`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `fsrgan sample`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
