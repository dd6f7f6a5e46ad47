//! Wall time of the sample metrics (`fsrgan::metrics::score`) on `small` at
//! 4096 samples: `Reference::new` (real reference of 4096 + floor set of
//! 4096, done once per training run) and `Reference::score` (one generated
//! set, done at every evaluation). The aim: a score under 5 s on two
//! cores. Run: `cargo bench --bench metrics` (`RAYON_NUM_THREADS=2` to pin threads).

use criterion::{Criterion, criterion_group, criterion_main};
use fsrgan::metrics::score::{Reference, ScoreOptions};
use fsrgan::model::{Config, Params, Sampler};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("metrics");
    g.sample_size(10);
    let n = 4096;
    let p = Params::generate(&Config::preset("small").unwrap(), 1).unwrap();
    let real = Sampler::new(&p, 1).sample(0, n).x;
    let floor = Sampler::new(&p, 2).sample(0, n).x;
    let fake = Sampler::new(&p, 3).sample(0, n).x;
    let opts = ScoreOptions::default();
    g.bench_function("reference_small_4096", |b| {
        b.iter(|| Reference::new(&real, &floor, &p, &opts, 0).unwrap())
    });
    let reference = Reference::new(&real, &floor, &p, &opts, 0).unwrap();
    g.bench_function("score_small_4096", |b| {
        b.iter(|| reference.score(&fake).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
