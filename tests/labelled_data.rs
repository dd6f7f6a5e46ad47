//! Labelled mixtures (`fsrgan sample --classes K`) and domain pairs
//! (`fsrgan sample --domains 2`), issue 23 item 1: round trips against the
//! library and an independent per-sample computation, identical bytes for
//! any chunk size and shard, codes shared across domains, label
//! frequencies, damaged files rejected with the array named, incompatible
//! flags named, per-class scores at their floor (and not with permuted
//! labels), translation errors, and the clustering and translation metrics
//! against hand-computed and published values.

use std::path::Path;
use std::process::{Command, Output};

use fsrgan::io::dataset::{self, Truth, WriteOptions};
use fsrgan::io::manifest::{Kind, Manifest, Shard};
use fsrgan::io::reader::{Tensor, read_tensors};
use fsrgan::io::writer::FileDigest;
use fsrgan::io::{Dataset, Dtype, Format, IoError, TensorSpec, TensorWriter};
use fsrgan::metrics::cluster::{ARI_CHANCE, adjusted_rand_index, purity, purity_chance};
use fsrgan::metrics::score::{fresh_labelled, fresh_paired};
use fsrgan::metrics::translation::{cycle_error, translation_error};
use fsrgan::model::{Config, Labelled, Paired, Params, Sampler};
use fsrgan::testing::{F32_ROUNDING, F64_FEW_OPS, F64_ROUNDOFF};
use ndarray::{Array4, ArrayD, Axis, s};

fn tiny_config() -> Config {
    Config::preset("tiny").unwrap()
}

fn f32r(a: &Array4<f64>) -> Array4<f64> {
    a.mapv(|v| f64::from(v as f32))
}

fn opts(n: u64, seed: u64, hidden: bool) -> WriteOptions {
    WriteOptions {
        n,
        seed,
        hidden,
        chunk: 37,
        force: true,
        ..WriteOptions::default()
    }
}

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

/// `X_l[b, ch, q py + ky, q px + kx] = sum_i S_l[b, i, py, px] out[i, ch, ky, kx]`
/// (the `patch` output of stride `q`, no overlap), written out directly.
fn paint(codes: &Array4<f64>, out: &Array4<f64>) -> Array4<f64> {
    let (b, m, n, _) = codes.dim();
    let (_, c, q, _) = out.dim();
    let mut x = Array4::zeros((b, c, n * q, n * q));
    for bi in 0..b {
        for i in 0..m {
            for py in 0..n {
                for px in 0..n {
                    let v = codes[[bi, i, py, px]];
                    for ch in 0..c {
                        for ky in 0..q {
                            for kx in 0..q {
                                x[[bi, ch, q * py + ky, q * px + kx]] += v * out[[i, ch, ky, kx]];
                            }
                        }
                    }
                }
            }
        }
    }
    x
}

#[test]
fn labelled_round_trip_equals_the_library_and_each_class_sampler() {
    let (seed, n, k) = (5, 300, 3);
    let mix = Labelled::new(&tiny_config(), seed, k).unwrap();
    // Every class is its own draw (class 0 derived too, not the ordinary truth).
    let ordinary = Params::generate(&tiny_config(), seed).unwrap();
    assert_ne!(mix.classes[0], ordinary);
    assert_ne!(mix.classes[0], mix.classes[1]);
    for format in [Format::Npz, Format::Safetensors] {
        let dir = tempfile::tempdir().unwrap();
        let m = dataset::write_truth(
            dir.path(),
            Truth::Labelled(&mix),
            &WriteOptions {
                format,
                params_dtype: Dtype::F64,
                ..opts(n, seed, true)
            },
            |_| {},
        )
        .unwrap();
        let text = std::fs::read_to_string(dir.path().join("manifest.json")).unwrap();
        assert!(text.contains("\"classes\": 3"), "{text}");
        assert!(m.files.contains_key("params.safetensors"));
        let ds = Dataset::open(dir.path()).unwrap();
        assert_eq!(ds.kind, Kind::labelled(k));
        assert_eq!(ds.classes, mix.classes, "float64 truths round trip exactly");
        assert_eq!(ds.params, mix.classes[0]);
        assert!(ds.domain_b.is_none());
        let (x, y) = mix.sample(seed, 0, n as usize);
        assert_eq!(ds.labels().unwrap(), Some(y.clone()));
        for (l, xl) in x.iter().enumerate() {
            assert_eq!(ds.x(l + 1).unwrap(), f32r(xl), "{format:?} x{}", l + 1);
        }
        // Independently: sample i is sample i of class y_i's own sampler.
        for i in [0usize, 1, 2, 17, 150, 299] {
            let b = Sampler::new(&mix.classes[y[i]], seed).sample(i as u64, 1);
            for l in 0..2 {
                assert_eq!(
                    ds.x(l + 1).unwrap().slice(s![i..i + 1, .., .., ..]),
                    f32r(&b.x[l]),
                    "sample {i}"
                );
                assert_eq!(
                    ds.s(l + 1).unwrap().slice(s![i..i + 1, .., .., ..]),
                    f32r(&b.s[l]),
                    "codes of sample {i}"
                );
            }
        }
        // A wrong truth fails the same check.
        let wrong = (y[0] + 1) % k;
        let b = Sampler::new(&mix.classes[wrong], seed).sample(0, 1);
        assert_ne!(ds.x(2).unwrap().slice(s![0..1, .., .., ..]), f32r(&b.x[1]));
    }
}

#[test]
fn paired_round_trip_shares_the_codes() {
    let (seed, n) = (4, 200usize);
    let pair = Paired::new(&tiny_config(), seed).unwrap();
    // Domain A is the ordinary truth; B differs only in `out`.
    assert_eq!(pair.a, Params::generate(&tiny_config(), seed).unwrap());
    assert!(Paired::shares_codes(&pair.a, &pair.b));
    assert_ne!(pair.a.out, pair.b.out);
    let dir = tempfile::tempdir().unwrap();
    dataset::write_truth(
        dir.path(),
        Truth::Paired(&pair),
        &WriteOptions {
            params_dtype: Dtype::F64,
            ..opts(n as u64, seed, true)
        },
        |_| {},
    )
    .unwrap();
    let ds = Dataset::open(dir.path()).unwrap();
    assert_eq!(ds.kind, Kind::PAIRED);
    assert_eq!(ds.params, pair.a);
    assert_eq!(ds.domain_b.as_ref(), Some(&pair.b));
    assert_eq!(ds.labels().unwrap(), None);
    let (xa, xb) = pair.sample(seed, 0, n);
    // The codes, drawn by each domain's own sampler, are bit-identical.
    let ba = Sampler::new(&pair.a, seed).sample(0, n);
    let bb = Sampler::new(&pair.b, seed).sample(0, n);
    for l in 0..2 {
        assert_eq!(ba.s[l], bb.s[l], "codes of level {}", l + 1);
        assert_eq!(ds.s(l + 1).unwrap(), f32r(&ba.s[l]));
        assert_eq!(ds.x(l + 1).unwrap(), f32r(&xa[l]));
        assert_eq!(ds.x_b(l + 1).unwrap(), f32r(&xb[l]));
        // x_b is B's dictionary painting A's codes, computed independently.
        let want = paint(&ba.s[l], &pair.b.out[l]);
        let err = (&want - &xb[l])
            .mapv(f64::abs)
            .fold(0.0f64, |a, &b| a.max(b));
        assert!(err < F64_ROUNDOFF, "level {}: {err}", l + 1);
        // ... and A's dictionary does not give it.
        let not = paint(&ba.s[l], &pair.a.out[l]);
        assert!((&not - &xb[l]).mapv(f64::abs).sum() > 1.0);
    }
    assert!(ds.x_b(3).is_err());
}

/// The bytes of every array of a samples file, by name.
fn arrays_bytes(path: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    read_tensors(path)
        .unwrap()
        .tensors
        .into_iter()
        .map(|(name, t)| {
            let bytes = match t {
                Tensor::I64(a) => a.iter().flat_map(|v| v.to_le_bytes()).collect(),
                other => other
                    .to_f32()
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
            };
            (name, bytes)
        })
        .collect()
}

#[test]
fn shards_and_chunks_give_identical_bytes() {
    let cfg = tiny_config();
    let mix = Labelled::new(&cfg, 7, 3).unwrap();
    let pair = Paired::new(&cfg, 7).unwrap();
    for truth in [Truth::Labelled(&mix), Truth::Paired(&pair)] {
        let whole = tempfile::tempdir().unwrap();
        let write = |dir: &Path, chunk: usize, shard: Option<Shard>| {
            dataset::write_truth(
                dir,
                truth,
                &WriteOptions {
                    chunk,
                    shard,
                    ..opts(250, 7, true)
                },
                |_| {},
            )
            .unwrap()
        };
        let m = write(whole.path(), 1024, None);
        let other = tempfile::tempdir().unwrap();
        let m2 = write(other.path(), 7, None);
        assert_eq!(m.files, m2.files, "chunk 7 and 1024 give the same bytes");
        let want = arrays_bytes(&whole.path().join("samples.npz"));
        let mut parts: std::collections::BTreeMap<String, Vec<u8>> = Default::default();
        for i in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), 11, Some(Shard { index: i, count: 3 }));
            for (name, b) in arrays_bytes(&dir.path().join("samples.npz")) {
                parts.entry(name).or_default().extend(b);
            }
        }
        assert_eq!(parts, want, "{:?}", truth.kind());
    }
}

#[test]
fn label_frequencies_are_within_a_binomial_bound() {
    let (n, k) = (40_000u64, 4usize);
    let mut counts = vec![0u64; k];
    for i in 0..n {
        counts[Labelled::label(11, i, k)] += 1;
    }
    // Two-sided 99.9% normal bound of a binomial(n, 1/K) count: z = 3.29.
    let p = 1.0 / k as f64;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    for (c, &got) in counts.iter().enumerate() {
        let dev = (got as f64 - n as f64 * p).abs();
        assert!(
            dev < 3.29 * sd,
            "class {c}: {got} of {n} ({dev} > {})",
            3.29 * sd
        );
    }
    // The labels of the stored dataset are the same stream.
    let mix = Labelled::new(&tiny_config(), 11, k).unwrap();
    assert_eq!(
        mix.labels(11, 100, 50),
        (100..150)
            .map(|i| Labelled::label(11, i, k))
            .collect::<Vec<_>>()
    );
    // A label stream that ignores one class fails the bound.
    let skewed: Vec<usize> = (0..n).map(|i| Labelled::label(11, i, k - 1)).collect();
    let last = skewed.iter().filter(|&&c| c == k - 1).count() as f64;
    assert!((last - n as f64 * p).abs() > 3.29 * sd);
}

/// Rewrites the samples file of `dir` with `arrays` (name, tensor) and
/// records its new digest (and shapes) in the manifest, keeping its kind:
/// the damage is then visible only to the content checks.
fn rewrite_samples(dir: &Path, arrays: &[(String, Tensor)]) {
    let (mut m, kind) = Manifest::read_kind(&dir.join("manifest.json")).unwrap();
    let path = dir.join(&m.samples_file);
    let specs: Vec<TensorSpec> = arrays
        .iter()
        .map(|(name, t)| TensorSpec {
            name: name.clone(),
            dtype: t.dtype(),
            shape: t.shape().to_vec(),
        })
        .collect();
    std::fs::remove_file(&path).unwrap();
    let mut w = TensorWriter::create(&path, Format::Npz, specs, &Default::default()).unwrap();
    for (i, (_, t)) in arrays.iter().enumerate() {
        match t {
            Tensor::I64(a) => w.append_i64(i, a.as_slice().unwrap()).unwrap(),
            other => w.append_f64(i, other.to_f64().as_slice().unwrap()).unwrap(),
        }
    }
    let digest = w.finish().unwrap();
    m.files.insert(m.samples_file.clone(), digest);
    m.write_kind(&dir.join("manifest.json"), kind).unwrap();
}

fn tensors_of(dir: &Path) -> Vec<(String, Tensor)> {
    read_tensors(&dir.join("samples.npz"))
        .unwrap()
        .tensors
        .into_iter()
        .collect()
}

#[test]
fn damaged_label_and_domain_files_are_rejected() {
    let cfg = tiny_config();
    let mix = Labelled::new(&cfg, 2, 3).unwrap();
    let pair = Paired::new(&cfg, 2).unwrap();
    let fresh = |truth: Truth<'_>| {
        let dir = tempfile::tempdir().unwrap();
        dataset::write_truth(dir.path(), truth, &opts(60, 2, false), |_| {}).unwrap();
        assert!(Dataset::open(dir.path()).is_ok());
        dir
    };
    let msg = |dir: &Path| Dataset::open(dir).unwrap_err().to_string();

    // A flipped bit in the labels (the last bytes of the file are y's).
    let dir = fresh(Truth::Labelled(&mix));
    let path = dir.path().join("samples.npz");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() - 200;
    bytes[at] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let e = msg(dir.path());
    assert!(e.contains("samples.npz") && e.contains("CRC-32"), "{e}");

    // Truncated.
    let dir = fresh(Truth::Labelled(&mix));
    let path = dir.path().join("samples.npz");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert!(msg(dir.path()).contains("samples.npz"));

    // Checksums consistent, content wrong: y too short, a label >= K, y as float.
    let dir = fresh(Truth::Labelled(&mix));
    let arrays = tensors_of(dir.path());
    let with_y = |y: Tensor| -> Vec<(String, Tensor)> {
        arrays
            .iter()
            .map(|(n, t)| (n.clone(), if n == "y" { y.clone() } else { t.clone() }))
            .collect()
    };
    rewrite_samples(dir.path(), &with_y(Tensor::I64(ArrayD::zeros(vec![59]))));
    let e = msg(dir.path());
    assert!(e.contains("`y`") && e.contains("[59]"), "{e}");
    let mut bad = ArrayD::<i64>::zeros(vec![60]);
    bad[[7]] = 3;
    rewrite_samples(dir.path(), &with_y(Tensor::I64(bad)));
    let e = msg(dir.path());
    assert!(
        e.contains("`y`") && e.contains("sample 7") && e.contains("0..3"),
        "{e}"
    );
    rewrite_samples(dir.path(), &with_y(Tensor::F32(ArrayD::zeros(vec![60]))));
    let e = msg(dir.path());
    assert!(e.contains("`y`") && e.contains("int64"), "{e}");
    // The undamaged content opens again.
    rewrite_samples(dir.path(), &arrays);
    assert!(Dataset::open(dir.path()).is_ok());

    // A domain pair without x2_b.
    let dir = fresh(Truth::Paired(&pair));
    let without: Vec<(String, Tensor)> = tensors_of(dir.path())
        .into_iter()
        .filter(|(n, _)| n != "x2_b")
        .collect();
    rewrite_samples(dir.path(), &without);
    let e = msg(dir.path());
    assert!(e.contains("missing array `x2_b`"), "{e}");

    // Domain B that does not share A's hidden layers.
    let other = Params::generate(&cfg, 99).unwrap();
    let unshared = Paired {
        a: pair.a.clone(),
        b: other,
    };
    let dir = fresh_unchecked(Truth::Paired(&unshared));
    let e = msg(dir.path());
    assert!(
        e.contains("params.safetensors") && e.contains("share"),
        "{e}"
    );
}

fn fresh_unchecked(truth: Truth<'_>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    dataset::write_truth(dir.path(), truth, &opts(20, 2, false), |_| {}).unwrap();
    dir
}

#[test]
fn incompatible_and_bad_flags_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d");
    for (args, words) in [
        (
            vec!["--classes", "3", "--domains", "2"],
            vec!["--classes", "--domains"],
        ),
        (vec!["--domains", "3"], vec!["--domains"]),
        (vec!["--classes", "0"], vec!["--classes"]),
    ] {
        let mut all = vec!["sample", "--preset", "tiny", "--n", "10", "--out", p(&out)];
        all.extend(args.iter().copied());
        let o = fsrgan(&all);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        for w in words {
            assert!(stderr(&o).contains(w), "{args:?}: {}", stderr(&o));
        }
        assert!(!out.exists(), "nothing written for {args:?}");
    }
    // --classes 1 is the ordinary dataset, byte for byte.
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    for (d, extra) in [(&a, vec![]), (&b, vec!["--classes", "1", "--domains", "1"])] {
        let mut all = vec!["sample", "--preset", "tiny", "--n", "50", "--out", p(d)];
        all.extend(extra);
        assert!(fsrgan(&all).status.success());
    }
    for f in ["manifest.json", "params.safetensors", "samples.npz"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
    let text = std::fs::read_to_string(a.join("manifest.json")).unwrap();
    assert!(!text.contains("classes") && !text.contains("domains"));
}

/// Writes `x1, x2` (float32) and optionally `y` (int64) into an npz.
fn write_fake(path: &Path, names: &[&str], x: &[Array4<f64>], y: Option<&[usize]>) {
    let mut specs: Vec<TensorSpec> = names
        .iter()
        .zip(x)
        .map(|(n, a)| TensorSpec {
            name: n.to_string(),
            dtype: Dtype::F32,
            shape: a.shape().to_vec(),
        })
        .collect();
    if let Some(y) = y {
        specs.push(TensorSpec {
            name: "y".into(),
            dtype: Dtype::I64,
            shape: vec![y.len()],
        });
    }
    let mut w = TensorWriter::create(path, Format::Npz, specs, &Default::default()).unwrap();
    for (i, a) in x.iter().enumerate() {
        w.append_f64(i, a.as_standard_layout().as_slice().unwrap())
            .unwrap();
    }
    if let Some(y) = y {
        let v: Vec<i64> = y.iter().map(|&c| c as i64).collect();
        w.append_i64(x.len(), &v).unwrap();
    }
    w.finish().unwrap();
}

fn score_json(real: &Path, fake: &Path) -> serde_json::Value {
    let o = fsrgan(&[
        "score",
        p(real),
        p(fake),
        "--json",
        "--patch-dirs",
        "64",
        "--max-pairs",
        "64",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Mean over levels of the patch-SWD ratio value / floor.
fn swd_ratio(score: &serde_json::Value) -> f64 {
    let levels = score["levels"].as_array().unwrap();
    levels
        .iter()
        .map(|l| {
            l["patch_swd"]["value"].as_f64().unwrap() / l["patch_swd"]["floor"].as_f64().unwrap()
        })
        .sum::<f64>()
        / levels.len() as f64
}

#[test]
fn per_class_scores_sit_at_their_floor_and_permuted_labels_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    let o = fsrgan(&[
        "sample",
        "--preset",
        "tiny",
        "--n",
        "3000",
        "--seed",
        "6",
        "--classes",
        "2",
        "--out",
        p(&real),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mix = Labelled::new(&tiny_config(), 6, 2).unwrap();
    let (x, y) = fresh_labelled(&mix, 12345, 1000, true);
    let fake = dir.path().join("fake.npz");
    write_fake(&fake, &["x1", "x2"], &x, Some(&y));
    let j = score_json(&real, &fake);
    let classes = j["per_class"].as_array().unwrap();
    assert_eq!(classes.len(), 2);
    let good: Vec<f64> = classes.iter().map(|c| swd_ratio(&c["score"])).collect();
    // Labels permuted (swapped): every class sees the other class's images.
    let swapped: Vec<usize> = y.iter().map(|&c| 1 - c).collect();
    write_fake(&fake, &["x1", "x2"], &x, Some(&swapped));
    let j2 = score_json(&real, &fake);
    let bad: Vec<f64> = j2["per_class"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| swd_ratio(&c["score"]))
        .collect();
    eprintln!("patch-SWD ratios: labels right {good:?}, swapped {bad:?}");
    for c in 0..2 {
        assert!(good[c] < 2.0, "class {c} at its floor: ratio {}", good[c]);
        assert!(
            bad[c] > 4.0,
            "class {c} with swapped labels: ratio {}",
            bad[c]
        );
    }
    // The mixture score does not see labels: the same both times.
    assert_eq!(j["score"], j2["score"]);
    // Labels as float32 with integral values score the same.
    let yf: Vec<f64> = y.iter().map(|&c| c as f64).collect();
    let with_float = dir.path().join("float.npz");
    let mut arrays: Vec<(&str, ndarray::ArrayD<f64>)> = vec![
        ("x1", x[0].clone().into_dyn()),
        ("x2", x[1].clone().into_dyn()),
    ];
    arrays.push(("y", ndarray::Array1::from(yf).into_dyn()));
    let specs = arrays
        .iter()
        .map(|(n, a)| TensorSpec {
            name: n.to_string(),
            dtype: Dtype::F32,
            shape: a.shape().to_vec(),
        })
        .collect();
    let mut w = TensorWriter::create(&with_float, Format::Npz, specs, &Default::default()).unwrap();
    for (i, (_, a)) in arrays.iter().enumerate() {
        w.append_f64(i, a.as_slice().unwrap()).unwrap();
    }
    w.finish().unwrap();
    let jf = score_json(&real, &with_float);
    assert_eq!(jf["per_class"], j["per_class"]);
    // Without y the report has no per-class part.
    write_fake(&fake, &["x1", "x2"], &x, None);
    let j3 = score_json(&real, &fake);
    assert!(j3.get("per_class").is_none());
    assert_eq!(j3["score"], j["score"]);
    // A label out of range is named.
    let mut over = y.clone();
    over[3] = 2;
    write_fake(&fake, &["x1", "x2"], &x, Some(&over));
    let o = fsrgan(&["score", p(&real), p(&fake)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("`y`") && stderr(&o).contains("sample 3"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn translation_error_is_zero_for_the_true_b_images_and_large_for_a() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    let o = fsrgan(&[
        "sample",
        "--preset",
        "tiny",
        "--n",
        "800",
        "--seed",
        "8",
        "--domains",
        "2",
        "--out",
        p(&real),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ds = Dataset::open(&real).unwrap();
    let n = 300;
    let first = |a: Array4<f64>| a.slice(s![..n, .., .., ..]).to_owned();
    let xb: Vec<Array4<f64>> = (1..=2).map(|l| first(ds.x_b(l).unwrap())).collect();
    let xa: Vec<Array4<f64>> = (1..=2).map(|l| first(ds.x(l).unwrap())).collect();
    let fake = dir.path().join("t.npz");
    write_fake(&fake, &["x1_b", "x2_b"], &xb, None);
    let j = score_json(&real, &fake);
    let t = &j["translation"];
    assert!(j.get("score").is_none(), "FAKE without x1..xL: no A score");
    for l in 0..2 {
        assert_eq!(t["error"][l].as_f64().unwrap(), 0.0);
        assert_eq!(t["zero"][l].as_f64().unwrap(), 1.0);
        assert!(t["identity"][l].as_f64().unwrap() > 0.5);
    }
    // Domains swapped: A's images as the translation score as the identity map.
    write_fake(&fake, &["x1_b", "x2_b"], &xa, None);
    let j = score_json(&real, &fake);
    let t = &j["translation"];
    for l in 0..2 {
        let e = t["error"][l].as_f64().unwrap();
        assert!(e > 0.5, "level {}: {e}", l + 1);
        assert_eq!(e, t["identity"][l].as_f64().unwrap());
    }
    // A directory of .npy arrays works the same.
    let npy = dir.path().join("npy");
    std::fs::create_dir(&npy).unwrap();
    for (l, a) in xb.iter().enumerate() {
        ndarray_npy::write_npy(npy.join(format!("x{}_b.npy", l + 1)), &a.mapv(|v| v as f32))
            .unwrap();
    }
    let j = score_json(&real, &npy);
    assert_eq!(j["translation"]["error"][1].as_f64().unwrap(), 0.0);
    // More translations than REAL_DIR has samples is refused.
    let pair = Paired::new(&tiny_config(), 8).unwrap();
    let (_, big) = fresh_paired(&pair, 1, 900, true);
    write_fake(&fake, &["x1_b", "x2_b"], &big, None);
    let o = fsrgan(&["score", p(&real), p(&fake)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("900 translations"), "{}", stderr(&o));
}

#[test]
fn fresh_sets_are_the_library_samples() {
    let cfg = tiny_config();
    let mix = Labelled::new(&cfg, 3, 2).unwrap();
    let (x, y) = fresh_labelled(&mix, 77, 50, false);
    let (x2, y2) = mix.sample(77, 0, 50);
    assert_eq!((x, y), (x2, y2));
    let pair = Paired::new(&cfg, 3).unwrap();
    let (a, b) = fresh_paired(&pair, 77, 50, true);
    let (a2, b2) = pair.sample(77, 0, 50);
    for l in 0..2 {
        assert_eq!(a[l], f32r(&a2[l]));
        assert_eq!(b[l], f32r(&b2[l]));
    }
    // The relative squared errors of the pair.
    let zero = translation_error(&b2, &b2);
    assert_eq!(zero, vec![0.0, 0.0]);
    let swapped = translation_error(&a2, &b2);
    assert!(swapped.iter().all(|&e| e > 0.5), "{swapped:?}");
    assert_eq!(cycle_error(&a2, &a2), vec![0.0, 0.0]);
}

#[test]
fn translation_and_cycle_errors_of_a_hand_case() {
    // real = (1, 2, 2, 0), fake = (1, 0, 2, 1): ||f - r||^2 = 4 + 1 = 5, ||r||^2 = 9.
    let real = Array4::from_shape_vec((2, 1, 1, 2), vec![1.0, 2.0, 2.0, 0.0]).unwrap();
    let fake = Array4::from_shape_vec((2, 1, 1, 2), vec![1.0, 0.0, 2.0, 1.0]).unwrap();
    let e = translation_error(std::slice::from_ref(&fake), std::slice::from_ref(&real));
    assert!((e[0] - 5.0 / 9.0).abs() < F64_FEW_OPS, "{e:?}");
    // cycle_error(x, back) normalises by x: ||back - x||^2 / ||x||^2.
    let c = cycle_error(std::slice::from_ref(&fake), std::slice::from_ref(&real));
    assert!((c[0] - 5.0 / 6.0).abs() < F64_FEW_OPS, "{c:?}");
    // The zero map scores 1.
    let z = translation_error(&[real.mapv(|_| 0.0)], std::slice::from_ref(&real));
    assert_eq!(z, vec![1.0]);
}

#[test]
fn adjusted_rand_index_of_hand_and_published_cases() {
    // scikit-learn's documented examples of `adjusted_rand_score`.
    let ari = adjusted_rand_index;
    assert_eq!(ari(&[0, 0, 1, 1], &[0, 0, 1, 1]), 1.0);
    assert_eq!(ari(&[0, 0, 1, 1], &[1, 1, 0, 0]), 1.0);
    assert!((ari(&[0, 0, 1, 2], &[0, 0, 1, 1]) - 4.0 / 7.0).abs() < F64_FEW_OPS);
    assert!((ari(&[0, 0, 1, 1], &[0, 0, 1, 2]) - 4.0 / 7.0).abs() < F64_FEW_OPS);
    assert_eq!(ari(&[0, 0, 0, 0], &[0, 1, 2, 3]), 0.0);
    assert!((ari(&[0, 0, 1, 1], &[0, 1, 0, 1]) + 0.5).abs() < F64_FEW_OPS);
    // Hand case: a = (0 0 0 1 1 1), b = (0 0 1 1 2 2).
    // n_ij: (0,0)=2 (0,1)=1 (1,1)=1 (1,2)=2 -> sum C = 2; rows 3,3 -> 6;
    // cols 2,2,2 -> 3; C(6) = 15; E = 6*3/15 = 1.2; max = 4.5;
    // ARI = 0.8 / 3.3.
    let v = ari(&[0, 0, 0, 1, 1, 1], &[0, 0, 1, 1, 2, 2]);
    assert!((v - 0.8 / 3.3).abs() < F64_FEW_OPS, "{v}");
    // Degenerate partitions: identical, index 1.
    assert_eq!(ari(&[5, 5, 5], &[1, 1, 1]), 1.0);
    assert_eq!(ari(&[0, 1, 2], &[2, 0, 1]), 1.0);
    // Chance: random labels against fixed classes average about 0.
    let truth: Vec<usize> = (0..2000).map(|i| i % 3).collect();
    let random: Vec<usize> = (0..2000).map(|i| Labelled::label(1, i, 3)).collect();
    assert!((ari(&random, &truth) - ARI_CHANCE).abs() < 0.01);
    // Labels permuted between classes still agree perfectly: ARI is blind to names.
    let renamed: Vec<usize> = truth.iter().map(|&c| (c + 1) % 3).collect();
    assert_eq!(ari(&renamed, &truth), 1.0);
}

#[test]
fn purity_and_its_chance_level() {
    // Clusters {0,0,1} and {1,1,2}: 2 + 2 of 6.
    assert!((purity(&[0, 0, 0, 1, 1, 1], &[0, 0, 1, 1, 1, 2]) - 4.0 / 6.0).abs() < F64_FEW_OPS);
    assert_eq!(purity(&[3, 3, 4, 4], &[0, 0, 1, 1]), 1.0);
    // One cluster: the largest class's share, whatever the permutation.
    let truth = [0, 0, 0, 1, 1, 2, 2, 2, 2, 0];
    let one = [0; 10];
    assert_eq!(purity(&one, &truth), 0.4);
    assert!((purity_chance(&one, &truth, 10, 0) - 0.4).abs() < F64_FEW_OPS);
    // Singletons: 1.
    let single: Vec<usize> = (0..10).collect();
    assert_eq!(purity_chance(&single, &truth, 10, 0), 1.0);
    // Two clusters of 2 over classes (0 0 1 1): a random cluster is pure
    // with probability 1/3, so E purity = (2 * (1/3 * 2 + 2/3 * 1)) / 4 = 2/3.
    let c = purity_chance(&[0, 0, 1, 1], &[0, 0, 1, 1], 20_000, 5);
    // The purity of one permutation is 1 or 1/2: sd <= 1/4, se <= 0.0018.
    assert!((c - 2.0 / 3.0).abs() < 0.01, "{c}");
    assert!(purity(&[0, 0, 1, 1], &[0, 0, 1, 1]) > c + 0.3);
}

#[test]
fn open_errors_are_io_errors_with_the_file() {
    // A dataset whose params file lacks a class is rejected naming the truth.
    let cfg = tiny_config();
    let mix = Labelled::new(&cfg, 1, 2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    dataset::write_truth(
        dir.path(),
        Truth::Labelled(&mix),
        &opts(20, 1, false),
        |_| {},
    )
    .unwrap();
    let (mut m, _) = Manifest::read_kind(&dir.path().join("manifest.json")).unwrap();
    // Claim three classes: class2's tensors are missing (the labels, 0..2, are valid).
    m.files.insert(
        "params.safetensors".into(),
        FileDigest::of_file(&dir.path().join("params.safetensors")).unwrap(),
    );
    m.write_kind(&dir.path().join("manifest.json"), Kind::labelled(3))
        .unwrap();
    match Dataset::open(dir.path()) {
        Err(IoError::Mismatch { path, reason }) => {
            assert!(path.ends_with("params.safetensors"), "{path:?}");
            assert!(reason.contains("class2."), "{reason}");
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

#[test]
fn inspect_prints_label_counts_and_checks_the_shared_codes() {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("lab");
    let o = fsrgan(&[
        "sample",
        "--preset",
        "tiny",
        "--n",
        "500",
        "--seed",
        "2",
        "--classes",
        "3",
        "--out",
        p(&lab),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = fsrgan(&["inspect", p(&lab), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let y = Dataset::open(&lab).unwrap().labels().unwrap().unwrap();
    let mut counts = [0u64; 3];
    y.iter().for_each(|&c| counts[c] += 1);
    assert_eq!(j["classes"], 3);
    assert_eq!(j["label_counts"], serde_json::json!(counts));
    // A5 with each sample's own truth is at float32 precision.
    assert!(j["levels"][1]["a5_residual_stored"].as_f64().unwrap() < F32_ROUNDING);

    let pair = dir.path().join("pair");
    let o = fsrgan(&[
        "sample",
        "--preset",
        "tiny",
        "--n",
        "300",
        "--seed",
        "2",
        "--domains",
        "2",
        "--out",
        p(&pair),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = fsrgan(&["inspect", p(&pair)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(String::from_utf8_lossy(&o.stdout).contains("x2_b decoded with domain B's dictionary"));
    // x_b replaced by domain A's images (checksums made consistent): the check fails.
    let arrays = tensors_of(&pair);
    let a: std::collections::BTreeMap<String, Tensor> = arrays.iter().cloned().collect();
    let damaged: Vec<(String, Tensor)> = arrays
        .iter()
        .map(|(n, t)| match n.strip_suffix("_b") {
            Some(x) => (n.clone(), a[x].clone()),
            None => (n.clone(), t.clone()),
        })
        .collect();
    rewrite_samples(&pair, &damaged);
    let o = fsrgan(&["inspect", p(&pair)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("[FAIL] level 1: x1_b"));
}

#[test]
fn sampling_chosen_indices_equals_the_contiguous_rows() {
    let p = Params::generate(&tiny_config(), 3).unwrap();
    let sampler = Sampler::new(&p, 3);
    let all = sampler.sample(0, 12);
    let indices = [9u64, 2, 5, 5, 11];
    let mut batch = sampler.batch(indices.len(), true);
    sampler.sample_indices_into(&indices, &mut batch);
    for (j, &i) in indices.iter().enumerate() {
        let i = i as usize;
        for l in 0..2 {
            assert_eq!(
                batch.x[l].index_axis(Axis(0), j),
                all.x[l].index_axis(Axis(0), i)
            );
            assert_eq!(
                batch.s[l].index_axis(Axis(0), j),
                all.s[l].index_axis(Axis(0), i)
            );
        }
        assert_eq!(batch.z.row(j), all.z.row(i));
    }
    // A neighbouring index is another sample.
    assert_ne!(
        batch.x[1].index_axis(Axis(0), 0),
        all.x[1].index_axis(Axis(0), 8)
    );
}
