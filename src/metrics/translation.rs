//! Errors of a translation between the two domains of a domain pair
//! ([`crate::model::Paired`]): the domain-B images of the same codes are
//! known, so a translator `A -> B` is scored sample by sample.
//!
//! Per level `l`, over paired samples `i`:
//!
//! `err_l = sum_i ||fake_i - real_i||^2 / sum_i ||real_i||^2`
//!
//! (relative squared error): 0 for the exact translation, 1 for the zero
//! map, and `||X^A - X^B||^2 / ||X^B||^2` for the identity map.

use ndarray::Array4;

/// [`translation_error`]'s formula for any pair of paired sets.
#[track_caller]
fn relative_sq_error(fake: &[Array4<f64>], real: &[Array4<f64>]) -> Vec<f64> {
    assert_eq!(fake.len(), real.len(), "the same levels");
    fake.iter()
        .zip(real)
        .map(|(f, r)| {
            assert_eq!(f.shape(), r.shape(), "paired sets of the same shapes");
            let err: f64 = f.iter().zip(r).map(|(a, b)| (a - b) * (a - b)).sum();
            let norm: f64 = r.iter().map(|b| b * b).sum();
            err / norm
        })
        .collect()
}

/// Per level, `sum_i ||fake_b_i - real_b_i||^2 / sum_i ||real_b_i||^2`:
/// the relative squared error of translated images `fake_b` against the
/// true domain-B images `real_b` of the same samples (NaN for a level
/// whose real images are all zero).
///
/// # Panics
/// If the sets do not have the same levels and shapes (a programmer error:
/// they pair the same samples).
#[track_caller]
pub fn translation_error(fake_b: &[Array4<f64>], real_b: &[Array4<f64>]) -> Vec<f64> {
    relative_sq_error(fake_b, real_b)
}

/// Per level, `sum_i ||back_i - x_i||^2 / sum_i ||x_i||^2`: the same
/// formula as [`translation_error`] for a round trip `x -> B -> back`
/// against the images `x` it started from.
///
/// # Panics
/// As [`translation_error`].
#[track_caller]
pub fn cycle_error(x: &[Array4<f64>], back: &[Array4<f64>]) -> Vec<f64> {
    relative_sq_error(back, x)
}
