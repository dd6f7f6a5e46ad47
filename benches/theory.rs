//! The 4th-order moment contraction `E <x, u>^4` and one power-method sweep
//! `u <- E[<x, u>^3 x]` by implicit contraction (`O(n d)`), at d = 48, 192, 768
//! and n = 10^4 samples (plus n = 4 10^4 at d = 192 to show linear growth in n).
//!
//! Peer, same machine: `.venv/bin/python benches/peer/theory_einsum.py`
//! (NumPy einsum on the full d^4 tensor where it fits, and NumPy's own implicit contraction).
//! Run: cargo bench --bench theory

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fsrgan::theory::moments::{moment_along, moment_gradient};
use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut g = c.benchmark_group("moment4");
    g.sample_size(30);
    for (d, n) in [
        (48usize, 10_000usize),
        (192, 10_000),
        (768, 10_000),
        (192, 40_000),
    ] {
        let x = Array2::from_shape_fn((n, d), |_| StandardNormal.sample(&mut rng));
        let u: Array1<f64> = Array1::from_shape_fn(d, |_| StandardNormal.sample(&mut rng));
        let id = format!("d{d}_n{n}");
        g.bench_with_input(BenchmarkId::new("contraction", &id), &(), |b, _| {
            b.iter(|| moment_along(x.view(), u.view(), 4))
        });
        g.bench_with_input(BenchmarkId::new("power_sweep", &id), &(), |b, _| {
            b.iter(|| moment_gradient(x.view(), u.view(), 4))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
