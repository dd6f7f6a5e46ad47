//! Fuzz surface 5 (issue 34 item 7): `fsrgan train --resume RUN_DIR` on
//! damaged run directories of both tracks — an emptied, truncated, edited,
//! non-UTF-8 or missing `config.toml`, flipped bits in `truth.safetensors`
//! and in the checkpoint files, truncated, emptied or deleted checkpoint
//! files, `checkpoint/` as a file, damaged metrics — from a theory run
//! stopped in its second stage and a practice run stopped by its step
//! budget. No crash, no hang, no exit 0 on a damaged run that must be
//! refused, every refusal naming the file or field (harness:
//! `tests/fuzz/mod.rs`).
#![cfg(feature = "torch")]

mod fuzz;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fuzz::{Case, Expect, Mutation, Surface, pick};
use rand_chacha::ChaCha8Rng;

/// Mutations known to fail, skipped with a note.
const KNOWN_OPEN_RESUME: &[&str] = &[];

const LIMIT: Duration = Duration::from_secs(20);

/// A theory run of 3 steps a stage, stopped after 4 (in `level1`).
const THEORY_STOPPED: &str = r#"preset = "tiny"
batch = 64
eval_batch = 32
final_eval = 64
real_samples = 256
samples = 512
metrics_every = 1
checkpoint_every = 1

[dictionary]
steps = 3

[level1]
steps = 3

[superres]
steps = 3
candidates = 1

[cpu]
threads = 1

[debug]
stop_after_steps = 4
"#;

/// A practice run of 4 steps stopped by its budget of 2.
const PRACTICE_STOPPED: &str = r#"track = "practice"
metrics_every = 1
checkpoint_every = 1
eval = 64
reference = 128

[practice]
steps = 4
max_steps = 2
batch = 16
width = 8
z_dim = 8
max_seconds = 10

[cpu]
threads = 1
"#;

/// Config keys whose change a resume may take (budgets, threads, the
/// debug stop): editing them is not necessarily a different run.
const RESUMABLE_KEYS: &[&str] = &[
    "threads",
    "wait",
    "stop_after_steps",
    "max_steps",
    "max_seconds",
];

const DAMAGES: &[&str] = &[
    "none",
    "config-empty",
    "config-half",
    "config-edit-number",
    "config-edit-string",
    "config-unknown-key",
    "config-non-utf8",
    "config-flip",
    "config-delete",
    "config-is-dir",
    "truth-flip",
    "truth-truncate",
    "truth-empty",
    "truth-delete",
    "checkpoint-is-file",
    "checkpoint-delete",
    "checkpoint-emptied",
    "ckpt-flip",
    "ckpt-truncate",
    "ckpt-empty",
    "ckpt-delete",
    "ckpt-is-dir",
    "metrics-garbage",
    "metrics-delete",
    "data-json-garbage",
    "lock-garbage",
    "resume-missing-dir",
    "resume-empty-dir",
    "resume-a-file",
    "resume-with-force",
    "resume-threads-2",
    "practice-data-path-missing",
];

/// Applies damage `what` to the run copy `run` (track `track`); returns the
/// mutation, a description and the `--resume` target and extra arguments.
fn damage(
    run: &Path,
    track: &str,
    what: &str,
    rng: &mut ChaCha8Rng,
) -> (Mutation, String, String, Vec<String>) {
    use Expect::{Either, Invalid, Valid};
    let id = format!("resume:{track}:{what}");
    let m = |e: Expect, names: &[&str]| Mutation::new(id.clone(), e, names);
    let cfg = run.join("config.toml");
    let truth = run.join("truth.safetensors");
    let ckpt = run.join("checkpoint");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let mut target = "run".to_string();
    let mut extra: Vec<String> = vec![];
    let ckpt_files: Vec<String> = {
        let mut v: Vec<String> = std::fs::read_dir(&ckpt)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    // The file a resume cannot do without.
    let state = if track == "theory" {
        "state.safetensors"
    } else {
        "practice.safetensors"
    };
    let (mutation, desc) = match what {
        "none" => (m(Valid, &[]), "no damage".to_string()),
        "config-empty" => {
            std::fs::write(&cfg, "").unwrap();
            (
                m(Invalid, &["config.toml", "differs"]),
                "config.toml emptied".into(),
            )
        }
        "config-half" => {
            std::fs::write(&cfg, &text[..text.len() / 2]).unwrap();
            (
                m(Invalid, &["config.toml", "differs"]),
                "config.toml cut in half".into(),
            )
        }
        "config-edit-number" | "config-edit-string" => {
            let lines: Vec<&str> = text.lines().collect();
            let want_num = what == "config-edit-number";
            let cands: Vec<usize> = (0..lines.len())
                .filter(|&i| {
                    let Some((_, v)) = lines[i].split_once(" = ") else {
                        return false;
                    };
                    if want_num {
                        v.parse::<i64>().is_ok()
                    } else {
                        v.starts_with('"') && !lines[i].starts_with("data")
                    }
                })
                .collect();
            let i = *pick(rng, &cands);
            let (k, v) = lines[i].split_once(" = ").unwrap();
            let nv = if want_num {
                (v.parse::<i64>().unwrap() + 1).to_string()
            } else {
                format!("\"{}x\"", v.trim_matches('"'))
            };
            let mut out: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            out[i] = format!("{k} = {nv}");
            std::fs::write(&cfg, out.join("\n") + "\n").unwrap();
            let e = if RESUMABLE_KEYS.contains(&k.trim()) {
                Either
            } else {
                Invalid
            };
            (
                m(e, &[k.trim(), "config.toml"]),
                format!("config.toml line `{}` -> `{k} = {nv}`", lines[i]),
            )
        }
        "config-unknown-key" => {
            std::fs::write(&cfg, format!("bogus_key = 1\n{text}")).unwrap();
            (
                m(Invalid, &["bogus_key", "config.toml"]),
                "config.toml starts with `bogus_key = 1`".into(),
            )
        }
        "config-non-utf8" => {
            let mut b = text.clone().into_bytes();
            b.extend_from_slice(b"\xff\xfe\n");
            std::fs::write(&cfg, b).unwrap();
            (
                m(Invalid, &["config.toml"]),
                "config.toml ends in bytes ff fe".into(),
            )
        }
        "config-flip" => {
            let at = fuzz::flip_bit(&cfg, rng, 0..usize::MAX);
            (
                m(Either, &["config.toml"]),
                format!("config.toml bit flipped at byte {at}"),
            )
        }
        "config-delete" => {
            std::fs::remove_file(&cfg).unwrap();
            (m(Invalid, &["config.toml"]), "config.toml deleted".into())
        }
        "config-is-dir" => {
            std::fs::remove_file(&cfg).unwrap();
            std::fs::create_dir(&cfg).unwrap();
            (
                m(Invalid, &["config.toml"]),
                "config.toml is a directory".into(),
            )
        }
        "truth-flip" => {
            let at = fuzz::flip_bit(&truth, rng, 0..usize::MAX);
            (
                m(Invalid, &["truth.safetensors"]),
                format!("truth.safetensors bit flipped at byte {at}"),
            )
        }
        "truth-truncate" => {
            let n = fuzz::truncate(&truth, rng);
            (
                m(Invalid, &["truth.safetensors"]),
                format!("truth.safetensors cut to {n} bytes"),
            )
        }
        "truth-empty" => {
            std::fs::write(&truth, b"").unwrap();
            (
                m(Invalid, &["truth.safetensors"]),
                "truth.safetensors emptied".into(),
            )
        }
        "truth-delete" => {
            std::fs::remove_file(&truth).unwrap();
            let e = if track == "theory" { Invalid } else { Either };
            (
                m(e, &["truth.safetensors", "truth"]),
                "truth.safetensors deleted".into(),
            )
        }
        "checkpoint-is-file" => {
            std::fs::remove_dir_all(&ckpt).unwrap();
            std::fs::write(&ckpt, "not a directory").unwrap();
            (
                m(Invalid, &["checkpoint"]),
                "checkpoint/ replaced by a file".into(),
            )
        }
        "checkpoint-delete" => {
            std::fs::remove_dir_all(&ckpt).unwrap();
            (m(Either, &["checkpoint"]), "checkpoint/ deleted".into())
        }
        "checkpoint-emptied" => {
            std::fs::remove_dir_all(&ckpt).unwrap();
            std::fs::create_dir(&ckpt).unwrap();
            (m(Either, &["checkpoint"]), "checkpoint/ emptied".into())
        }
        "ckpt-flip" | "ckpt-truncate" | "ckpt-empty" | "ckpt-delete" | "ckpt-is-dir" => {
            let f = pick(rng, &ckpt_files).clone();
            let p = ckpt.join(&f);
            let fname = f.as_str();
            // A resume reads the state file alone; `learner.safetensors`
            // (for `fsrgan generate --checkpoint`) and `stage-*.safetensors`
            // are exports it never reads, so their damage may go unnoticed.
            let read = if f == state { Invalid } else { Either };
            match what {
                "ckpt-flip" => {
                    let at = fuzz::flip_bit(&p, rng, 0..usize::MAX);
                    (
                        m(read, &[fname]),
                        format!("checkpoint/{f} bit flipped at byte {at}"),
                    )
                }
                "ckpt-truncate" => {
                    let n = fuzz::truncate(&p, rng);
                    (
                        m(read, &[fname]),
                        format!("checkpoint/{f} cut to {n} bytes"),
                    )
                }
                "ckpt-empty" => {
                    std::fs::write(&p, b"").unwrap();
                    (m(read, &[fname]), format!("checkpoint/{f} emptied"))
                }
                "ckpt-delete" => {
                    std::fs::remove_file(&p).unwrap();
                    let e = if f == state { Invalid } else { Either };
                    (
                        m(e, &[fname, "checkpoint"]),
                        format!("checkpoint/{f} deleted"),
                    )
                }
                _ => {
                    std::fs::remove_file(&p).unwrap();
                    std::fs::create_dir(&p).unwrap();
                    (
                        m(read, &[fname]),
                        format!("checkpoint/{f} replaced by a directory"),
                    )
                }
            }
        }
        "metrics-garbage" => {
            std::fs::write(run.join("metrics.jsonl"), b"{not json\n\xff\n").unwrap();
            (
                m(Either, &["metrics.jsonl"]),
                "metrics.jsonl = garbage".into(),
            )
        }
        "metrics-delete" => {
            let _ = std::fs::remove_file(run.join("metrics.jsonl"));
            (
                m(Either, &["metrics.jsonl"]),
                "metrics.jsonl deleted".into(),
            )
        }
        "data-json-garbage" => {
            std::fs::write(run.join("data.json"), b"[[[").unwrap();
            (m(Either, &["data.json"]), "data.json = `[[[`".into())
        }
        "lock-garbage" => {
            std::fs::write(run.join(".fsrgan.lock"), b"not a pid").unwrap();
            (m(Either, &["lock"]), ".fsrgan.lock = `not a pid`".into())
        }
        "resume-missing-dir" => {
            target = "nothere".into();
            (m(Invalid, &["nothere"]), "--resume nothere".into())
        }
        "resume-empty-dir" => {
            std::fs::create_dir_all(run.parent().unwrap().join("emptydir")).unwrap();
            target = "emptydir".into();
            (
                m(Invalid, &["emptydir", "config.toml"]),
                "--resume emptydir".into(),
            )
        }
        "resume-a-file" => {
            std::fs::write(run.parent().unwrap().join("afile"), "a file").unwrap();
            target = "afile".into();
            (m(Invalid, &["afile"]), "--resume afile".into())
        }
        "resume-with-force" => {
            extra = vec!["--force".into()];
            (
                m(Either, &["--force", "force"]),
                "--resume run --force".into(),
            )
        }
        "resume-threads-2" => {
            extra = vec!["--threads".into(), "2".into()];
            (
                m(Either, &["--threads", "threads"]),
                "--resume run --threads 2".into(),
            )
        }
        "practice-data-path-missing" if track == "practice" => {
            let out: Vec<String> = text
                .lines()
                .map(|l| {
                    if l.starts_with("data = ") {
                        "data = \"/nonexistent/fuzz-data\"".to_string()
                    } else {
                        l.to_string()
                    }
                })
                .collect();
            std::fs::write(&cfg, out.join("\n") + "\n").unwrap();
            (
                m(Invalid, &["/nonexistent/fuzz-data", "data"]),
                "config.toml data = \"/nonexistent/fuzz-data\"".into(),
            )
        }
        "practice-data-path-missing" => (m(Valid, &[]), "no damage".into()),
        other => panic!("unknown damage {other}"),
    };
    (mutation, desc, target, extra)
}

#[test]
fn fuzz_resume_damaged_run_directories() {
    let mut s = Surface::new("resume", 0x4E_0005, KNOWN_OPEN_RESUME);
    let base = fuzz::tempdir();
    let b = base.path();
    std::fs::write(b.join("theory.toml"), THEORY_STOPPED).unwrap();
    std::fs::write(b.join("practice.toml"), PRACTICE_STOPPED).unwrap();
    fuzz::setup(
        &[
            "sample", "--preset", "tiny", "--n", "512", "--seed", "1", "--out", "tiny",
        ],
        b,
    );
    let data = b.join("tiny").display().to_string();
    fuzz::setup(
        &[
            "train",
            "--config",
            "theory.toml",
            "--out",
            "theory",
            "--device",
            "cpu",
        ],
        b,
    );
    fuzz::setup(
        &[
            "train",
            "--config",
            "practice.toml",
            "--data",
            &data,
            "--out",
            "practice",
            "--device",
            "cpu",
        ],
        b,
    );
    for i in fuzz::indices(fuzz::cases()) {
        let mut rng = s.rng(i);
        let track = if i % 2 == 0 { "theory" } else { "practice" };
        let what = if i < 2 {
            "none"
        } else {
            *pick(&mut rng, DAMAGES)
        };
        let tmp = fuzz::tempdir();
        let run = tmp.path().join("run");
        fuzz::copy_dir(&b.join(track), &run);
        let (m, desc, target, extra) = damage(&run, track, what, &mut rng);
        let mut args: Vec<String> = vec![
            "train".into(),
            "--resume".into(),
            target,
            "--device".into(),
            "cpu".into(),
        ];
        args.extend(extra);
        let mut cmd = Command::new(fuzz::bin());
        cmd.args(&args).current_dir(tmp.path());
        let case = Case {
            mutations: vec![m],
            cmd,
            limit: LIMIT,
            stdout_is_message: false,
            refusal_codes: vec![],
            input: format!("{track} run: {desc}; fsrgan {}", args.join(" ")),
        };
        s.run_case(i, case);
    }
    s.finish();
}
