//! ProGAN's Laplacian-pyramid sliced Wasserstein distance (Karras et al.
//! 2018, the official `metrics/sliced_wasserstein.py`), adapted to the FSR
//! model's small images.
//!
//! **As in ProGAN.** The Gaussian 5-tap filter `g = (1, 4, 6, 4, 1) / 16`
//! (2-D: `g g^T`, i.e. `/256`) with mirror boundaries (`d c b | a b c d | c b a`,
//! SciPy's `mode="mirror"`, OpenCV's reflect-101):
//!
//! * `down(X) = (g g^T * X)[::2, ::2]` (OpenCV's `pyrDown`);
//! * `up(Y) = 4 g g^T * Z`, `Z[2i, 2j] = Y[i, j]` and zero elsewhere (`pyrUp`);
//! * the Laplacian pyramid of `X` with `J` levels: `G_0 = X`,
//!   `G_{j+1} = down(G_j)`, bands `L_j = G_j - up(G_{j+1})` for `j < J - 1`
//!   and `L_{J-1} = G_{J-1}`.
//!
//! Per band: descriptors are `7 x 7` neighbourhoods (all channels, flattened
//! in `(c, y, x)` order), 128 per image at uniformly random centres (with
//! replacement); each set's descriptors are normalised per channel by their
//! own mean and standard deviation (over descriptors and pixels; a channel
//! with zero deviation is only centred); the distance is the SWD over
//! `4 x 128` random unit directions ([`super::swd`]). ProGAN reports
//! `SWD x 10^3`; here the raw SWD is reported. Because each set is normalised
//! by its own statistics, the pyramid SWD is blind to a per-channel offset
//! or scale of the whole set; the patch SWD is not.
//!
//! **Adaptation to 4x4..64x64 images** (ProGAN's images are 16x16 and up; its
//! pyramid stops at 16x16):
//!
//! * the pyramid goes down to the smallest resolution `>= 4`
//!   ([`MIN_RESOLUTION`], the coarsest FSR level): `r, r/2, ...` while `>= 4`
//!   ([`pyramid_sizes`]); a 4x4 image is a one-band pyramid (the image);
//!   sizes are halved upwards (`ceil`) and `up` is cropped to the finer size;
//! * a band smaller than `7 x 7` has one descriptor per image: the whole
//!   band (the neighbourhood is clipped to the image; reflect-padding to 7x7
//!   would only repeat pixels);
//! * when a band has no more neighbourhood positions (`(s - 6)^2`) than the
//!   descriptors wanted per image, every position is taken once (the limit of
//!   ProGAN's random draw); otherwise the draw is ProGAN's;
//! * descriptors per image are at most 128 and at most `max_rows / N` (at least
//!   1), so a set has at most about `max_rows` descriptors per band — ProGAN
//!   draws 128 per image from 16384 images; a cap keeps the metric fast
//!   enough to run during training, and the floor is measured with the same cap.

use ndarray::{Array2, Array3, Array4, ArrayView2, ArrayView3, ArrayView4, Axis, s};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::swd::{directions, sorted_projections};

/// The 1-D binomial filter; the 2-D filter is `g g^T` (ProGAN's `/256` kernel).
pub const GAUSS5: [f64; 5] = [1.0 / 16.0, 4.0 / 16.0, 6.0 / 16.0, 4.0 / 16.0, 1.0 / 16.0];
/// Neighbourhood side (ProGAN: 7).
pub const NHOOD: usize = 7;
/// Descriptors per image (ProGAN: 128).
pub const NHOODS_PER_IMAGE: usize = 128;
/// Repeats of random direction sets (ProGAN: 4).
pub const DIR_REPEATS: usize = 4;
/// Directions per repeat (ProGAN: 128).
pub const DIRS_PER_REPEAT: usize = 128;
/// The coarsest pyramid resolution (ProGAN: 16; here the smallest FSR level, 4).
pub const MIN_RESOLUTION: usize = 4;

/// Index `i` reflected into `0..n` without repeating the edge (`mirror`):
/// `-1 -> 1`, `n -> n - 2`; period `2 (n - 1)`; `n = 1` gives 0.
pub fn reflect101(i: isize, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    let period = 2 * (n as isize - 1);
    let j = i.rem_euclid(period);
    (if j >= n as isize { period - j } else { j }) as usize
}

/// `out[y] = sum_a w[a] x[reflect(y + a - 2)]` along axis `axis` (1: rows, 2:
/// columns) of a `(c, h, w)` image, for the 5-tap `w`.
fn filter5(x: ArrayView3<'_, f64>, w: &[f64; 5], axis: usize) -> Array3<f64> {
    let (c, h, wd) = x.dim();
    let n = if axis == 1 { h } else { wd };
    Array3::from_shape_fn((c, h, wd), |(ch, y, xx)| {
        let pos = if axis == 1 { y } else { xx };
        let mut acc = 0.0;
        for (a, wa) in w.iter().enumerate() {
            let src = reflect101(pos as isize + a as isize - 2, n);
            acc += wa
                * if axis == 1 {
                    x[[ch, src, xx]]
                } else {
                    x[[ch, y, src]]
                };
        }
        acc
    })
}

/// `g g^T * x` with mirror boundaries, scaled by `gain` per axis.
fn blur(x: ArrayView3<'_, f64>, gain: f64) -> Array3<f64> {
    let w = GAUSS5.map(|v| v * gain);
    filter5(filter5(x, &w, 1).view(), &w, 2)
}

/// `down(X) = (g g^T * X)[::2, ::2]`: `(c, s, s) -> (c, ceil(s/2), ceil(s/2))`.
pub fn pyr_down(x: ArrayView3<'_, f64>) -> Array3<f64> {
    blur(x, 1.0).slice_move(s![.., ..;2, ..;2])
}

/// `up(Y) = 4 g g^T * Z` with `Z[2i, 2j] = Y[i, j]`, zero elsewhere:
/// `(c, s, s) -> (c, 2s, 2s)`.
pub fn pyr_up(y: ArrayView3<'_, f64>) -> Array3<f64> {
    let (c, h, w) = y.dim();
    let mut z = Array3::zeros((c, 2 * h, 2 * w));
    z.slice_mut(s![.., ..;2, ..;2]).assign(&y);
    blur(z.view(), 2.0)
}

/// The pyramid resolutions of an `r x r` image: `r`, then `ceil(r/2)`, ...
/// while `>= MIN_RESOLUTION` (always at least `[r]`).
pub fn pyramid_sizes(r: usize) -> Vec<usize> {
    let mut out = vec![r];
    let mut s = r;
    while s.div_ceil(2) >= MIN_RESOLUTION && s > 1 {
        s = s.div_ceil(2);
        out.push(s);
    }
    out
}

/// The Laplacian pyramid of one `(c, r, r)` image with `levels` bands (finest first).
pub fn laplacian_pyramid(x: ArrayView3<'_, f64>, levels: usize) -> Vec<Array3<f64>> {
    let mut gauss = vec![x.to_owned()];
    for _ in 1..levels.max(1) {
        let next = pyr_down(gauss[gauss.len() - 1].view());
        gauss.push(next);
    }
    let mut bands = Vec::with_capacity(gauss.len());
    for j in 0..gauss.len() {
        let g = &gauss[j];
        if j + 1 < gauss.len() {
            let (_, h, w) = g.dim();
            let up = pyr_up(gauss[j + 1].view());
            bands.push(g - &up.slice(s![.., ..h, ..w]));
        } else {
            bands.push(g.clone());
        }
    }
    bands
}

/// The bands of a batch `(B, c, r, r)`: one `(B, c, s_j, s_j)` array per
/// pyramid resolution `s_j` of [`pyramid_sizes`]`(r)`.
pub fn pyramid_bands(x: ArrayView4<'_, f64>) -> Vec<Array4<f64>> {
    let (b, c, r, _) = x.dim();
    let sizes = pyramid_sizes(r);
    let per: Vec<Vec<Array3<f64>>> = (0..b)
        .into_par_iter()
        .map(|i| laplacian_pyramid(x.index_axis(Axis(0), i), sizes.len()))
        .collect();
    sizes
        .iter()
        .enumerate()
        .map(|(j, &sj)| {
            let mut band = Array4::zeros((b, c, sj, sj));
            for (i, p) in per.iter().enumerate() {
                band.index_axis_mut(Axis(0), i).assign(&p[j]);
            }
            band
        })
        .collect()
}

/// Neighbourhood side for a band of side `s`: `min(7, s)`.
pub fn nhood_side(s: usize) -> usize {
    NHOOD.min(s)
}

/// Descriptors of one band `(B, c, s, s)`: neighbourhoods of side
/// `h = min(7, s)`, `per_image` per image at uniformly random top-left
/// corners in `0..=s-h` (ChaCha8(`seed`), with replacement), or every corner
/// once when there are at most `per_image` of them; rows `(c, y, x)` flattened.
pub fn descriptors(band: ArrayView4<'_, f64>, per_image: usize, seed: u64) -> Array2<f64> {
    let (b, c, sz, _) = band.dim();
    let h = nhood_side(sz);
    let span = sz - h + 1;
    let all = span * span <= per_image;
    let k = if all { span * span } else { per_image.max(1) };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let corners: Vec<(usize, usize)> = (0..b * k)
        .map(|i| {
            if all {
                let p = i % k;
                (p / span, p % span)
            } else {
                (rng.random_range(0..span), rng.random_range(0..span))
            }
        })
        .collect();
    let d = c * h * h;
    let mut out = Array2::zeros((b * k, d));
    if let Some(flat) = out.as_slice_mut() {
        flat.par_chunks_mut(d.max(1))
            .enumerate()
            .for_each(|(row_i, row)| {
                let (img, (y0, x0)) = (row_i / k, corners[row_i]);
                let src = band.index_axis(Axis(0), img);
                let mut t = 0;
                for ch in 0..c {
                    for y in 0..h {
                        for x in 0..h {
                            row[t] = src[[ch, y0 + y, x0 + x]];
                            t += 1;
                        }
                    }
                }
            });
    }
    out
}

/// ProGAN's `finalize_descriptors`: subtracts from each channel's entries
/// (columns `ch h^2 .. (ch+1) h^2`) their mean over all rows and pixels and
/// divides by their (population) standard deviation, when it is positive.
pub fn normalize_descriptors(desc: &mut Array2<f64>, channels: usize) {
    let d = desc.ncols();
    let per = d / channels.max(1);
    for ch in 0..channels {
        let mut block = desc.slice_mut(s![.., ch * per..(ch + 1) * per]);
        let n = block.len().max(1) as f64;
        let mean = block.sum() / n;
        let var = block.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let sd = var.sqrt();
        let scale = if sd > 0.0 { 1.0 / sd } else { 1.0 };
        block.mapv_inplace(|v| (v - mean) * scale);
    }
}

/// Descriptors per image for a set of `n` images under a cap of `max_rows`
/// descriptors per band: `clamp(max_rows / n, 1, 128)`.
pub fn per_image(n: usize, max_rows: usize) -> usize {
    (max_rows / n.max(1)).clamp(1, NHOODS_PER_IMAGE)
}

/// The `4 x 128` ProGAN directions for descriptors of dimension `d`.
pub fn pyramid_directions(d: usize, seed: u64) -> Array2<f64> {
    directions(d, DIR_REPEATS * DIRS_PER_REPEAT, seed)
}

/// Normalised descriptors of one band, projected on `dirs` and sorted (see
/// [`sorted_projections`]).
pub fn band_projections(
    band: ArrayView4<'_, f64>,
    per_image: usize,
    seed: u64,
    dirs: ArrayView2<'_, f64>,
) -> Array2<f64> {
    let mut desc = descriptors(band, per_image, seed);
    normalize_descriptors(&mut desc, band.dim().1);
    sorted_projections(desc.view(), dirs)
}
