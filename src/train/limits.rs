//! The training config's limits and the fields it reads, checked when a
//! config is validated, before anything is allocated or trained.
//!
//! **Sizes.** Every count has a fixed ceiling (below) and, where the
//! machine says how much memory it has ([`crate::machine::memory_bytes`]),
//! a memory bound: `count` samples need at least `4 count f` bytes, where a
//! sample's `f` floats are its images and codes at every level
//! (`sum_l c r_l^2 + m_l n_l^2`, plus `d0`; a super-resolution batch adds
//! the witness's `4 hidden n_L^2` features). That is a lower bound (what
//! training holds beside the samples is not counted), so only a config
//! that cannot fit is refused, naming the field, its limit and why.
//!
//! | field | ceiling |
//! |---|---|
//! | `batch`, `eval_batch`, `[stage] batch` | 2^20 |
//! | `final_eval`, `real_samples`, `warm_samples`, `samples`, `heldout` | 2^24 |
//! | `[stage] steps`, `select_after` | 10^7 |
//! | `[stage] candidates` | 16 |
//! | `[stage] n_d` | 100 |
//! | `[stage] hidden` | 4096 |
//!
//! **Fields that are read.** A field a config sets (its own keys, not the
//! preset's) to a value other than the preset's must change the run: one
//! that the stage's discriminator or the run never reads is refused, naming
//! it and the setting that would read it ([`refuse_unread`]). A key set to
//! the preset's own value is accepted, so a run's spelled-out `config.toml`
//! starts a new run as it is.

use super::TrainError;
use super::config::{DataMode, DiscKind, Init, Optimizer, StageConfig, TrainConfig, Update};

/// Ceiling of the batch sizes (`batch`, `eval_batch`, a stage's `batch`).
pub const MAX_BATCH: usize = 1 << 20;
/// Ceiling of the sample counts (`final_eval`, `real_samples`,
/// `warm_samples`, `samples`, `heldout`).
pub const MAX_SAMPLES: usize = 1 << 24;
/// Ceiling of a stage's `steps` and `select_after`.
pub const MAX_STEPS: usize = 10_000_000;
/// Ceiling of a stage's random starts (`candidates`).
pub const MAX_CANDIDATES: usize = 16;
/// Ceiling of the discriminator steps per generator step (`n_d`), the
/// practice track's too.
pub const MAX_N_D: usize = 100;
/// Ceiling of the witness's ReLU features per child offset (`hidden`).
pub const MAX_HIDDEN: usize = 4096;

fn bad(field: &str, rule: String) -> TrainError {
    TrainError::InvalidConfig {
        field: field.into(),
        rule,
    }
}

/// Floats of one sample at every level: images, codes and the latent
/// (`sum_l c r_l^2 + m_l n_l^2 + d0`).
fn floats_per_sample(cfg: &TrainConfig) -> f64 {
    let m = &cfg.model;
    let levels: usize = (0..m.levels)
        .map(|l| m.channels * m.resolution(l).pow(2) + m.m[l] * m.n(l).pow(2))
        .sum();
    (levels + m.d0) as f64
}

/// The config's counts of samples as `(field, value, ceiling)`, after the
/// stage fields (steps, starts, `n_d`, `hidden`) are checked against theirs.
///
/// # Errors
/// [`TrainError::InvalidConfig`] for a stage field over its ceiling.
fn counts(cfg: &TrainConfig) -> Result<Vec<(String, usize, usize)>, TrainError> {
    let stages = [
        ("dictionary", &cfg.dictionary),
        ("level1", &cfg.level1),
        ("superres", &cfg.superres),
    ];
    let mut counts: Vec<(String, usize, usize)> = vec![
        ("batch".into(), cfg.batch, MAX_BATCH),
        ("eval_batch".into(), cfg.eval_batch, MAX_BATCH),
        ("final_eval".into(), cfg.final_eval, MAX_SAMPLES),
        ("real_samples".into(), cfg.real_samples, MAX_SAMPLES),
        ("warm_samples".into(), cfg.warm_samples, MAX_SAMPLES),
    ];
    if cfg.dataset.is_none() && cfg.data == DataMode::Dataset {
        counts.push(("samples".into(), cfg.samples, MAX_SAMPLES));
    }
    if let Some(h) = cfg.heldout {
        counts.push(("heldout".into(), h, MAX_SAMPLES));
    }
    for (name, s) in stages {
        if let Some(b) = s.batch {
            counts.push((format!("{name}.batch"), b, MAX_BATCH));
        }
        for (field, v, max) in [
            ("steps", s.steps, MAX_STEPS),
            ("select_after", s.select_after, MAX_STEPS),
            ("candidates", s.candidates, MAX_CANDIDATES),
            ("n_d", s.n_d, MAX_N_D),
            ("hidden", s.hidden, MAX_HIDDEN),
        ] {
            if v > max {
                return Err(bad(
                    &format!("{name}.{field}"),
                    format!("must be at most {max}, got {v}"),
                ));
            }
        }
    }
    Ok(counts)
}

/// Checks every count against its ceiling and, where the machine's memory is
/// known, against the memory it needs (module doc).
///
/// # Errors
/// [`TrainError::InvalidConfig`] naming the field, its limit and the reason.
pub fn check_sizes(cfg: &TrainConfig) -> Result<(), TrainError> {
    let counts = counts(cfg)?;
    for (field, v, max) in &counts {
        if v > max {
            return Err(bad(
                field,
                format!("must be at most {max} (the documented ceiling), got {v}"),
            ));
        }
    }
    let Some(memory) = crate::machine::memory_bytes() else {
        return Ok(());
    };
    // A lower bound: the samples alone, at 4 bytes a float (the least any
    // path holds them in), so a config is refused only where it cannot fit.
    let per_sample = floats_per_sample(cfg) * 4.0;
    let witness = if cfg.superres.disc == DiscKind::Witness {
        let m = &cfg.model;
        let n = m.n(m.levels.saturating_sub(1)) as f64;
        4.0 * cfg.superres.hidden as f64 * n * n * 4.0
    } else {
        0.0
    };
    for (field, v, _) in &counts {
        let each = per_sample
            + if field == "superres.batch" {
                witness
            } else {
                0.0
            };
        let need = *v as f64 * each;
        if need > memory as f64 {
            return Err(bad(
                field,
                format!(
                    "{v} samples need at least {} ({} bytes per sample), more than this machine's {}: lower it",
                    crate::machine::gib(need),
                    each,
                    crate::machine::gib(memory as f64)
                ),
            ));
        }
    }
    Ok(())
}

/// Why a stage field set in a config is not read, or `None` when it is.
fn unread_stage_field(name: &str, s: &StageConfig, key: &str) -> Option<String> {
    let disc = match s.disc {
        DiscKind::Closed => "closed",
        DiscKind::Ascent => "ascent",
        DiscKind::Witness => "witness",
    };
    let plays = s.adversarial > 0.0;
    let no_disc = || {
        Some(format!(
            "with adversarial = 0 the stage plays no discriminator, so `{key}` is never read; remove it or set adversarial > 0"
        ))
    };
    match key {
        "disc" | "lr_d" if !plays => no_disc(),
        "gamma" | "n_d" | "hidden" | "loss" | "update" if !plays => no_disc(),
        "gamma" if s.disc == DiscKind::Closed => Some(
            "the closed-form discriminator never reads gamma (its response is lambda = R - F on each fake batch); remove it, or set disc = \"ascent\" | \"witness\", whose ascent steps read it".into(),
        ),
        "n_d" if s.disc == DiscKind::Closed => Some(
            "the closed-form discriminator responds once per generator step, so n_d is never read; remove it, or set disc = \"ascent\" | \"witness\"".into(),
        ),
        "n_d" if s.disc == DiscKind::Ascent && s.update == Update::Simultaneous => Some(
            "with update = \"simultaneous\" both players take one step on the same batch, so n_d is never read; remove it or set update = \"alternating\"".into(),
        ),
        "update" if s.disc != DiscKind::Ascent => Some(format!(
            "disc = \"{disc}\" always alternates (its response, then the generator's step), so update is never read; remove it, or set disc = \"ascent\""
        )),
        "hidden" if s.disc != DiscKind::Witness => Some(format!(
            "hidden is the witness's number of features; disc = \"{disc}\" never reads it: remove it, or set disc = \"witness\""
        )),
        "inverse_variance" if !(name == "level1" && s.disc == DiscKind::Closed && plays) => Some(
            "it weighs the closed-form level-1 discriminator's code features: only [level1] with disc = \"closed\" reads it".into(),
        ),
        "beta1" | "beta2" if s.optimizer != Optimizer::Adam => Some(format!(
            "{key} is Adam's; with optimizer = \"sgd\" it is never read: remove it, or set optimizer = \"adam\""
        )),
        "select_after" if s.candidates < 2 => Some(
            "it is the length of each random start's trial, read only with candidates >= 2: remove it or set candidates".into(),
        ),
        _ => None,
    }
}

/// Refuses every field that `user` (a config's own keys, without the preset
/// it starts from) sets to a value other than its preset's (`base`) and the
/// resolved config `cfg` never reads: stage
/// fields of a discriminator the stage does not play (`gamma` and `n_d` of
/// the closed form, `hidden` without the witness, `update` but for `ascent`,
/// every discriminator field with `adversarial = 0`), Adam's betas with SGD,
/// `select_after` with one start, `inverse_variance` but for the closed-form
/// `level1`; and run fields: `warm_samples` without a `moments` stage or an ascent-trained `level1`,
/// `real_samples` without a closed-form stage, `samples` and `heldout` with
/// the oracle, `samples` beside a `dataset`.
///
/// # Errors
/// [`TrainError::InvalidConfig`] naming the field and the setting that would
/// read it.
pub fn refuse_unread(
    cfg: &TrainConfig,
    user: &toml::Table,
    base: &toml::Table,
) -> Result<(), TrainError> {
    // A key set to its preset's value changes nothing either way (a run's
    // spelled-out config.toml, reused as a config, sets every key so).
    let same = |table: Option<&str>, key: &str, v: &toml::Value| {
        let b = match table {
            Some(t) => base.get(t).and_then(toml::Value::as_table),
            None => Some(base),
        };
        b.and_then(|b| b.get(key)) == Some(v)
    };
    let stages = [
        ("dictionary", &cfg.dictionary),
        ("level1", &cfg.level1),
        ("superres", &cfg.superres),
    ];
    for (name, s) in stages {
        if let Some(toml::Value::Table(t)) = user.get(name) {
            for (key, v) in t {
                if same(Some(name), key, v) {
                    continue;
                }
                if let Some(why) = unread_stage_field(name, s, key) {
                    return Err(bad(&format!("{name}.{key}"), why));
                }
            }
        }
    }
    let any = |f: &dyn Fn(&StageConfig) -> bool| stages.iter().any(|(_, s)| f(s));
    let oracle = cfg.data == DataMode::Oracle;
    for (key, v) in user {
        if same(None, key, v) {
            continue;
        }
        let why = match key.as_str() {
            "warm_samples"
                if !any(&|s| s.init == Init::Moments) && cfg.level1.disc != DiscKind::Ascent =>
            {
                Some(
                    "it sizes the method-of-moments warm starts and the real side of the ascent-trained level-1 discriminator, and no stage has init = \"moments\" nor [level1] disc = \"ascent\": remove it".to_string(),
                )
            }
            "real_samples"
                if !any(&|s| s.disc == DiscKind::Closed && s.adversarial > 0.0) =>
            {
                Some(
                    "it is the real side of the closed-form discriminators, and no stage plays disc = \"closed\": remove it".into(),
                )
            }
            "samples" | "heldout" if oracle => Some(format!(
                "data = \"oracle\" draws every batch afresh from the truth and keeps no dataset, so `{key}` is never read: remove it or set data = \"dataset\""
            )),
            "samples" if cfg.dataset.is_some() => Some(
                "the dataset's own samples are trained, so `samples` (the size of a dataset drawn from the truth) is never read: remove it".into(),
            ),
            _ => None,
        };
        if let Some(why) = why {
            return Err(bad(key, why));
        }
    }
    Ok(())
}
