//! The pipelined dataset writer (`fsrgan::io::dataset::write`): its files are
//! byte-identical to those of fsrgan 0.1's sequential writer (sizes and
//! CRC-32s below were taken from files that `fsrgan sample` wrote before the
//! pipeline existed, read back with Python's `zlib.crc32`) for any chunk size
//! and thread count, and a failure in the middle of writing leaves no partial
//! file and an existing dataset untouched.

use std::path::Path;

use fsrgan::io::Dataset;
use fsrgan::io::dataset::{self, WriteOptions};
use fsrgan::io::manifest::Shard;
use fsrgan::io::writer::FileDigest;
use fsrgan::io::{Dtype, Format};
use fsrgan::model::{Config, Params};

/// `fsrgan sample` runs of the sequential writer: name, preset, n, seed,
/// format, hidden, shard, params dtype, chunk; then (bytes, CRC-32) of
/// `params.safetensors` and of the samples file.
struct Reference {
    name: &'static str,
    preset: &'static str,
    n: u64,
    seed: u64,
    format: Format,
    hidden: bool,
    shard: Option<(u64, u64)>,
    params_dtype: Dtype,
    chunk: usize,
    params: (u64, u32),
    samples: (u64, u32),
}

const REFERENCES: [Reference; 7] = [
    Reference {
        name: "tiny-npz",
        preset: "tiny",
        n: 3000,
        seed: 2,
        format: Format::Npz,
        hidden: false,
        shard: None,
        params_dtype: Dtype::F32,
        chunk: 1024,
        params: (2336, 0x1495_eeb3),
        samples: (960_454, 0x2286_0244),
    },
    Reference {
        name: "tiny-st-h",
        preset: "tiny",
        n: 3000,
        seed: 2,
        format: Format::Safetensors,
        hidden: true,
        shard: None,
        params_dtype: Dtype::F32,
        chunk: 1024,
        params: (2336, 0x1495_eeb3),
        samples: (2_112_440, 0x9445_9c2e),
    },
    Reference {
        name: "small-npz-h",
        preset: "small",
        n: 2500,
        seed: 1,
        format: Format::Npz,
        hidden: true,
        shard: None,
        params_dtype: Dtype::F32,
        chunk: 300,
        params: (30704, 0x0fac_3906),
        samples: (20_641_532, 0xbc0e_d79d),
    },
    Reference {
        name: "small-st",
        preset: "small",
        n: 2500,
        seed: 1,
        format: Format::Safetensors,
        hidden: false,
        shard: None,
        params_dtype: Dtype::F32,
        chunk: 1024,
        params: (30704, 0x0fac_3906),
        samples: (10_080_296, 0xa729_2c2f),
    },
    Reference {
        name: "small-shard1",
        preset: "small",
        n: 2500,
        seed: 1,
        format: Format::Npz,
        hidden: true,
        shard: Some((1, 3)),
        params_dtype: Dtype::F32,
        chunk: 1024,
        params: (30704, 0x0fac_3906),
        samples: (6_878_780, 0x718f_9256),
    },
    Reference {
        name: "small-shard2-st",
        preset: "small",
        n: 2500,
        seed: 1,
        format: Format::Safetensors,
        hidden: true,
        shard: Some((2, 3)),
        params_dtype: Dtype::F32,
        chunk: 1024,
        params: (30704, 0x0fac_3906),
        samples: (6_886_096, 0x2e00_0f0e),
    },
    Reference {
        name: "paper-f64",
        preset: "paper",
        n: 700,
        seed: 5,
        format: Format::Npz,
        hidden: false,
        shard: None,
        params_dtype: Dtype::F64,
        chunk: 1024,
        params: (576_136, 0x20c6_0461),
        samples: (45_696_886, 0xfe21_b77b),
    },
];

fn write(dir: &Path, p: &Params, r: &Reference, chunk: usize) -> fsrgan::io::Manifest {
    let opts = WriteOptions {
        n: r.n,
        seed: r.seed,
        shard: r.shard.map(|(index, count)| Shard { index, count }),
        format: r.format,
        hidden: r.hidden,
        params_dtype: r.params_dtype,
        force: true,
        chunk,
        ..WriteOptions::default()
    };
    dataset::write(dir, p, &opts, |_| {}).unwrap()
}

fn digest(path: &Path) -> (u64, u32) {
    let d = FileDigest::of_file(path).unwrap();
    (d.bytes, d.crc32)
}

#[test]
fn files_equal_those_of_the_sequential_writer_for_any_chunk_and_thread_count() {
    let root = tempfile::tempdir().unwrap();
    for r in &REFERENCES {
        let p = Params::generate(&Config::preset(r.preset).unwrap(), r.seed).unwrap();
        let samples = format!("samples.{}", r.format.extension());
        // The reference's chunk, a small odd chunk, one chunk for everything;
        // one and two threads.
        for (chunk, threads) in [(r.chunk, 2), (7, 1), (1 << 20, 2)] {
            let dir = root.path().join(format!("{}-{chunk}-{threads}", r.name));
            let m = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| write(&dir, &p, r, chunk));
            // Read back from disk, independently of the writer's own CRCs.
            let got = digest(&dir.join(&samples));
            assert_eq!(
                got, r.samples,
                "{}: samples (bytes, crc32) at chunk {chunk}, {threads} threads",
                r.name
            );
            assert_eq!(
                digest(&dir.join("params.safetensors")),
                r.params,
                "{}",
                r.name
            );
            // The manifest records what is on disk.
            let rec = m.files[&samples];
            assert_eq!((rec.bytes, rec.crc32), got, "{}: manifest", r.name);
            Dataset::open(&dir).unwrap();
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}

/// Runs `fsrgan sample ARGS` with files limited to about 2–4 MB (`ulimit -f
/// 4096`, in 512- or 1024-byte blocks) and SIGXFSZ ignored, so a write past
/// the limit fails with EFBIG in the middle of the samples file.
#[cfg(unix)]
fn sample_with_file_limit(args: &[&str]) -> std::process::Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 4096 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_fsrgan"))
        .arg("sample")
        .args(args)
        .output()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn a_failure_in_the_middle_of_writing_leaves_no_partial_file() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("new");
    let d = dir.to_str().unwrap();
    // small, 20 000 samples: 80 MB of samples, far past the limit (params: 30 kB).
    for format in ["npz", "safetensors"] {
        let out = sample_with_file_limit(&[
            "--preset", "small", "--n", "20000", "--out", d, "--format", format, "--force",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{format}: the write should fail");
        assert!(stderr.contains("File too large"), "{format}: {stderr}");
        // The dataset is staged beside `dir` and swapped in only when
        // whole: `dir` never appears, and only the lock file stays.
        assert!(!dir.exists(), "{format}: {} appeared", dir.display());
        let left: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != ".new.lock")
            .collect();
        assert!(left.is_empty(), "{format}: files left behind: {left:?}");
    }
}

#[cfg(unix)]
#[test]
fn a_failed_overwrite_leaves_the_existing_dataset_as_it_was() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ds");
    let d = dir.to_str().unwrap();
    let ok = std::process::Command::new(env!("CARGO_BIN_EXE_fsrgan"))
        .args([
            "sample", "--preset", "small", "--n", "300", "--seed", "4", "--out", d,
        ])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let before: Vec<(String, (u64, u32))> = ["manifest.json", "params.safetensors", "samples.npz"]
        .iter()
        .map(|f| (f.to_string(), digest(&dir.join(f))))
        .collect();
    // Overwrite with another seed and far more samples: fails past the limit.
    let out = sample_with_file_limit(&[
        "--preset", "small", "--n", "20000", "--seed", "5", "--out", d, "--force",
    ]);
    assert!(!out.status.success());
    let after: Vec<(String, (u64, u32))> = before
        .iter()
        .map(|(f, _)| (f.clone(), digest(&dir.join(f))))
        .collect();
    assert_eq!(before, after, "the old dataset changed");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 3, "extra files");
    let ds = Dataset::open(&dir).unwrap();
    assert_eq!((ds.manifest.seed, ds.manifest.len()), (4, 300));
}
