//! Named tolerances and law checkers shared by the tests and `fsrgan verify`.
//!
//! Every tolerance used to compare a computed value with an independent truth
//! lives here with the reason it has the value it has.

/// The `z` of Monte Carlo confidence bounds, `|estimate - exact| <= Z_MC * se`.
///
/// For a normal estimator the two-sided false-failure probability of one
/// assertion is `2 Q(5) = 5.7e-7`.
pub const Z_MC: f64 = 5.0;

/// Whether `|estimate - exact| <= z * se`, the honest Monte Carlo check.
pub fn within_mc_bound(estimate: f64, exact: f64, se: f64, z: f64) -> bool {
    (estimate - exact).abs() <= z * se
}

/// Sample mean and its standard error `sd / sqrt(n)` (unbiased `sd`).
///
/// # Panics
/// If `xs` has fewer than two elements (a programmer error).
#[track_caller]
pub fn mean_se(xs: &[f64]) -> (f64, f64) {
    assert!(xs.len() >= 2, "mean_se needs at least two values");
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}
