//! `fsrgan score` of a REAL without a truth (issue 30's leftover): a plain
//! `.npz`/directory of `.npy` with `--preset`, or a dataset whose manifest
//! records no params file. The floor set is split from REAL; atom coverage,
//! which needs the truth, is reported as not computable; every other metric
//! is what the library computes, and a perfect generator sits at its floor.

use std::path::Path;
use std::process::{Command, Output};

use fsrgan::io::dataset::{self, WriteOptions};
use fsrgan::io::{Dtype, Format, Manifest, TensorSpec, TensorWriter};
use fsrgan::metrics::score::{ScoreOptions, floor_split, fresh_real, score_without_truth};
use fsrgan::model::{Config, Params};
use ndarray::Array4;

fn fsrgan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fsrgan"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn write_npz(path: &Path, x: &[Array4<f64>]) {
    let specs = x
        .iter()
        .enumerate()
        .map(|(l, a)| TensorSpec {
            name: format!("x{}", l + 1),
            dtype: Dtype::F64,
            shape: a.shape().to_vec(),
        })
        .collect();
    let mut w = TensorWriter::create(path, Format::Npz, specs, &Default::default()).unwrap();
    for (i, a) in x.iter().enumerate() {
        w.append_f64(i, a.as_slice().unwrap()).unwrap();
    }
    w.finish().unwrap();
}

fn score_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["score"];
    all.extend_from_slice(args);
    all.push("--json");
    let o = fsrgan(&all);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn a_real_set_without_a_truth_is_scored_with_a_split_floor() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::preset("tiny").unwrap();
    let truth = Params::generate(&cfg, 1).unwrap();
    let real = fresh_real(&truth, 11, 1200, false);
    let good = fresh_real(&truth, 12, 400, false);
    let bad: Vec<Array4<f64>> = good.iter().map(|x| x * 3.0).collect();
    let (rp, gp, bp) = (
        dir.path().join("real.npz"),
        dir.path().join("good.npz"),
        dir.path().join("bad.npz"),
    );
    write_npz(&rp, &real);
    write_npz(&gp, &good);
    write_npz(&bp, &bad);

    let j = score_json(&[p(&rp), p(&gp), "--preset", "tiny", "--seed", "5"]);
    let sc = &j["score"];
    assert_eq!(
        sc["n_real"], 800,
        "the reference is REAL less the floor's 400"
    );
    assert_eq!(sc["n_fake"], 400);
    // The library's numbers, the command line's.
    let (lib, rows) = score_without_truth(&real, &cfg, &good, &ScoreOptions::default(), 5).unwrap();
    assert_eq!(rows, floor_split(1200, 400, 5));
    assert_eq!(rows.len(), 400);
    assert!(rows.windows(2).all(|w| w[0] < w[1]) && rows[399] < 1200);
    assert_eq!(serde_json::to_value(&lib).unwrap(), *sc);
    let bad_j = score_json(&[p(&rp), p(&bp), "--preset", "tiny", "--seed", "5"]);
    for (lg, lb) in sc["levels"]
        .as_array()
        .unwrap()
        .iter()
        .zip(bad_j["score"]["levels"].as_array().unwrap())
    {
        // Coverage needs the truth: said, not computed.
        let cov = &lg["coverage"];
        assert!(
            cov["not_computable"].as_str().unwrap().contains("no truth"),
            "{cov}"
        );
        assert_eq!(cov["fake"]["atoms_real"], 0);
        // The perfect set is a real set of the floor's size (its ratio is
        // 1 up to sampling noise); images three times too bright are far above.
        let (g, b) = (&lg["patch_swd"], &lb["patch_swd"]);
        let ratio =
            |w: &serde_json::Value| w["value"].as_f64().unwrap() / w["floor"].as_f64().unwrap();
        eprintln!("patch SWD / floor: good {} bad {}", ratio(g), ratio(b));
        assert!(ratio(g) < 2.0, "{g}");
        assert!(ratio(b) > 4.0, "{b}");
    }
    let o = fsrgan(&["score", p(&rp), p(&gp), "--preset", "tiny"]);
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        text.contains("not computable") && text.contains("no truth"),
        "{text}"
    );

    // Refused: no shapes for a plain REAL; shapes for a dataset with its
    // own truth; a REAL too small to split off a floor of FAKE's size.
    let o = fsrgan(&["score", p(&rp), p(&gp)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("REAL_DIR") && stderr(&o).contains("--preset"),
        "{}",
        stderr(&o)
    );
    let ds = dir.path().join("ds");
    dataset::write(
        &ds,
        &truth,
        &WriteOptions {
            n: 1200,
            seed: 1,
            ..WriteOptions::default()
        },
        |_| {},
    )
    .unwrap();
    let o = fsrgan(&["score", p(&ds), p(&gp), "--preset", "tiny"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("its own config and truth"),
        "{}",
        stderr(&o)
    );
    let small = dir.path().join("small.npz");
    let head: Vec<Array4<f64>> = real
        .iter()
        .map(|x| x.slice(ndarray::s![..401, .., .., ..]).to_owned())
        .collect();
    write_npz(&small, &head);
    let o = fsrgan(&["score", p(&small), p(&gp), "--preset", "tiny"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("401 samples") && stderr(&o).contains("402"),
        "{}",
        stderr(&o)
    );
    // 402 is enough: a reference of 2.
    let head: Vec<Array4<f64>> = real
        .iter()
        .map(|x| x.slice(ndarray::s![..402, .., .., ..]).to_owned())
        .collect();
    write_npz(&small, &head);
    assert_eq!(
        score_json(&[p(&small), p(&gp), "--preset", "tiny"])["score"]["n_real"],
        2
    );

    // A dataset without a truth (as `fsrgan generate` writes them: no params
    // file): its manifest gives the shapes.
    std::fs::remove_file(ds.join("params.safetensors")).unwrap();
    let (mut m, kind) = Manifest::read_kind(&ds.join("manifest.json")).unwrap();
    m.files.remove("params.safetensors");
    m.params_file.clear();
    m.write_kind(&ds.join("manifest.json"), kind).unwrap();
    let j = score_json(&[p(&ds), p(&gp)]);
    assert_eq!(j["score"]["n_real"], 800);
    assert!(j["score"]["levels"][0]["coverage"]["not_computable"].is_string());
    let o = fsrgan(&["score", p(&ds), p(&gp), "--preset", "tiny"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("its own config"), "{}", stderr(&o));
}
