//! The `fsrgan` binary: sample/inspect end to end, clear errors (exit 1, never
//! a panic's 101) for bad input, overwrite protection.

use std::process::{Command, Output};

fn fsrgan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fsrgan"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn sample_then_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d");
    let grid = dir.path().join("g.png");
    let o = fsrgan(&[
        "sample",
        "--preset",
        "tiny",
        "--n",
        "300",
        "--seed",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--hidden",
        "--grid",
        grid.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(grid.exists() && out.join("manifest.json").exists());
    let o = fsrgan(&["inspect", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("consistent: yes") && text.contains("x2"),
        "{text}"
    );
    // Sampling again into the same directory is refused without --force.
    let o = fsrgan(&[
        "sample",
        "--preset",
        "tiny",
        "--n",
        "10",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    // A corrupted file makes inspect fail with a message naming it.
    let path = out.join("samples.npz");
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let o = fsrgan(&["inspect", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("samples.npz") && stderr(&o).contains("corrupted"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_input_gives_clear_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "preset = 'small'\nm = 40\n").unwrap();
    let out = dir.path().join("o");
    let o = fsrgan(&[
        "sample",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("field `m`") && stderr(&o).contains("orthonormal"),
        "{}",
        stderr(&o)
    );
    for args in [
        vec!["sample", "--preset", "nope", "--out", "x"],
        vec![
            "sample",
            "--preset",
            "tiny",
            "--out",
            out.to_str().unwrap(),
            "--shard",
            "3/3",
        ],
        vec![
            "sample",
            "--preset",
            "tiny",
            "--out",
            out.to_str().unwrap(),
            "--n",
            "0",
        ],
        vec!["sample", "--config", "/nonexistent.toml", "--out", "x"],
        vec!["inspect", "/nonexistent-dir"],
    ] {
        let o = fsrgan(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).starts_with("error:") || stderr(&o).contains("\nerror:"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    // Usage errors are clap's (exit 2), e.g. both --preset and --config.
    let o = fsrgan(&[
        "sample", "--preset", "tiny", "--config", "a.toml", "--out", "x",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn verify_runs_a_claim_and_rejects_unknown_ones() {
    let o = fsrgan(&["verify", "--claim", "T3", "--samples", "1000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("0 failed"));
    let o = fsrgan(&["verify", "--claim", "T9"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("T1, T2"), "{}", stderr(&o));
    let o = fsrgan(&["verify", "--claim", "t8", "--samples", "1000", "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v.as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|c| c["pass"] == true))
    );
}
