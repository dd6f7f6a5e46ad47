//! Pieces shared by several subcommands: model selection and progress bars
//! (thread pools: [`crate::threads::with_threads`]).

use std::path::PathBuf;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::model::Config;

/// `--preset NAME | --config FILE`.
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = false)]
pub struct ModelChoice {
    /// A built-in preset: tiny, small or paper (see model.md section 5).
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// A TOML config; `preset = "NAME"` inside it starts from a preset.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl ModelChoice {
    /// The validated config.
    pub fn load(&self) -> anyhow::Result<Config> {
        match (&self.preset, &self.config) {
            (Some(name), _) => Ok(Config::preset(name)?),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config {}", path.display()))?;
                Config::from_toml(&text).with_context(|| format!("in config {}", path.display()))
            }
            (None, None) => anyhow::bail!("give --preset NAME or --config FILE"),
        }
    }
}

/// A progress bar on stderr with rate and ETA (hidden when stderr is not a terminal).
pub fn progress_bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(
        "{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, ETA {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}
