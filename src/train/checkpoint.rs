//! Checkpoints: `checkpoint/learner.safetensors` (the learner under the
//! interchange names, so it loads like any `params.safetensors`) and
//! `checkpoint/state.safetensors` (exact `t`, the discriminator's tensors, both
//! optimisers' moments; position and step counts in the metadata). Both are
//! written atomically; a resumed run restores them exactly.

use std::collections::BTreeMap;

use tch::Tensor;

use super::TrainError;
use super::config::{Precision, TrainConfig};
use super::generator::{Generator, tensor_from, values};
use super::optim::Optim;
use super::stage::Disc;
use crate::io::reader::{Tensor as IoTensor, read_checked};
use crate::io::rundir::RunDir;
use crate::io::writer::{CHECKSUM_KEY, Dtype, Format, TensorSpec, TensorWriter};

/// The storage type of a precision.
pub fn dtype(p: Precision) -> Dtype {
    match p {
        Precision::F64 => Dtype::F64,
        Precision::F32 => Dtype::F32,
    }
}

/// The prefix of the learner's interchange tensors in the state file.
pub const LEARNER_PREFIX: &str = "learner/";

/// Saves a checkpoint: first `checkpoint/state.safetensors`, one atomic file
/// with everything a resume reads (the learner under its interchange names
/// prefixed by [`LEARNER_PREFIX`], its exact `t`, the discriminator, both
/// optimisers, the position), then the learner alone as
/// `checkpoint/learner.safetensors` for `fsrgan generate --checkpoint`. A
/// fault between the two writes leaves a state that resumes on its own.
pub fn save_checkpoint(
    run: &RunDir,
    cfg: &TrainConfig,
    learner: &Generator,
    disc: &mut Disc,
    opts: (&Optim, &Optim),
    pos: (usize, usize, usize),
    data_cursor: u64,
) -> Result<(), TrainError> {
    let dtype = dtype(cfg.precision);
    let params = learner.to_params()?;
    let mut named: Vec<(String, Tensor)> = vec![("learner.t".into(), learner.t.shallow_clone())];
    for (name, shape, values) in crate::io::params::named_tensors(&params) {
        let shape: Vec<i64> = shape.iter().map(|&s| s as i64).collect();
        named.push((
            format!("{LEARNER_PREFIX}{name}"),
            Tensor::from_slice(&values).reshape(shape),
        ));
    }
    for (i, p) in disc.params().iter().enumerate() {
        named.push((format!("disc.{i}"), p.shallow_clone()));
    }
    for (who, o) in [("opt_d", opts.0), ("opt_g", opts.1)] {
        for (i, (m, v)) in o.m.iter().zip(&o.v).enumerate() {
            named.push((format!("{who}.m.{i}"), m.shallow_clone()));
            named.push((format!("{who}.v.{i}"), v.shallow_clone()));
        }
    }
    let mut meta = BTreeMap::new();
    meta.insert("format".into(), "fsrgan-train-state".into());
    meta.insert("stage_index".into(), pos.0.to_string());
    meta.insert("stage_step".into(), pos.1.to_string());
    meta.insert("step".into(), pos.2.to_string());
    meta.insert("data_cursor".into(), data_cursor.to_string());
    meta.insert("opt_d.t".into(), opts.0.t.to_string());
    meta.insert("opt_g.t".into(), opts.1.t.to_string());
    meta.insert("config".into(), recorded_config(cfg));
    write_tensors(
        &run.file("checkpoint/state.safetensors"),
        &named,
        dtype,
        &meta,
    )?;
    crate::io::params::write_params(
        &run.file("checkpoint/learner.safetensors"),
        &params,
        cfg.seed,
        dtype,
    )?;
    Ok(())
}

/// The learner saved in a state ([`save_checkpoint`]), checked against `config`.
///
/// # Errors
/// [`TrainError::Resume`] if the state holds no learner (a checkpoint of an
/// older fsrgan); [`TrainError::Io`] if its tensors do not fit `config`.
pub fn saved_learner(
    s: &Saved,
    config: &crate::model::Config,
    run: &RunDir,
) -> Result<crate::model::Params, TrainError> {
    let tensors: BTreeMap<String, IoTensor> = s
        .tensors
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(LEARNER_PREFIX)
                .map(|n| (n.to_string(), v.clone()))
        })
        .collect();
    if tensors.is_empty() {
        return Err(TrainError::Resume {
            path: run.path.display().to_string(),
            reason: "checkpoint/state.safetensors holds no learner (a checkpoint of an older fsrgan): start the run again".into(),
        });
    }
    let file = crate::io::reader::TensorFile {
        tensors,
        metadata: BTreeMap::new(),
    };
    Ok(crate::io::params::params_from_tensors(
        &run.file("checkpoint/state.safetensors"),
        &file,
        config.clone(),
    )?)
}

/// Writes `named` tensors (stored as `dtype`) with `meta` as one
/// `.safetensors` file, atomically (temporary file, then rename).
///
/// # Errors
/// [`TrainError::Io`] if the file cannot be written; [`TrainError`] if a
/// tensor's values cannot be read.
pub fn write_tensors(
    path: &std::path::Path,
    named: &[(String, Tensor)],
    dtype: Dtype,
    meta: &BTreeMap<String, String>,
) -> Result<(), TrainError> {
    let specs = named
        .iter()
        .map(|(n, t)| TensorSpec {
            name: n.clone(),
            dtype,
            shape: t.size().iter().map(|&s| s as usize).collect(),
        })
        .collect();
    // Every file of a run directory carries its own checksum.
    let mut meta = meta.clone();
    meta.insert(CHECKSUM_KEY.to_string(), String::new());
    let mut w = TensorWriter::create(path, Format::Safetensors, specs, &meta)?;
    for (i, (_, t)) in named.iter().enumerate() {
        w.append_f64(i, &values(t)?.1)?;
    }
    w.finish()?;
    Ok(())
}

/// Position and tensors of a saved state.
#[derive(Debug)]
pub struct Saved {
    /// Index of the stage to continue.
    pub stage_index: usize,
    /// Steps done in that stage.
    pub stage_step: usize,
    /// Steps done in total.
    pub step: usize,
    /// The discriminator optimiser's step count.
    pub t_d: u64,
    /// The generator optimiser's step count.
    pub t_g: u64,
    /// Training samples the dataset had served (its position in the
    /// epochs, `train::data`); 0 for runs on the oracle.
    pub data_cursor: u64,
    /// The config the run was trained with ([`recorded_config`]); `None`
    /// for checkpoints written before it was recorded.
    pub config: Option<String>,
    /// The saved tensors by name.
    pub tensors: BTreeMap<String, IoTensor>,
}

/// The config as a checkpoint records it: its TOML, with the one field a
/// resume may change (`debug.stop_after_steps`, the simulated kill) unset.
pub fn recorded_config(cfg: &TrainConfig) -> String {
    let mut c = cfg.clone();
    c.debug.stop_after_steps = None;
    c.to_toml()
}

/// Checks that `cfg`, the config a resume was handed, is the one the
/// checkpoint recorded ([`recorded_config`]): a config edited or emptied
/// since is refused, naming the fields that differ with both values.
///
/// # Errors
/// [`TrainError::Resume`] naming the differing fields.
pub fn check_recorded_config(
    cfg: &TrainConfig,
    saved: &Saved,
    run: &RunDir,
) -> Result<(), TrainError> {
    check_recorded_toml(saved.config.as_deref(), &recorded_config(cfg), &run.path)
}

/// The leaves of a TOML table as `dotted.key -> value` (how config
/// differences are named).
fn flatten(prefix: &str, t: &toml::Table, out: &mut BTreeMap<String, String>) {
    for (k, v) in t {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(inner) => flatten(&key, inner, out),
            v => {
                out.insert(key, v.to_string());
            }
        }
    }
}

/// Reads `checkpoint/state.safetensors` of a run.
///
/// # Errors
/// [`TrainError::Resume`] if it is missing or lacks its metadata.
pub fn load_state(run: &RunDir) -> Result<Saved, TrainError> {
    let path = run.file("checkpoint/state.safetensors");
    let bad = |reason: String| TrainError::Resume {
        path: run.path.display().to_string(),
        reason,
    };
    if !path.exists() {
        return Err(bad(
            "no checkpoint/state.safetensors (the run has no checkpoint yet)".into(),
        ));
    }
    let f = read_checked(&path)?;
    let get = |k: &str| -> Result<u64, TrainError> {
        f.metadata
            .get(k)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad(format!("state metadata lacks `{k}`")))
    };
    Ok(Saved {
        stage_index: get("stage_index")? as usize,
        stage_step: get("stage_step")? as usize,
        step: get("step")? as usize,
        t_d: get("opt_d.t")?,
        t_g: get("opt_g.t")?,
        data_cursor: match f.metadata.get("data_cursor") {
            None => 0,
            Some(_) => get("data_cursor")?,
        },
        config: f.metadata.get("config").cloned(),
        tensors: f.tensors,
    })
}

/// Copies the saved tensor `name` into `dst`.
///
/// # Errors
/// [`TrainError::Resume`] if it is missing or has another shape.
pub fn restore(
    dst: &mut Tensor,
    src: Option<&IoTensor>,
    name: &str,
    run: &RunDir,
) -> Result<(), TrainError> {
    let src = src.ok_or_else(|| TrainError::Resume {
        path: run.path.display().to_string(),
        reason: format!("state lacks `{name}`"),
    })?;
    let a = src.to_f64();
    let want: Vec<usize> = dst.size().iter().map(|&s| s as usize).collect();
    if a.shape() != want.as_slice() {
        return Err(TrainError::Resume {
            path: run.path.display().to_string(),
            reason: format!("`{name}` has shape {:?}, expected {want:?}", a.shape()),
        });
    }
    let t = tensor_from(&a, dst.kind(), dst.device());
    tch::no_grad(|| dst.copy_(&t));
    Ok(())
}

/// Restores the discriminator and both optimisers of the stage being resumed.
///
/// # Errors
/// [`TrainError::Resume`] if a tensor is missing or has another shape.
pub fn restore_stage(
    s: &Saved,
    disc: &mut Disc,
    opt_d: &mut Optim,
    opt_g: &mut Optim,
    run: &RunDir,
) -> Result<(), TrainError> {
    for (i, p) in disc.params().into_iter().enumerate() {
        let name = format!("disc.{i}");
        restore(p, s.tensors.get(&name), &name, run)?;
    }
    // A closed-form discriminator restored mid-stage holds a response.
    if let Disc::Closed(c) = disc {
        c.started = true;
    }
    for (who, o) in [("opt_d", &mut *opt_d), ("opt_g", &mut *opt_g)] {
        for i in 0..o.m.len() {
            let (nm, nv) = (format!("{who}.m.{i}"), format!("{who}.v.{i}"));
            restore(&mut o.m[i], s.tensors.get(&nm), &nm, run)?;
            restore(&mut o.v[i], s.tensors.get(&nv), &nv, run)?;
        }
    }
    opt_d.t = s.t_d;
    opt_g.t = s.t_g;
    Ok(())
}

/// Checks the run's recorded truth (`truth.safetensors`, its checksum
/// verified on the read) against `truth`, the one the resumed run derives
/// from its config and dataset: both absent, or equal value for value.
///
/// # Errors
/// [`TrainError::Resume`] if they differ or one is missing; the read's
/// [`crate::io::IoError`] for a damaged file.
pub fn check_recorded_truth(
    run: &RunDir,
    truth: Option<&crate::model::Params>,
) -> Result<(), TrainError> {
    let path = run.file("truth.safetensors");
    let bad = |reason: String| TrainError::Resume {
        path: run.path.display().to_string(),
        reason,
    };
    match (path.exists(), truth) {
        (false, None) => Ok(()),
        (false, Some(_)) => Err(bad(
            "it has no truth.safetensors, but its config and dataset now have a truth: the run's directory or its dataset was changed; start a new run (--force)".into(),
        )),
        (true, None) => Err(bad(
            "it was scored against the truth in truth.safetensors, but its dataset now has none: point it at its dataset again, or start a new run (--force)".into(),
        )),
        (true, Some(t)) => {
            let stored = crate::io::params::read_params_checked(&path, Some(&t.config))?;
            let a = crate::io::params::named_tensors(&stored);
            let b = crate::io::params::named_tensors(t);
            match a.iter().zip(&b).find(|(x, y)| x != y) {
                None if a.len() == b.len() => Ok(()),
                found => Err(bad(format!(
                    "truth.safetensors is not the truth its config and dataset give{}: the seed or the dataset changed since the run started; start a new run (--force)",
                    found.map_or(String::new(), |(x, _)| format!(" (`{}` differs)", x.0))
                ))),
            }
        }
    }
}

/// Checks a config recorded in a checkpoint (`recorded`, its TOML; `None`
/// for a checkpoint written before configs were recorded) against `now`,
/// the TOML of the config a resume was handed, as [`check_recorded_config`]
/// does for the theory track: texts that differ are compared leaf by leaf
/// (dotted keys), and a difference is refused naming each differing field
/// with both values. Any track's config may be checked with it.
///
/// # Errors
/// [`TrainError::Resume`] (for the run directory `run`) naming the
/// differing fields.
pub fn check_recorded_toml(
    recorded: Option<&str>,
    now: &str,
    run: &std::path::Path,
) -> Result<(), TrainError> {
    let Some(recorded) = recorded else {
        return Ok(());
    };
    if now == recorded {
        return Ok(());
    }
    let flat = |text: &str| -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Ok(t) = text.parse::<toml::Table>() {
            flatten("", &t, &mut out);
        }
        out
    };
    let (a, b) = (flat(recorded), flat(now));
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let unset = "(unset)".to_string();
    let diffs: Vec<String> = keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            format!(
                "`{k}` was {} when the run started, is {} now",
                a.get(k).unwrap_or(&unset),
                b.get(k).unwrap_or(&unset)
            )
        })
        .collect();
    if diffs.is_empty() {
        // The same values, written otherwise.
        return Ok(());
    }
    let shown = diffs.iter().take(8).cloned().collect::<Vec<_>>().join("; ");
    let more = if diffs.len() > 8 {
        format!(" (and {} more)", diffs.len() - 8)
    } else {
        String::new()
    };
    Err(TrainError::Resume {
        path: run.display().to_string(),
        reason: format!(
            "its config.toml differs from the config the run was trained with: {shown}{more}. Restore config.toml, or start a new run (--force)"
        ),
    })
}
