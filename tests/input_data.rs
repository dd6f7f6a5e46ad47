//! Issue 34, the data side: no input crashes, hangs or is silently ignored.
//! Each kind of bad input is refused with a message that names the
//! argument, file or array and says what to change — and a good input of
//! the same kind is still accepted:
//!
//! * sizes bounded before allocation: config sample counts and sizes,
//!   `.npy` headers that declare more than the file holds, chunks;
//! * non-float FAKE images, values too large to score, metric options of 0;
//! * stored truths that the manifest's config and seed do not regenerate
//!   (every dataset kind), non-finite stored arrays, manifest dtypes that
//!   are not the files', empty datasets and shards;
//! * a class of a labelled mixture that cannot be calibrated, named.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use fsrgan::io::dataset::{self, Truth, WriteOptions};
use fsrgan::io::manifest::{Manifest, Shard};
use fsrgan::io::reader::{Tensor, read_npy, read_tensors};
use fsrgan::io::writer::FileDigest;
use fsrgan::io::{Dataset, Dtype, Format, IoError, TensorSpec, TensorWriter};
use fsrgan::metrics::MetricsError;
use fsrgan::metrics::score::{
    MAX_ABS_VALUE, Reference, ScoreOptions, fresh_real, score_against_dataset,
};
use fsrgan::model::config::{MAX_CALIBRATION_BYTES, MAX_PARAM_SCALARS};
use fsrgan::model::{Config, Labelled, ModelError, Paired, Params};
use ndarray::{Array4, ArrayD};

fn fsrgan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fsrgan"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Asserts that `o` failed with exit status 1 (an error, not a panic's 101
/// or an abort's signal) and that its stderr holds every needle.
fn refused(o: &Output, needles: &[&str]) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    for n in needles {
        assert!(e.contains(n), "`{n}` missing from: {e}");
    }
    assert!(
        !e.contains("panicked") && !e.contains("memory allocation"),
        "{e}"
    );
}

fn tiny() -> Config {
    Config::preset("tiny").unwrap()
}

fn opts(n: u64, seed: u64) -> WriteOptions {
    WriteOptions {
        n,
        seed,
        chunk: 16,
        ..WriteOptions::default()
    }
}

/// Records the current size and CRC-32 of `dir/file` in the manifest
/// (keeping its kind): a damage is then visible only to the content checks.
fn redigest(dir: &Path, file: &str) {
    let (mut m, kind) = Manifest::read_kind(&dir.join("manifest.json")).unwrap();
    m.files
        .insert(file.into(), FileDigest::of_file(&dir.join(file)).unwrap());
    m.write_kind(&dir.join("manifest.json"), kind).unwrap();
}

/// Rewrites the samples file of `dir` with `arrays` and records it.
fn rewrite_samples(dir: &Path, arrays: &[(String, Tensor)]) {
    let m = Manifest::read(&dir.join("manifest.json")).unwrap();
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
    w.finish().unwrap();
    redigest(dir, &m.samples_file);
}

/// An NPY v1.0 file by hand: magic, version, header length, the dict
/// padded to 64 bytes, then `data`.
fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut dict = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(data);
    out
}

/// An `.npz` of stored members `(name.npy, bytes)`, by the `zip` crate.
fn npz(path: &Path, members: &[(&str, &[u8])]) {
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    for (name, bytes) in members {
        z.start_file(*name, o).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
}

/// `values` as little-endian float64 bytes.
fn f64_le(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn model_config_sizes_are_bounded_at_validation() {
    let field = |r: Result<Config, ModelError>| match r {
        Err(ModelError::InvalidConfig { field, rule }) => format!("{field}: {rule}"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    };
    let with =
        |base: &str, extra: &str| Config::from_toml(&format!("preset = \"{base}\"\n{extra}"));
    // The count, and one past the documented limit.
    let e = field(with("tiny", "calibration_samples = 1000000000000"));
    assert!(
        e.starts_with("calibration_samples: ") && e.contains("1048576"),
        "{e}"
    );
    let e = field(with("tiny", "calibration_samples = 1048577"));
    assert!(e.starts_with("calibration_samples: "), "{e}");
    // The limit itself is accepted for `tiny`: its calibration holds about
    // 2 KiB per sample (below), 2 GiB in all.
    let ok = with("tiny", "calibration_samples = 1048576").unwrap();
    assert_eq!(ok.calibration_samples, 1 << 20);

    // The calibration's memory by hand, `paper` (levels 1..4: n = 2, 4, 8,
    // 16 patches per side, m = 32): the peak is at level 4, with level 3's
    // codes (64 positions x (32 values + 1 mask word) x 8 bytes + 128), level
    // 4's pre-activations twice (2 x 256 x 32 x 8) and level 4's masks
    // (256 x 8 + 128), plus 128 of bookkeeping: 150 400 bytes; the stream
    // adds a few hundred.
    let paper = Config::preset("paper").unwrap();
    let hand = (64 * 33 * 8 + 128) + 2 * (256 * 32 * 8) + (256 * 8 + 128) + 128;
    assert_eq!(hand, 150_400);
    let per = paper.calibration_bytes_per_sample().unwrap();
    assert!(per >= hand && per <= hand + 1024, "{per}");
    // So 2^20 samples (157 GB) are refused, and the default 8192 (1.2 GB) not.
    assert!(hand * (1 << 20) > MAX_CALIBRATION_BYTES);
    let e = field(with("paper", "calibration_samples = 1048576"));
    assert!(
        e.starts_with("calibration_samples: ") && e.contains("16 GiB"),
        "{e}"
    );
    assert!(Config::preset("paper").unwrap().validated().is_ok());

    // The ground truth's scalars: `tiny` by hand (m1 n1^2 d0 + 2 m1, the
    // ConvT m1 m2 2^2 + m2, the dictionaries 2 x m c q^2) equal the
    // tensors a generated truth holds.
    let hand = 4 * 4 * 16 + 2 * 4 + (4 * 4 * 4 + 4) + 2 * (4 * 4);
    assert_eq!(tiny().param_scalars(), Some(hand));
    let p = Params::generate(&tiny(), 1).unwrap();
    let held: usize = fsrgan::io::params::named_tensors(&p)
        .iter()
        .map(|t| t.2.len())
        .sum();
    assert_eq!(held, hand);
    // Level 1 alone, m1 n1^2 d0 = 128 x 4 x 2^20 = 2^29 > 2^28: refused
    // (a sample is only 2^20 + 528 scalars, within its own limit); 32 atoms are not.
    let wide = |m: usize| {
        Config::from_toml(&format!(
            "levels = 1\nchannels = 1\npatch = 2\nn1 = 2\nd0 = 1048576\nm = {m}\nk = 1.0\nkernel = 2\ndictionary = \"unit\"\n"
        ))
    };
    const { assert!(128 * 4 * (1usize << 20) > MAX_PARAM_SCALARS) };
    let e = field(wide(128));
    assert!(
        e.starts_with("m: ") && e.contains(&MAX_PARAM_SCALARS.to_string()),
        "{e}"
    );
    assert!(wide(32).is_ok());
}

#[test]
fn oversized_configs_and_empty_or_huge_requests_are_refused_by_sample() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.toml");
    std::fs::write(
        &big,
        "preset = \"tiny\"\ncalibration_samples = 1000000000000\n",
    )
    .unwrap();
    let out = dir.path().join("d");
    let o = fsrgan(&["sample", "--config", p(&big), "--n", "10", "--out", p(&out)]);
    refused(&o, &["big.toml", "calibration_samples", "1048576"]);
    // Empty shards are refused as --n 0 is, before anything is written.
    let o = fsrgan(&[
        "sample",
        "--preset",
        "tiny",
        "--n",
        "1",
        "--shard",
        "0/2",
        "--out",
        p(&out),
    ]);
    refused(&o, &["--shard 0/2", "holds no sample", "at most 1"]);
    let o = fsrgan(&[
        "sample",
        "--preset",
        "tiny",
        "--n",
        "5",
        "--shard",
        "3/1000000",
        "--out",
        p(&out),
    ]);
    refused(&o, &["--shard 3/1000000", "holds no sample", "at most 5"]);
    let o = fsrgan(&[
        "sample",
        "--preset",
        "tiny",
        "--n",
        "5",
        "--chunk",
        "0",
        "--out",
        p(&out),
    ]);
    refused(&o, &["--chunk must be at least 1"]);
    let huge = "100000000000";
    // 10^7 chunked samples of 320 bytes are 3.2 GB, over the 1 GiB bound.
    let o = fsrgan(&[
        "sample",
        "--preset",
        "tiny",
        "--n",
        huge,
        "--chunk",
        "10000000",
        "--out",
        p(&out),
    ]);
    refused(&o, &["--chunk 10000000", "3355443 or less"]);
    // Beyond MAX_CHUNK samples whatever the dataset; up to it, a chunk is
    // never larger than the dataset (that chunk of 5 samples is 5).
    let o = fsrgan(&[
        "sample",
        "--preset",
        "tiny",
        "--n",
        "64",
        "--chunk",
        huge,
        "--out",
        p(&out),
    ]);
    refused(&o, &["--chunk 100000000000", "at most 16777216"]);
    let d5 = dir.path().join("d5");
    let most = dataset::MAX_CHUNK.to_string();
    let o = fsrgan(&[
        "sample",
        "--preset",
        "tiny",
        "--n",
        "5",
        "--chunk",
        &most,
        "--out",
        p(&d5),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!out.exists(), "a refused request writes nothing");
    // The good neighbours: shard 1/2 of one sample holds sample 0..1.
    let o = fsrgan(&[
        "sample",
        "--preset",
        "tiny",
        "--n",
        "1",
        "--shard",
        "1/2",
        "--out",
        p(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ds = Dataset::open(&out).unwrap();
    assert_eq!((ds.manifest.start, ds.manifest.end), (0, 1));
}

#[test]
fn the_library_refuses_empty_ranges_and_empty_manifests() {
    let p1 = Params::generate(&tiny(), 3).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d");
    let shard = Shard::parse("0/2").unwrap();
    assert_eq!(shard.range(1), (0, 0));
    let e = dataset::write(
        &out,
        &p1,
        &WriteOptions {
            shard: Some(shard),
            ..opts(1, 3)
        },
        |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(e, IoError::Invalid(_)) && e.to_string().contains("holds no sample"),
        "{e}"
    );
    assert!(matches!(
        dataset::sample_range(1, Some(Shard::parse("1/2").unwrap())),
        Ok((0, 1))
    ));
    let e = dataset::write(
        &out,
        &p1,
        &WriteOptions {
            chunk: 0,
            ..opts(5, 3)
        },
        |_| {},
    );
    assert!(e.unwrap_err().to_string().contains("--chunk"));
    assert!(!out.exists());
    // A manifest that claims no samples (written by an older fsrgan) is refused on open.
    dataset::write(&out, &p1, &opts(5, 3), |_| {}).unwrap();
    let path = out.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    m["end"] = 0.into();
    m["n_total"] = 0.into();
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    let e = Dataset::open(&out).unwrap_err().to_string();
    assert!(
        e.contains("holds no samples") && e.contains("manifest.json"),
        "{e}"
    );
    let o = fsrgan(&["inspect", p(&out)]);
    refused(&o, &["holds no samples"]);
    // A file the manifest lists but the directory lacks is named as the manifest's.
    let listed = m["files"]["params.safetensors"].clone();
    let mut lost = m.clone();
    lost["files"]["tarams.safetensors"] = listed;
    lost["end"] = 5.into();
    lost["n_total"] = 5.into();
    std::fs::write(&path, serde_json::to_vec(&lost).unwrap()).unwrap();
    let e = Dataset::open(&out).unwrap_err().to_string();
    assert!(
        e.contains("manifest.json") && e.contains("lists the file `tarams.safetensors`"),
        "{e}"
    );
    // A range that is not the shard's of n_total is refused too.
    m["end"] = 3.into();
    m["n_total"] = 5.into();
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    let e = Dataset::open(&out).unwrap_err().to_string();
    assert!(e.contains("`n_total` = 5") && e.contains("0..3"), "{e}");
}

#[test]
fn npy_headers_are_checked_against_the_bytes_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    // Independent truth: the values themselves, in bytes laid out by hand.
    let values: Vec<f64> = (0..6).map(|i| i as f64 * 0.5 - 1.0).collect();
    // Fortran order of a (2, 3) array: column after column.
    let fortran: Vec<f64> = vec![
        values[0], values[3], values[1], values[4], values[2], values[5],
    ];
    let big_endian: Vec<u8> = fortran.iter().flat_map(|v| v.to_be_bytes()).collect();
    let path = dir.path().join("a.npy");
    std::fs::write(&path, npy(">f8", true, "(2, 3)", &big_endian)).unwrap();
    match read_npy(&path).unwrap() {
        Tensor::F64(a) => {
            assert_eq!(a.shape(), &[2, 3]);
            assert_eq!(a.iter().copied().collect::<Vec<_>>(), values);
        }
        other => panic!("read as {:?}", other.dtype()),
    }
    // Version 2.0 (a 4-byte header length), as NumPy writes long headers.
    let v1 = npy("<f8", false, "(6,)", &f64_le(&values));
    let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
    let header = &v1[10..v1.len() - 48];
    v2.extend_from_slice(&(header.len() as u32).to_le_bytes());
    v2.extend_from_slice(header);
    v2.extend_from_slice(&f64_le(&values));
    std::fs::write(&path, &v2).unwrap();
    assert_eq!(
        read_npy(&path).unwrap(),
        Tensor::F64(ArrayD::from_shape_vec(vec![6], values.clone()).unwrap())
    );
    // The fake: 2^40 images declared over 64 bytes. Refused from
    // the header and the file length alone (an attempt to allocate the
    // 2^46 bytes would abort the process).
    let fake = npy("<f4", false, "(1099511627776, 1, 4, 4)", &[0u8; 64]);
    std::fs::write(&path, &fake).unwrap();
    let e = read_npy(&path).unwrap_err();
    let m = e.to_string();
    assert!(matches!(e, IoError::Corrupt { .. }), "{m}");
    assert!(
        m.contains("a.npy") && m.contains("70368744177664") && m.contains("64 bytes"),
        "{m}"
    );
    // float16 of 2^40 elements: the dtype is named before any size.
    std::fs::write(&path, npy("<f2", false, "(1099511627776,)", &[0u8; 64])).unwrap();
    let m = read_npy(&path).unwrap_err().to_string();
    assert!(
        m.contains("'<f2'") && m.contains("float16") && m.contains("float32/float64"),
        "{m}"
    );
    // A shape whose element count overflows 64 bits.
    let huge = "(18446744073709551615, 18446744073709551615)";
    std::fs::write(&path, npy("<f4", false, huge, &[0u8; 8])).unwrap();
    assert!(
        read_npy(&path)
            .unwrap_err()
            .to_string()
            .contains("more than 2^64")
    );
    // A header length beyond the file, and beyond any NumPy header.
    let mut cut = npy("<f8", false, "(6,)", &f64_le(&values));
    cut.truncate(40);
    std::fs::write(&path, &cut).unwrap();
    assert!(
        read_npy(&path)
            .unwrap_err()
            .to_string()
            .contains("truncated")
    );
    let mut long = b"\x93NUMPY\x02\x00".to_vec();
    long.extend_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, &long).unwrap();
    assert!(read_npy(&path).unwrap_err().to_string().contains("damaged"));
    // The same checks inside an .npz.
    let z = dir.path().join("fake.npz");
    npz(&z, &[("x1.npy", &fake)]);
    let m = read_tensors(&z).unwrap_err().to_string();
    assert!(
        m.contains("member `x1.npy`") && m.contains("70368744177664"),
        "{m}"
    );
    npz(&z, &[("x1.npy", &v1)]);
    assert_eq!(
        read_tensors(&z).unwrap().tensors["x1"],
        Tensor::F64(ArrayD::from_shape_vec(vec![6], values).unwrap())
    );
}

/// A `tiny` REAL dataset of 40 samples, seed 3.
fn real_tiny(dir: &Path) -> std::path::PathBuf {
    let real = dir.join("real");
    let p3 = Params::generate(&tiny(), 3).unwrap();
    dataset::write(&real, &p3, &opts(40, 3), |_| {}).unwrap();
    real
}

#[test]
fn a_params_file_without_a_checksum_must_regenerate() {
    let dir = tempfile::tempdir().unwrap();
    let real = real_tiny(dir.path());
    let path = real.join("params.safetensors");
    let p = fsrgan::io::params::read_params_verified(&path).unwrap();
    assert_eq!(p, fsrgan::io::params::read_params(&path, None).unwrap());
    // The same bit flip the fuzz suite makes: 0x10 in the ninth byte from
    // the end (the last tensor's last values).
    let mut b = std::fs::read(&path).unwrap();
    let at = b.len() - 9;
    b[at] ^= 0x10;
    let bad = dir.path().join("flipped.safetensors");
    std::fs::write(&bad, &b).unwrap();
    assert!(
        fsrgan::io::params::read_params(&bad, None).is_ok(),
        "only regeneration sees it"
    );
    let e = fsrgan::io::params::read_params_verified(&bad)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("flipped.safetensors") && e.contains("its recorded config `tiny` and seed 3"),
        "{e}"
    );
    // A file with its own checksum (a learner's, another seed) is read as it is.
    let other = dir.path().join("p9.safetensors");
    let p9 = Params::generate(&tiny(), 9).unwrap();
    fsrgan::io::params::write_params(&other, &p9, 2, Dtype::F64).unwrap();
    assert_eq!(
        fsrgan::io::params::read_params_verified(&other).unwrap(),
        p9
    );
}

#[test]
fn bad_fake_files_are_refused_by_score_and_good_ones_scored() {
    let dir = tempfile::tempdir().unwrap();
    let real = real_tiny(dir.path());
    let fake = npy("<f4", false, "(1099511627776, 1, 4, 4)", &[0u8; 64]);
    let fake2 = npy("<f4", false, "(1099511627776, 1, 8, 8)", &[0u8; 64]);
    let z = dir.path().join("fake.npz");
    npz(&z, &[("x1.npy", &fake), ("x2.npy", &fake2)]);
    refused(
        &fsrgan(&["score", p(&real), p(&z)]),
        &["fake.npz", "1099511627776", "64 bytes of data"],
    );
    let d = dir.path().join("npys");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("x1.npy"), &fake).unwrap();
    refused(
        &fsrgan(&["score", p(&real), p(&d)]),
        &["x1.npy", "1099511627776"],
    );
    std::fs::write(
        d.join("x1.npy"),
        npy("<f2", false, "(1099511627776,)", &[0u8; 64]),
    )
    .unwrap();
    refused(&fsrgan(&["score", p(&real), p(&d)]), &["x1.npy", "float16"]);

    // Images of the right shapes: int64 refused, 1e300 refused, float64 scored.
    let x = fresh_real(&Params::generate(&tiny(), 3).unwrap(), 77, 20, false);
    let as_npy = |a: &Array4<f64>, scale: f64| -> Vec<u8> {
        let shape = format!("{:?}", a.shape())
            .replace('[', "(")
            .replace(']', ")");
        npy(
            "<f8",
            false,
            &shape,
            &f64_le(&a.mapv(|v| v * scale).into_raw_vec_and_offset().0),
        )
    };
    let as_i64 = |a: &Array4<f64>| -> Vec<u8> {
        let shape = format!("{:?}", a.shape())
            .replace('[', "(")
            .replace(']', ")");
        let data: Vec<u8> = a
            .iter()
            .flat_map(|v| ((v * 10.0) as i64).to_le_bytes())
            .collect();
        npy("<i8", false, &shape, &data)
    };
    let ints = dir.path().join("ints.npz");
    npz(
        &ints,
        &[("x1.npy", &as_i64(&x[0])), ("x2.npy", &as_i64(&x[1]))],
    );
    refused(
        &fsrgan(&["score", p(&real), p(&ints)]),
        &["ints.npz", "`x1` is int64", "float32 or float64"],
    );
    let huge = dir.path().join("huge.npz");
    npz(
        &huge,
        &[
            ("x1.npy", &as_npy(&x[0], 1e300)),
            ("x2.npy", &as_npy(&x[1], 1e300)),
        ],
    );
    refused(
        &fsrgan(&["score", p(&real), p(&huge)]),
        &["huge.npz", "`x1`", "1e15"],
    );
    let good = dir.path().join("good.npz");
    npz(
        &good,
        &[
            ("x1.npy", &as_npy(&x[0], 1.0)),
            ("x2.npy", &as_npy(&x[1], 1.0)),
        ],
    );
    let o = fsrgan(&["score", p(&real), p(&good)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("NaN"), "{}", stdout(&o));

    // Options of 0 (and beyond their bounds) are refused, naming the option.
    for (flag, value) in [
        ("--patch-dirs", "0"),
        ("--max-rows", "0"),
        ("--max-pairs", "0"),
        ("--max-gram-rows", "0"),
        ("--patch-dirs", "5000"),
        ("--max-gram-rows", "40000"),
    ] {
        refused(
            &fsrgan(&["score", p(&real), p(&good), flag, value]),
            &[flag],
        );
    }
    let o = fsrgan(&[
        "score",
        p(&real),
        p(&good),
        "--patch-dirs",
        "4096",
        "--max-rows",
        "1000",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn the_score_library_refuses_what_it_cannot_compute() {
    let truth = Params::generate(&tiny(), 3).unwrap();
    let real = fresh_real(&truth, 5, 30, true);
    let fake = fresh_real(&truth, 6, 12, true);
    let o = ScoreOptions::default();
    for bad in [
        ScoreOptions {
            patch_dirs: 0,
            ..o.clone()
        },
        ScoreOptions {
            max_rows: 0,
            ..o.clone()
        },
        ScoreOptions {
            max_gram_rows: 0,
            ..o.clone()
        },
        ScoreOptions {
            max_pairs: 0,
            ..o.clone()
        },
        ScoreOptions {
            patch_dirs: 4096,
            max_rows: 1 << 20,
            ..o.clone()
        },
    ] {
        let e = score_against_dataset(&real, &truth, 3, true, &fake, &bad, 1).unwrap_err();
        assert!(matches!(e, MetricsError::Option { .. }), "{e}");
        assert!(matches!(
            Reference::new(&real, &fake, &truth, &bad, 1),
            Err(MetricsError::Option { .. })
        ));
    }
    // Values beyond MAX_ABS_VALUE are refused; 1e14 times the images still scores.
    let scaled = |s: f64| -> Vec<Array4<f64>> { fake.iter().map(|x| x * s).collect() };
    let e = score_against_dataset(&real, &truth, 3, true, &scaled(1e300), &o, 1).unwrap_err();
    assert!(
        matches!(e, MetricsError::TooLarge { level: 1, max, .. } if max == MAX_ABS_VALUE),
        "{e}"
    );
    let (s, _) = score_against_dataset(&real, &truth, 3, true, &scaled(1e14), &o, 1).unwrap();
    s.check_computable().unwrap();
    assert!(s.levels[0].patch_swd.value > 1e10);
    // A metric that came out NaN is named, not returned.
    let mut broken = s.clone();
    broken.levels[1].moment_gaps[2].floor = f64::NAN;
    let e = broken.check_computable().unwrap_err().to_string();
    assert!(
        e.contains("level 2 moment gap c=3") && e.contains("floor"),
        "{e}"
    );
    // The SWD of no direction is not 0: it cannot be computed.
    let none = ndarray::Array2::<f64>::zeros((0, 5));
    assert!(fsrgan::metrics::swd::swd_of_sorted(none.view(), none.view()).is_nan());
    assert!(fsrgan::metrics::swd::wasserstein1_sorted(&[], &[1.0]).is_nan());
}

#[test]
fn inspect_and_score_check_the_truth_of_every_kind() {
    let cfg = tiny();
    let dir = tempfile::tempdir().unwrap();
    let mix = Labelled::new(&cfg, 2, 3).unwrap();
    let lab = dir.path().join("lab");
    dataset::write_truth(&lab, Truth::Labelled(&mix), &opts(60, 2), |_| {}).unwrap();
    let o = fsrgan(&["inspect", p(&lab)]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("consistent: yes"));
    Dataset::open(&lab).unwrap().check_truth().unwrap();
    // A flipped exponent bit in the last tensor's last value (x4 or /4),
    // checksums redone.
    let params = lab.join("params.safetensors");
    let good = std::fs::read(&params).unwrap();
    let mut bytes = good.clone();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&params, &bytes).unwrap();
    redigest(&lab, "params.safetensors");
    let o = fsrgan(&["inspect", p(&lab)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("consistent: NO"), "{out}");
    assert!(
        out.contains("truth `class2.`") && out.contains("seed 2"),
        "{out}"
    );
    std::fs::write(&params, &good).unwrap();
    redigest(&lab, "params.safetensors");

    // A domain pair whose params.safetensors is another seed's.
    let pair = Paired::new(&cfg, 2).unwrap();
    let other = Paired::new(&cfg, 5).unwrap();
    let ab = dir.path().join("ab");
    let ab5 = dir.path().join("ab5");
    dataset::write_truth(&ab, Truth::Paired(&pair), &opts(30, 2), |_| {}).unwrap();
    dataset::write_truth(&ab5, Truth::Paired(&other), &opts(30, 5), |_| {}).unwrap();
    let o = fsrgan(&["score", p(&ab), p(&ab)]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::copy(
        ab5.join("params.safetensors"),
        ab.join("params.safetensors"),
    )
    .unwrap();
    redigest(&ab, "params.safetensors");
    let e = Dataset::open(&ab)
        .unwrap()
        .check_truth()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("truth `domain0.`") && e.contains("seed 2"),
        "{e}"
    );
    refused(
        &fsrgan(&["score", p(&ab), p(&ab5)]),
        &["REAL_DIR", "truth `domain0.`", "another seed"],
    );
    let o = fsrgan(&["inspect", p(&ab)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("consistent: NO"));

    // An ordinary set with another seed's truth.
    let one = real_tiny(dir.path());
    let p4 = Params::generate(&cfg, 4).unwrap();
    fsrgan::io::params::write_params(&one.join("params.safetensors"), &p4, 4, Dtype::F32).unwrap();
    redigest(&one, "params.safetensors");
    let e = Dataset::open(&one)
        .unwrap()
        .check_truth()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the truth: tensor `level1.w`") && e.contains("seed 3"),
        "{e}"
    );
}

#[test]
fn stored_arrays_must_be_finite_and_of_their_declared_dtype() {
    let cfg = tiny();
    let dir = tempfile::tempdir().unwrap();
    let pair = Paired::new(&cfg, 2).unwrap();
    let ab = dir.path().join("ab");
    dataset::write_truth(&ab, Truth::Paired(&pair), &opts(30, 2), |_| {}).unwrap();
    let arrays: Vec<(String, Tensor)> = read_tensors(&ab.join("samples.npz"))
        .unwrap()
        .tensors
        .into_iter()
        .collect();
    for name in ["x1", "x2_b"] {
        let damaged: Vec<(String, Tensor)> = arrays
            .iter()
            .map(|(n, t)| {
                let mut t = t.clone();
                if n == name
                    && let Tensor::F32(a) = &mut t
                {
                    a[[7, 0, 1, 1]] = f32::NAN;
                }
                (n.clone(), t)
            })
            .collect();
        rewrite_samples(&ab, &damaged);
        let e = Dataset::open(&ab).unwrap_err().to_string();
        assert!(
            e.contains(&format!("array `{name}`, sample 7")) && e.contains("NaN"),
            "{e}"
        );
        refused(&fsrgan(&["inspect", p(&ab)]), &[name, "NaN"]);
    }
    rewrite_samples(&ab, &arrays);
    Dataset::open(&ab).unwrap();
    // The manifest declaring x1 as f64 (the file's is f32) is refused.
    let path = ab.join("manifest.json");
    let good = std::fs::read(&path).unwrap();
    let mut m: serde_json::Value = serde_json::from_slice(&good).unwrap();
    m["arrays"]["x1"]["dtype"] = "f64".into();
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    let e = Dataset::open(&ab).unwrap_err().to_string();
    assert!(
        e.contains("declares array `x1` as f64 (float64)") && e.contains("f32 (float32)"),
        "{e}"
    );
    refused(&fsrgan(&["score", p(&ab), p(&ab)]), &["`x1`", "f64"]);
    // An array the kind does not have, declared in the manifest.
    let mut m: serde_json::Value = serde_json::from_slice(&good).unwrap();
    m["arrays"]["y"] = serde_json::json!({"dtype": "i64", "shape": [30]});
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    let e = Dataset::open(&ab).unwrap_err().to_string();
    assert!(e.contains("`y`"), "{e}");
    std::fs::write(&path, &good).unwrap();
    Dataset::open(&ab).unwrap();
}

#[test]
fn a_class_that_cannot_be_calibrated_is_named_with_what_to_change() {
    // With k_2 = 0.8, `tiny`'s class truths of seed 0 calibrate up to class
    // 3; class 4's draw cannot reach it (the per-class truth, below).
    let cfg = Config::from_toml("preset = \"tiny\"\nk = [0.5, 0.8]\n").unwrap();
    for c in 0..4 {
        assert!(
            Params::generate(&cfg, Labelled::class_seed(0, c)).is_ok(),
            "class {c}"
        );
    }
    assert!(Params::generate(&cfg, Labelled::class_seed(0, 4)).is_err());
    match Labelled::new(&cfg, 0, 8) {
        Err(ModelError::InvalidConfig { field, rule }) => {
            assert_eq!(field, "classes");
            for needle in [
                "class 4 of 8",
                "--classes 4 or fewer",
                "k[2] = 0.8",
                "another --seed",
                &Labelled::class_seed(0, 4).to_string(),
            ] {
                assert!(rule.contains(needle), "`{needle}` missing from: {rule}");
            }
        }
        other => panic!(
            "expected the class to be named, got {:?}",
            other.map(|m| m.k())
        ),
    }
    assert_eq!(Labelled::new(&cfg, 0, 4).unwrap().k(), 4);
    // Too many class truths for memory are refused before any is drawn:
    // `paper`'s truth holds as many scalars as its tensors.
    let paper = Config::preset("paper").unwrap();
    let per: usize = fsrgan::io::params::named_tensors(&Params::generate(&paper, 0).unwrap())
        .iter()
        .map(|t| t.2.len())
        .sum();
    let most = MAX_PARAM_SCALARS / per;
    let t = std::time::Instant::now();
    match Labelled::new(&paper, 0, most + 1) {
        Err(ModelError::InvalidConfig { field, rule }) => {
            assert_eq!(field, "classes");
            assert!(
                rule.contains(&format!("--classes {most} or fewer")),
                "{rule}"
            );
        }
        other => panic!("expected a refusal, got {:?}", other.map(|m| m.k())),
    }
    assert!(
        t.elapsed().as_secs_f64() < 5.0,
        "refused without calibrating"
    );
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("k.toml");
    std::fs::write(&toml, "preset = \"tiny\"\nk = [0.5, 0.8]\n").unwrap();
    let o = fsrgan(&[
        "sample",
        "--config",
        p(&toml),
        "--n",
        "4",
        "--classes",
        "8",
        "--out",
        p(&dir.path().join("d")),
    ]);
    refused(
        &o,
        &["field `classes`", "class 4 of 8", "--classes 4 or fewer"],
    );
}
