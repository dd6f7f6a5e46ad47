//! Samples per second of the FSR sampler at `small` and `paper` (all cores of
//! the rayon pool, chunks of 1024 as `fsrgan sample` uses them).
//!
//! Peer, same machine and thread count:
//!   .venv/bin/python benches/peer/sampler_torch.py --preset paper --threads 2
//! Run: cargo bench --bench sampler

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fsrgan::model::{Config, Params, Sampler};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("sampler");
    for (name, chunk) in [("small", 1024usize), ("paper", 1024)] {
        let p = Params::generate(&Config::preset(name).unwrap(), 1).unwrap();
        let sampler = Sampler::new(&p, 1);
        g.throughput(Throughput::Elements(chunk as u64));
        g.sample_size(20);
        let mut start = 0u64;
        let mut batch = sampler.sample(start, chunk);
        g.bench_function(name, |b| {
            b.iter(|| {
                start += chunk as u64;
                sampler.sample_into(start, &mut batch);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
