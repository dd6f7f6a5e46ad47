//! `fsrgan report` on a synthetic run directory: the report's tables, the
//! plots (valid PNGs), and clear errors (exit 1, never a panic's 101) for a
//! missing directory, a corrupt `metrics.jsonl` and a malformed alignment file.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::json;

fn fsrgan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fsrgan"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// `gap1_c2` at the random start and at the end of the synthetic run: their
/// ratio is 48 exactly.
const GAP1_C2_INIT: f64 = 0.6;
const GAP1_C2_FINAL: f64 = 0.0125;

/// One metrics row as a JSON line.
fn row(stage: &str, stage_step: usize, step: usize, values: serde_json::Value) -> String {
    let mut v = values;
    // Floors are constant: the same two real sets in every evaluation.
    for (k, f) in [
        ("floor1_c2", 0.002),
        ("floor1_c4", 0.004),
        ("floor2_c2", 0.003),
        ("floor2_c4", 0.006),
    ] {
        v[k] = json!(f);
    }
    let r = json!({"stage": stage, "stage_step": stage_step, "step": step,
                   "secs": step as f64 * 0.5, "values": v});
    format!("{r}\n")
}

/// The metrics of a two-level run with stages init, dict1, level1, superres2;
/// some values missing, one zero.
fn metrics_lines() -> Vec<String> {
    vec![
        row(
            "init",
            0,
            0,
            json!({"gap1_c2": GAP1_C2_INIT, "gap1_c4": 0.9, "gap2_c2": 0.5, "gap2_c4": 0.8,
                   "dict1_min_cos": 0.21, "dict2_min_cos": 0.1, "alpha_err": 0.7,
                   "beta_err": 0.5, "c_err": 0.4, "sparsity1": 2.0, "sparsity2": 1.5,
                   "sr_residual2": 0.9}),
        ),
        row(
            "dict1",
            100,
            100,
            json!({"gap1_c2": 0.3, "gap1_c4": 0.5, "dict1_min_cos": 0.9}),
        ),
        row(
            "dict1",
            200,
            200,
            json!({"gap1_c2": 0.1, "gap1_c4": 0.2, "dict1_min_cos": 0.99}),
        ),
        row(
            "level1",
            100,
            300,
            json!({"gap1_c2": 0.05, "gap1_c4": 0.0, "alpha_err": 0.1, "beta_err": 0.05,
                   "c_err": 0.02, "sparsity1": 0.55, "d_loss": 1.3, "g_loss": 0.7}),
        ),
        row(
            "superres2",
            100,
            400,
            json!({"gap1_c2": 0.02, "gap1_c4": 0.03, "gap2_c2": 0.2, "gap2_c4": 0.3}),
        ),
        row(
            "superres2",
            200,
            500,
            json!({"gap1_c2": GAP1_C2_FINAL, "gap1_c4": 0.02, "gap2_c2": 0.05,
                   "dict1_min_cos": 0.995, "dict2_min_cos": 0.97, "sparsity2": 0.6,
                   "sr_residual2": 0.08}),
        ),
    ]
}

/// A 4x4 `|cos|` matrix.
fn matrix(seed: usize) -> Vec<Vec<f64>> {
    (0..4)
        .map(|i| {
            (0..4)
                .map(|j| {
                    if (i + seed) % 4 == j {
                        0.95
                    } else {
                        0.1 * ((i + j) % 3) as f64
                    }
                })
                .collect()
        })
        .collect()
}

/// Writes a synthetic run directory into `dir`.
fn synthetic_run(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("metrics.jsonl"), metrics_lines().concat()).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        "seed = 1\n[model]\npreset = \"tiny\"\n",
    )
    .unwrap();
    let e2 = json!({"level": 1, "filters_vs_learner": matrix(0), "filters_vs_truth": matrix(1)});
    std::fs::write(dir.join("alignment-level1.json"), e2.to_string()).unwrap();
}

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.len() > 8 && bytes[..8] == *b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
}

/// The metric names of the table at the top of `src/train/eval.rs`.
fn eval_metric_names() -> Vec<String> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/train/eval.rs")).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("//! | `"))
        .flat_map(|l| {
            let first = l.split(" | ").next().unwrap_or("");
            format!("`{first}")
                .split(", ")
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn report_of_synthetic_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    synthetic_run(&dir);
    let o = fsrgan(&["report", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report_path = dir.join("report.md");
    assert!(String::from_utf8_lossy(&o.stdout).contains("report.md"));
    let md = std::fs::read_to_string(&report_path).unwrap();

    assert!(
        md.contains(
            "| stage | step | secs | steps/s | dict1_min_cos | dict2_min_cos | alpha_err |"
        ),
        "{md}"
    );
    for stage in [
        "| init | 0 |",
        "| dict1 | 200 |",
        "| level1 | 300 |",
        "| superres2 | 500 |",
    ] {
        assert!(md.contains(stage), "no row {stage}:\n{md}");
    }
    // The ratio line of gap1_c2: init, last, floor, final and its floor (absent
    // here: em dashes), init / last = 48, last / floor. Columns:
    // metric | init | last | floor | final | floor (final) | init / final | final / floor.
    let ratio = format!("{:.2}", GAP1_C2_INIT / GAP1_C2_FINAL);
    assert_eq!(ratio, "48.00");
    let line = md
        .lines()
        .find(|l| l.starts_with("| gap1_c2 |"))
        .expect("ratio line");
    let cells: Vec<&str> = line.split('|').map(str::trim).collect();
    assert_eq!(
        &cells[1..9],
        [
            "gap1_c2",
            "0.6000",
            "0.01250",
            "0.002000",
            "—",
            "—",
            ratio.as_str(),
            "6.250"
        ]
    );
    // gap2_c4 is missing in the last row: its last value is the last one present.
    let line = md
        .lines()
        .find(|l| l.starts_with("| gap2_c4 |"))
        .expect("gap2_c4 line");
    let cells: Vec<&str> = line.split('|').map(str::trim).collect();
    assert_eq!(&cells[2..4], ["0.8000", "0.3000"], "{line}");
    assert_eq!(cells[7], "2.667", "{line}");
    // A value missing at a stage end is an em dash.
    assert!(
        md.lines()
            .any(|l| l.starts_with("| level1 |") && l.contains("—"))
    );

    assert!(md.contains("![moment-gaps.png](moment-gaps.png)"), "{md}");
    assert!(
        md.contains("![alignment-level1.png](alignment-level1.png)"),
        "{md}"
    );
    assert!(
        !md.contains("samples.png"),
        "no sample grids in this run:\n{md}"
    );
    assert!(
        md.contains("<details>") && md.contains("preset = \"tiny\""),
        "{md}"
    );
    for name in eval_metric_names() {
        assert!(md.contains(&name), "glossary lacks {name}");
    }
    assert_png(&dir.join("moment-gaps.png"));
    assert_png(&dir.join("alignment-level1.png"));
    assert!(!dir.join("alignment-level2.png").exists());

    // --out elsewhere: images linked relative to the report.
    let out = tmp.path().join("elsewhere.md");
    let o = fsrgan(&[
        "report",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(&out).unwrap();
    assert!(md.contains("(run/moment-gaps.png)"), "{md}");
}

#[test]
fn eval_table_is_parsed() {
    let names = eval_metric_names();
    assert!(names.contains(&"`gap{l}_c{c}`".to_string()), "{names:?}");
    assert!(names.contains(&"`c_err`".to_string()), "{names:?}");
}

#[test]
fn missing_directory_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nope");
    let o = fsrgan(&["report", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains(dir.to_str().unwrap()), "{}", stderr(&o));
}

#[test]
fn corrupt_metrics_line_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    synthetic_run(&dir);
    let mut lines = metrics_lines();
    lines[2] = "{\"stage\": \"dict1\", \"step\": 2\n".into();
    std::fs::write(dir.join("metrics.jsonl"), lines.concat()).unwrap();
    let o = fsrgan(&["report", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(dir.join("metrics.jsonl").to_str().unwrap()),
        "{err}"
    );
    assert!(err.contains("line 3"), "{err}");
    assert!(!dir.join("report.md").exists());
}

#[test]
fn malformed_alignment_file_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    synthetic_run(&dir);
    std::fs::write(
        dir.join("alignment-level2.json"),
        "{\"level\": 2, \"filters_vs_learner\": [[0.5, ",
    )
    .unwrap();
    let o = fsrgan(&["report", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("alignment-level2.json"),
        "{}",
        stderr(&o)
    );
    // A ragged matrix is refused too.
    let e2 = json!({"level": 2, "filters_vs_learner": [[0.1, 0.2], [0.3]],
                    "filters_vs_truth": [[0.1, 0.2], [0.3, 0.4]]});
    std::fs::write(dir.join("alignment-level2.json"), e2.to_string()).unwrap();
    let o = fsrgan(&["report", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("alignment-level2.json") && err.contains("row 1"),
        "{err}"
    );
}
