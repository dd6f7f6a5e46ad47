//! Samples per second of the FSR sampler at `small` and `paper` (all cores of
//! the rayon pool, chunks of 1024 as `fsrgan sample` uses them):
//!
//! * `sampler/{small,paper}`: the in-memory forward pass with latents and
//!   hidden codes (what `fsrgan sample --hidden` and the Python package compute);
//! * `sampler/{small,paper}-images`: images only (what `fsrgan sample` computes);
//! * `sampler-to-disk/{small,paper}[-hidden]`: end to end, `dataset::write` of
//!   a whole dataset (parameters, samples, manifest) into a temporary
//!   directory, fdatasync included.
//!
//! Peer, same machine and thread count:
//!   .venv/bin/python benches/peer/sampler_torch.py --preset paper --threads 2
//! Run: cargo bench --bench sampler   (RAYON_NUM_THREADS=2 to fix the threads)

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fsrgan::io::dataset::{self, WriteOptions};
use fsrgan::model::{Config, Params, Sampler};

fn forward(c: &mut Criterion) {
    let mut g = c.benchmark_group("sampler");
    for (name, chunk) in [("small", 1024usize), ("paper", 1024)] {
        let p = Params::generate(&Config::preset(name).unwrap(), 1).unwrap();
        let sampler = Sampler::new(&p, 1);
        g.throughput(Throughput::Elements(chunk as u64));
        g.sample_size(20);
        for hidden in [true, false] {
            let mut start = 0u64;
            let mut batch = sampler.batch(chunk, hidden);
            let id = if hidden {
                name.to_string()
            } else {
                format!("{name}-images")
            };
            g.bench_function(id, |b| {
                b.iter(|| {
                    start += chunk as u64;
                    sampler.sample_into(start, &mut batch);
                })
            });
        }
    }
    g.finish();
}

fn to_disk(c: &mut Criterion) {
    let mut g = c.benchmark_group("sampler-to-disk");
    g.sample_size(10);
    let root = tempfile::tempdir().unwrap();
    for (name, n) in [("small", 100_000u64), ("paper", 10_000)] {
        let p = Params::generate(&Config::preset(name).unwrap(), 1).unwrap();
        g.throughput(Throughput::Elements(n));
        for hidden in [false, true] {
            let opts = WriteOptions {
                n,
                seed: 1,
                hidden,
                force: true,
                ..WriteOptions::default()
            };
            let dir = root.path().join(format!("{name}-{hidden}"));
            let id = if hidden {
                format!("{name}-hidden")
            } else {
                name.to_string()
            };
            g.bench_function(id, |b| {
                b.iter(|| dataset::write(&dir, &p, &opts, |_| {}).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, forward, to_disk);
criterion_main!(benches);
