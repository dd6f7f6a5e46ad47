//! Named tolerances and law checkers shared by the tests and `fsrgan verify`.
//!
//! Every tolerance used to compare a computed value with an independent truth
//! lives here with the reason it has the value it has. The values are the
//! ones the tests were written with (none was tuned to make a test pass);
//! the constants only give each its reason. Two bounds with the same value
//! but different reasons are different constants.
//!
//! Units: `eps = f64::EPSILON = 2.2e-16` (an f64 rounding is at most
//! `eps / 2` relative), `u32 = 2^-24 = 6.0e-8` (the float32 unit roundoff),
//! `ulp(v)` the spacing of f64 values at `|v|`. A sum of `n` terms rounds by at
//! most `gamma_n = n eps` relative to the sum of the terms' absolute values
//! (worst case) and, when the roundings are independent, by about
//! `sqrt(n) eps / 2` (a random walk); each rounding class below states its
//! `k` in `k eps` in both readings.
//!
//! Groups: float64 rounding, float32 storage and arithmetic, quadrature,
//! finite differences, linear algebra and iterative solvers, Monte Carlo
//! confidence bounds, bounds the tests state as the specification, and the
//! gaps a deliberately wrong input must show (the converse checks).

// ---------------------------------------------------------------------------
// Float64 rounding
// ---------------------------------------------------------------------------

/// Computations on dyadic rationals with short mantissas (the pyramid's
/// filter taps `1/16, 4/16, 6/16` applied to a unit impulse) are exact in
/// f64; `1e-16 = 0.45 eps` admits nothing but sub-ulp noise of values below
/// 1/2 and would catch any real rounding or a wrong tap.
pub const F64_EXACT_DYADIC: f64 = 1e-16;

/// Two routes to one value that differ at most in their last one or two
/// roundings (`Phi2` at `rho = 0` returns `Phi(a) Phi(b)` itself, at `rho = 1`
/// `Phi(min(a, b))`; `log_Phi(t)` for `t > -30` is
/// `ln Phi(t)`; a reference printed with 17 digits), on
/// values of magnitude below 1/2: `1e-16 = 0.45 eps >= 1.8 ulp` there.
pub const F64_LAST_ROUNDING: f64 = 1e-16;

/// A short f64 computation of an O(1) value against its closed form:
/// `1e-15 = 4.5 eps`, i.e. at most 4–5 roundings of values of size `<= 1`
/// (ratios of counts, a few products or logs), or a dot product of up to
/// ~80 O(1) terms with independent roundings (`sqrt(80) eps / 2 = 4.5 eps`).
pub const F64_FEW_OPS: f64 = 1e-15;

/// A sum of terms against a closed form or another order of summation, in
/// units of the largest value involved: `1e-14 = 45 eps`, the worst case
/// `gamma_n` of ~45 roundings (a dozen softplus / log terms of ~3 roundings
/// each, short recursions, a 5-tap filter over 3 pyramid levels), or up to
/// ~8000 independently rounded terms (`sqrt(8000) eps / 2 = 45 eps`).
pub const F64_SUM: f64 = 1e-14;

/// Per term of an `n`-term sum of terms of size `<= 1` that each carry a few
/// roundings of their own (a log, a product): `n * 1e-14 = n * 45 eps`, the
/// `gamma_n` bound of the sum plus each term's own error.
pub const F64_PER_TERM: f64 = 1e-14;

/// Sums of a dozen terms `p log q` with `|log q|` up to ~10 (Dirichlet
/// probabilities down to ~1e-4): the terms' absolute sum is ~10, so
/// [`F64_SUM`]'s `45 eps` per unit of scale becomes `1e-13 = 450 eps`.
pub const F64_LOG_SUM: f64 = 1e-13;

/// Two f64 routes to one quantity whose roundings can add up over thousands
/// of operations (sums of a few thousand products in different orders, 200
/// accumulated update steps, ascent to its fixed point, normalised dot
/// products against 1), relative to the quantity's scale: `1e-12 = 4500 eps`,
/// `gamma_n` for `n <= 4500`. Where the routes are shorter it is a margin:
/// these checks exist for wrong formulas and indices, which show at
/// [`FAULT_GAP`] or more, 1e9 times further out.
pub const F64_ROUNDOFF: f64 = 1e-12;

/// Two f64 routes through several tensor layers (decoding, a transposed
/// convolution with thresholds, painting; torch on the CPU) on O(1) values,
/// absolute or relative to the mean score: their rounding is far smaller
/// (~1e-14 at these sizes), and `1e-9` also admits a code at a ReLU threshold moving by that rounding
/// (a continuous change of `eps` times the layer's slope) with margin.
pub const F64_PIPELINE: f64 = 1e-9;

/// The Mills ratio's two routes at their switch `t = 30`: `Q(t) / phi(t)`
/// carries the conditioning of `exp(-t^2 / 2)`, whose argument rounds by
/// `eps t^2 / 2` absolute, i.e. `450 eps = 1.0e-13` relative at `t = 30`.
pub const MILLS_SWITCH: f64 = 1e-13;

/// The loss at logits `+-1000` is 2000 exactly (`softplus(1000)` rounds to
/// 1000: `log1p(e^-1000)` is 0): `1e-9 = 4400 ulp(2000)` only admits the
/// rounding of the mean and rules out the naive form's `inf` / NaN.
pub const EXACT_AT_LARGE_LOGITS: f64 = 1e-9;

/// The saturating generator loss's gradient at logit -30 is
/// `-sigma(-30) / 2 = -4.7e-14`; `1e-25` is `2.1e-12` of it, about
/// [`F64_ROUNDOFF`] relative (torch's sigmoid and mean at a tiny value).
pub const SATURATED_GRADIENT: f64 = 1e-25;

/// Gradients that must vanish (or reach their limit) at logit -30: both are
/// off by `sigma(-30) = 9.4e-14` in exact arithmetic, so `1e-12` is 10 times
/// that and far below the O(1) gradient of the other loss.
pub const VANISHED_GRADIENT: f64 = 1e-12;

/// The smallest scale a relative bound is taken against
/// (`rel * |want|.max(SCALE_FLOOR)`, or `SCALE_FLOOR + rel * |x|`) and the
/// floor of a relative error's denominator: keeps the bound positive when
/// the reference is 0, which in practice demands an exact 0 there.
pub const SCALE_FLOOR: f64 = 1e-300;

// ---------------------------------------------------------------------------
// Float32 storage and arithmetic
// ---------------------------------------------------------------------------

/// A few float32 roundings of O(1) values (a fade mix of two float32
/// tensors; data stored as float32 and scored in f64, each value off by
/// `<= u32 = 6e-8` relative): `1e-6 = 17 u32`.
pub const F32_ROUNDING: f64 = 1e-6;

/// Float32 over a long path: ~100 float32 operations on the longest path of
/// a generator forward (or a metric of float32-stored data), `100 u32 =
/// 6e-6 < 1e-5` relative; also the promise of the float32 interchange
/// files (`tests/peer_torch.rs`, observed ~1e-7).
pub const F32_LONG_PATH: f64 = 1e-5;

// ---------------------------------------------------------------------------
// Quadrature (adaptive Gauss–Kronrod, `numerics::quadrature`)
// ---------------------------------------------------------------------------

/// The absolute tolerance the quadrature tests request; where the integral
/// is known, its error must meet the request itself.
pub const QUAD_ABS_TOL: f64 = 1e-15;

/// The relative tolerance the quadrature tests request (with
/// [`QUAD_ABS_TOL`]); on smooth integrals of value 1 the error must meet it.
pub const QUAD_REL_TOL: f64 = 1e-14;

/// The floor of a quadrature error estimate: an estimate below the rounding
/// of the O(1) result summed over its panels (`4.5 eps`, as
/// [`F64_FEW_OPS`]) cannot be checked against the true error.
pub const QUAD_ROUNDING_FLOOR: f64 = 1e-15;

/// K15 on one interval is exact for polynomials of degree `<= 13`: only the
/// rounding of the 15-term positive-weight sum of values in `[0, 1]`
/// remains, 1–2 ulp of a result `<= 1`: `4e-16 = 1.8 eps`.
pub const GK15_POLYNOMIAL: f64 = 4e-16;

/// `sqrt(x)` on `[0, 1]` has an endpoint singularity where the adaptive
/// estimate converges slowly: the test allows ten times the requested
/// `1e-14`, for the value and for the error estimate.
pub const QUAD_SINGULAR_ENDPOINT: f64 = 1e-13;

/// Divergences and `V(D*)` by quadrature (requested `abs 1e-15, rel 1e-13`
/// in `theory::divergence`, errors ~1e-13) against closed forms or another
/// quadrature: `1e-11` absolute, a margin of 100.
pub const QUAD_VS_CLOSED_FORM: f64 = 1e-11;

/// The absolute part of the KL and squared-Hellinger quadratures' bound
/// against their closed forms: 1000 times the `1e-15` absolute request,
/// since the error estimates do not see the rounding of the log-densities
/// of their integrands in the tails.
pub const QUAD_DIVERGENCE_ABS: f64 = 1e-12;

/// The relative part of the KL quadrature's bound: `1e-10`, 1000 times its
/// `1e-13` relative request (the log-ratio grows in the tails).
pub const QUAD_DIVERGENCE_REL: f64 = 1e-10;

/// The closed-form Gaussian-ReLU moments `I_k(t)`, `t in [-8, 8]`, `k <= 6`,
/// against quadrature: the bound the test states (from the issue); the
/// quadrature is accurate to ~1e-14 relative.
pub const RELU_MOMENTS_VS_QUAD: f64 = 1e-10;

/// `I_k(t)` far in the right tail (`t` up to 37, the backward recursion)
/// against quadrature at relative `1e-14`: `1e-12` relative, a margin of 100.
pub const RELU_TAIL_VS_QUAD: f64 = 1e-12;

/// The relative accuracy requested of the reference quadrature of `I_k`
/// (`theory::reference::relu_moment`), which a bound on it must include.
pub const REFERENCE_QUAD_REL: f64 = 1e-14;

/// `Phi2` against quadrature of its defining integral on the grid up to
/// `|rho| = 0.999`: the bound the test states; the reference is requested
/// to `abs 1e-16, rel 1e-14`. A change of `rho` by `1e-6` moves `Phi2`
/// by more than this (the check of the bound's power).
pub const PHI2_VS_QUAD: f64 = 1e-12;

/// `Phi2`'s documented absolute accuracy (`theory::bvn`: Genz's method with
/// 6–20 Gauss–Legendre points), for checks against closed forms.
pub const PHI2_ACCURACY: f64 = 1e-15;

/// `F(a, b, rho)` against quadrature requested to `rel 1e-13`: `1e-11`
/// relative, a margin of 100.
pub const CROSS_MOMENT_VS_QUAD: f64 = 1e-11;

/// The scale below which [`CROSS_MOMENT_VS_QUAD`] is absolute: at `|F| <
/// 1e-3` the bound is `1e-14`, still 1000 times the reference's `1e-17`
/// absolute request.
pub const CROSS_MOMENT_SCALE_FLOOR: f64 = 1e-3;

// ---------------------------------------------------------------------------
// Finite differences and limits
// ---------------------------------------------------------------------------

/// A central difference of an O(1) smooth f64 function with step `h = 1e-6`
/// (or `1e-5`): truncation `h^2 |f'''| / 6 <= 1e-12` (`1e-10`), rounding
/// `eps |f| / h <= 2e-10` (`2e-11`): `1e-8` leaves a margin of 50.
pub const CENTRAL_DIFF: f64 = 1e-8;

/// A central difference with `h = 1e-6` of large sums (moments of 300
/// samples to the 4th power; a penalty evaluated by autograd), relative to
/// `max(|fd|, 1)`: the rounding `eps |f| / h` grows with `|f|` up to ~1e-8
/// of the derivative; `1e-6` is a margin of 100.
pub const CENTRAL_DIFF_REL: f64 = 1e-6;

/// A central difference with `h = 1e-4` of quadratures requested to `rel
/// 1e-13`: their error over `h` is ~1e-9, truncation `h^2 f''' ~ 1e-9`:
/// `1e-7`, a margin of 100.
pub const CENTRAL_DIFF_OF_QUADRATURE: f64 = 1e-7;

/// The gradient penalty against central differences in f64 (`h = 1e-6`):
/// truncation ~1e-12, rounding `eps |D| / h ~ 1e-10` per coordinate,
/// summed over the penalty's coordinates, relative to `max(|fd|, 1)`:
/// `1e-7`. A LeakyReLU kink inside `+-h` would show as an O(1) error.
pub const CENTRAL_DIFF_PENALTY: f64 = 1e-7;

/// `F(a, b, rho)` is continuous at `|rho| = 1`: `|dF / d rho| = Phi2 <= 1`,
/// so a step of `1e-9` moves it by at most `1e-9`; `1e-6` is 1000 times that.
pub const RHO_LIMIT_CONTINUITY: f64 = 1e-6;

/// KL of nearly equal distributions against its second/third-order series:
/// the series' truncation is ~`u^2` relative (~1e-18) and the stable forms
/// keep relative accuracy far below `1e-6`, where a naive `log(p / q)` form
/// would be wrong in its leading digits (its rounding, ~`eps`, against KL
/// values of 1e-18 and below).
pub const NEAR_EQUAL_KL_REL: f64 = 1e-6;

// ---------------------------------------------------------------------------
// Linear algebra and iterative solvers
// ---------------------------------------------------------------------------

/// Factorisations converged to machine precision compared with an identity
/// or another library (singular values of an orthonormal dictionary against
/// 1, its coherence against 0, LAPACK's pseudo-inverse against nalgebra's):
/// backward stable, errors `p(n) eps` with a modest `p(n)`; `1e-12 = 4500
/// eps`.
pub const LINALG_ROUNDOFF: f64 = 1e-12;

/// Eigen-decompositions compared with an independent route (LAPACK against
/// nalgebra's Schur form of a non-symmetric 6x6 Gaussian matrix; `W W^T`
/// against `C` from the eigenvectors of a 16x16 correlation): backward
/// stable, but eigenvalues and vectors move by that over their condition
/// (separation); `1e-10 = 4.5e5 eps` admits conditions up to ~1e4.
pub const EIGEN_ROUNDOFF: f64 = 1e-10;

/// Jennrich's algorithm on an exactly orthogonally decomposable third
/// moment (one active code): exact up to the eigenvector error of a random
/// contraction, `eps / gap`; `1 - |cos| <= 1e-8` admits angles up to 1.4e-4,
/// i.e. eigenvalue gaps down to ~1e-12.
pub const JENNRICH_EXACT: f64 = 1e-8;

/// The power method's stopping rule (`theory::tensor_decomp`: iterates
/// closer than `1 - |cos| < 1e-13`), which the bound on its result includes.
pub const POWER_METHOD_STOP: f64 = 1e-13;

/// `(alpha, beta)` and `rho` from exact moments by bisection (200 halvings:
/// the argument to full f64 resolution): the moments' ~1e-15 relative
/// error is amplified by the inverse map's condition (`r / r'`, as in the
/// bound of `t6_round_trip` in `tests/theory_props.rs`); `1e-9` admits
/// conditions up to ~1e6.
pub const BISECTION_ROUNDTRIP: f64 = 1e-9;

/// Gradient descent (500 steps, learning rate 4) on the minimax toy loss in
/// free logits: the curvature at the optimum is `p q / (p + q) >= 1/12` per
/// point, a contraction `<= 2/3` per step, so only the rounding of the
/// gradient (~1e-15 in `D`) is left; `1e-9` on `D = sigma(a)`.
pub const GD_MINIMAX_OPTIMUM: f64 = 1e-9;

/// Gradient descent (500 steps, learning rate 2) on the LSGAN toy loss,
/// quadratic with curvature `p + q in {3/8, 5/8}`: a contraction of `1/4`
/// per step, converged to rounding (~1e-16); `1e-10` on the outputs.
pub const GD_LSGAN_OPTIMUM: f64 = 1e-10;

/// The dictionary warm start on `1 - |cos|` of every matched atom: a
/// 1-active patch lies exactly on its atom's ray, and the estimate averages
/// ~10^3+ exact rays with the few 2-active patches that pass the final
/// dominance ratio 0.1 (`tests/theory_warmstart.rs`).
pub const WARM_START_COS: f64 = 1e-3;

// ---------------------------------------------------------------------------
// Monte Carlo confidence bounds
// ---------------------------------------------------------------------------

/// The `z` of Monte Carlo confidence bounds, `|estimate - exact| <= Z_MC * se`.
///
/// For a normal estimator the two-sided false-failure probability of one
/// assertion is `2 Q(5) = 5.7e-7`.
pub const Z_MC: f64 = 5.0;

// ---------------------------------------------------------------------------
// Bounds the tests state as the specification
// ---------------------------------------------------------------------------

/// The noiseless super-resolution residual (A5) the sampler must meet: exact
/// in real arithmetic, ~1e-15 on f64 data and ~1e-7 on float32-stored data
/// (`u32` per value through decode, threshold and paint): `1e-5` holds both
/// with a margin of 100.
pub const A5_RESIDUAL: f64 = 1e-5;

/// A broken A5 (wrong level-2 thresholds, or noise `sigma_2 > 0`) leaves a
/// residual above `1e-2`, 1000 times [`A5_RESIDUAL`].
pub const A5_BROKEN: f64 = 1e-2;

// ---------------------------------------------------------------------------
// Converse checks: how far a deliberately wrong input must be off
// ---------------------------------------------------------------------------

/// The least gap a deliberately wrong input or formula (or a quantity that
/// must not vanish) has to show: `1e-3` is 1e9 times [`F64_ROUNDOFF`] and far
/// above every tolerance here, so a converse that passes is not rounding;
/// the wrong inputs are O(1) wrong, with gaps well above `1e-3`.
pub const FAULT_GAP: f64 = 1e-3;

/// The margin by which a non-optimal candidate must be worse than the
/// optimum (or a wrong law off), above the evaluation error of both:
/// `1e-6` is 1e5 times [`QUAD_VS_CLOSED_FORM`] and 1e9 times the f64
/// rounding of the O(1) values compared.
pub const STRICT_GAP: f64 = 1e-6;

/// A difference that must be real, not rounding (a small perturbation of
/// the input, ~1e-6 in effect; examples that must differ beyond
/// `allclose`'s tolerance): `1e-9`, 4.5e6 eps above the f64 rounding of the
/// O(1) values compared.
pub const BEYOND_ROUNDING: f64 = 1e-9;

/// The zero-padded pyramid boundary against the mirrored one (hand-computed
/// in `tests/metrics_score.rs`): their largest difference over the 8x8
/// impulse response is `76 (16 - 8) / 256^2 = 9.3e-3` (pixel (4, 7)); `5e-4`
/// is far below it and 1e12 times above the (exact, dyadic) computation's
/// rounding.
pub const PYRAMID_BOUNDARY_GAP: f64 = 5e-4;

// ---------------------------------------------------------------------------
// Law checkers
// ---------------------------------------------------------------------------

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
