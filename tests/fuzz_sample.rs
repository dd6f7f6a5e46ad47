//! Fuzz surface 1 (issue 34 item 7): `fsrgan sample` with hostile model
//! configs (a preset with one or two fields overridden by hostile values)
//! and hostile arguments (`--n`, `--shard`, `--classes`, `--domains`,
//! `--chunk`, ...), and `fsrgan inspect` on damaged datasets (flipped bits,
//! truncated, emptied or missing files, NaN and infinity in the arrays and
//! hostile `.npy` headers behind refreshed checksums, edited manifest
//! dtypes, shapes, counts and checksums). No crash, no hang, no exit 0 on an
//! invalid input, every refusal naming something of the case; the harness
//! and its knobs (`FUZZ_CASES`, `FUZZ_SEED`, `FUZZ_ONLY`, `FUZZ_VERBOSE`)
//! are in `tests/fuzz/mod.rs`.

mod fuzz;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fuzz::{Case, Expect, Hostile, Kind, Mutation, Surface, hostile_expect, pick};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Mutations of `sample` known to fail, skipped with a note (see the
/// suite's report). Ids or prefixes ending in `*`.
const KNOWN_OPEN_SAMPLE: &[&str] = &[];
/// Mutations of `inspect` known to fail, skipped with a note.
const KNOWN_OPEN_INSPECT: &[&str] = &[];

const LIMIT: Duration = Duration::from_secs(20);

/// The model config fields of `sample --config` and their kinds.
fn model_fields() -> Vec<(&'static str, Kind)> {
    let c = |min, capped| Kind::Count { min, capped };
    vec![
        ("levels", c(1, true)),
        ("channels", c(1, true)),
        ("patch", c(1, true)),
        ("n1", c(1, true)),
        ("d0", c(1, true)),
        ("m", c(1, true)),
        ("kernel", c(2, true)),
        ("calibration_samples", c(256, true)),
        ("alpha_max", Kind::Positive),
        ("decode_tau", Kind::NonNegative),
    ]
}

/// What a hostile value of a model field is; the fields whose rules
/// `hostile_expect`'s kinds do not spell out are special-cased.
fn model_expect(field: &str, kind: Kind, v: Hostile) -> Expect {
    match (field, v) {
        // kernel is 2 or 4: 0 and 1e11 are both invalid.
        ("kernel", _) => Expect::Invalid,
        // alpha_max >= alpha_min = 0.8.
        ("alpha_max", Hostile::Zero) => Expect::Invalid,
        _ => hostile_expect(kind, v),
    }
}

/// A `sample` mutation: its description, extra arguments and the config's
/// extra lines (none: `--preset tiny`).
struct SampleMut {
    m: Mutation,
    args: Vec<String>,
    config: Vec<String>,
}

/// An argument mutation; a refusal may also name one of its arguments
/// (of two characters or more: `'-1'`, `--shard`).
fn arg_mut(id: &str, expect: Expect, names: &[&str], args: &[&str]) -> SampleMut {
    let mut names: Vec<&str> = names.to_vec();
    names.extend(args.iter().filter(|a| a.len() >= 2));
    // clap reads a value starting with `-` as a flag and names its start
    // (`unexpected argument '-1' found` for `--shard -1/2`).
    names.extend(
        args.iter()
            .filter(|a| a.starts_with('-') && !a.starts_with("--"))
            .map(|a| a.split('/').next().unwrap()),
    );
    SampleMut {
        m: Mutation::new(id, expect, &names),
        args: args.iter().map(|s| s.to_string()).collect(),
        config: vec![],
    }
}

fn cfg_mut(id: &str, expect: Expect, names: &[&str], lines: &[&str]) -> SampleMut {
    SampleMut {
        m: Mutation::new(id, expect, names),
        args: vec![],
        config: lines.iter().map(|s| s.to_string()).collect(),
    }
}

/// Valid-by-construction `sample` mutations.
fn sample_valid() -> Vec<SampleMut> {
    use Expect::Valid;
    vec![
        arg_mut("sample:base", Valid, &[], &[]),
        arg_mut("--hidden", Valid, &[], &["--hidden"]),
        arg_mut(
            "--format safetensors",
            Valid,
            &[],
            &["--format", "safetensors"],
        ),
        arg_mut("--shard 1/2", Valid, &[], &["--shard", "1/2"]),
        arg_mut("--shard 0/1", Valid, &[], &["--shard", "0/1"]),
        arg_mut("--classes 2", Valid, &[], &["--classes", "2"]),
        arg_mut("--classes 1", Valid, &[], &["--classes", "1"]),
        arg_mut("--domains 2", Valid, &[], &["--domains", "2"]),
        arg_mut("--chunk 1", Valid, &[], &["--chunk", "1"]),
        arg_mut("--params-dtype f64", Valid, &[], &["--params-dtype", "f64"]),
        arg_mut(
            "--seed 2^64-1",
            Valid,
            &[],
            &["--seed", "18446744073709551615"],
        ),
        arg_mut("--grid", Valid, &[], &["--grid", "g.png"]),
        cfg_mut("config:k=0.4", Valid, &[], &["k = 0.4"]),
        cfg_mut(
            "config:dictionary=unit",
            Valid,
            &[],
            &["dictionary = \"unit\""],
        ),
        cfg_mut("config:seedless-preset", Valid, &[], &[]),
    ]
}

/// The table of hostile `sample` mutations (arguments and config lines).
fn sample_table() -> Vec<SampleMut> {
    use Expect::{Either, Invalid};
    let mut t = vec![
        arg_mut("--n 0", Invalid, &["--n", "empty"], &["--n", "0"]),
        arg_mut("--n -1", Invalid, &["--n", "-1"], &["--n", "-1"]),
        arg_mut(
            "--n 1e11 (text)",
            Invalid,
            &["--n", "1e11"],
            &["--n", "1e11"],
        ),
        arg_mut("--n nan", Invalid, &["--n", "nan"], &["--n", "nan"]),
        arg_mut(
            "--n 2^64",
            Invalid,
            &["--n"],
            &["--n", "18446744073709551616"],
        ),
        arg_mut(
            "--n 1e11",
            Invalid,
            &["--n", "100000000000", "disk", "bytes", "space", "memory"],
            &["--n", "100000000000"],
        ),
        arg_mut("--seed -1", Invalid, &["--seed"], &["--seed", "-1"]),
        arg_mut(
            "--seed 2^64",
            Invalid,
            &["--seed"],
            &["--seed", "18446744073709551616"],
        ),
        arg_mut(
            "--shard 0/0",
            Invalid,
            &["--shard", "shard"],
            &["--shard", "0/0"],
        ),
        arg_mut(
            "--shard 2/2",
            Invalid,
            &["--shard", "shard"],
            &["--shard", "2/2"],
        ),
        arg_mut(
            "--shard 3/2",
            Invalid,
            &["--shard", "shard"],
            &["--shard", "3/2"],
        ),
        arg_mut(
            "--shard -1/2",
            Invalid,
            &["--shard", "shard"],
            &["--shard", "-1/2"],
        ),
        arg_mut(
            "--shard 0/100 (empty)",
            Invalid,
            &["--shard", "shard"],
            &["--shard", "0/100"],
        ),
        arg_mut(
            "--shard 0/2^64-1 (empty)",
            Invalid,
            &["--shard", "shard"],
            &["--shard", "0/18446744073709551615"],
        ),
        arg_mut(
            "--shard a/b",
            Invalid,
            &["--shard", "shard"],
            &["--shard", "a/b"],
        ),
        arg_mut(
            "--shard 1",
            Invalid,
            &["--shard", "shard"],
            &["--shard", "1"],
        ),
        arg_mut(
            "--shard 1e11/2e11",
            Invalid,
            &["--shard", "shard"],
            &["--shard", "1e11/2e11"],
        ),
        arg_mut(
            "--classes 0",
            Invalid,
            &["--classes", "classes"],
            &["--classes", "0"],
        ),
        arg_mut(
            "--classes -1",
            Invalid,
            &["--classes"],
            &["--classes", "-1"],
        ),
        arg_mut(
            "--classes 1e11",
            Invalid,
            &["--classes", "classes"],
            &["--classes", "100000000000"],
        ),
        arg_mut(
            "--classes 2^64",
            Invalid,
            &["--classes"],
            &["--classes", "18446744073709551616"],
        ),
        arg_mut(
            "--domains 0",
            Invalid,
            &["--domains", "domains"],
            &["--domains", "0"],
        ),
        arg_mut(
            "--domains 3",
            Invalid,
            &["--domains", "domains"],
            &["--domains", "3"],
        ),
        arg_mut(
            "--domains -1",
            Invalid,
            &["--domains"],
            &["--domains", "-1"],
        ),
        arg_mut(
            "--domains 1e11",
            Invalid,
            &["--domains", "domains"],
            &["--domains", "100000000000"],
        ),
        arg_mut(
            "--classes 2 --domains 2",
            Invalid,
            &["--classes", "--domains", "classes", "domains"],
            &["--classes", "2", "--domains", "2"],
        ),
        arg_mut(
            "--chunk 0",
            Invalid,
            &["--chunk", "chunk"],
            &["--chunk", "0"],
        ),
        arg_mut(
            "--chunk 1e11",
            Invalid,
            &["--chunk", "chunk"],
            &["--chunk", "100000000000"],
        ),
        arg_mut(
            "--format xyz",
            Invalid,
            &["--format", "xyz"],
            &["--format", "xyz"],
        ),
        arg_mut(
            "--params-dtype f16",
            Invalid,
            &["--params-dtype", "f16"],
            &["--params-dtype", "f16"],
        ),
        arg_mut(
            "--threads -1",
            Invalid,
            &["--threads"],
            &["--threads", "-1"],
        ),
        arg_mut(
            "--threads 1e11",
            Either,
            &["--threads", "threads"],
            &["--threads", "100000000000"],
        ),
        arg_mut(
            "--preset nope",
            Invalid,
            &["nope", "preset"],
            &["--preset", "nope"],
        ),
        arg_mut(
            "--grid in a missing dir",
            Invalid,
            &["grid", "missing"],
            &["--grid", "missing/dir/g.png"],
        ),
        arg_mut(
            "--out is a file",
            Invalid,
            &["afile", "--out", "out"],
            &["--out", "afile"],
        ),
        arg_mut(
            "--config missing",
            Invalid,
            &["missing.toml"],
            &["--config", "missing.toml"],
        ),
        cfg_mut("config:k=0", Invalid, &["k"], &["k = 0"]),
        cfg_mut("config:k=nan", Invalid, &["k"], &["k = nan"]),
        cfg_mut("config:k=-1", Invalid, &["k"], &["k = -1"]),
        cfg_mut("config:k=1e11", Invalid, &["k"], &["k = 1e11"]),
        cfg_mut("config:k=[0.5]", Either, &["k"], &["k = [0.5]"]),
        cfg_mut(
            "config:k=[0.5,0.5,0.5]",
            Invalid,
            &["k"],
            &["k = [0.5, 0.5, 0.5]"],
        ),
        cfg_mut("config:k=[]", Invalid, &["k"], &["k = []"]),
        cfg_mut("config:sigma=1", Invalid, &["sigma"], &["sigma = 1.0"]),
        cfg_mut(
            "config:sigma=[0,nan]",
            Invalid,
            &["sigma"],
            &["sigma = [0.0, nan]"],
        ),
        cfg_mut(
            "config:sigma=[0,-1]",
            Invalid,
            &["sigma"],
            &["sigma = [0.0, -1.0]"],
        ),
        cfg_mut(
            "config:alpha_min=1e308",
            Invalid,
            &["alpha_min"],
            &["alpha_min = 1e308"],
        ),
        cfg_mut(
            "config:alpha_min=nan",
            Invalid,
            &["alpha_min"],
            &["alpha_min = nan"],
        ),
        cfg_mut(
            "config:alpha_min=0",
            Invalid,
            &["alpha_min"],
            &["alpha_min = 0.0"],
        ),
        cfg_mut(
            "config:alpha_min>alpha_max",
            Invalid,
            &["alpha_min", "alpha_max"],
            &["alpha_min = 2.0", "alpha_max = 1.0"],
        ),
        cfg_mut(
            "config:dictionary=bogus",
            Invalid,
            &["dictionary", "bogus"],
            &["dictionary = \"bogus\""],
        ),
        cfg_mut("config:output=3", Invalid, &["output"], &["output = 3"]),
        cfg_mut(
            "config:resolutions wrong",
            Invalid,
            &["resolutions"],
            &["resolutions = [4, 9]"],
        ),
        cfg_mut(
            "config:unknown key",
            Invalid,
            &["bogus_key"],
            &["bogus_key = 1"],
        ),
        cfg_mut(
            "config:preset=nope",
            Invalid,
            &["nope", "preset"],
            &["preset = \"nope\""],
        ),
        cfg_mut("config:preset=5", Invalid, &["preset"], &["preset = 5"]),
        cfg_mut("config:syntax", Invalid, &["levels"], &["levels = "]),
        cfg_mut("config:duplicate key", Invalid, &["m"], &["m = 4", "m = 4"]),
        cfg_mut(
            "config:huge model (m 1e6, d0 1e6)",
            Invalid,
            &["m", "d0", "scalars"],
            &["m = 1000000", "d0 = 1000000"],
        ),
        cfg_mut(
            "config:n1=65536 levels=8",
            Invalid,
            &["n1", "levels", "scalars"],
            &["n1 = 65536", "levels = 8"],
        ),
    ];
    for (field, kind) in model_fields() {
        for v in Hostile::ALL {
            let e = model_expect(field, kind, v);
            t.push(SampleMut {
                m: Mutation::new(format!("config:{field}={}", v.tag()), e, &[field]),
                args: vec![],
                config: vec![format!("{field} = {}", v.toml())],
            });
        }
    }
    t
}

fn sample_case(dir: &Path, muts: Vec<SampleMut>) -> Case {
    let use_config = muts
        .iter()
        .any(|m| !m.config.is_empty() || m.m.id.starts_with("config:"));
    let mut args: Vec<String> = vec!["sample".into()];
    let mut input = String::new();
    let preset_given = muts
        .iter()
        .any(|m| m.args.iter().any(|a| a == "--preset" || a == "--config"));
    if use_config {
        let mut text = String::from("preset = \"tiny\"\n");
        // A config line's `preset = ...` replaces the first line.
        for m in &muts {
            for l in &m.config {
                if l.starts_with("preset") {
                    text = String::new();
                }
            }
        }
        for m in &muts {
            for l in &m.config {
                text.push_str(l);
                text.push('\n');
            }
        }
        std::fs::write(dir.join("model.toml"), &text).unwrap();
        input.push_str(&format!("model.toml:\n{text}"));
        args.extend(["--config".into(), "model.toml".into()]);
    } else if !preset_given {
        args.extend(["--preset".into(), "tiny".into()]);
    }
    let has = |flag: &str| muts.iter().any(|m| m.args.iter().any(|a| a == flag));
    if !has("--n") {
        args.extend(["--n".into(), "64".into()]);
    }
    if !has("--seed") {
        args.extend(["--seed".into(), "1".into()]);
    }
    if !has("--out") {
        args.extend(["--out".into(), "out".into()]);
    }
    std::fs::write(dir.join("afile"), "a file, not a directory").unwrap();
    for m in &muts {
        args.extend(m.args.iter().cloned());
    }
    input.push_str(&format!("fsrgan {}", args.join(" ")));
    let mut cmd = Command::new(fuzz::bin());
    cmd.args(&args).current_dir(dir);
    Case {
        mutations: muts.into_iter().map(|m| m.m).collect(),
        cmd,
        limit: LIMIT,
        stdout_is_message: false,
        refusal_codes: vec![],
        input,
    }
}

/// Draws the mutations of case `i`: the first cases are valid by
/// construction, the rest one or two hostile mutations (two never on the
/// same argument or field).
fn draw_sample(rng: &mut ChaCha8Rng, i: usize) -> Vec<SampleMut> {
    let valid = sample_valid();
    if i == 0 {
        return vec![valid.into_iter().next().unwrap()];
    }
    if i < 3 || rng.random_bool(0.1) {
        let k = rng.random_range(1..valid.len());
        return vec![valid.into_iter().nth(k).unwrap()];
    }
    let mut table = sample_table();
    let n = if rng.random_bool(0.25) { 2 } else { 1 };
    let mut out: Vec<SampleMut> = Vec::new();
    while out.len() < n {
        let k = rng.random_range(0..table.len());
        let m = table.swap_remove(k);
        let key = |s: &SampleMut| {
            s.args.first().cloned().unwrap_or_else(|| {
                s.config
                    .first()
                    .map(|l| l.split('=').next().unwrap().trim().to_string())
                    .unwrap_or_default()
            })
        };
        // `--config missing`, a preset name or `--out` conflict with the
        // config file the other mutations write: keep them alone.
        let alone = |s: &SampleMut| {
            s.args
                .iter()
                .any(|a| a == "--config" || a == "--preset" || a == "--out")
                || s.config.iter().any(|l| l.starts_with("preset"))
        };
        if out
            .iter()
            .any(|o| key(o) == key(&m) || alone(o) || alone(&m))
        {
            if out.is_empty() {
                out.push(m);
            }
            break;
        }
        out.push(m);
    }
    out
}

#[test]
fn fuzz_sample_arguments_and_model_configs() {
    let mut s = Surface::new("sample", 0x5A_3701, KNOWN_OPEN_SAMPLE);
    for i in fuzz::indices(fuzz::cases()) {
        let mut rng = s.rng(i);
        let muts = draw_sample(&mut rng, i);
        let tmp = fuzz::tempdir();
        let case = sample_case(tmp.path(), muts);
        s.run_case(i, case);
    }
    s.finish();
}

// ---------------------------------------------------------------- inspect

/// The datasets the damage is applied to: their directory names.
const BASES: [&str; 3] = ["npz", "st", "cls"];

fn make_bases(root: &Path) {
    let r = root.to_str().unwrap();
    let d = |n: &str| format!("{r}/{n}");
    fuzz::setup(
        &[
            "sample",
            "--preset",
            "tiny",
            "--n",
            "256",
            "--seed",
            "3",
            "--out",
            &d("npz"),
        ],
        root,
    );
    fuzz::setup(
        &[
            "sample",
            "--preset",
            "tiny",
            "--n",
            "256",
            "--seed",
            "4",
            "--hidden",
            "--format",
            "safetensors",
            "--out",
            &d("st"),
        ],
        root,
    );
    fuzz::setup(
        &[
            "sample",
            "--preset",
            "tiny",
            "--n",
            "256",
            "--seed",
            "5",
            "--classes",
            "2",
            "--out",
            &d("cls"),
        ],
        root,
    );
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

fn write_manifest(dir: &Path, m: &serde_json::Value) {
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_string_pretty(m).unwrap(),
    )
    .unwrap();
}

/// The damages of the inspect surface, by id.
const DAMAGES: &[&str] = &[
    "none",
    "flip-samples",
    "flip-params",
    "truncate-samples",
    "truncate-params",
    "truncate-manifest",
    "empty-samples",
    "empty-params",
    "empty-manifest",
    "delete-samples",
    "delete-params",
    "delete-manifest",
    "flip-manifest",
    "manifest-dtype",
    "manifest-shape",
    "manifest-n_total",
    "manifest-start-end",
    "manifest-seed",
    "manifest-config-k",
    "manifest-config-levels",
    "manifest-crc",
    "manifest-bytes",
    "manifest-format-version",
    "manifest-classes",
    "manifest-not-json-object",
    "nan-in-array",
    "inf-in-array",
    "npy-header-shape",
    "npy-header-dtype",
    "npy-header-garbage",
    "extra-npz-member",
    "samples-is-a-dir",
    "label-out-of-range",
    "params-flip-refreshed",
    "value-flip-refreshed",
    "--max-samples 0",
    "--max-samples 1e11",
];

/// Applies damage `what` to the dataset copy `dir` (base `base`); returns
/// the mutation (expectation and names) and a description.
fn damage(
    dir: &Path,
    base: &str,
    what: &str,
    rng: &mut ChaCha8Rng,
) -> (Mutation, String, Vec<String>) {
    use Expect::{Either, Invalid, Valid};
    let m0 = manifest(dir);
    let samples = m0["samples_file"].as_str().unwrap().to_string();
    let sp = dir.join(&samples);
    let pp = dir.join("params.safetensors");
    let mp = dir.join("manifest.json");
    let arrays: Vec<String> = m0["arrays"].as_object().unwrap().keys().cloned().collect();
    let float_arrays: Vec<String> = arrays
        .iter()
        .filter(|a| m0["arrays"][a.as_str()]["dtype"] == "f32")
        .cloned()
        .collect();
    let id = format!("inspect:{what}");
    let mut args: Vec<String> = vec![];
    let mutation = |e: Expect, names: &[&str]| Mutation::new(id.clone(), e, names);
    let s = samples.as_str();
    let (m, desc) = match what {
        "none" => (mutation(Valid, &[]), "no damage".to_string()),
        "flip-samples" => {
            let at = fuzz::flip_bit(&sp, rng, 0..usize::MAX);
            (
                mutation(Invalid, &[s, "crc"]),
                format!("bit flipped at byte {at} of {s}"),
            )
        }
        "flip-params" => {
            let at = fuzz::flip_bit(&pp, rng, 0..usize::MAX);
            (
                mutation(Invalid, &["params.safetensors", "crc"]),
                format!("bit flipped at byte {at} of params.safetensors"),
            )
        }
        "truncate-samples" => {
            let n = fuzz::truncate(&sp, rng);
            (
                mutation(Invalid, &[s]),
                format!("{s} truncated to {n} bytes"),
            )
        }
        "truncate-params" => {
            let n = fuzz::truncate(&pp, rng);
            (
                mutation(Invalid, &["params.safetensors"]),
                format!("params.safetensors truncated to {n} bytes"),
            )
        }
        "truncate-manifest" => {
            let n = fuzz::truncate(&mp, rng);
            (
                mutation(Invalid, &["manifest.json"]),
                format!("manifest.json truncated to {n} bytes"),
            )
        }
        "empty-samples" => {
            std::fs::write(&sp, b"").unwrap();
            (mutation(Invalid, &[s]), format!("{s} emptied"))
        }
        "empty-params" => {
            std::fs::write(&pp, b"").unwrap();
            (
                mutation(Invalid, &["params.safetensors"]),
                "params.safetensors emptied".into(),
            )
        }
        "empty-manifest" => {
            std::fs::write(&mp, b"").unwrap();
            (
                mutation(Invalid, &["manifest.json"]),
                "manifest.json emptied".into(),
            )
        }
        "delete-samples" => {
            std::fs::remove_file(&sp).unwrap();
            (mutation(Invalid, &[s]), format!("{s} deleted"))
        }
        "delete-params" => {
            std::fs::remove_file(&pp).unwrap();
            (
                mutation(Invalid, &["params.safetensors"]),
                "params.safetensors deleted".into(),
            )
        }
        "delete-manifest" => {
            std::fs::remove_file(&mp).unwrap();
            (
                mutation(Invalid, &["manifest.json", "manifest"]),
                "manifest.json deleted".into(),
            )
        }
        "flip-manifest" => {
            let at = fuzz::flip_bit(&mp, rng, 0..usize::MAX);
            (
                mutation(Either, &["manifest.json", "manifest"]),
                format!("bit flipped at byte {at} of manifest.json"),
            )
        }
        "manifest-dtype" => {
            let a = pick(rng, &arrays).clone();
            // Another dtype than the array's own.
            let others: Vec<serde_json::Value> = [
                serde_json::json!("f32"),
                serde_json::json!("f64"),
                serde_json::json!("i64"),
                serde_json::json!("f16"),
                serde_json::json!("bogus"),
                serde_json::json!(3),
                serde_json::json!(null),
            ]
            .into_iter()
            .filter(|v| *v != m0["arrays"][a.as_str()]["dtype"])
            .collect();
            let v = pick(rng, &others).clone();
            let mut m = m0.clone();
            m["arrays"][a.as_str()]["dtype"] = v.clone();
            write_manifest(dir, &m);
            (
                mutation(Invalid, &[a.as_str(), "dtype", "manifest"]),
                format!("manifest arrays.{a}.dtype = {v}"),
            )
        }
        "manifest-shape" => {
            let a = pick(rng, &arrays).clone();
            let mut shape: Vec<serde_json::Value> = m0["arrays"][a.as_str()]["shape"]
                .as_array()
                .unwrap()
                .clone();
            let v: serde_json::Value = match rng.random_range(0..7) {
                0 => {
                    let last = shape.len() - 1;
                    shape[last] = serde_json::json!(shape[last].as_u64().unwrap() + 1);
                    serde_json::json!(shape)
                }
                1 => {
                    shape[0] = serde_json::json!(shape[0].as_u64().unwrap() + 1);
                    serde_json::json!(shape)
                }
                2 => {
                    shape[0] = serde_json::json!(0);
                    serde_json::json!(shape)
                }
                3 => {
                    shape[0] = serde_json::json!(100_000_000_000u64);
                    serde_json::json!(shape)
                }
                4 => serde_json::json!([-1]),
                5 => serde_json::json!([]),
                _ => serde_json::json!("abc"),
            };
            let mut m = m0.clone();
            m["arrays"][a.as_str()]["shape"] = v.clone();
            write_manifest(dir, &m);
            (
                mutation(Invalid, &[a.as_str(), "shape", "manifest"]),
                format!("manifest arrays.{a}.shape = {v}"),
            )
        }
        "manifest-n_total" => {
            let v = pick(rng, &[0u64, 255, 257, 100_000_000_000, u64::MAX]).to_owned();
            let mut m = m0.clone();
            m["n_total"] = serde_json::json!(v);
            write_manifest(dir, &m);
            (
                mutation(Invalid, &["n_total", "manifest"]),
                format!("manifest n_total = {v}"),
            )
        }
        "manifest-start-end" => {
            let mut m = m0.clone();
            let (a, b) = (m["start"].clone(), m["end"].clone());
            m["start"] = b;
            m["end"] = a;
            write_manifest(dir, &m);
            (
                mutation(Invalid, &["start", "end", "manifest"]),
                "manifest start and end swapped".into(),
            )
        }
        "manifest-seed" => {
            let mut m = m0.clone();
            m["seed"] = serde_json::json!(m0["seed"].as_u64().unwrap() + 1);
            write_manifest(dir, &m);
            (
                mutation(Invalid, &["seed", "params", "truth", "manifest"]),
                "manifest seed + 1".into(),
            )
        }
        "manifest-config-k" => {
            let mut m = m0.clone();
            m["config"]["k"] = serde_json::json!([0.6, 0.6]);
            write_manifest(dir, &m);
            (
                mutation(Invalid, &["k", "config", "params", "truth", "manifest"]),
                "manifest config.k = [0.6, 0.6]".into(),
            )
        }
        "manifest-config-levels" => {
            let mut m = m0.clone();
            m["config"]["levels"] = serde_json::json!(pick(rng, &[0u64, 3, 9, 100_000_000_000]));
            write_manifest(dir, &m);
            (
                mutation(Invalid, &["levels", "config", "manifest"]),
                format!("manifest config.levels = {}", m["config"]["levels"]),
            )
        }
        "manifest-crc" => {
            let f = pick(rng, &[s, "params.safetensors"]).to_string();
            let mut m = m0.clone();
            let c = m["files"][f.as_str()]["crc32"].as_u64().unwrap();
            m["files"][f.as_str()]["crc32"] = serde_json::json!(c ^ 1);
            write_manifest(dir, &m);
            (
                mutation(Invalid, &[f.as_str(), "crc"]),
                format!("manifest files.{f}.crc32 ^= 1"),
            )
        }
        "manifest-bytes" => {
            let f = pick(rng, &[s, "params.safetensors"]).to_string();
            let mut m = m0.clone();
            let c = m["files"][f.as_str()]["bytes"].as_u64().unwrap();
            m["files"][f.as_str()]["bytes"] = serde_json::json!(c + 1);
            write_manifest(dir, &m);
            (
                mutation(Invalid, &[f.as_str(), "bytes", "size"]),
                format!("manifest files.{f}.bytes += 1"),
            )
        }
        "manifest-format-version" => {
            let mut m = m0.clone();
            m["format_version"] = serde_json::json!(99);
            write_manifest(dir, &m);
            (
                mutation(Invalid, &["format_version", "version", "manifest"]),
                "manifest format_version = 99".into(),
            )
        }
        "manifest-classes" => {
            let mut m = m0.clone();
            let v = pick(rng, &[0u64, 5, 100_000_000_000]).to_owned();
            m["classes"] = serde_json::json!(v);
            write_manifest(dir, &m);
            (
                // A dataset that says it is labelled lacks its labels `y`.
                mutation(Invalid, &["classes", "manifest", "y"]),
                format!("manifest classes = {v}"),
            )
        }
        "manifest-not-json-object" => {
            std::fs::write(&mp, "[1, 2, 3]").unwrap();
            (
                mutation(Invalid, &["manifest.json", "manifest"]),
                "manifest.json = [1, 2, 3]".into(),
            )
        }
        "nan-in-array" | "inf-in-array" => {
            let a = pick(rng, &float_arrays).clone();
            let v = if what == "nan-in-array" {
                f32::NAN
            } else {
                f32::NEG_INFINITY
            };
            let at = set_element(dir, &samples, &a, rng, |b| {
                b.copy_from_slice(&v.to_le_bytes())
            });
            fuzz::refresh_manifest_crc(dir, &samples);
            (
                mutation(Invalid, &[a.as_str(), "finite", "nan", "inf"]),
                format!("{a}[{at}] = {v} in {s}, manifest checksums refreshed"),
            )
        }
        "npy-header-shape" | "npy-header-dtype" | "npy-header-garbage" | "extra-npz-member"
            if s.ends_with(".npz") =>
        {
            let mut members = fuzz::read_npz(&sp);
            let k = rng.random_range(0..members.len());
            let name = members[k].0.clone();
            let arr = name.trim_end_matches(".npy").to_string();
            let off = fuzz::npy_data_offset(&members[k].1);
            let data = members[k].1[off..].to_vec();
            let shape: Vec<String> = m0["arrays"][arr.as_str()]["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.to_string())
                .collect();
            let descr = if m0["arrays"][arr.as_str()]["dtype"] == "i64" {
                "<i8"
            } else {
                "<f4"
            };
            let (m, desc) = match what {
                "npy-header-shape" => {
                    let mut sh = shape.clone();
                    let choice = rng.random_range(0..4);
                    match choice {
                        0 => sh[0] = "100000000000".into(),
                        1 => sh = vec!["4294967296".into(); 4],
                        2 => sh[0] = "-1".into(),
                        _ => sh.truncate(sh.len().saturating_sub(1).max(1)),
                    }
                    members[k].1 = fuzz::npy_bytes(&fuzz::npy_header(descr, false, &sh), &data);
                    (
                        mutation(Invalid, &[arr.as_str(), "shape", s]),
                        format!("{name} header shape {:?}", sh),
                    )
                }
                "npy-header-dtype" => {
                    let d = pick(rng, &["<i8", "<f2", ">f4", "|u1", "<c8", "O", "<f8"]).to_string();
                    let d = if d == descr { "<f2".to_string() } else { d };
                    members[k].1 = fuzz::npy_bytes(&fuzz::npy_header(&d, false, &shape), &data);
                    (
                        mutation(Invalid, &[arr.as_str(), "dtype", s, d.as_str()]),
                        format!("{name} header descr {d}"),
                    )
                }
                "npy-header-garbage" => {
                    let h = pick(
                        rng,
                        &[
                            "{'descr': '<f4', 'fortran_order': False}",
                            "not a dict at all",
                            "{'descr': '<f4', 'fortran_order': False, 'shape': (1e11, 1), }",
                            "{'descr': '<f4', 'fortran_order': 7, 'shape': (256, 1, 4, 4), }",
                        ],
                    )
                    .to_string();
                    members[k].1 = fuzz::npy_bytes(&h, &data);
                    (
                        mutation(Invalid, &[arr.as_str(), s, "header"]),
                        format!("{name} header {h:?}"),
                    )
                }
                _ => {
                    members.push((
                        "x9.npy".into(),
                        fuzz::npy_bytes(&fuzz::npy_header("<f4", false, &["1".into()]), &[0; 4]),
                    ));
                    (
                        mutation(Either, &["x9", s]),
                        "an extra member x9.npy".into(),
                    )
                }
            };
            fuzz::write_npz(&sp, &members);
            fuzz::refresh_manifest_crc(dir, &samples);
            (m, format!("{desc}, manifest checksums refreshed"))
        }
        "npy-header-shape" | "npy-header-dtype" | "npy-header-garbage" | "extra-npz-member" => {
            // A safetensors file: its JSON header edited instead.
            let b = std::fs::read(&sp).unwrap();
            let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
            let mut h: serde_json::Value = serde_json::from_slice(&b[8..8 + n]).unwrap();
            let a = pick(rng, &arrays).clone();
            let desc = match what {
                "npy-header-shape" => {
                    h[a.as_str()]["shape"] = serde_json::json!([100_000_000_000u64, 1, 4, 4]);
                    format!("{a} header shape [1e11, 1, 4, 4]")
                }
                "npy-header-dtype" => {
                    h[a.as_str()]["dtype"] =
                        serde_json::json!(pick(rng, &["I64", "F16", "BOOL", "F64"]));
                    format!("{a} header dtype {}", h[a.as_str()]["dtype"])
                }
                "npy-header-garbage" => {
                    h[a.as_str()]["data_offsets"] = serde_json::json!([0, 100_000_000_000u64]);
                    format!("{a} header data_offsets [0, 1e11]")
                }
                _ => {
                    h["x9"] =
                        serde_json::json!({"dtype": "F32", "shape": [1], "data_offsets": [0, 4]});
                    "an extra tensor x9".into()
                }
            };
            let mut hb = serde_json::to_vec(&h).unwrap();
            while !hb.len().is_multiple_of(8) {
                hb.push(b' ');
            }
            let mut out = (hb.len() as u64).to_le_bytes().to_vec();
            out.extend_from_slice(&hb);
            out.extend_from_slice(&b[8 + n..]);
            std::fs::write(&sp, out).unwrap();
            fuzz::refresh_manifest_crc(dir, &samples);
            let e = if what == "extra-npz-member" {
                Either
            } else {
                Invalid
            };
            (
                mutation(e, &[a.as_str(), s, "header", "x9"]),
                format!("{desc}, manifest checksums refreshed"),
            )
        }
        "samples-is-a-dir" => {
            std::fs::remove_file(&sp).unwrap();
            std::fs::create_dir(&sp).unwrap();
            (
                mutation(Invalid, &[s]),
                format!("{s} replaced by a directory"),
            )
        }
        "label-out-of-range" if base == "cls" => {
            let at = set_element(dir, &samples, "y", rng, |b| {
                b.copy_from_slice(&7i64.to_le_bytes())
            });
            fuzz::refresh_manifest_crc(dir, &samples);
            (
                mutation(Invalid, &["y", "label", "class"]),
                format!("y[{at}] = 7 (of 2 classes), manifest checksums refreshed"),
            )
        }
        "label-out-of-range" => (
            mutation(Valid, &[]),
            "no labels to damage: no damage".into(),
        ),
        "params-flip-refreshed" => {
            // A flip in the tensors' data (past the JSON header).
            let b = std::fs::read(&pp).unwrap();
            let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
            let at = fuzz::flip_bit(&pp, rng, 8 + n..b.len());
            fuzz::refresh_manifest_crc(dir, "params.safetensors");
            (
                mutation(Invalid, &["params", "truth"]),
                format!(
                    "bit flipped at byte {at} of params.safetensors (data), manifest checksums refreshed"
                ),
            )
        }
        "value-flip-refreshed" => {
            let a = pick(rng, &float_arrays).clone();
            let at = set_element(dir, &samples, &a, rng, |b| b[3] ^= 0x40);
            fuzz::refresh_manifest_crc(dir, &samples);
            (
                mutation(
                    Either,
                    &[a.as_str(), "residual", "consistency", "recomputed"],
                ),
                format!("{a}[{at}] exponent bit flipped, manifest checksums refreshed"),
            )
        }
        "--max-samples 0" => {
            args = vec!["--max-samples".into(), "0".into()];
            (
                mutation(Either, &["--max-samples", "max_samples", "max-samples"]),
                "--max-samples 0".into(),
            )
        }
        "--max-samples 1e11" => {
            args = vec!["--max-samples".into(), "100000000000".into()];
            (mutation(Valid, &[]), "--max-samples 100000000000".into())
        }
        other => panic!("unknown damage {other}"),
    };
    (m, desc, args)
}

/// Sets element `at` (random) of array `name` in the samples file through
/// `f` on its bytes; returns the element's index.
fn set_element(
    dir: &Path,
    samples: &str,
    name: &str,
    rng: &mut ChaCha8Rng,
    f: impl Fn(&mut [u8]),
) -> usize {
    let sp = dir.join(samples);
    let width = if name == "y" { 8 } else { 4 };
    if samples.ends_with(".npz") {
        let mut members = fuzz::read_npz(&sp);
        let k = members
            .iter()
            .position(|(n, _)| n == &format!("{name}.npy"))
            .expect("the array is a member");
        let off = fuzz::npy_data_offset(&members[k].1);
        let count = (members[k].1.len() - off) / width;
        let at = rng.random_range(0..count);
        f(&mut members[k].1[off + at * width..off + (at + 1) * width]);
        fuzz::write_npz(&sp, &members);
        at
    } else {
        let mut b = std::fs::read(&sp).unwrap();
        let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
        let h: serde_json::Value = serde_json::from_slice(&b[8..8 + n]).unwrap();
        let offs = h[name]["data_offsets"].as_array().unwrap();
        let (lo, hi) = (
            offs[0].as_u64().unwrap() as usize,
            offs[1].as_u64().unwrap() as usize,
        );
        let count = (hi - lo) / width;
        let at = rng.random_range(0..count);
        let base = 8 + n + lo + at * width;
        f(&mut b[base..base + width]);
        std::fs::write(&sp, b).unwrap();
        at
    }
}

#[test]
fn fuzz_inspect_damaged_datasets() {
    let mut s = Surface::new("inspect", 0x1_5EC7, KNOWN_OPEN_INSPECT);
    let bases = fuzz::tempdir();
    make_bases(bases.path());
    for i in fuzz::indices(fuzz::cases()) {
        let mut rng = s.rng(i);
        let what = if i == 0 {
            "none"
        } else {
            *pick(&mut rng, DAMAGES)
        };
        let base = match (i, what) {
            (0, _) => "npz",
            (_, "label-out-of-range") => "cls",
            _ => *pick(&mut rng, &BASES),
        };
        let tmp = fuzz::tempdir();
        let dir = tmp.path().join("data");
        fuzz::copy_dir(&bases.path().join(base), &dir);
        let (m, desc, args) = damage(&dir, base, what, &mut rng);
        let mut cmd = Command::new(fuzz::bin());
        cmd.arg("inspect")
            .arg(&dir)
            .args(&args)
            .current_dir(tmp.path());
        let case = Case {
            mutations: vec![m],
            cmd,
            limit: LIMIT,
            stdout_is_message: true,
            refusal_codes: vec![],
            input: format!(
                "dataset `{base}`: {desc}; fsrgan inspect data {}",
                args.join(" ")
            ),
        };
        s.run_case(i, case);
    }
    s.finish();
}
