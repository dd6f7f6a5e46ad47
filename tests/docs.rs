//! The docs test: every command line documented in `README.md`,
//! `python/README.md` and `experiments/*/README.md` either runs, as a new
//! user types it, at a reduced size — in a **clean environment** (no
//! `RAYON_*`, `OMP_*`, `OPENBLAS_NUM_THREADS`, `FSRGAN_*`), on one core and
//! on two (`taskset`), one fresh working directory per core count — or is
//! listed in [`NOT_RUN`] with the reason. A command fails the test on a
//! non-zero exit, a panic, or an output it promises but does not write.
//!
//! Reduced sizes (the substitution table, applied to a documented command
//! before it runs; nothing else changes):
//!
//! | documented | run as |
//! |---|---|
//! | `fsrgan` / `cargo run --release --` | the test's `fsrgan` binary |
//! | `--n N` with `N > 2000` | `--n 2000` |
//! | `--samples N` (verify) | `--samples 20000`; `fsrgan verify` without it gets it |
//! | `train --config C` (a repository file) | a copy of `C` with `steps = 20`, `fade_steps = 10`, `max_seconds = 60`, `eval = 512`, `reference = 2048`, `metrics_every = 10`, `checkpoint_every = 10` |
//! | `train --preset tiny` | `common::FAST_TINY` (the preset with 20/10/10 steps) |
//! | Python: `n=100_000`, `n=10_000`, `samples=10**6` | `n=2000`, `samples=20000` |
//!
//! Outputs checked: `--out D` of `sample`/`generate` holds `manifest.json`,
//! of `train` `report.md`; `--grid G` is a PNG; `> F` is a non-empty file.
//! Each documentation file's commands run in order in a fresh working
//! directory of their own, as a reader following that file would.
#![cfg(feature = "torch")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Documented commands that this test does not run, each with the reason.
/// A documented command matching none of these and not runnable fails the
/// test, so a new command cannot be skipped silently. Matched by prefix.
const NOT_RUN: &[(&str, &str)] = &[
    (
        "./scripts/setup.sh && cargo run --release -- demo",
        "the main job: about 4.7 minutes on two cores after the build (measured by hand, README)",
    ),
    (
        "./scripts/setup.sh && cargo test --release",
        "the test command itself (this test runs inside it)",
    ),
    (
        "cargo test",
        "a subset of the test command this test runs inside",
    ),
    (
        "PROPTEST_CASES=",
        "a long property-test run, 100x the suite's cases (its wall time is in the README)",
    ),
    (
        "cargo bench",
        "a criterion benchmark: minutes per run, measured by hand",
    ),
    (
        "cargo build --release --example",
        "builds a speed example, measured by hand",
    ),
    (
        "experiments/",
        "an experiment script: tens of minutes to hours (its wall time is in its README)",
    ),
    (
        "cargo run --release --example family_figure",
        "draws an experiment's figure from the JSON of its long runs (committed beside it)",
    ),
    (
        ".venv/bin/python benches/",
        "a PyTorch/NumPy peer for speed ratios, measured by hand",
    ),
    (
        ".venv/bin/python experiments/",
        "an experiment table script over long runs",
    ),
    (
        "fsrgan sample --config my.toml",
        "names the user's own config `my.toml`",
    ),
    (
        "fsrgan train --config runs/speed/",
        "a config the README spells out in comments, not a file",
    ),
    (
        "fsrgan train --preset small",
        "the `small` GAN default and baselines: 4-20 minutes each on two cores",
    ),
];

/// The shell command lines of a Markdown file: lines of indented (4 spaces)
/// or fenced code blocks, comments after `  #` removed.
fn command_lines(text: &str) -> (Vec<String>, Vec<String>) {
    let (mut shell, mut python) = (Vec::new(), Vec::new());
    let mut fence: Option<String> = None;
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("```") {
            fence = match fence {
                Some(_) => None,
                None => Some(rest.trim().to_string()),
            };
            continue;
        }
        let code = match &fence {
            Some(lang) if lang == "python" => {
                if !t.is_empty() {
                    python.push(line.to_string());
                }
                continue;
            }
            Some(lang) if lang == "toml" => continue,
            Some(_) => Some(t),
            None => line.strip_prefix("    ").map(str::trim_start),
        };
        let Some(code) = code else { continue };
        let code = match code.find("  #") {
            Some(i) => code[..i].trim_end(),
            None => code.trim_end(),
        };
        let first = code.split_whitespace().next().unwrap_or("");
        let is_cmd = ["fsrgan", "cargo", "./scripts/setup.sh", ".venv/bin/python"].contains(&first)
            || first.starts_with("experiments/");
        if is_cmd {
            shell.push(code.to_string());
        }
    }
    (shell, python)
}

/// Every documented command with its file.
fn documented() -> Vec<(String, String, bool)> {
    let mut files = vec![root().join("README.md"), root().join("python/README.md")];
    let mut exp: Vec<PathBuf> = std::fs::read_dir(root().join("experiments"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path().join("README.md")))
        .filter(|p| p.is_file())
        .collect();
    exp.sort();
    files.extend(exp);
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let name = f.strip_prefix(root()).unwrap().display().to_string();
        let (shell, python) = command_lines(&text);
        out.extend(shell.into_iter().map(|c| (name.clone(), c, false)));
        if !python.is_empty() {
            out.push((name, python.join("\n"), true));
        }
    }
    out
}

/// A synopsis runs with its optional `[...]` parts dropped and the first of
/// each `a|b|c` alternative; `None` when placeholders remain (`RUN_DIR`,
/// `FILE`, `B`, `...`), so it is not runnable as written.
fn desynopsis(cmd: &str) -> Option<String> {
    let mut out = String::new();
    let mut depth = 0usize;
    for ch in cmd.chars() {
        match ch {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(ch),
            _ => {}
        }
    }
    let words: Vec<&str> = out
        .split_whitespace()
        .map(|w| w.split('|').next().unwrap_or(w))
        .collect();
    let placeholder = |w: &&str| {
        !w.is_empty() && w.chars().all(|c| c.is_ascii_uppercase() || c == '_') || w.contains("...")
    };
    if words.iter().any(placeholder) {
        return None;
    }
    Some(words.join(" "))
}

/// The reduced command (see the module's table), with the outputs it
/// promises; `None` when it is not an `fsrgan` command.
fn reduce(cmd: &str, work: &Path) -> Option<(Vec<String>, Vec<PathBuf>, Option<PathBuf>)> {
    let rest = cmd
        .strip_prefix("fsrgan ")
        .or_else(|| cmd.strip_prefix("cargo run --release -- "))
        .or_else(|| (cmd == "cargo run --release -- verify").then_some("verify"))?;
    let (rest, redirect) = match rest.split_once(" > ") {
        Some((a, b)) => (a, Some(work.join(b.trim()))),
        None => (rest, None),
    };
    // Absolute scratch paths (`/tmp/...`) go into the work directory too.
    let mut words: Vec<String> = rest
        .split_whitespace()
        .map(|w| match w.strip_prefix("/tmp/") {
            Some(p) => work.join(p).display().to_string(),
            None => w.to_string(),
        })
        .collect();
    let mut outputs = Vec::new();
    let sub = words[0].clone();
    let mut i = 0;
    while i < words.len() {
        match words[i].as_str() {
            "--n" => {
                if let Some(n) = words.get(i + 1).and_then(|v| v.parse::<u64>().ok())
                    && n > 2000
                {
                    words[i + 1] = "2000".into();
                }
            }
            "--samples" => words[i + 1] = "20000".into(),
            "--grid" => outputs.push(work.join(&words[i + 1])),
            "--out" => {
                let d = work.join(&words[i + 1]);
                outputs.push(d.join(if sub == "train" {
                    "report.md"
                } else {
                    "manifest.json"
                }));
            }
            "--preset" if sub == "train" && words[i + 1] == "tiny" => {
                let p = work.join("docs-fast-tiny.toml");
                std::fs::write(&p, common::FAST_TINY).unwrap();
                words[i] = "--config".into();
                words[i + 1] = p.display().to_string();
            }
            "--config" if sub == "train" => {
                let src = root().join(&words[i + 1]);
                let text = std::fs::read_to_string(&src).unwrap();
                let mut reduced = String::new();
                for line in text.lines() {
                    let key = line.split('=').next().unwrap_or("").trim();
                    let v = match key {
                        "steps" => Some("20"),
                        "fade_steps" => Some("10"),
                        "max_seconds" => Some("60"),
                        "eval" => Some("512"),
                        "reference" => Some("2048"),
                        "metrics_every" | "checkpoint_every" => Some("10"),
                        _ => None,
                    };
                    match v {
                        Some(v) if line.contains('=') => {
                            reduced.push_str(&format!("{key} = {v}\n"))
                        }
                        _ => {
                            reduced.push_str(line);
                            reduced.push('\n');
                        }
                    }
                }
                let p = work.join(format!(
                    "docs-{}",
                    src.file_name().unwrap().to_string_lossy()
                ));
                std::fs::write(&p, reduced).unwrap();
                words[i + 1] = p.display().to_string();
            }
            _ => {}
        }
        i += 1;
    }
    if sub == "verify" && !words.iter().any(|w| w == "--samples") {
        words.extend(["--samples".into(), "20000".into()]);
    }
    Some((words, outputs, redirect))
}

/// A command under a clean environment, pinned to `cores` with `taskset`
/// when it exists.
fn clean(program: &Path, cores: usize) -> Command {
    let taskset = Path::new("/usr/bin/taskset");
    let mut cmd = if taskset.exists() {
        let mut c = Command::new(taskset);
        c.arg("-c")
            .arg(if cores == 1 { "0" } else { "0,1" })
            .arg(program);
        c
    } else {
        Command::new(program)
    };
    cmd.env_clear();
    for keep in ["PATH", "HOME", "LANG", "TMPDIR"] {
        if let Some(v) = std::env::var_os(keep) {
            cmd.env(keep, v);
        }
    }
    cmd
}

/// Runs every documented command (or checks that it is listed in
/// [`NOT_RUN`] or is a synopsis) on one core and on two.
#[test]
fn every_documented_command_runs_as_a_new_user_types_it() {
    let cmds = documented();
    assert!(
        cmds.iter().any(|(_, c, _)| c.starts_with("fsrgan train")),
        "the collector found no `fsrgan train` line: {cmds:?}"
    );
    let cores_here = fsrgan::threads::available_cores();
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_fsrgan"));
    let python = root().join(".venv/bin/python");
    let mut listed = Vec::new();
    for cores in [1usize, 2] {
        if cores > cores_here {
            eprintln!("only {cores_here} core(s): the {cores}-core pass is not run");
            continue;
        }
        // One fresh working directory per documentation file, as a reader
        // following that file would have.
        let mut works: std::collections::BTreeMap<String, tempfile::TempDir> = Default::default();
        for (file, cmd, is_python) in &cmds {
            let work = works
                .entry(file.clone())
                .or_insert_with(|| tempfile::tempdir().unwrap());
            if *is_python {
                if !python.is_file() {
                    listed.push((file.clone(), "python snippet".into(), "no .venv"));
                    continue;
                }
                let code = cmd
                    .replace("n=100_000", "n=2000")
                    .replace("n=10_000", "n=2000")
                    .replace("samples=10**6", "samples=20000");
                let o = clean(&python, cores)
                    .arg("-c")
                    .arg(&code)
                    .current_dir(work.path())
                    .output()
                    .unwrap();
                assert!(
                    o.status.success(),
                    "{file}: the Python snippet failed on {cores} core(s):\n{}",
                    String::from_utf8_lossy(&o.stderr)
                );
                continue;
            }
            if let Some((_, why)) = NOT_RUN.iter().find(|(p, _)| cmd.starts_with(p)) {
                listed.push((file.clone(), cmd.clone(), *why));
                continue;
            }
            let Some(runnable) = desynopsis(cmd) else {
                listed.push((file.clone(), cmd.clone(), "a synopsis with placeholders"));
                continue;
            };
            let Some((args, outputs, redirect)) = reduce(&runnable, work.path()) else {
                panic!("{file}: `{cmd}` is neither runnable here nor listed in NOT_RUN");
            };
            let t0 = std::time::Instant::now();
            let o = clean(&exe, cores)
                .args(&args)
                .current_dir(work.path())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&o.stderr);
            eprintln!(
                "[{cores} core(s)] {:.1} s  fsrgan {}",
                t0.elapsed().as_secs_f64(),
                args.join(" ")
            );
            assert!(
                o.status.success() && !stderr.contains("panicked"),
                "{file}: `{cmd}` (run as `fsrgan {}`) failed on {cores} core(s): {:?}\n{stderr}",
                args.join(" "),
                o.status.code()
            );
            if let Some(r) = redirect {
                std::fs::create_dir_all(r.parent().unwrap()).unwrap();
                std::fs::write(&r, &o.stdout).unwrap();
                assert!(
                    !o.stdout.is_empty(),
                    "{file}: `{cmd}` wrote nothing to {}",
                    r.display()
                );
            }
            for out in outputs {
                assert!(
                    out.is_file(),
                    "{file}: `{cmd}` did not write {}",
                    out.display()
                );
            }
        }
        // No temporary file is left behind anywhere in the work trees.
        let mut stack: Vec<PathBuf> = works.values().map(|w| w.path().to_path_buf()).collect();
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                assert!(
                    !name.contains(".tmp-"),
                    "a temporary file was left behind: {}",
                    e.path().display()
                );
                if e.path().is_dir() {
                    stack.push(e.path());
                }
            }
        }
    }
    listed.sort();
    listed.dedup();
    eprintln!("documented commands not run, with the reason:");
    for (file, cmd, why) in &listed {
        eprintln!("  {file}: `{cmd}` — {why}");
    }
}
