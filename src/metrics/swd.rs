//! Sliced Wasserstein distance (SWD) between two sets of points in `R^D` (rows):
//!
//! `SWD(A, B) = (1/K) sum_{k=1..K} W1(<A, u_k>, <B, u_k>)`,
//!
//! `u_k` independent uniform unit directions (normalised standard normal
//! vectors from a seeded ChaCha8), and `W1` the 1-D Wasserstein-1 distance of
//! the two empirical distributions of projections:
//!
//! `W1(a, b) = int_0^1 |F_a^{-1}(u) - F_b^{-1}(u)| du`,
//!
//! which for equal sizes is `(1/n) sum_i |a_(i) - b_(i)|` over the sorted
//! values ([`wasserstein1_sorted`] is exact for any two sizes).
//!
//! The projections of a set are sorted once per direction
//! ([`sorted_projections`]), so a fixed real reference is compared with many
//! sets at the cost of projecting and sorting the new set only.

use ndarray::{Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// `K` unit directions in `R^d` as the columns of a `(d, K)` matrix: direction
/// `k` is `d` standard normals (drawn in order from `ChaCha8(seed)`, direction
/// after direction) divided by their norm.
pub fn directions(d: usize, k: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Array2::zeros((d, k));
    for j in 0..k {
        let mut u: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
        let nrm = u.iter().map(|x| x * x).sum::<f64>().sqrt();
        if nrm > 0.0 {
            u.iter_mut().for_each(|x| *x /= nrm);
        }
        out.column_mut(j).assign(&ndarray::ArrayView1::from(&u));
    }
    out
}

/// The projections `<x_i, u_k>` of the rows of `x` (`(n, d)`) on the columns
/// of `dirs` (`(d, K)`), as a `(K, n)` matrix whose rows are sorted ascending.
pub fn sorted_projections(x: ArrayView2<'_, f64>, dirs: ArrayView2<'_, f64>) -> Array2<f64> {
    let p = x.dot(&dirs);
    let mut out = p.t().as_standard_layout().into_owned();
    let n = out.ncols().max(1);
    if let Some(s) = out.as_slice_mut() {
        s.par_chunks_mut(n)
            .for_each_init(Vec::new, |buf, row| radix_sort(row, buf));
    }
    out
}

/// The order-preserving map of `f64` (in `total_cmp` order) to `u64`:
/// negative values have every bit flipped, others only the sign bit.
fn key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// The inverse of [`key`].
fn unkey(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// Sorts `v` ascending in `f64::total_cmp` order (the same result as
/// `sort_unstable_by(f64::total_cmp)`) by an LSD radix sort of the
/// order-preserving keys, 11 bits per pass, skipping passes in which every
/// key has the same digit; `buf` is scratch space. `O(n)`: about 4x faster
/// than a comparison sort at the 10^4..10^5 values per direction of the SWD.
pub fn radix_sort(v: &mut [f64], buf: &mut Vec<u64>) {
    const BITS: usize = 11;
    const PASSES: usize = 64usize.div_ceil(BITS);
    const BUCKETS: usize = 1 << BITS;
    let n = v.len();
    if n < 64 {
        v.sort_unstable_by(f64::total_cmp);
        return;
    }
    let mut keys: Vec<u64> = v.iter().map(|&x| key(x)).collect();
    buf.clear();
    buf.resize(n, 0);
    let mut hist = vec![[0usize; BUCKETS]; PASSES];
    for &k in &keys {
        for (p, h) in hist.iter_mut().enumerate() {
            h[((k >> (p * BITS)) as usize) & (BUCKETS - 1)] += 1;
        }
    }
    let mut src = &mut keys;
    let mut dst = buf;
    for (p, h) in hist.iter().enumerate() {
        if h.contains(&n) {
            continue;
        }
        let mut start = [0usize; BUCKETS];
        let mut acc = 0;
        for (s, &c) in start.iter_mut().zip(h.iter()) {
            *s = acc;
            acc += c;
        }
        for &k in src.iter() {
            let d = ((k >> (p * BITS)) as usize) & (BUCKETS - 1);
            dst[start[d]] = k;
            start[d] += 1;
        }
        std::mem::swap(&mut src, &mut dst);
    }
    for (x, &k) in v.iter_mut().zip(src.iter()) {
        *x = unkey(k);
    }
}

/// `W1` between the empirical distributions of two sorted samples of any
/// sizes `n`, `m`: `int_0^1 |a_(ceil(u n)) - b_(ceil(u m))| du`, summed exactly
/// over the pieces between the breakpoints `i/n` and `j/m` (integer
/// arithmetic on the common grid `1/(n m)`). Equal sizes give
/// `(1/n) sum_i |a_i - b_i|`. An empty sample has no distribution: NaN
/// (the distance cannot be computed, it is not 0).
pub fn wasserstein1_sorted(a: &[f64], b: &[f64]) -> f64 {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return f64::NAN;
    }
    if n == m {
        return a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / n as f64;
    }
    let (n64, m64) = (n as u128, m as u128);
    let (mut i, mut j) = (0usize, 0usize);
    let mut at: u128 = 0;
    let mut total = 0.0;
    while i < n && j < m {
        let next_a = (i as u128 + 1) * m64;
        let next_b = (j as u128 + 1) * n64;
        let next = next_a.min(next_b);
        total += (next - at) as f64 * (a[i] - b[j]).abs();
        at = next;
        if next == next_a {
            i += 1;
        }
        if next == next_b {
            j += 1;
        }
    }
    total / (n64 * m64) as f64
}

/// `(1/K) sum_k W1(a_k, b_k)` over the rows of two [`sorted_projections`]
/// made with the same directions; NaN for no direction (nothing is
/// measured; the distance cannot be computed, it is not 0).
///
/// # Panics
/// If the two have different numbers of directions (a programmer error).
#[track_caller]
pub fn swd_of_sorted(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> f64 {
    assert_eq!(a.nrows(), b.nrows(), "projections on different directions");
    let k = a.nrows();
    if k == 0 {
        return f64::NAN;
    }
    let per: Vec<f64> = (0..k)
        .into_par_iter()
        .map(|r| {
            let (ra, rb) = (a.row(r), b.row(r));
            match (ra.as_slice(), rb.as_slice()) {
                (Some(x), Some(y)) => wasserstein1_sorted(x, y),
                _ => wasserstein1_sorted(&ra.to_vec(), &rb.to_vec()),
            }
        })
        .collect();
    per.iter().sum::<f64>() / k as f64
}

/// Sliced Wasserstein distance: mean over `k` random unit directions
/// ([`directions`] with `seed`) of `W1` between the projections of the first
/// `n = min(n_real, n_fake)` rows of each set; NaN when there is no row or no
/// direction (it cannot be computed).
pub fn sliced_wasserstein(
    real: ArrayView2<'_, f64>,
    fake: ArrayView2<'_, f64>,
    k: usize,
    seed: u64,
) -> f64 {
    let d = real.ncols();
    let n = real.nrows().min(fake.nrows());
    if n == 0 || d == 0 || k == 0 {
        return f64::NAN;
    }
    let dirs = directions(d, k, seed);
    let head = |a: ArrayView2<'_, f64>| {
        sorted_projections(a.slice_move(ndarray::s![..n, ..]), dirs.view())
    };
    swd_of_sorted(head(real).view(), head(fake).view())
}

/// At most `max` rows of `x`: all of them if `x` has no more, otherwise a
/// uniformly random subset of `max` distinct rows (seeded, kept in their order).
pub fn subsample_rows(x: ArrayView2<'_, f64>, max: usize, seed: u64) -> Array2<f64> {
    let n = x.nrows();
    if n <= max {
        return x.to_owned();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut idx = rand::seq::index::sample(&mut rng, n, max).into_vec();
    idx.sort_unstable();
    x.select(Axis(0), &idx)
}
