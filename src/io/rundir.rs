//! The run directory of `fsrgan train` (pure Rust, so `fsrgan report` and
//! other tools read it without libtorch):
//!
//! | file | content |
//! |---|---|
//! | `config.toml` | the resolved training config |
//! | `truth.safetensors` | the ground truth (interchange names); absent for a dataset of arrays without one |
//! | `data.json` | where the real samples came from: `dataset` (training and held-out counts) or `oracle` |
//! | `metrics.jsonl`, `metrics.csv` | one row per evaluation (stage, steps, losses, metrics) |
//! | `checkpoint/learner.safetensors` | the learner, same tensor names as `params.safetensors` |
//! | `checkpoint/state.safetensors` | discriminator, optimiser moments, exact `t`, position (metadata) |
//! | `checkpoint/stage-NAME.safetensors` | the learner at the end of each stage |
//! | `learner.safetensors` | the final learner |
//! | `alignment-levelL.json` | E2: `|cos|` of the level's discriminator filters with `M'_l` and `M_l` |
//! | `moment-gaps.png`, `alignment-levelL.png` | E1, E2 plots |
//! | `samples.png`, `samples-real.png` | real and learner samples side by side (one colour scale per level), real alone |
//! | `superres.png` | for the same real parents, the real child beside the learner's child, every level `>= 2` |
//! | `plot-warnings.txt` | the plots that could not be drawn (absent when all were) |
//! | `report.md` | `fsrgan report`: the metrics table and the plots |
//! | `.fsrgan.lock` | the advisory lock of the one process training here ([`super::lock`]) |
//!
//! Every file is written atomically (temporary name, then rename). Every
//! tensor file carries its own CRC-32 ([`super::writer::CHECKSUM_KEY`]) and
//! is checked on every read ([`super::reader::read_checked`]). A checkpoint's
//! `state.safetensors` holds everything a resume reads, the learner
//! included, so a fault between two files of a checkpoint cannot pair a
//! learner with another position. NaN metrics are written as `null`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::IoError;
use super::atomic::write_bytes;
use super::lock::{DirLock, RUN_LOCK, remove_stale_temporaries};
use super::params::write_params;
use super::writer::Dtype;
use crate::model::Params;

/// One row of metrics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Stage name.
    pub stage: String,
    /// Step within the stage.
    pub stage_step: usize,
    /// Steps since the start of training.
    pub step: usize,
    /// Wall-clock seconds since the start of training (summed over resumed runs).
    #[serde(default)]
    pub secs: f64,
    /// Seconds spent in this stage's GAN steps up to this row (evaluations,
    /// checkpoints and warm starts excluded; counted from the start of this
    /// invocation when the stage was resumed), for steps per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_secs: Option<f64>,
    /// Named values (losses and metrics). JSON has no NaN or infinity: a
    /// NaN is written as `null` and ±infinity as `"inf"`/`"-inf"`, and read back.
    #[serde(with = "nonfinite")]
    pub values: BTreeMap<String, f64>,
}

/// (De)serialises a map of f64 whose values may be NaN or infinite, in
/// legal JSON: NaN as `null`, ±infinity as the strings `"inf"` and `"-inf"`.
mod nonfinite {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Value {
        Number(f64),
        Text(String),
        Null(()),
    }

    pub fn serialize<S: Serializer>(m: &BTreeMap<String, f64>, s: S) -> Result<S::Ok, S::Error> {
        let out: BTreeMap<&String, Value> = m
            .iter()
            .map(|(k, &v)| {
                let v = match v {
                    v if v.is_nan() => Value::Null(()),
                    f64::INFINITY => Value::Text("inf".into()),
                    f64::NEG_INFINITY => Value::Text("-inf".into()),
                    v => Value::Number(v),
                };
                (k, v)
            })
            .collect();
        out.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
        let m = BTreeMap::<String, Option<Value>>::deserialize(d)?;
        m.into_iter()
            .map(|(k, v)| {
                let x = match v {
                    None | Some(Value::Null(())) => f64::NAN,
                    Some(Value::Number(x)) => x,
                    Some(Value::Text(t)) => match t.as_str() {
                        "inf" => f64::INFINITY,
                        "-inf" => f64::NEG_INFINITY,
                        "nan" | "NaN" => f64::NAN,
                        other => {
                            return Err(serde::de::Error::custom(format!(
                                "value `{k}`: expected a number, null (NaN), \"inf\" or \"-inf\", got \"{other}\""
                            )));
                        }
                    },
                };
                Ok((k, x))
            })
            .collect()
    }
}

/// The run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// Its path.
    pub path: PathBuf,
    /// The lock of a training process ([`RunDir::create`]).
    lock: Option<std::sync::Arc<DirLock>>,
}

impl RunDir {
    /// Opens (creating) `path` for the one training process that may write
    /// it: takes its lock ([`RUN_LOCK`]), then removes the temporary files
    /// killed processes left in it and in `checkpoint/`.
    ///
    /// # Errors
    /// [`IoError::Locked`] if another process trains into `path`;
    /// [`IoError::Os`] if it cannot be created.
    pub fn create(path: &Path) -> Result<RunDir, IoError> {
        not_a_file(path, path)?;
        std::fs::create_dir_all(path).map_err(IoError::os(path))?;
        let lock = DirLock::acquire_shared(&path.join(RUN_LOCK), path)?;
        not_a_file(&path.join("checkpoint"), path)?;
        std::fs::create_dir_all(path.join("checkpoint")).map_err(IoError::os(path))?;
        remove_stale_temporaries(path)?;
        remove_stale_temporaries(&path.join("checkpoint"))?;
        Ok(RunDir {
            path: path.to_path_buf(),
            lock: Some(lock),
        })
    }

    /// Clears `path` for a new run (`--force`): takes its lock first, so a
    /// process training there is never cleared under (it is refused with
    /// [`IoError::Locked`]), then removes everything in it but the lock file.
    /// The returned lock is shared with this process's [`RunDir::create`]
    /// ([`DirLock::acquire_shared`]): hold it until the new run has its own.
    ///
    /// # Errors
    /// [`IoError::Locked`] if another process holds the lock; [`IoError::Os`]
    /// if an entry cannot be removed.
    pub fn start_over(path: &Path) -> Result<std::sync::Arc<DirLock>, IoError> {
        not_a_file(path, path)?;
        std::fs::create_dir_all(path).map_err(IoError::os(path))?;
        let lock = DirLock::acquire_shared(&path.join(RUN_LOCK), path)?;
        for entry in std::fs::read_dir(path).map_err(IoError::os(path))? {
            let entry = entry.map_err(IoError::os(path))?;
            if entry.file_name() == RUN_LOCK {
                continue;
            }
            let p = entry.path();
            let gone = if entry.file_type().map_err(IoError::os(&p))?.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            gone.map_err(IoError::os(&p))?;
        }
        Ok(lock)
    }

    /// Whether this process holds the directory's lock.
    pub fn is_locked(&self) -> bool {
        self.lock.is_some()
    }

    /// Starts a new run in a directory from [`RunDir::create`]: writes
    /// `config.toml`, the ground truth `truth.safetensors` (float64, with its
    /// checksum; none for a dataset without one) and empty metrics. The one set-up of both tracks.
    ///
    /// # Errors
    /// [`IoError`] if a file cannot be written.
    pub fn start_new(
        &self,
        config_toml: &str,
        truth: Option<&Params>,
        seed: u64,
    ) -> Result<(), IoError> {
        write_bytes(&self.file("config.toml"), config_toml.as_bytes())?;
        if let Some(truth) = truth {
            write_params(&self.file("truth.safetensors"), truth, seed, Dtype::F64)?;
        }
        self.write_rows(&[])
    }

    /// Resumes a run at position `at` = (stage index in `stages`, step in
    /// that stage): keeps the logged rows before it, or at it when the stage
    /// is resumed mid-way (a stage resumed from its start logs its start row
    /// again), and the rows of the `init` pseudo-stage; rewrites the metrics
    /// with them and returns them. The one resume of both tracks.
    ///
    /// # Errors
    /// [`IoError`] if the metrics cannot be read or written.
    pub fn resume_rows(&self, stages: &[String], at: (usize, usize)) -> Result<Vec<Row>, IoError> {
        let rows: Vec<Row> = self
            .rows()?
            .into_iter()
            .filter(|r| {
                if r.stage == "init" {
                    return true;
                }
                stages
                    .iter()
                    .position(|n| *n == r.stage)
                    .map(|i| (i, r.stage_step))
                    .is_some_and(|p| p < at || (p == at && at.1 > 0))
            })
            .collect();
        self.write_rows(&rows)?;
        Ok(rows)
    }

    /// `path/name`.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Opens an existing run directory (one with a `metrics.jsonl`).
    ///
    /// # Errors
    /// [`IoError::Invalid`] if `path` holds no run.
    pub fn open(path: &Path) -> Result<RunDir, IoError> {
        if !path.join("metrics.jsonl").is_file() {
            return Err(IoError::Invalid(format!(
                "{} is not a run directory (no metrics.jsonl)",
                path.display()
            )));
        }
        Ok(RunDir {
            path: path.to_path_buf(),
            lock: None,
        })
    }

    /// All rows of `metrics.jsonl`. A last line that does not parse is taken
    /// as cut off by an interrupted run and ignored; any other bad line is an error.
    ///
    /// # Errors
    /// [`IoError::Os`] if the file exists but cannot be read,
    /// [`IoError::Corrupt`] for a malformed line before the last.
    pub fn rows(&self) -> Result<Vec<Row>, IoError> {
        let p = self.file("metrics.jsonl");
        if !p.exists() {
            return Ok(Vec::new());
        }
        let text = std::fs::read_to_string(&p).map_err(IoError::os(&p))?;
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let mut rows = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            match serde_json::from_str::<Row>(line) {
                Ok(r) => rows.push(r),
                Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => {}
                Err(e) => return Err(IoError::corrupt(&p, format!("line {}: {e}", i + 1))),
            }
        }
        Ok(rows)
    }

    /// Replaces `metrics.jsonl` and `metrics.csv` by `rows`.
    ///
    /// # Errors
    /// [`IoError`] on write failure.
    pub fn write_rows(&self, rows: &[Row]) -> Result<(), IoError> {
        let mut jsonl = String::new();
        for r in rows {
            jsonl.push_str(&row_json(r, &self.file("metrics.jsonl"))?);
            jsonl.push('\n');
        }
        write_bytes(&self.file("metrics.jsonl"), jsonl.as_bytes())?;
        let keys: std::collections::BTreeSet<&String> =
            rows.iter().flat_map(|r| r.values.keys()).collect();
        let mut csv = String::from("stage,stage_step,step,secs,step_secs");
        for k in &keys {
            csv.push(',');
            csv.push_str(k);
        }
        csv.push('\n');
        for r in rows {
            let step_secs = r.step_secs.map_or(String::new(), |v| format!("{v:.4}"));
            csv.push_str(&format!(
                "{},{},{},{:.3},{step_secs}",
                r.stage, r.stage_step, r.step, r.secs
            ));
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
    /// [`IoError::Os`] on write failure.
    pub fn append(&self, row: &Row) -> Result<(), IoError> {
        use std::io::Write;
        let p = self.file("metrics.jsonl");
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .map_err(IoError::os(&p))?;
        let line = row_json(row, &p)?;
        writeln!(f, "{line}").map_err(IoError::writing(&p, line.len() as u64 + 1))
    }
}

/// One row as a JSON line.
fn row_json(row: &Row, path: &Path) -> Result<String, IoError> {
    serde_json::to_string(row)
        .map_err(|e| IoError::Invalid(format!("{}: a metrics row: {e}", path.display())))
}

/// Refuses a run directory path (or its `checkpoint/`) that exists as
/// something other than a directory, naming it, before anything is created.
fn not_a_file(p: &Path, run: &Path) -> Result<(), IoError> {
    match std::fs::metadata(p) {
        Ok(m) if !m.is_dir() => Err(IoError::os(p)(std::io::Error::other(format!(
            "exists and is not a directory, so {} is not a run directory fsrgan can use: move it away or pick another --out",
            run.display()
        )))),
        _ => Ok(()),
    }
}
