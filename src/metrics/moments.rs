//! Moment gaps between two sets of patches (rows), training.md "Metrics":
//!
//! `gap_c = ||E x^{(x)c}_real - E x^{(x)c}_fake||_F / ||E x^{(x)c}_real||_F`, `c = 1..4`,
//!
//! either by Gram sums (`||E x^c - E y^c||^2 = E<x,x'>^c - 2 E<x,y>^c + E<y,y'>^c`,
//! exact for the two empirical distributions, any dimension, cost `O(n_a n_b D)`)
//! or from the explicit tensors ([`MomentTensors`], cost `O(n D^4)`, for `D <= 16`).

use ndarray::{Array2, ArrayView2, Axis};

/// `sum_{i,j} <a_i, b_j>^c / (n_a n_b)` for `c = 1..=C`, the Gram sums of
/// `||E a^{(x)c} - E b^{(x)c}||_F^2`, in blocks of 512 rows (memory `O(512 n_b)`).
fn gram_power_sums<const C: usize>(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> [f64; C] {
    let mut out = [0.0; C];
    let mut start = 0;
    while start < a.nrows() {
        let end = (start + 512).min(a.nrows());
        let g = a.slice(ndarray::s![start..end, ..]).dot(&b.t());
        for &v in &g {
            let mut p = 1.0;
            for o in out.iter_mut() {
                p *= v;
                *o += p;
            }
        }
        start = end;
    }
    let n = (a.nrows().max(1) * b.nrows().max(1)) as f64;
    out.iter_mut().for_each(|o| *o /= n);
    out
}

/// Relative moment gaps `||E x^{(x)c}_real - E x^{(x)c}_fake||_F / ||E x^{(x)c}_real||_F`
/// for `c = 1..=4` between two sets of patches (rows), exact for the two
/// empirical distributions: `||E x^c - E y^c||^2 = E<x,x'>^c - 2 E<x,y>^c + E<y,y'>^c`.
pub fn moment_gaps(real: ArrayView2<'_, f64>, fake: ArrayView2<'_, f64>) -> [f64; 4] {
    let rr = gram_power_sums::<4>(real, real);
    let rf = gram_power_sums::<4>(real, fake);
    let ff = gram_power_sums::<4>(fake, fake);
    std::array::from_fn(|c| {
        let gap2 = (rr[c] - 2.0 * rf[c] + ff[c]).max(0.0);
        if rr[c] > 0.0 {
            (gap2 / rr[c]).sqrt()
        } else {
            gap2.sqrt()
        }
    })
}

/// Patch dimension up to which [`MomentTensors`] are formed explicitly.
pub const EXPLICIT_MAX_D: usize = 16;

/// The moment tensors `E x^{(x)c}`, `c = 1..=4`, of patches (rows), flattened
/// (`D^c` entries), with the number of rows they average. Built by BLAS:
/// with `X2` the rows `x (x) x`, `E x^{(x)4} = X2^T X2 / n` and
/// `E x^{(x)3} = X2^T X / n`, in chunks of 4096 rows. Cost `O(n D^4)`: for `D <= 16`.
#[derive(Debug, Clone, PartialEq)]
pub struct MomentTensors {
    /// Rows averaged.
    pub n: usize,
    /// Sums (not yet divided by `n`) of `x^{(x)c}` for `c = 1..=4`.
    sums: [Vec<f64>; 4],
}

impl MomentTensors {
    /// Empty sums for dimension `d`.
    pub fn new(d: usize) -> MomentTensors {
        MomentTensors {
            n: 0,
            sums: std::array::from_fn(|c| vec![0.0; d.pow(c as u32 + 1)]),
        }
    }

    /// Adds the rows of `x`.
    pub fn add(&mut self, x: ArrayView2<'_, f64>) {
        let d = x.ncols();
        let mut start = 0;
        while start < x.nrows() {
            let end = (start + 4096).min(x.nrows());
            let xb = x.slice(ndarray::s![start..end, ..]);
            let x2 = Array2::from_shape_fn((end - start, d * d), |(i, k)| {
                xb[[i, k / d]] * xb[[i, k % d]]
            });
            let parts = [
                xb.sum_axis(Axis(0)).to_vec(),
                x2.sum_axis(Axis(0)).to_vec(),
                x2.t().dot(&xb).iter().copied().collect::<Vec<f64>>(),
                x2.t().dot(&x2).iter().copied().collect::<Vec<f64>>(),
            ];
            for (s, p) in self.sums.iter_mut().zip(parts) {
                s.iter_mut().zip(p).for_each(|(a, b)| *a += b);
            }
            start = end;
        }
        self.n += x.nrows();
    }

    /// `||E_self x^c - E_other x^c||_F / ||E_self x^c||_F` for `c = 1..=4`.
    pub fn relative_gaps(&self, other: &MomentTensors) -> [f64; 4] {
        let (a, b) = (self.n.max(1) as f64, other.n.max(1) as f64);
        std::array::from_fn(|c| {
            let (mut num, mut den) = (0.0, 0.0);
            for (x, y) in self.sums[c].iter().zip(&other.sums[c]) {
                let (x, y) = (x / a, y / b);
                num += (x - y) * (x - y);
                den += x * x;
            }
            if den > 0.0 {
                (num / den).sqrt()
            } else {
                num.sqrt()
            }
        })
    }
}

/// The `c`-th entry (`1..=4`) of [`moment_gaps`].
pub fn moment_gap(real: ArrayView2<'_, f64>, fake: ArrayView2<'_, f64>, c: i32) -> f64 {
    moment_gaps(real, fake)[(c.clamp(1, 4) - 1) as usize]
}
