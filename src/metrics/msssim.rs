//! MS-SSIM (Wang, Simoncelli & Bovik 2003) between pairs of images, with the
//! constants of the TensorFlow implementation that ProGAN's
//! `metrics/ms_ssim.py` uses, as a diversity measure: the mean MS-SSIM of
//! random pairs of generated images, beside the same for real images (a
//! collapsed generator's pairs are more alike than real pairs).
//!
//! At one scale, with `w` the Gaussian window (MATLAB's `fspecial`, side
//! `F = min(11, h, w)`, `sigma = 1.5 F / 11`), `mu_a = w * a` over the valid
//! positions, `sigma_ab = w * (a b) - mu_a mu_b`, `C1 = (K1 L)^2`,
//! `C2 = (K2 L)^2`, `K1 = 0.01`, `K2 = 0.03`:
//!
//! `cs = mean[(2 sigma_ab + C2) / (sigma_aa + sigma_bb + C2)]`,
//! `ssim = mean[(2 mu_a mu_b + C1)/(mu_a^2 + mu_b^2 + C1) (2 sigma_ab + C2)/(sigma_aa + sigma_bb + C2)]`,
//!
//! means over valid positions and channels. Between scales both images are
//! 2x2-average-pooled. With `S` scales and weights `w_s`:
//!
//! `MS-SSIM = prod_{s < S-1} max(cs_s, 0)^{w_s} * max(ssim_{S-1}, 0)^{w_{S-1}}`
//!
//! (the clip at 0 is ProGAN's and TensorFlow's guard against NaN).
//!
//! **Adaptation to 4x4..64x64 images.** The original takes 5 scales with
//! weights `(0.0448, 0.2856, 0.3001, 0.2363, 0.1333)` (finest first) and an
//! 11x11 window. Here: the scales are the image's resolutions `r, r/2, ...`
//! while `>= 4` (as the Laplacian pyramid, [`super::pyramid::pyramid_sizes`]),
//! at most 5 — 4x4: 1 scale (plain SSIM), 8x8: 2, 16x16: 3, 64x64: 5 — and
//! the first `S` weights are renormalised to sum to 1 (so identical images
//! give exactly 1 and the value stays comparable across levels); the window is
//! clipped to the image with sigma scaled, as the original already does. An
//! odd side is pooled to `ceil(s/2)` with the last row/column repeated.
//! `L` (the role of 255 for 8-bit images) is the dynamic range of the real
//! images of the level, `max - min`, the same for generated and real pairs.

use ndarray::{Array3, ArrayView3, ArrayView4, Axis, Zip};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// `K1` of SSIM.
pub const K1: f64 = 0.01;
/// `K2` of SSIM.
pub const K2: f64 = 0.03;
/// Window side of the original.
pub const FILTER_SIZE: usize = 11;
/// Window sigma of the original.
pub const FILTER_SIGMA: f64 = 1.5;
/// Scale weights of the original, finest first.
pub const WEIGHTS: [f64; 5] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];

/// MATLAB's `fspecial('gaussian', size, sigma)` along one axis, normalised
/// (the 2-D window is its outer product): taps at `-radius..=radius`, shifted
/// by `1/2` for even `size`.
pub fn gaussian_window(size: usize, sigma: f64) -> Vec<f64> {
    let radius = (size / 2) as f64;
    let offset = if size.is_multiple_of(2) { 0.5 } else { 0.0 };
    let g: Vec<f64> = (0..size)
        .map(|i| {
            let x = offset - radius + i as f64;
            (-(x * x) / (2.0 * sigma * sigma)).exp()
        })
        .collect();
    let sum: f64 = g.iter().sum();
    g.into_iter().map(|v| v / sum).collect()
}

/// Number of scales for an `r x r` image: its resolutions `>= 4`, at most 5.
pub fn scales(r: usize) -> usize {
    super::pyramid::pyramid_sizes(r).len().min(WEIGHTS.len())
}

/// The weights of `s` scales: the first `s` of [`WEIGHTS`], renormalised to sum to 1.
pub fn weights(s: usize) -> Vec<f64> {
    let w = &WEIGHTS[..s.clamp(1, WEIGHTS.len())];
    let sum: f64 = w.iter().sum();
    w.iter().map(|v| v / sum).collect()
}

/// Valid correlation of a `(c, h, w)` map with `g g^T` (side `F`): `(c, h-F+1, w-F+1)`.
fn window_mean(x: &Array3<f64>, g: &[f64]) -> Array3<f64> {
    let f = g.len();
    let (c, h, w) = x.dim();
    let rows = Array3::from_shape_fn((c, h - f + 1, w), |(ch, y, xx)| {
        g.iter()
            .enumerate()
            .map(|(a, ga)| ga * x[[ch, y + a, xx]])
            .sum::<f64>()
    });
    Array3::from_shape_fn((c, h - f + 1, w - f + 1), |(ch, y, xx)| {
        g.iter()
            .enumerate()
            .map(|(a, ga)| ga * rows[[ch, y, xx + a]])
            .sum::<f64>()
    })
}

/// `(ssim, cs)` of two `(c, h, w)` images at one scale with dynamic range `l`.
pub fn ssim_cs(a: ArrayView3<'_, f64>, b: ArrayView3<'_, f64>, l: f64) -> (f64, f64) {
    let (_, h, w) = a.dim();
    let size = FILTER_SIZE.min(h).min(w).max(1);
    let g = gaussian_window(size, size as f64 * FILTER_SIGMA / FILTER_SIZE as f64);
    let (a, b) = (a.to_owned(), b.to_owned());
    let mu_a = window_mean(&a, &g);
    let mu_b = window_mean(&b, &g);
    let s_aa = window_mean(&(&a * &a), &g);
    let s_bb = window_mean(&(&b * &b), &g);
    let s_ab = window_mean(&(&a * &b), &g);
    let (c1, c2) = ((K1 * l).powi(2), (K2 * l).powi(2));
    let (mut ssim, mut cs) = (0.0, 0.0);
    let n = mu_a.len() as f64;
    Zip::from(&mu_a)
        .and(&mu_b)
        .and(&s_aa)
        .and(&s_bb)
        .and(&s_ab)
        .for_each(|&ma, &mb, &aa, &bb, &ab| {
            let (saa, sbb, sab) = (aa - ma * ma, bb - mb * mb, ab - ma * mb);
            let v1 = 2.0 * sab + c2;
            let v2 = saa + sbb + c2;
            ssim += (2.0 * ma * mb + c1) * v1 / ((ma * ma + mb * mb + c1) * v2);
            cs += v1 / v2;
        });
    (ssim / n, cs / n)
}

/// 2x2 average pooling, `(c, h, w) -> (c, ceil(h/2), ceil(w/2))`, the last
/// row/column repeated for odd sides.
pub fn pool2(x: ArrayView3<'_, f64>) -> Array3<f64> {
    let (c, h, w) = x.dim();
    Array3::from_shape_fn((c, h.div_ceil(2), w.div_ceil(2)), |(ch, y, xx)| {
        let (y0, y1) = (2 * y, (2 * y + 1).min(h - 1));
        let (x0, x1) = (2 * xx, (2 * xx + 1).min(w - 1));
        0.25 * (x[[ch, y0, x0]] + x[[ch, y0, x1]] + x[[ch, y1, x0]] + x[[ch, y1, x1]])
    })
}

/// MS-SSIM of two `(c, r, r)` images with dynamic range `l` (module docs).
pub fn msssim(a: ArrayView3<'_, f64>, b: ArrayView3<'_, f64>, l: f64) -> f64 {
    let s = scales(a.dim().1.min(a.dim().2));
    let w = weights(s);
    let (mut a, mut b) = (a.to_owned(), b.to_owned());
    let mut out = 1.0;
    for (j, wj) in w.iter().enumerate() {
        let (ssim, cs) = ssim_cs(a.view(), b.view(), l);
        if j + 1 < s {
            out *= cs.max(0.0).powf(*wj);
            a = pool2(a.view());
            b = pool2(b.view());
        } else {
            out *= ssim.max(0.0).powf(*wj);
        }
    }
    out
}

/// Mean MS-SSIM over random disjoint pairs of the images `x` `(B, c, r, r)`:
/// a seeded permutation `p` (ChaCha8(`seed`)) and pairs `(p_{2i}, p_{2i+1})`,
/// `i < min(B/2, max_pairs)`. Returns `(mean, standard error, pairs)`; the
/// pairs are independent when the images are, so `se = sd / sqrt(pairs)`
/// (infinite for fewer than two pairs).
pub fn mean_msssim_pairs(
    x: ArrayView4<'_, f64>,
    l: f64,
    max_pairs: usize,
    seed: u64,
) -> (f64, f64, usize) {
    let b = x.len_of(Axis(0));
    let mut perm: Vec<usize> = (0..b).collect();
    perm.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let pairs = (b / 2).min(max_pairs);
    let vals: Vec<f64> = (0..pairs)
        .into_par_iter()
        .map(|i| {
            msssim(
                x.index_axis(Axis(0), perm[2 * i]),
                x.index_axis(Axis(0), perm[2 * i + 1]),
                l,
            )
        })
        .collect();
    if pairs == 0 {
        return (f64::NAN, f64::INFINITY, 0);
    }
    let mean = vals.iter().sum::<f64>() / pairs as f64;
    let se = if pairs >= 2 {
        crate::testing::mean_se(&vals).1
    } else {
        f64::INFINITY
    };
    (mean, se, pairs)
}
