//! The run directory:
//!
//! | file | content |
//! |---|---|
//! | `config.toml` | the resolved training config |
//! | `truth.safetensors` | the ground truth (interchange names) |
//! | `metrics.jsonl`, `metrics.csv` | one row per evaluation (stage, steps, losses, metrics) |
//! | `checkpoint/learner.safetensors` | the learner, same tensor names as `params.safetensors` |
//! | `checkpoint/state.safetensors` | discriminator, optimiser moments, exact `t`, position (metadata) |
//! | `checkpoint/stage-NAME.safetensors` | the learner at the end of each stage |
//! | `learner.safetensors` | the final learner |
//! | `alignment-levelL.json` | E2: `|cos|` of the level's discriminator filters with `M'_l` and `M_l` |
//! | `moment-gaps.png`, `alignment-levelL.png`, `samples.png` | E1, E2, sample grids |
//!
//! Every file is written atomically (temporary name, then rename).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::TrainError;
use crate::io::atomic::write_bytes;

/// One row of metrics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Stage name.
    pub stage: String,
    /// Step within the stage.
    pub stage_step: usize,
    /// Steps since the start of training.
    pub step: usize,
    /// Named values (losses and metrics).
    pub values: BTreeMap<String, f64>,
}

/// The run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// Its path.
    pub path: PathBuf,
}

fn os(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Os {
        path: path.display().to_string(),
        source,
    }
}

impl RunDir {
    /// Opens (creating) `path`.
    ///
    /// # Errors
    /// [`TrainError::Os`] if it cannot be created.
    pub fn create(path: &Path) -> Result<RunDir, TrainError> {
        std::fs::create_dir_all(path.join("checkpoint")).map_err(os(path))?;
        Ok(RunDir {
            path: path.to_path_buf(),
        })
    }

    /// `path/name`.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// All rows of `metrics.jsonl` (incomplete trailing lines are ignored).
    ///
    /// # Errors
    /// [`TrainError::Os`] if the file exists but cannot be read.
    pub fn rows(&self) -> Result<Vec<Row>, TrainError> {
        let p = self.file("metrics.jsonl");
        if !p.exists() {
            return Ok(Vec::new());
        }
        let text = std::fs::read_to_string(&p).map_err(os(&p))?;
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }

    /// Replaces `metrics.jsonl` and `metrics.csv` by `rows`.
    ///
    /// # Errors
    /// [`TrainError::Io`] on write failure.
    pub fn write_rows(&self, rows: &[Row]) -> Result<(), TrainError> {
        let mut jsonl = String::new();
        for r in rows {
            jsonl.push_str(&serde_json::to_string(r).unwrap_or_default());
            jsonl.push('\n');
        }
        write_bytes(&self.file("metrics.jsonl"), jsonl.as_bytes())?;
        let keys: std::collections::BTreeSet<&String> =
            rows.iter().flat_map(|r| r.values.keys()).collect();
        let mut csv = String::from("stage,stage_step,step");
        for k in &keys {
            csv.push(',');
            csv.push_str(k);
        }
        csv.push('\n');
        for r in rows {
            csv.push_str(&format!("{},{},{}", r.stage, r.stage_step, r.step));
            for k in &keys {
                csv.push(',');
                if let Some(v) = r.values.get(*k) {
                    csv.push_str(&format!("{v:e}"));
                }
            }
            csv.push('\n');
        }
        write_bytes(&self.file("metrics.csv"), csv.as_bytes())?;
        Ok(())
    }

    /// Appends one row to `metrics.jsonl` (the CSV is rewritten at checkpoints).
    ///
    /// # Errors
    /// [`TrainError::Os`] on write failure.
    pub fn append(&self, row: &Row) -> Result<(), TrainError> {
        use std::io::Write;
        let p = self.file("metrics.jsonl");
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .map_err(os(&p))?;
        let line = serde_json::to_string(row).unwrap_or_default();
        writeln!(f, "{line}").map_err(os(&p))
    }
}
