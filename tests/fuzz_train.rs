//! Fuzz surfaces 2 and 3 (issue 34 item 7): `fsrgan train --config X --out
//! D --device cpu` with theory-track configs (surface 2) and practice-track
//! configs (`track = "practice"`, surface 3) whose fields are set to hostile
//! values (0, negative, 1e11, 1e308, NaN, inf, a string where a number
//! belongs), unknown keys, fields the chosen discriminator or method does
//! not read, and broken combinations. Every case starts from a tiny config
//! (a run of a few steps, seconds on one core) so a valid one finishes well
//! inside the per-case limit. No crash, no hang, no exit 0 on an invalid
//! config, every refusal naming the field (harness: `tests/fuzz/mod.rs`).
#![cfg(feature = "torch")]

mod fuzz;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fuzz::{Case, Expect, Hostile, Kind, Mutation, Surface, hostile_expect, pick, set_toml};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Theory-track mutations known to fail, skipped with a note.
const KNOWN_OPEN_THEORY: &[&str] = &[];
/// Practice-track mutations known to fail, skipped with a note
/// (`FUZZ_KNOWN=1` runs them). `eval` and `reference` = 1e11, open until
/// 2026-12-08 (an abort), now refused at their ceiling. Open:
/// `[practice] lr_g = 1e11` trains to NaN samples with finite parameters:
/// the run does not stop at the step naming the stage (as it does with
/// `lr_g = 1e308`); the evaluation fails with `generated set: level 1,
/// sample 0 holds NaN or infinity`, naming neither a stage, a step nor a
/// field.
const KNOWN_OPEN_PRACTICE: &[&str] = &["practice.lr_g=1e11"];

/// A fuzzed field: its table, its key, and what each hostile value is.
type Field = (&'static str, &'static str, Box<dyn Fn(Hostile) -> Expect>);

const LIMIT: Duration = Duration::from_secs(20);

/// The theory track's base: `tiny` at 2 steps a stage, small batches.
const THEORY_BASE: &str = r#"preset = "tiny"
batch = 64
eval_batch = 32
final_eval = 64
real_samples = 256
samples = 512
metrics_every = 1
checkpoint_every = 1

[dictionary]
steps = 2

[level1]
steps = 2

[superres]
steps = 2
candidates = 1

[cpu]
threads = 1
"#;

/// The practice track's base: 2 steps of a narrow DCGAN.
const PRACTICE_BASE: &str = r#"track = "practice"
metrics_every = 1
checkpoint_every = 1
eval = 64
reference = 128

[practice]
steps = 2
batch = 16
width = 8
z_dim = 8
max_seconds = 10

[cpu]
threads = 1
"#;

/// A config mutation: TOML edits `(table, key, raw value)`, extra
/// arguments, or a whole replacement of the file.
#[derive(Clone)]
struct CfgMut {
    m: Mutation,
    edits: Vec<(String, String, String)>,
    args: Vec<String>,
    raw: Option<Vec<u8>>,
}

fn edit(id: &str, e: Expect, names: &[&str], edits: &[(&str, &str, &str)]) -> CfgMut {
    CfgMut {
        m: Mutation::new(id, e, names),
        edits: edits
            .iter()
            .map(|(t, k, v)| (t.to_string(), k.to_string(), v.to_string()))
            .collect(),
        args: vec![],
        raw: None,
    }
}

/// An argument mutation; a refusal may also name one of its values, as
/// clap names a value starting with `-` that it reads as a flag
/// (`unexpected argument '-1' found` for `--threads -1`).
fn args(id: &str, e: Expect, names: &[&str], a: &[&str]) -> CfgMut {
    let mut names: Vec<&str> = names.to_vec();
    names.extend(
        a.iter()
            .filter(|v| v.starts_with('-') && !v.starts_with("--")),
    );
    CfgMut {
        m: Mutation::new(id, e, &names),
        edits: vec![],
        args: a.iter().map(|s| s.to_string()).collect(),
        raw: None,
    }
}

fn raw(id: &str, e: Expect, names: &[&str], bytes: &[u8]) -> CfgMut {
    CfgMut {
        m: Mutation::new(id, e, names),
        edits: vec![],
        args: vec![],
        raw: Some(bytes.to_vec()),
    }
}

/// A hostile value `v` for field `key` of table `table`: its mutation.
fn hostile(table: &str, key: &str, v: Hostile, e: Expect) -> CfgMut {
    let full = if table.is_empty() {
        key.to_string()
    } else {
        format!("{table}.{key}")
    };
    // A huge but valid rate or weight may make the run diverge: it stops
    // naming the stage and step (`stage `superres2` step 2: ...`, the
    // practice track's `stage `end_to_end` step 1: ...`).
    let names: Vec<&str> = if e == Expect::Either && !table.is_empty() {
        vec![key, "stage `"]
    } else {
        vec![key]
    };
    edit(
        &format!("{full}={}", v.tag()),
        e,
        &names,
        &[(table, key, v.toml())],
    )
}

// ------------------------------------------------------------ theory track

/// The theory track's numeric fields and the expectation of each hostile
/// value (the rules of `src/train/config.rs` and `src/train/limits.rs`
/// against the base: `dictionary` and `level1` play the closed form with
/// Adam, `superres` the witness with one start).
fn theory_fields() -> Vec<Field> {
    use Expect::*;
    use Hostile::*;
    let k = |kind: Kind| -> Box<dyn Fn(Hostile) -> Expect> {
        Box::new(move |v| hostile_expect(kind, v))
    };
    let count = |min, capped| k(Kind::Count { min, capped });
    // A field the base never reads: any value other than the preset's is refused.
    let unread = |preset_zero: bool| -> Box<dyn Fn(Hostile) -> Expect> {
        Box::new(move |v| {
            if v == Zero && preset_zero {
                Either
            } else {
                Invalid
            }
        })
    };
    let mut f: Vec<Field> = vec![
        ("", "seed", k(Kind::Seed)),
        ("", "train_seed", k(Kind::Seed)),
        ("", "samples", count(4, true)),
        ("", "heldout", count(2, true)),
        ("", "batch", count(2, true)),
        ("", "eval_batch", count(16, true)),
        ("", "final_eval", count(16, true)),
        ("", "metrics_every", count(1, false)),
        ("", "checkpoint_every", count(1, false)),
        ("", "real_samples", count(100, true)),
        ("", "warm_samples", unread(false)),
        ("", "init_threshold", k(Kind::Finite)),
        ("", "init_bias", k(Kind::Finite)),
        ("", "decode_tau", k(Kind::NonNegative)),
        ("cpu", "threads", count(1, false)),
    ];
    for stage in ["dictionary", "level1", "superres"] {
        let witness = stage == "superres";
        f.push((stage, "steps", count(0, true)));
        f.push((stage, "lr_g", k(Kind::Positive)));
        f.push((stage, "beta1", k(Kind::Unit)));
        f.push((stage, "beta2", k(Kind::Unit)));
        f.push((stage, "batch", count(2, true)));
        f.push((stage, "candidates", count(1, true)));
        // One start: select_after is unread (its preset value is 0 but in superres).
        f.push((stage, "select_after", unread(!witness)));
        f.push((
            stage,
            "adversarial",
            Box::new(|v| match v {
                // With recon = 0 the generator would have no loss.
                Zero => Invalid,
                _ => hostile_expect(Kind::NonNegative, v),
            }),
        ));
        if witness {
            f.push((stage, "n_d", count(1, true)));
            f.push((stage, "lr_d", k(Kind::Positive)));
            f.push((stage, "gamma", k(Kind::Positive)));
            f.push((stage, "hidden", count(1, true)));
            f.push((stage, "recon", k(Kind::NonNegative)));
            f.push((stage, "leak", k(Kind::Unit)));
        } else {
            // The closed form reads none of n_d, gamma, hidden; lr_d is in (0, 1].
            f.push((stage, "n_d", Box::new(|_| Invalid)));
            f.push((stage, "gamma", unread(false)));
            f.push((stage, "hidden", unread(false)));
            f.push((
                stage,
                "lr_d",
                Box::new(|v| match v {
                    E11 | E308 => Invalid,
                    _ => hostile_expect(Kind::Positive, v),
                }),
            ));
            // Only super-resolution has an L1 term and a ReLU to train: 0 is
            // the preset's value, anything else is refused.
            f.push((stage, "recon", unread(true)));
            f.push((stage, "leak", unread(true)));
        }
    }
    // The model, through [model].
    for (key, kind) in [
        (
            "levels",
            Kind::Count {
                min: 1,
                capped: true,
            },
        ),
        (
            "m",
            Kind::Count {
                min: 1,
                capped: true,
            },
        ),
        (
            "d0",
            Kind::Count {
                min: 1,
                capped: true,
            },
        ),
        (
            "calibration_samples",
            Kind::Count {
                min: 256,
                capped: true,
            },
        ),
    ] {
        f.push(("model", key, k(kind)));
    }
    f.push(("model", "k", Box::new(|_| Invalid)));
    f.push(("model", "kernel", Box::new(|_| Invalid)));
    f
}

/// Named theory-track mutations: the unread fields of the README's list,
/// broken combinations, unknown keys, syntax, arguments; and a few valid.
fn theory_specials() -> Vec<CfgMut> {
    use Expect::*;
    vec![
        edit(
            "dictionary.gamma=2 (closed form)",
            Invalid,
            &["gamma"],
            &[("dictionary", "gamma", "2.0")],
        ),
        edit(
            "level1.n_d=3 (closed form)",
            Invalid,
            &["n_d"],
            &[("level1", "n_d", "3")],
        ),
        edit(
            "superres.loss=minimax (witness)",
            Invalid,
            &["loss"],
            &[("superres", "loss", "\"minimax\"")],
        ),
        edit(
            "dictionary.loss=minimax (closed)",
            Invalid,
            &["loss"],
            &[("dictionary", "loss", "\"minimax\"")],
        ),
        edit(
            "dictionary.update=simultaneous (closed)",
            Invalid,
            &["update"],
            &[("dictionary", "update", "\"simultaneous\"")],
        ),
        edit(
            "dictionary.hidden=32 (closed)",
            Invalid,
            &["hidden"],
            &[("dictionary", "hidden", "32")],
        ),
        edit(
            "level1.select_after=1 (one start)",
            Invalid,
            &["select_after"],
            &[("level1", "select_after", "1")],
        ),
        edit(
            "warm_samples=5000 (no warm start)",
            Invalid,
            &["warm_samples"],
            &[("", "warm_samples", "5000")],
        ),
        edit(
            "data=oracle with samples",
            Invalid,
            &["samples", "oracle"],
            &[("", "data", "\"oracle\"")],
        ),
        edit(
            "heldout=511 of 512",
            Invalid,
            &["heldout"],
            &[("", "heldout", "511")],
        ),
        edit(
            "superres.adversarial=0 recon=0",
            Invalid,
            &["adversarial", "recon"],
            &[("superres", "adversarial", "0.0")],
        ),
        edit(
            "superres.candidates=2 select_after=0",
            Invalid,
            &["select_after", "candidates"],
            &[
                ("superres", "candidates", "2"),
                ("superres", "select_after", "0"),
            ],
        ),
        edit(
            "superres.candidates=2 select_after=3 > steps",
            Invalid,
            &["select_after"],
            &[
                ("superres", "candidates", "2"),
                ("superres", "select_after", "3"),
            ],
        ),
        edit(
            "superres.recon=1 condition=generated",
            Invalid,
            &["recon", "condition"],
            &[
                ("superres", "recon", "1.0"),
                ("", "condition", "\"generated\""),
            ],
        ),
        edit(
            "dictionary.disc=witness",
            Invalid,
            &["disc", "witness"],
            &[("dictionary", "disc", "\"witness\"")],
        ),
        edit(
            "dictionary.disc=bogus",
            Invalid,
            &["disc", "bogus"],
            &[("dictionary", "disc", "\"bogus\"")],
        ),
        edit(
            "level1.init=bogus",
            Invalid,
            &["init", "bogus"],
            &[("level1", "init", "\"bogus\"")],
        ),
        edit(
            "dictionary.optimizer=7",
            Invalid,
            &["optimizer"],
            &[("dictionary", "optimizer", "7")],
        ),
        edit(
            "superres.schedule=nan",
            Invalid,
            &["schedule"],
            &[("superres", "schedule", "nan")],
        ),
        edit(
            "precision=f16",
            Invalid,
            &["precision", "f16"],
            &[("", "precision", "\"f16\"")],
        ),
        edit(
            "condition=true",
            Invalid,
            &["condition"],
            &[("", "condition", "true")],
        ),
        edit(
            "data=bogus",
            Invalid,
            &["data", "bogus"],
            &[("", "data", "\"bogus\"")],
        ),
        edit(
            "dictionary.inverse_variance=1",
            Invalid,
            &["inverse_variance"],
            &[("dictionary", "inverse_variance", "1")],
        ),
        edit(
            "dictionary.warm_start=true",
            Invalid,
            &["warm_start"],
            &[("dictionary", "warm_start", "true")],
        ),
        edit(
            "track=Practice",
            Invalid,
            &["track"],
            &[("", "track", "\"Practice\"")],
        ),
        edit("track=3", Invalid, &["track"], &[("", "track", "3")]),
        edit(
            "preset=nope",
            Invalid,
            &["preset", "nope"],
            &[("", "preset", "\"nope\"")],
        ),
        edit(
            "preset=tiny:bogus",
            Invalid,
            &["preset", "bogus"],
            &[("", "preset", "\"tiny:bogus\"")],
        ),
        edit("preset=1", Invalid, &["preset"], &[("", "preset", "1")]),
        edit(
            "unknown top-level key",
            Invalid,
            &["bogus_key"],
            &[("", "bogus_key", "1")],
        ),
        edit(
            "unknown [dictionary] key",
            Invalid,
            &["bogus_key"],
            &[("dictionary", "bogus_key", "1")],
        ),
        edit(
            "unknown [model] key",
            Invalid,
            &["bogus_key"],
            &[("model", "bogus_key", "1")],
        ),
        edit(
            "unknown [cpu] key",
            Invalid,
            &["bogus_key"],
            &[("cpu", "bogus_key", "1")],
        ),
        edit(
            "unknown [debug] key",
            Invalid,
            &["bogus_key"],
            &[("debug", "bogus_key", "1")],
        ),
        edit(
            "unknown table",
            Invalid,
            &["bogus_table"],
            &[("bogus_table", "x", "1")],
        ),
        edit(
            "cpu.wait=sometimes",
            Invalid,
            &["wait", "sometimes"],
            &[("cpu", "wait", "\"sometimes\"")],
        ),
        edit(
            "model.sigma=1 (level 1 noise)",
            Invalid,
            &["sigma"],
            &[("model", "sigma", "1.0")],
        ),
        edit(
            "model.dictionary=bogus",
            Invalid,
            &["dictionary", "bogus"],
            &[("model", "dictionary", "\"bogus\"")],
        ),
        edit(
            "dataset=/nonexistent",
            Invalid,
            &["nonexistent", "dataset"],
            &[("", "dataset", "\"/nonexistent/fuzz\"")],
        ),
        edit(
            "debug.real_truth_seed=-1",
            Invalid,
            &["real_truth_seed"],
            &[("debug", "real_truth_seed", "-1")],
        ),
        raw(
            "syntax: value missing",
            Invalid,
            &["batch"],
            b"preset = \"tiny\"\nbatch = \n",
        ),
        raw(
            "syntax: duplicate key",
            Invalid,
            &["batch"],
            b"preset = \"tiny\"\nbatch = 64\nbatch = 64\n",
        ),
        raw(
            "not UTF-8",
            Invalid,
            &["fuzz.toml", "utf-8", "utf8"],
            b"preset = \"tiny\"\n\xff\xfe = 1\n",
        ),
        raw(
            "a table as preset",
            Invalid,
            &["preset"],
            b"[preset]\nx = 1\n",
        ),
        args(
            "--config missing",
            Invalid,
            &["missing.toml"],
            &["--config", "missing.toml"],
        ),
        args(
            "--device gpu9",
            Invalid,
            &["--device", "gpu9"],
            &["--device", "gpu9"],
        ),
        args(
            "--omp-wait sometimes",
            Invalid,
            &["--omp-wait", "sometimes"],
            &["--omp-wait", "sometimes"],
        ),
        args(
            "--threads -1",
            Invalid,
            &["--threads"],
            &["--threads", "-1"],
        ),
        args(
            "--threads 0",
            Invalid,
            &["--threads", "threads"],
            &["--threads", "0"],
        ),
        args(
            "--threads 1e11",
            Either,
            &["--threads", "threads"],
            &["--threads", "100000000000"],
        ),
        args(
            "--data /nonexistent",
            Invalid,
            &["nonexistent", "--data"],
            &["--data", "/nonexistent/fuzz"],
        ),
        args(
            "--out is a file",
            Invalid,
            &["afile", "--out", "out"],
            &["--out", "afile"],
        ),
        args(
            "--resume and --config",
            Either,
            &["--resume", "resume"],
            &["--resume", "run"],
        ),
        args(
            "--preset nope",
            Invalid,
            &["nope", "preset"],
            &["--preset", "nope"],
        ),
        // Valid by construction.
        edit("seed=7", Valid, &[], &[("", "seed", "7")]),
        edit("train_seed=99", Valid, &[], &[("", "train_seed", "99")]),
        edit("metrics_every=2", Valid, &[], &[("", "metrics_every", "2")]),
        edit("precision=f32", Valid, &[], &[("", "precision", "\"f32\"")]),
        edit(
            "condition=generated",
            Valid,
            &[],
            &[("", "condition", "\"generated\"")],
        ),
        edit(
            "superres.hidden=32 (witness)",
            Valid,
            &[],
            &[("superres", "hidden", "32")],
        ),
        edit(
            "superres.gamma=0.5 (witness)",
            Valid,
            &[],
            &[("superres", "gamma", "0.5")],
        ),
        edit(
            "dictionary.steps=3",
            Valid,
            &[],
            &[("dictionary", "steps", "3")],
        ),
        edit(
            "data=oracle",
            Valid,
            &[],
            &[("", "data", "\"oracle\""), ("", "samples", "100000")],
        ),
        edit("heldout=100", Valid, &[], &[("", "heldout", "100")]),
    ]
}

fn theory_valid() -> Vec<CfgMut> {
    theory_specials()
        .into_iter()
        .filter(|m| m.m.expect == Expect::Valid)
        .collect()
}

fn theory_table() -> Vec<CfgMut> {
    let mut t = Vec::new();
    for (table, key, rule) in theory_fields() {
        for v in Hostile::ALL {
            t.push(hostile(table, key, v, rule(v)));
        }
    }
    t
}

// ---------------------------------------------------------- practice track

fn practice_fields() -> Vec<Field> {
    use Expect::*;
    use Hostile::*;
    let k = |kind: Kind| -> Box<dyn Fn(Hostile) -> Expect> {
        Box::new(move |v| hostile_expect(kind, v))
    };
    let count = |min, capped| k(Kind::Count { min, capped });
    let p = "practice";
    vec![
        ("", "metrics_every", count(1, false)),
        ("", "checkpoint_every", count(1, false)),
        // 1e11 samples per evaluation cannot be generated: refused or an error.
        ("", "eval", count(16, true)),
        ("", "reference", count(16, true)),
        ("", "heldout", count(4, false)),
        ("cpu", "threads", count(1, false)),
        (p, "z_dim", count(1, true)),
        (p, "width", count(1, true)),
        (p, "blocks", count(0, true)),
        (p, "n_d", count(1, true)),
        (p, "batch", count(2, true)),
        // The wall-clock budget (max_seconds = 10) ends a run of 1e11 steps.
        (p, "steps", count(1, false)),
        (p, "max_steps", count(1, false)),
        (p, "fade_steps", count(0, false)),
        (p, "max_seconds", k(Kind::Positive)),
        (p, "leaky_slope", k(Kind::Unit)),
        (p, "lr_g", k(Kind::Positive)),
        (p, "lr_d", k(Kind::Positive)),
        (p, "clip", k(Kind::Positive)),
        (p, "gp_weight", k(Kind::NonNegative)),
        (p, "drift", k(Kind::NonNegative)),
        (p, "beta1", k(Kind::Unit)),
        (p, "beta2", k(Kind::Unit)),
        (p, "seed", k(Kind::Seed)),
        (p, "info_codes", count(2, true)),
        (p, "began_hidden", count(1, true)),
        (p, "minibatch_features", count(0, true)),
        // Labels condition cgan only: any other value than 0 is refused with gan.
        (
            p,
            "classes",
            Box::new(|v| if v == Zero { Either } else { Invalid }),
        ),
        (p, "info_weight", k(Kind::NonNegative)),
        (p, "l1_weight", k(Kind::NonNegative)),
        (p, "cycle_weight", k(Kind::NonNegative)),
        (p, "began_lambda_k", k(Kind::NonNegative)),
        (p, "historical_weight", k(Kind::NonNegative)),
        (
            p,
            "began_gamma",
            Box::new(|v| {
                if v == Zero {
                    Invalid
                } else {
                    hostile_expect(Kind::Unit, v)
                }
            }),
        ),
        (p, "vae_sigma", k(Kind::Positive)),
        // In (0.5, 1].
        (p, "real_label", Box::new(|_| Invalid)),
    ]
}

fn practice_specials() -> Vec<CfgMut> {
    use Expect::*;
    let p = "practice";
    vec![
        edit(
            "wgan_gp with d_norm=batch",
            Invalid,
            &["d_norm"],
            &[(p, "loss", "\"wgan_gp\""), (p, "d_norm", "\"batch\"")],
        ),
        edit(
            "wgan_gp with gp_weight=0",
            Invalid,
            &["gp_weight"],
            &[(p, "loss", "\"wgan_gp\""), (p, "gp_weight", "0.0")],
        ),
        edit(
            "vae with loss=wgan",
            Invalid,
            &["loss"],
            &[(p, "method", "\"vae\""), (p, "loss", "\"wgan\"")],
        ),
        edit(
            "vae with n_d=2",
            Invalid,
            &["n_d"],
            &[(p, "method", "\"vae\""), (p, "n_d", "2")],
        ),
        edit(
            "pix2pix end to end",
            Invalid,
            &["mode"],
            &[(p, "method", "\"pix2pix\"")],
        ),
        edit(
            "began layerwise",
            Invalid,
            &["mode"],
            &[(p, "method", "\"began\""), (p, "mode", "\"layerwise\"")],
        ),
        edit(
            "cgan on an unlabelled set",
            Invalid,
            &["cgan", "label", "classes"],
            &[(p, "method", "\"cgan\"")],
        ),
        edit(
            "cyclegan on a single domain",
            Invalid,
            &["cyclegan", "domain"],
            &[(p, "method", "\"cyclegan\""), (p, "mode", "\"layerwise\"")],
        ),
        edit(
            "cyclegan with virtual batch norm",
            Invalid,
            &["g_norm"],
            &[
                (p, "method", "\"cyclegan\""),
                (p, "mode", "\"layerwise\""),
                (p, "g_norm", "\"virtual_batch\""),
            ],
        ),
        edit(
            "classes=1 cgan",
            Invalid,
            &["classes"],
            &[(p, "method", "\"cgan\""), (p, "classes", "1")],
        ),
        edit(
            "classes=3 with gan",
            Invalid,
            &["classes"],
            &[(p, "classes", "3")],
        ),
        edit(
            "progressive fade_steps > steps",
            Invalid,
            &["fade_steps"],
            &[(p, "mode", "\"progressive\""), (p, "fade_steps", "5")],
        ),
        edit(
            "progressive fade_steps=0",
            Invalid,
            &["fade_steps"],
            &[(p, "mode", "\"progressive\""), (p, "fade_steps", "0")],
        ),
        edit(
            "real_label=0.9 with wgan",
            Invalid,
            &["real_label"],
            &[(p, "loss", "\"wgan\""), (p, "real_label", "0.9")],
        ),
        edit(
            "minibatch_features with wgan_gp",
            Invalid,
            &["minibatch_features"],
            &[(p, "loss", "\"wgan_gp\""), (p, "minibatch_features", "4")],
        ),
        edit(
            "feature_matching with vae",
            Invalid,
            &["feature_matching"],
            &[(p, "method", "\"vae\""), (p, "feature_matching", "true")],
        ),
        edit("widths=[]", Invalid, &["widths"], &[(p, "widths", "[]")]),
        edit(
            "widths=[8] (2 levels)",
            Invalid,
            &["widths"],
            &[(p, "widths", "[8]")],
        ),
        edit(
            "widths=[8, 0]",
            Invalid,
            &["widths"],
            &[(p, "widths", "[8, 0]")],
        ),
        edit(
            "widths=[8, 1e11]",
            Invalid,
            &["widths"],
            &[(p, "widths", "[8, 100000000000]")],
        ),
        edit(
            "widths=\"8\"",
            Invalid,
            &["widths"],
            &[(p, "widths", "\"8\"")],
        ),
        edit(
            "lower=random end to end",
            Invalid,
            &["lower"],
            &[("", "lower", "\"random\"")],
        ),
        edit("lower=3", Invalid, &["lower"], &[("", "lower", "3")]),
        edit(
            "mode=bogus",
            Invalid,
            &["mode", "bogus"],
            &[(p, "mode", "\"bogus\"")],
        ),
        edit(
            "loss=bogus",
            Invalid,
            &["loss", "bogus"],
            &[(p, "loss", "\"bogus\"")],
        ),
        edit(
            "method=bogus",
            Invalid,
            &["method", "bogus"],
            &[(p, "method", "\"bogus\"")],
        ),
        edit("g_norm=7", Invalid, &["g_norm"], &[(p, "g_norm", "7")]),
        edit("d_norm=nan", Invalid, &["d_norm"], &[(p, "d_norm", "nan")]),
        edit(
            "resample=bogus",
            Invalid,
            &["resample", "bogus"],
            &[(p, "resample", "\"bogus\"")],
        ),
        edit(
            "to_rgb=bogus",
            Invalid,
            &["to_rgb", "bogus"],
            &[(p, "to_rgb", "\"bogus\"")],
        ),
        edit(
            "equalized_lr=1",
            Invalid,
            &["equalized_lr"],
            &[(p, "equalized_lr", "1")],
        ),
        edit(
            "precision=f16",
            Invalid,
            &["precision", "f16"],
            &[(p, "precision", "\"f16\"")],
        ),
        edit(
            "track=practise",
            Invalid,
            &["track", "practise"],
            &[("", "track", "\"practise\"")],
        ),
        edit(
            "model=small beside a tiny dataset",
            Invalid,
            &["model"],
            &[("", "model", "\"small\"")],
        ),
        edit(
            "model=nope",
            Invalid,
            &["model", "nope"],
            &[("", "model", "\"nope\"")],
        ),
        edit("model=3", Invalid, &["model"], &[("", "model", "3")]),
        edit(
            "unknown top-level key",
            Invalid,
            &["bogus_key"],
            &[("", "bogus_key", "1")],
        ),
        edit(
            "unknown [practice] key",
            Invalid,
            &["bogus_key"],
            &[(p, "bogus_key", "1")],
        ),
        edit(
            "unknown [debug] key",
            Invalid,
            &["bogus_key"],
            &[("debug", "bogus_key", "1")],
        ),
        edit(
            "theory key in practice",
            Invalid,
            &["batch"],
            &[("", "batch", "64")],
        ),
        edit(
            "[dictionary] table in practice",
            Invalid,
            &["dictionary"],
            &[("dictionary", "steps", "2")],
        ),
        raw(
            "syntax: value missing",
            Invalid,
            &["steps"],
            b"track = \"practice\"\n[practice]\nsteps = \n",
        ),
        args("no --data", Invalid, &["--data", "data"], &["--no-data"]),
        args(
            "--data /nonexistent",
            Invalid,
            &["nonexistent"],
            &["--data", "/nonexistent/fuzz"],
        ),
        args(
            "--data a plain set without a model",
            Invalid,
            &["model"],
            &["--data", "plain.npz"],
        ),
        args(
            "--threads 0",
            Invalid,
            &["--threads", "threads"],
            &["--threads", "0"],
        ),
        // Valid by construction.
        edit("loss=hinge", Valid, &[], &[(p, "loss", "\"hinge\"")]),
        edit("loss=wgan_gp", Valid, &[], &[(p, "loss", "\"wgan_gp\"")]),
        edit("loss=lsgan", Valid, &[], &[(p, "loss", "\"lsgan\"")]),
        edit("loss=minimax", Valid, &[], &[(p, "loss", "\"minimax\"")]),
        edit(
            "mode=layerwise",
            Valid,
            &[],
            &[(p, "mode", "\"layerwise\"")],
        ),
        edit(
            "mode=progressive fade_steps=1",
            Valid,
            &[],
            &[(p, "mode", "\"progressive\""), (p, "fade_steps", "1")],
        ),
        edit("seed=9", Valid, &[], &[(p, "seed", "9")]),
        CfgMut {
            m: Mutation::new("a plain set with model = tiny", Expect::Valid, &[]),
            edits: vec![("".into(), "model".into(), "\"tiny\"".into())],
            args: vec!["--data".into(), "plain.npz".into()],
            raw: None,
        },
    ]
}

fn practice_table() -> Vec<CfgMut> {
    let mut t = Vec::new();
    for (table, key, rule) in practice_fields() {
        for v in Hostile::ALL {
            t.push(hostile(table, key, v, rule(v)));
        }
    }
    t
}

// ------------------------------------------------------------------ cases

/// The key a mutation sets first, so that two mutations of a case never
/// set the same one (nor two replace the file or its arguments).
fn key_of(m: &CfgMut) -> String {
    if let Some((t, k, _)) = m.edits.first() {
        format!("{t}.{k}")
    } else if m.raw.is_some() {
        "(raw)".into()
    } else {
        format!("(args){}", m.args.first().cloned().unwrap_or_default())
    }
}

fn draw(
    rng: &mut ChaCha8Rng,
    i: usize,
    valid: &[CfgMut],
    table: &[CfgMut],
    specials: &[CfgMut],
) -> Vec<CfgMut> {
    if i == 0 {
        return vec![];
    }
    if i < 3 {
        return vec![pick(rng, valid).clone()];
    }
    let one = |rng: &mut ChaCha8Rng| -> CfgMut {
        if rng.random_bool(0.55) {
            pick(rng, table).clone()
        } else {
            pick(rng, specials).clone()
        }
    };
    let mut out = vec![one(rng)];
    if rng.random_bool(0.25) {
        let second = one(rng);
        let lone = |m: &CfgMut| m.raw.is_some() || !m.args.is_empty();
        let keys: Vec<String> = out.iter().map(key_of).collect();
        let clash = second.edits.iter().any(|(t, k, _)| {
            out.iter()
                .flat_map(|o| &o.edits)
                .any(|(t2, k2, _)| t == t2 && k == k2)
        });
        if !keys.contains(&key_of(&second)) && !clash && !lone(&second) && !lone(&out[0]) {
            out.push(second);
        }
    }
    out
}

/// Builds the case: the config file `fuzz.toml` (the base with the edits,
/// or the replacement bytes) and `fsrgan train --config fuzz.toml --out run
/// --device cpu` with the extra arguments.
fn train_case(dir: &Path, base: &str, data: Option<&Path>, muts: Vec<CfgMut>) -> Case {
    let mut text = base.to_string();
    let mut bytes: Option<Vec<u8>> = None;
    for m in &muts {
        for (t, k, v) in &m.edits {
            text = set_toml(&text, t, k, v);
        }
        if let Some(r) = &m.raw {
            bytes = Some(r.clone());
        }
    }
    let file = bytes.clone().unwrap_or_else(|| text.clone().into_bytes());
    std::fs::write(dir.join("fuzz.toml"), &file).unwrap();
    std::fs::write(dir.join("afile"), "a file, not a directory").unwrap();
    std::fs::create_dir_all(dir.join("run")).unwrap();
    let extra: Vec<String> = muts.iter().flat_map(|m| m.args.clone()).collect();
    let has = |f: &str| extra.iter().any(|a| a == f);
    let mut a: Vec<String> = vec!["train".into()];
    if !has("--config") && !has("--preset") {
        a.extend(["--config".into(), "fuzz.toml".into()]);
    }
    if !has("--out") && !has("--resume") {
        a.extend(["--out".into(), "run".into()]);
    }
    if !has("--device") {
        a.extend(["--device".into(), "cpu".into()]);
    }
    if let Some(d) = data
        && !has("--data")
        && !has("--no-data")
    {
        a.extend(["--data".into(), d.display().to_string()]);
    }
    a.extend(extra.into_iter().filter(|x| x != "--no-data"));
    let mut cmd = Command::new(fuzz::bin());
    cmd.args(&a).current_dir(dir);
    let shown = if bytes.is_some() {
        String::from_utf8_lossy(&file).into_owned()
    } else {
        // The edited lines only (the base is in tests/fuzz_train.rs).
        muts.iter()
            .flat_map(|m| &m.edits)
            .map(|(t, k, v)| {
                if t.is_empty() {
                    format!("{k} = {v}")
                } else {
                    format!("[{t}] {k} = {v}")
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    Case {
        mutations: if muts.is_empty() {
            vec![Mutation::new("base", Expect::Valid, &[])]
        } else {
            muts.into_iter().map(|m| m.m).collect()
        },
        cmd,
        limit: LIMIT,
        stdout_is_message: false,
        refusal_codes: vec![],
        input: format!("config (base + edits): {shown}\nfsrgan {}", a.join(" ")),
    }
}

#[test]
fn fuzz_theory_training_configs() {
    let mut s = Surface::new("theory", 0x7E_0002, KNOWN_OPEN_THEORY);
    let (valid, table, specials) = (theory_valid(), theory_table(), theory_specials());
    for i in fuzz::indices(fuzz::cases()) {
        let mut rng = s.rng(i);
        let muts = draw(&mut rng, i, &valid, &table, &specials);
        let tmp = fuzz::tempdir();
        let case = train_case(tmp.path(), THEORY_BASE, None, muts);
        s.run_case(i, case);
    }
    s.finish();
}

#[test]
fn fuzz_practice_training_configs() {
    let mut s = Surface::new("practice", 0x9C_0003, KNOWN_OPEN_PRACTICE);
    let data = fuzz::tempdir();
    fuzz::setup(
        &[
            "sample", "--preset", "tiny", "--n", "512", "--seed", "1", "--out", "tiny",
        ],
        data.path(),
    );
    let dataset = data.path().join("tiny");
    let specials = practice_specials();
    let valid: Vec<CfgMut> = specials
        .iter()
        .filter(|m| m.m.expect == Expect::Valid)
        .cloned()
        .collect();
    let table = practice_table();
    for i in fuzz::indices(fuzz::cases()) {
        let mut rng = s.rng(i);
        let muts = draw(&mut rng, i, &valid, &table, &specials);
        let tmp = fuzz::tempdir();
        // A plain set of x1, x2 (no manifest, no truth) beside the case.
        std::fs::copy(dataset.join("samples.npz"), tmp.path().join("plain.npz")).unwrap();
        let case = train_case(tmp.path(), PRACTICE_BASE, Some(&dataset), muts);
        s.run_case(i, case);
    }
    s.finish();
}
