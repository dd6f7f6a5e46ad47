//! `fsrgan verify`: runs the theory's claims at a user-chosen size.

use std::process::ExitCode;

/// Arguments of `fsrgan verify`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `fsrgan verify`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("fsrgan verify is not implemented yet")
}
