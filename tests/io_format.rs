//! The interchange format: round trips, independent readers (zip/ndarray-npy,
//! safetensors, NumPy), corrupted/truncated/mismatched files, atomic writes,
//! overwrite protection, and shards that concatenate to the unsharded dataset.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use fsrgan::io::dataset::{self, WriteOptions};
use fsrgan::io::manifest::Shard;
use fsrgan::io::params::{read_params, write_params};
use fsrgan::io::reader::read_tensors;
use fsrgan::io::{Dataset, Dtype, Format, IoError, TensorSpec, TensorWriter};
use fsrgan::model::{Config, Params, Sampler};
use fsrgan::testing::F64_ROUNDOFF;

fn tiny() -> Params {
    Params::generate(&Config::preset("tiny").unwrap(), 3).unwrap()
}

fn write(dir: &Path, p: &Params, opts: &WriteOptions) -> fsrgan::io::Manifest {
    dataset::write(dir, p, opts, |_| {}).unwrap()
}

fn opts(n: u64, format: Format) -> WriteOptions {
    WriteOptions {
        n,
        seed: 3,
        format,
        hidden: true,
        chunk: 37,
        ..WriteOptions::default()
    }
}

#[test]
fn datasets_round_trip_in_both_formats() {
    let p = tiny();
    let batch = Sampler::new(&p, 3).sample(0, 250);
    for format in [Format::Npz, Format::Safetensors] {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &p, &opts(250, format));
        let ds = Dataset::open(dir.path()).unwrap();
        // Parameters stored as float32: equal to the truth rounded to float32.
        assert_eq!(ds.params.level1.w, p.level1.w.mapv(|v| f64::from(v as f32)));
        for l in 0..2 {
            let want_x = batch.x[l].mapv(|v| f64::from(v as f32));
            let want_s = batch.s[l].mapv(|v| f64::from(v as f32));
            assert_eq!(ds.x(l + 1).unwrap(), want_x, "{format:?} x{}", l + 1);
            assert_eq!(ds.s(l + 1).unwrap(), want_s, "{format:?} s{}", l + 1);
        }
    }
}

#[test]
fn params_round_trip_exactly_in_float64() {
    let p = Params::generate(&Config::preset("small").unwrap(), 4).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("params.safetensors");
    write_params(&path, &p, 4, Dtype::F64).unwrap();
    assert_eq!(read_params(&path, None).unwrap(), p);
    // The wrong config is a mismatch, naming the tensor.
    let other = Config::preset("tiny").unwrap();
    let err = read_params(&path, Some(&other)).unwrap_err();
    assert!(matches!(err, IoError::Mismatch { .. }), "{err}");
    assert!(err.to_string().contains("level1.w"), "{err}");
}

#[test]
fn shards_concatenate_to_the_unsharded_dataset_bit_for_bit() {
    let p = tiny();
    let root = tempfile::tempdir().unwrap();
    let full = root.path().join("full");
    write(&full, &p, &opts(100, Format::Npz));
    let full = read_tensors(&full.join("samples.npz")).unwrap().tensors;
    let mut parts: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for i in 0..3 {
        let dir = root.path().join(format!("shard{i}"));
        let m = write(
            &dir,
            &p,
            &WriteOptions {
                shard: Some(Shard { index: i, count: 3 }),
                ..opts(100, Format::Npz)
            },
        );
        assert_eq!((m.start, m.end), Shard { index: i, count: 3 }.range(100));
        for (name, t) in read_tensors(&dir.join("samples.npz")).unwrap().tensors {
            parts
                .entry(name)
                .or_default()
                .extend(t.to_f32().iter().flat_map(|v| v.to_le_bytes()));
        }
    }
    assert_eq!(parts.len(), full.len());
    for (name, t) in &full {
        let bytes: Vec<u8> = t.to_f32().iter().flat_map(|v| v.to_le_bytes()).collect();
        assert!(
            parts[name] == bytes,
            "array {name}: shards differ from the unsharded dataset"
        );
    }
}

#[test]
fn same_seed_gives_byte_identical_files() {
    let p = tiny();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write(a.path(), &p, &opts(64, Format::Npz));
    write(
        b.path(),
        &p,
        &WriteOptions {
            chunk: 5,
            ..opts(64, Format::Npz)
        },
    );
    for f in ["samples.npz", "params.safetensors"] {
        assert!(
            std::fs::read(a.path().join(f)).unwrap() == std::fs::read(b.path().join(f)).unwrap(),
            "{f}"
        );
    }
}

fn flip_byte(path: &Path, at_fraction: f64) {
    let mut bytes = std::fs::read(path).unwrap();
    let i = ((bytes.len() as f64) * at_fraction) as usize;
    bytes[i] ^= 0x5a;
    std::fs::write(path, bytes).unwrap();
}

fn truncate(path: &Path, keep_fraction: f64) {
    let bytes = std::fs::read(path).unwrap();
    std::fs::write(
        path,
        &bytes[..(bytes.len() as f64 * keep_fraction) as usize],
    )
    .unwrap();
}

#[test]
fn corrupted_or_truncated_files_are_rejected() {
    let p = tiny();
    for format in [Format::Npz, Format::Safetensors] {
        let samples = format!("samples.{}", format.extension());
        for (file, damage) in [
            (samples.as_str(), 0.5),
            (samples.as_str(), -0.5),
            ("params.safetensors", 0.7),
            ("params.safetensors", -0.9),
            ("manifest.json", 0.3),
        ] {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), &p, &opts(50, format));
            let path = dir.path().join(file);
            if damage > 0.0 {
                flip_byte(&path, damage)
            } else {
                truncate(&path, -damage)
            }
            let err = Dataset::open(dir.path()).expect_err("damaged dataset must be rejected");
            assert!(
                matches!(err, IoError::Corrupt { .. } | IoError::Mismatch { .. }),
                "{file}: {err}"
            );
            assert!(
                err.to_string().contains(file),
                "error names the file: {err}"
            );
        }
    }
}

#[test]
fn readers_alone_reject_damaged_files_without_a_manifest() {
    let p = tiny();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &p, &opts(50, Format::Npz));
    write(&dir.path().join("st"), &p, &opts(50, Format::Safetensors));
    let npz = dir.path().join("samples.npz");
    let st = dir.path().join("st/samples.safetensors");
    // A flipped data byte: the zip member's CRC-32 catches it.
    let copy = dir.path().join("flipped.npz");
    std::fs::copy(&npz, &copy).unwrap();
    flip_byte(&copy, 0.5);
    assert!(matches!(read_tensors(&copy), Err(IoError::Corrupt { .. })));
    // Truncation anywhere: the zip directory or the safetensors header no longer fits.
    for keep in [0.0, 0.001, 0.3, 0.999] {
        for src in [&npz, &st] {
            let copy = dir.path().join(format!(
                "cut.{}",
                src.extension().unwrap().to_str().unwrap()
            ));
            std::fs::copy(src, &copy).unwrap();
            truncate(&copy, keep);
            assert!(
                read_tensors(&copy).is_err(),
                "{} truncated to {keep}",
                src.display()
            );
        }
    }
    // A safetensors header that lies about offsets.
    let copy = dir.path().join("lie.safetensors");
    let mut bytes = std::fs::read(&st).unwrap();
    let text = String::from_utf8_lossy(&bytes[8..2000.min(bytes.len())]).to_string();
    let pos = text.find("data_offsets\":[0,").unwrap() + 8 + "data_offsets\":[".len();
    bytes[pos] = b'8';
    std::fs::write(&copy, bytes).unwrap();
    assert!(matches!(read_tensors(&copy), Err(IoError::Corrupt { .. })));
    // The intact files read.
    assert!(read_tensors(&npz).is_ok() && read_tensors(&st).is_ok());
}

#[test]
fn mismatched_manifest_is_rejected() {
    let p = tiny();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &p, &opts(50, Format::Npz));
    let path = dir.path().join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    m["config"]["d0"] = serde_json::json!(17);
    std::fs::write(&path, serde_json::to_string(&m).unwrap()).unwrap();
    let err = Dataset::open(dir.path()).unwrap_err();
    assert!(matches!(err, IoError::Mismatch { .. }), "{err}");
}

#[test]
fn existing_datasets_are_not_overwritten_without_force() {
    let p = tiny();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &p, &opts(20, Format::Npz));
    let before = std::fs::read(dir.path().join("samples.npz")).unwrap();
    let err = dataset::write(dir.path(), &p, &opts(30, Format::Npz), |_| {}).unwrap_err();
    assert!(
        matches!(err, IoError::Exists(_)) && err.to_string().contains("--force"),
        "{err}"
    );
    assert!(std::fs::read(dir.path().join("samples.npz")).unwrap() == before);
    let m = dataset::write(
        dir.path(),
        &p,
        &WriteOptions {
            force: true,
            ..opts(30, Format::Safetensors)
        },
        |_| {},
    )
    .unwrap();
    assert_eq!(m.len(), 30);
    assert!(
        !dir.path().join("samples.npz").exists(),
        "the old format's file is removed"
    );
    Dataset::open(dir.path()).unwrap();
}

#[test]
fn an_unfinished_write_leaves_no_file_under_the_final_name() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("a.npz");
    let spec = TensorSpec {
        name: "x".into(),
        dtype: Dtype::F32,
        shape: vec![4, 3],
    };
    let mut w =
        TensorWriter::create(&dest, Format::Npz, vec![spec.clone()], &BTreeMap::new()).unwrap();
    w.append_f64(0, &[1.0; 6]).unwrap();
    // Finishing with half the data is refused, and nothing appears.
    assert!(w.finish().is_err());
    assert!(!dest.exists());
    // Dropped mid-way (as on an error): neither the file nor its temporary remain.
    let mut w = TensorWriter::create(&dest, Format::Npz, vec![spec], &BTreeMap::new()).unwrap();
    w.append_f64(0, &[1.0; 6]).unwrap();
    drop(w);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn zip64_records_are_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("z64.npz");
    let specs = vec![
        TensorSpec {
            name: "a".into(),
            dtype: Dtype::F32,
            shape: vec![3, 2],
        },
        TensorSpec {
            name: "b".into(),
            dtype: Dtype::F64,
            shape: vec![5],
        },
    ];
    let mut w = TensorWriter::create_forcing_zip64(&dest, specs).unwrap();
    w.append_f64(0, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    w.append_f64(1, &[0.5, -1.5, 2.5, 1e300, -0.0]).unwrap();
    w.finish().unwrap();
    let t = read_tensors(&dest).unwrap().tensors;
    assert_eq!(
        t["a"].to_f64().iter().copied().collect::<Vec<_>>(),
        vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    );
    assert_eq!(
        t["b"].to_f64().iter().copied().collect::<Vec<_>>(),
        vec![0.5, -1.5, 2.5, 1e300, -0.0]
    );
    assert_eq!(t["b"].dtype(), Dtype::F64);
}

#[test]
fn numpy_loads_what_we_write() {
    let Some(python) = common::python() else {
        eprintln!("skipped: .venv/bin/python not set up (run scripts/setup.sh)");
        return;
    };
    let p = tiny();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &p, &opts(40, Format::Npz));
    let z64 = dir.path().join("z64.npz");
    let mut w = TensorWriter::create_forcing_zip64(
        &z64,
        vec![TensorSpec {
            name: "a".into(),
            dtype: Dtype::F32,
            shape: vec![2],
        }],
    )
    .unwrap();
    w.append_f64(0, &[1.5, -2.0]).unwrap();
    w.finish().unwrap();
    let ds = Dataset::open(dir.path()).unwrap();
    let want: f64 = ds.x(2).unwrap().iter().map(|v| v * v).sum();
    let script = format!(
        "import numpy as np\nd = np.load(r'{}')\nassert sorted(d.files) == ['s1','s2','x1','x2','z'], d.files\nassert d['x2'].shape == (40, 1, 8, 8) and d['x2'].dtype == np.float32\nprint(repr(float((d['x2'].astype(np.float64)**2).sum())))\nassert list(np.load(r'{}')['a']) == [1.5, -2.0]\n",
        dir.path().join("samples.npz").display(),
        z64.display()
    );
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(
        (got - want).abs() <= F64_ROUNDOFF * want,
        "numpy {got} vs ours {want}"
    );
}

#[test]
fn int64_tensors_round_trip_in_both_formats_and_npy() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<i64> = vec![0, 2, 1, -5, i64::MAX, 3];
    for format in [Format::Npz, Format::Safetensors] {
        let path = dir.path().join(format!("t.{}", format.extension()));
        let mut w = TensorWriter::create(
            &path,
            format,
            vec![TensorSpec {
                name: "y".into(),
                dtype: Dtype::I64,
                shape: vec![2, 3],
            }],
            &BTreeMap::new(),
        )
        .unwrap();
        // A float32 append into an int64 tensor is refused, not reinterpreted.
        assert!(w.append_f32(0, &[1.0]).is_err());
        w.append_i64(0, &values).unwrap();
        w.finish().unwrap();
        let t = &read_tensors(&path).unwrap().tensors["y"];
        assert_eq!(t.dtype(), Dtype::I64);
        assert_eq!(t.shape(), &[2, 3]);
        match t {
            fsrgan::io::Tensor::I64(a) => assert_eq!(a.iter().copied().collect::<Vec<_>>(), values),
            other => panic!("{format:?}: read back as {:?}", other.dtype()),
        }
        // As labels: in range, or the first offender named.
        let small = fsrgan::io::Tensor::I64(
            ndarray::ArrayD::from_shape_vec(vec![3], vec![0, 2, 1]).unwrap(),
        );
        assert_eq!(small.to_labels(3), Ok(vec![0, 2, 1]));
        assert_eq!(t.to_labels(3).unwrap_err().0, 3);
    }
    // A lone .npy of int64 (NumPy's `<i8`).
    let npy = dir.path().join("y.npy");
    ndarray_npy::write_npy(&npy, &ndarray::arr1(&[4i64, 0, 1])).unwrap();
    let t = fsrgan::io::reader::read_npy(&npy).unwrap();
    assert_eq!(t.dtype(), Dtype::I64);
    assert_eq!(t.to_labels(5), Ok(vec![4, 0, 1]));
    // Floats with integral values are labels too; 0.5 and -1 are not.
    let f = fsrgan::io::Tensor::F32(
        ndarray::ArrayD::from_shape_vec(vec![3], vec![1.0, 0.5, -1.0]).unwrap(),
    );
    assert_eq!(f.to_labels(2).unwrap_err().0, 1);
}

#[test]
fn manifests_without_a_kind_read_as_ordinary() {
    use fsrgan::io::manifest::{Kind, Manifest};
    let p = tiny();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &p, &opts(20, Format::Npz));
    let path = dir.path().join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("\"classes\"") && !text.contains("\"domains\""));
    let (m, kind) = Manifest::read_kind(&path).unwrap();
    assert_eq!(kind, Kind::ORDINARY);
    assert_eq!(Manifest::read(&path).unwrap(), m);
    // Writing with the ordinary kind gives the same bytes.
    m.write_kind(&path, Kind::ORDINARY).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    // An impossible kind is refused, naming both fields.
    let both = text.replacen('{', "{\n  \"classes\": 2,\n  \"domains\": 2,", 1);
    std::fs::write(&path, both).unwrap();
    let e = Manifest::read_kind(&path).unwrap_err().to_string();
    assert!(e.contains("classes") && e.contains("domains"), "{e}");
}
