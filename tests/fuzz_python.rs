//! Fuzz surface 6 (issue 34 item 7): the Python API — `fsrgan.sample`,
//! `Params`, `Config`, `score`, `read_dataset` / `write_dataset`, `verify`
//! and `fsrgan.theory` — called with `None`, booleans, negatives, huge
//! values, wrong types and hostile arrays (NaN, 1e300, int64, float16,
//! wrong shapes, a 1e9-sample zero-stride view). Each case is a short
//! script run by the `.venv` Python in its own process under a wall-clock
//! limit: the script exits 3 when the call raises one of the package's
//! refusals (`FsrganError`, `TypeError`, `ValueError`, `OverflowError`,
//! `MemoryError`, `OSError`, `KeyError`, `IndexError`) and 0 when it
//! returns. A signal, an uncaught exception (any other exit code), a
//! `PanicException` or "internal error" (the package's guard around a Rust
//! panic) is a crash; no exit 0 on an invalid call; every refusal names
//! the argument or field (harness: `tests/fuzz/mod.rs`).
//!
//! Like `tests/python.rs`, it first brings the installed package up to date
//! (`python/build.sh`, fast when it is).

mod fuzz;

use std::process::Command;
use std::time::Duration;

use fuzz::{Case, Expect, Mutation, Surface, pick};

/// Mutations known to fail, skipped with a note.
const KNOWN_OPEN_PYTHON: &[&str] = &[];

const LIMIT: Duration = Duration::from_secs(20);

/// The script around a case's code (indented into the `try`).
const PRELUDE: &str = r#"import os, sys, math
import numpy as np
import fsrgan
REAL = os.environ["FUZZ_REAL"]
TMP = os.environ["FUZZ_TMP"]

def fake(n=64, seed=2, dtype=np.float32):
    s = fsrgan.sample("tiny", n, seed=seed)
    return {k: np.asarray(v, dtype=dtype) for k, v in s.items()}

def flipped_params():
    b = bytearray(open(REAL + "/params.safetensors", "rb").read())
    b[len(b) - 9] ^= 0x10
    p = TMP + "/flipped.safetensors"
    open(p, "wb").write(bytes(b))
    return p

REFUSALS = (fsrgan.FsrganError, TypeError, ValueError, OverflowError, MemoryError,
            OSError, KeyError, IndexError)
try:
"#;

const EPILOGUE: &str = r#"
except REFUSALS as e:
    print("FUZZ-REFUSED %s: %s" % (type(e).__name__, e), file=sys.stderr)
    sys.exit(3)
print("FUZZ-OK")
"#;

/// One call: its code (a statement block), expectation and names.
struct Call {
    code: &'static str,
    expect: Expect,
    names: &'static [&'static str],
}

const fn c(code: &'static str, expect: Expect, names: &'static [&'static str]) -> Call {
    Call {
        code,
        expect,
        names,
    }
}

use Expect::{Either, Invalid, Valid};

const N: &[&str] = &["n"];
const CFG: &[&str] = &["config", "preset", "spec"];

/// The table of calls.
const CALLS: &[Call] = &[
    // Valid by construction.
    c("fsrgan.sample('tiny', 64, seed=1)", Valid, &[]),
    c(
        "fsrgan.sample('tiny', 64, seed=1, hidden=True, shard=(1, 2))",
        Valid,
        &[],
    ),
    c("fsrgan.sample('tiny', 64, classes=2)", Valid, &[]),
    c("fsrgan.sample('tiny', 64, domains=2)", Valid, &[]),
    c("fsrgan.sample('tiny', 64, seed=2**64 - 1)", Valid, &[]),
    c("fsrgan.sample('tiny', 64, threads=1)", Valid, &[]),
    c("fsrgan.Params('tiny', seed=3)", Valid, &[]),
    c("fsrgan.Config({'preset': 'tiny', 'k': 0.4})", Valid, &[]),
    c("fsrgan.score(REAL, fake())", Valid, &[]),
    c(
        "fsrgan.score(fsrgan.read_dataset(REAL), fake(), patch_dirs=8)",
        Valid,
        &[],
    ),
    c(
        "fsrgan.Params.load(REAL + '/params.safetensors')",
        Valid,
        &[],
    ),
    c("fsrgan.write_dataset(TMP + '/w', 'tiny', 64)", Valid, &[]),
    c("fsrgan.verify('T1', samples=10000)", Valid, &[]),
    // sample: the config.
    c("fsrgan.sample(None, 64)", Invalid, CFG),
    c("fsrgan.sample(True, 64)", Invalid, CFG),
    c("fsrgan.sample(0, 64)", Invalid, CFG),
    c("fsrgan.sample(-1, 64)", Invalid, CFG),
    c("fsrgan.sample(3.5, 64)", Invalid, CFG),
    c("fsrgan.sample(b'tiny', 64)", Invalid, CFG),
    c("fsrgan.sample([], 64)", Invalid, CFG),
    c("fsrgan.sample('nope', 64)", Invalid, &["nope", "preset"]),
    c(
        "fsrgan.sample({'preset': 'tiny', 'k': float('nan')}, 64)",
        Invalid,
        &["k"],
    ),
    c(
        "fsrgan.sample({'preset': 'tiny', 'k': None}, 64)",
        Invalid,
        &["k"],
    ),
    c(
        "fsrgan.sample({'preset': 'tiny', 'm': 10**11}, 64)",
        Invalid,
        &["m"],
    ),
    c(
        "fsrgan.sample({'preset': 'tiny', 'd0': 2**64}, 64)",
        Invalid,
        &["d0"],
    ),
    c(
        "fsrgan.sample({'preset': 'tiny', 'levels': True}, 64)",
        Invalid,
        &["levels"],
    ),
    c("fsrgan.sample({'preset': None}, 64)", Invalid, &["preset"]),
    c(
        "fsrgan.sample({'preset': 'tiny', 'bogus': 1}, 64)",
        Invalid,
        &["bogus"],
    ),
    c(
        "fsrgan.sample({'preset': 'tiny', 'calibration_samples': 10**11}, 64)",
        Invalid,
        &["calibration_samples"],
    ),
    c(
        "fsrgan.sample({'preset': 'tiny', 'alpha_min': float('inf')}, 64)",
        Invalid,
        &["alpha_min"],
    ),
    c(
        "fsrgan.sample({'preset': 'tiny', 'k': [0.5, None]}, 64)",
        Invalid,
        &["k"],
    ),
    c(
        "fsrgan.sample({'preset': 'tiny', 'm': -4}, 64)",
        Invalid,
        &["m"],
    ),
    c(
        "fsrgan.sample(\"preset = 'tiny'\\nm = 0\", 64)",
        Invalid,
        &["m"],
    ),
    c(
        "fsrgan.sample(TMP + '/missing.toml', 64)",
        Invalid,
        &["missing.toml"],
    ),
    // sample: n, seed, hidden, shard, threads, classes, domains, out.
    c("fsrgan.sample('tiny', 0)", Invalid, N),
    c("fsrgan.sample('tiny', -1)", Invalid, N),
    c("fsrgan.sample('tiny', None)", Invalid, N),
    c("fsrgan.sample('tiny', True)", Invalid, N),
    c("fsrgan.sample('tiny', False)", Invalid, N),
    c(
        "fsrgan.sample('tiny', 10**11)",
        Invalid,
        &["n", "memory", "allocate"],
    ),
    c("fsrgan.sample('tiny', 2**64)", Invalid, N),
    c(
        "fsrgan.sample('tiny', 2**63)",
        Invalid,
        &["n", "memory", "allocate"],
    ),
    c("fsrgan.sample('tiny', 1.5)", Invalid, N),
    c("fsrgan.sample('tiny', float('nan'))", Invalid, N),
    c("fsrgan.sample('tiny', '64')", Invalid, N),
    c("fsrgan.sample('tiny', 64, seed=-1)", Invalid, &["seed"]),
    c("fsrgan.sample('tiny', 64, seed=2**64)", Invalid, &["seed"]),
    c("fsrgan.sample('tiny', 64, seed=True)", Invalid, &["seed"]),
    c("fsrgan.sample('tiny', 64, seed=1.5)", Invalid, &["seed"]),
    c("fsrgan.sample('tiny', 64, seed=None)", Either, &["seed"]),
    c(
        "fsrgan.sample('tiny', 64, hidden=None)",
        Either,
        &["hidden"],
    ),
    c("fsrgan.sample('tiny', 64, hidden=1)", Either, &["hidden"]),
    c(
        "fsrgan.sample('tiny', 64, hidden='yes')",
        Either,
        &["hidden"],
    ),
    c(
        "fsrgan.sample('tiny', 64, shard=(2, 2))",
        Invalid,
        &["shard"],
    ),
    c(
        "fsrgan.sample('tiny', 64, shard=(0, 0))",
        Invalid,
        &["shard"],
    ),
    c(
        "fsrgan.sample('tiny', 64, shard=(-1, 2))",
        Invalid,
        &["shard"],
    ),
    c("fsrgan.sample('tiny', 64, shard=(0,))", Invalid, &["shard"]),
    c(
        "fsrgan.sample('tiny', 64, shard=(1, 2, 3))",
        Invalid,
        &["shard"],
    ),
    c(
        "fsrgan.sample('tiny', 64, shard=(True, 2))",
        Invalid,
        &["shard"],
    ),
    c(
        "fsrgan.sample('tiny', 64, shard=(None, 2))",
        Invalid,
        &["shard"],
    ),
    c(
        "fsrgan.sample('tiny', 64, shard=(0.5, 2))",
        Invalid,
        &["shard"],
    ),
    c(
        "fsrgan.sample('tiny', 64, shard=(0, 10**11))",
        Invalid,
        &["shard"],
    ),
    c(
        "fsrgan.sample('tiny', 64, shard=(0, 2**64))",
        Invalid,
        &["shard"],
    ),
    c("fsrgan.sample('tiny', 64, shard='0/2')", Either, &["shard"]),
    c(
        "fsrgan.sample('tiny', 64, shard=[0, 2])",
        Either,
        &["shard"],
    ),
    c(
        "fsrgan.sample('tiny', 64, threads=-1)",
        Invalid,
        &["threads"],
    ),
    c(
        "fsrgan.sample('tiny', 64, threads=True)",
        Invalid,
        &["threads"],
    ),
    c(
        "fsrgan.sample('tiny', 64, threads=2**64)",
        Invalid,
        &["threads"],
    ),
    c("fsrgan.sample('tiny', 64, threads=0)", Either, &["threads"]),
    c(
        "fsrgan.sample('tiny', 64, threads=10**11)",
        Either,
        &["threads"],
    ),
    c(
        "fsrgan.sample('tiny', 64, classes=0)",
        Invalid,
        &["classes"],
    ),
    c(
        "fsrgan.sample('tiny', 64, classes=-1)",
        Invalid,
        &["classes"],
    ),
    c(
        "fsrgan.sample('tiny', 64, classes=10**11)",
        Invalid,
        &["classes", "memory"],
    ),
    c(
        "fsrgan.sample('tiny', 64, classes=True)",
        Invalid,
        &["classes"],
    ),
    c(
        "fsrgan.sample('tiny', 64, classes=2**64)",
        Invalid,
        &["classes"],
    ),
    c(
        "fsrgan.sample('tiny', 64, classes=None)",
        Either,
        &["classes"],
    ),
    c(
        "fsrgan.sample('tiny', 64, domains=0)",
        Invalid,
        &["domains"],
    ),
    c(
        "fsrgan.sample('tiny', 64, domains=3)",
        Invalid,
        &["domains"],
    ),
    c(
        "fsrgan.sample('tiny', 64, domains=-1)",
        Invalid,
        &["domains"],
    ),
    c(
        "fsrgan.sample('tiny', 64, domains=True)",
        Invalid,
        &["domains"],
    ),
    c(
        "fsrgan.sample('tiny', 64, domains=None)",
        Either,
        &["domains"],
    ),
    c(
        "fsrgan.sample('tiny', 64, classes=2, domains=2)",
        Invalid,
        &["classes", "domains"],
    ),
    c(
        "fsrgan.sample('tiny', 64, out={'x1': np.zeros(3)})",
        Invalid,
        &["out", "x1", "x2"],
    ),
    c("fsrgan.sample('tiny', 64, out=5)", Invalid, &["out"]),
    c(
        "fsrgan.sample('tiny', 64, out={k: np.zeros(v.shape) for k, v in fake().items()})",
        Invalid,
        &["out", "x1", "x2", "float32"],
    ),
    // Params.
    c("fsrgan.Params(None)", Invalid, CFG),
    c("fsrgan.Params('tiny', seed=-1)", Invalid, &["seed"]),
    c("fsrgan.Params('tiny', seed=True)", Invalid, &["seed"]),
    c("fsrgan.Params('tiny', seed=None)", Either, &["seed"]),
    c("fsrgan.Params({'preset': 'tiny', 'm': 0})", Invalid, &["m"]),
    c(
        "fsrgan.Params.load(TMP + '/missing.safetensors')",
        Invalid,
        &["missing.safetensors"],
    ),
    c(
        "fsrgan.Params.load(flipped_params())",
        Invalid,
        &["flipped.safetensors"],
    ),
    c("fsrgan.Params.load(TMP)", Invalid, &["fsrgan-fuzz"]),
    c("fsrgan.Params.load(None)", Invalid, &["path"]),
    c(
        "open(TMP + '/e.safetensors', 'wb').close(); fsrgan.Params.load(TMP + '/e.safetensors')",
        Invalid,
        &["e.safetensors"],
    ),
    c(
        "fsrgan.Params('tiny').save(TMP + '/p.safetensors', dtype='f16')",
        Invalid,
        &["dtype", "f16"],
    ),
    c(
        "fsrgan.Params('tiny').save(TMP + '/no/dir/p.safetensors')",
        Invalid,
        &["p.safetensors", "no/dir"],
    ),
    c("fsrgan.Params('tiny').save(None)", Invalid, &["path"]),
    c("fsrgan.Params('tiny')['nope']", Invalid, &["nope"]),
    // Config.
    c("fsrgan.Config(None)", Invalid, CFG),
    c("fsrgan.Config(True)", Invalid, CFG),
    c("fsrgan.Config(5)", Invalid, CFG),
    c("fsrgan.Config({'levels': -1})", Invalid, &["levels"]),
    c(
        "fsrgan.Config({'preset': 'tiny', 'm': [4, 4, 4]})",
        Invalid,
        &["m"],
    ),
    c(
        "fsrgan.Config({'preset': 'tiny', 'sigma': [0.0, float('nan')]})",
        Invalid,
        &["sigma"],
    ),
    c(
        "fsrgan.Config({'preset': 'tiny', 'kernel': 3})",
        Invalid,
        &["kernel"],
    ),
    c(
        "fsrgan.Config({'preset': 'tiny', 'k': 1e308})",
        Invalid,
        &["k"],
    ),
    c("fsrgan.Config.preset(None)", Invalid, &["name", "preset"]),
    c("fsrgan.Config.preset('nope')", Invalid, &["nope"]),
    c("fsrgan.Config.preset('')", Invalid, &["preset"]),
    c(
        "fsrgan.Config.from_toml('[[[')",
        Invalid,
        &["toml", "line", "[["],
    ),
    c("fsrgan.Config.from_toml(None)", Invalid, &["text", "toml"]),
    c(
        "fsrgan.Config.from_toml('levels = -1')",
        Invalid,
        &["levels"],
    ),
    // score: real and fake.
    c("fsrgan.score(None, fake())", Invalid, &["real"]),
    c(
        "fsrgan.score('/nonexistent/real', fake())",
        Invalid,
        &["/nonexistent/real"],
    ),
    c("fsrgan.score(5, fake())", Invalid, &["real"]),
    c(
        "fsrgan.score(TMP, fake())",
        Invalid,
        &["manifest", "fsrgan-fuzz"],
    ),
    c("fsrgan.score(REAL, None)", Invalid, &["fake"]),
    c("fsrgan.score(REAL, {})", Invalid, &["x1", "fake"]),
    c(
        "fsrgan.score(REAL, {'x1': None, 'x2': None})",
        Invalid,
        &["x1", "x2"],
    ),
    c(
        "fsrgan.score(REAL, {k: v.astype(np.int64) for k, v in fake().items()})",
        Invalid,
        &["x1", "x2", "dtype", "int64"],
    ),
    c(
        "fsrgan.score(REAL, fake(dtype=np.float16))",
        Invalid,
        &["x1", "x2", "dtype", "float16"],
    ),
    c(
        "fsrgan.score(REAL, {k: v.astype(str) for k, v in fake().items()})",
        Invalid,
        &["x1", "x2", "dtype"],
    ),
    c(
        "fsrgan.score(REAL, {k: v.astype(object) for k, v in fake().items()})",
        Invalid,
        &["x1", "x2", "dtype", "object"],
    ),
    c(
        "f = fake(); f['x1'][3, 0, 1, 1] = np.nan; fsrgan.score(REAL, f)",
        Invalid,
        &["x1", "nan", "finite"],
    ),
    c(
        "f = fake(); f['x2'][0, 0, 0, 0] = np.inf; fsrgan.score(REAL, f)",
        Invalid,
        &["x2", "inf", "finite"],
    ),
    c(
        "f = fake(dtype=np.float64); f['x2'][5, 0, 2, 2] = 1e300; fsrgan.score(REAL, f)",
        Invalid,
        &["x2", "1e15", "magnitude"],
    ),
    c(
        "f = fake(); f['x1'] = f['x1'][:, :, :, :3]; fsrgan.score(REAL, f)",
        Invalid,
        &["x1", "shape"],
    ),
    c(
        "f = fake(); f['x2'] = f['x2'][:32]; fsrgan.score(REAL, f)",
        Invalid,
        &["x1", "x2", "samples"],
    ),
    c(
        "f = fake(); f['x1'] = f['x1'][:0]; f['x2'] = f['x2'][:0]; fsrgan.score(REAL, f)",
        Invalid,
        &["x1", "x2", "samples", "empty"],
    ),
    c(
        "f = fake(); f['x1'] = f['x1'][:, 0]; fsrgan.score(REAL, f)",
        Invalid,
        &["x1", "shape", "dimension"],
    ),
    c(
        "f = fake(); del f['x2']; fsrgan.score(REAL, f)",
        Invalid,
        &["x2"],
    ),
    c(
        "f = fake(); f['x2'] = f['x2'][:, :, ::-1, :]; fsrgan.score(REAL, f)",
        Either,
        &["x2", "contiguous"],
    ),
    c(
        "f = fake(); f['x1'] = np.asfortranarray(f['x1']); fsrgan.score(REAL, f)",
        Either,
        &["x1", "contiguous"],
    ),
    c(
        "f = fake(); f['x1'] = f['x1'].astype('>f4'); fsrgan.score(REAL, f)",
        Either,
        &["x1", "dtype", "byte"],
    ),
    c(
        "h = np.broadcast_to(np.float32(0), (10**9, 1, 4, 4)); H = np.broadcast_to(np.float32(0), (10**9, 1, 8, 8)); fsrgan.score(REAL, {'x1': h, 'x2': H})",
        Either,
        &["x1", "x2", "memory", "samples"],
    ),
    // score: options.
    c(
        "fsrgan.score(REAL, fake(), patch_dirs=0)",
        Invalid,
        &["patch_dirs"],
    ),
    c(
        "fsrgan.score(REAL, fake(), patch_dirs=-1)",
        Invalid,
        &["patch_dirs"],
    ),
    c(
        "fsrgan.score(REAL, fake(), patch_dirs=True)",
        Invalid,
        &["patch_dirs"],
    ),
    c(
        "fsrgan.score(REAL, fake(), patch_dirs=10**11)",
        Invalid,
        &["patch_dirs"],
    ),
    c(
        "fsrgan.score(REAL, fake(), patch_dirs=5000)",
        Invalid,
        &["patch_dirs"],
    ),
    c(
        "fsrgan.score(REAL, fake(), patch_dirs=1.5)",
        Invalid,
        &["patch_dirs"],
    ),
    c(
        "fsrgan.score(REAL, fake(), patch_dirs=None)",
        Either,
        &["patch_dirs"],
    ),
    c(
        "fsrgan.score(REAL, fake(), max_rows=0)",
        Invalid,
        &["max_rows"],
    ),
    c(
        "fsrgan.score(REAL, fake(), max_rows=10**11)",
        Invalid,
        &["max_rows", "patch_dirs"],
    ),
    c(
        "fsrgan.score(REAL, fake(), max_gram_rows=0)",
        Invalid,
        &["max_gram_rows"],
    ),
    c(
        "fsrgan.score(REAL, fake(), max_gram_rows=10**11)",
        Invalid,
        &["max_gram_rows"],
    ),
    c(
        "fsrgan.score(REAL, fake(), max_pairs=0)",
        Invalid,
        &["max_pairs"],
    ),
    c(
        "fsrgan.score(REAL, fake(), max_pairs=10**11)",
        Either,
        &["max_pairs"],
    ),
    c("fsrgan.score(REAL, fake(), seed=-1)", Invalid, &["seed"]),
    c("fsrgan.score(REAL, fake(), seed=2**64)", Invalid, &["seed"]),
    c(
        "fsrgan.score(REAL, fake(), threads=-1)",
        Invalid,
        &["threads"],
    ),
    // Datasets.
    c("fsrgan.read_dataset(None)", Invalid, &["path"]),
    c(
        "fsrgan.read_dataset(TMP + '/nothere')",
        Invalid,
        &["nothere"],
    ),
    c(
        "fsrgan.read_dataset(TMP)",
        Invalid,
        &["manifest", "fsrgan-fuzz"],
    ),
    c("fsrgan.write_dataset(TMP + '/w', 'tiny', 0)", Invalid, N),
    c("fsrgan.write_dataset(TMP + '/w', 'tiny', -1)", Invalid, N),
    c(
        "fsrgan.write_dataset(TMP + '/w', 'tiny', 64, chunk=0)",
        Invalid,
        &["chunk"],
    ),
    c(
        "fsrgan.write_dataset(TMP + '/w', 'tiny', 64, chunk=10**11)",
        Invalid,
        &["chunk"],
    ),
    c(
        "fsrgan.write_dataset(TMP + '/w', 'tiny', 64, chunk=True)",
        Invalid,
        &["chunk"],
    ),
    c(
        "fsrgan.write_dataset(TMP + '/w', 'tiny', 64, format='xyz')",
        Invalid,
        &["format", "xyz"],
    ),
    c(
        "fsrgan.write_dataset(TMP + '/w', 'tiny', 64, params_dtype='f16')",
        Invalid,
        &["params_dtype", "f16"],
    ),
    c(
        "fsrgan.write_dataset(TMP + '/w', 'tiny', 64, shard=(2, 2))",
        Invalid,
        &["shard"],
    ),
    c(
        "fsrgan.write_dataset(TMP + '/w', 'tiny', 64, classes=0)",
        Invalid,
        &["classes"],
    ),
    c(
        "fsrgan.write_dataset(TMP + '/w', 'tiny', 64, force='yes')",
        Either,
        &["force"],
    ),
    c("fsrgan.write_dataset(None, 'tiny', 64)", Invalid, &["path"]),
    c(
        "fsrgan.write_dataset(REAL + '/params.safetensors', 'tiny', 64)",
        Invalid,
        &["params.safetensors"],
    ),
    // verify and theory.
    c("fsrgan.verify('T9')", Invalid, &["T9"]),
    c("fsrgan.verify(5)", Invalid, &["claims"]),
    c("fsrgan.verify(['T1', None])", Invalid, &["claims"]),
    c("fsrgan.verify('T1', samples=0)", Either, &["samples"]),
    c("fsrgan.verify('T1', samples=-1)", Invalid, &["samples"]),
    c("fsrgan.verify('T1', samples=10**11)", Invalid, &["samples"]),
    c("fsrgan.verify('T1', samples=True)", Invalid, &["samples"]),
    c("fsrgan.verify('T1', seed=-1)", Invalid, &["seed"]),
    c("fsrgan.theory.Phi2(0.0, 0.0, 1.5)", Invalid, &["rho"]),
    c(
        "fsrgan.theory.Phi2(None, 0.0, 0.5)",
        Invalid,
        &["a", "x", "h"],
    ),
    c(
        "fsrgan.theory.cross_moment(0.3, -0.2, 1e308)",
        Either,
        &["rho"],
    ),
    c(
        "fsrgan.theory.cross_moment(float('nan'), -0.2, 0.5)",
        Either,
        &["a", "nan"],
    ),
];

fn python() -> std::path::PathBuf {
    let p = fuzz::root().join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run ./scripts/setup.sh",
        p.display()
    );
    p
}

fn script(code: &str) -> String {
    let body: String = code.split("; ").map(|s| format!("    {s}\n")).collect();
    format!("{PRELUDE}{body}{EPILOGUE}")
}

#[test]
fn fuzz_python_api_hostile_arguments() {
    let root = fuzz::root();
    let py = python();
    let build = Command::new(root.join("python/build.sh"))
        .current_dir(&root)
        .status()
        .expect("running python/build.sh");
    assert!(build.success(), "python/build.sh failed");
    let mut s = Surface::new("python", 0x9F_0006, KNOWN_OPEN_PYTHON);
    let data = fuzz::tempdir();
    fuzz::setup(
        &[
            "sample", "--preset", "tiny", "--n", "256", "--seed", "0", "--out", "real",
        ],
        data.path(),
    );
    let real = data.path().join("real");
    let valid: Vec<&Call> = CALLS.iter().filter(|c| c.expect == Valid).collect();
    for i in fuzz::indices(fuzz::cases()) {
        let mut rng = s.rng(i);
        let call: &Call = if i < 3 {
            valid[if i == 0 {
                0
            } else {
                rand::Rng::random_range(&mut rng, 1..valid.len())
            }]
        } else {
            pick(&mut rng, CALLS)
        };
        let tmp = fuzz::tempdir();
        let text = script(call.code);
        std::fs::write(tmp.path().join("case.py"), &text).unwrap();
        let mut cmd = Command::new(&py);
        cmd.arg("case.py")
            .current_dir(tmp.path())
            .env("FUZZ_REAL", &real)
            .env("FUZZ_TMP", tmp.path())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("RAYON_NUM_THREADS", "1");
        let case = Case {
            mutations: vec![Mutation::new(call.code, call.expect, call.names)],
            cmd,
            limit: LIMIT,
            stdout_is_message: false,
            input: format!("python: {}", call.code),
            refusal_codes: vec![3],
        };
        s.run_case(i, case);
    }
    s.finish();
}
