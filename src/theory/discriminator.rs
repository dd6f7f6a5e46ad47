//! A regularised linear discriminator is moment matching (claim T7). See
//! `proofs/T7-linear-discriminator.md`.
//!
//! For features `phi(x)`, `D(x) = <lambda, phi(x)>` and
//! `Delta = E_data phi - E_g phi`, the discriminator's regularised objective
//! `J(lambda) = <lambda, Delta> - (gamma / 2) ||lambda||^2` is strictly concave
//! with maximiser `lambda* = Delta / gamma` and maximum `||Delta||^2 / (2 gamma)`:
//! the GAN game with this discriminator is squared moment matching.

/// `J(lambda) = <lambda, Delta> - (gamma/2) ||lambda||^2`.
pub fn objective(lambda: &[f64], delta: &[f64], gamma: f64) -> f64 {
    let dot: f64 = lambda.iter().zip(delta).map(|(a, b)| a * b).sum();
    let sq: f64 = lambda.iter().map(|a| a * a).sum();
    dot - 0.5 * gamma * sq
}

/// `(lambda*, J(lambda*)) = (Delta / gamma, ||Delta||^2 / (2 gamma))`.
pub fn optimum(delta: &[f64], gamma: f64) -> (Vec<f64>, f64) {
    let lambda = delta.iter().map(|d| d / gamma).collect();
    let sq: f64 = delta.iter().map(|d| d * d).sum();
    (lambda, sq / (2.0 * gamma))
}

/// Plain gradient ascent on `J` from `lambda = 0` with step `eta` for `steps`
/// steps (the discriminator's own training): `lambda <- lambda + eta (Delta - gamma lambda)`.
/// An independent, iterative route to the optimum.
pub fn gradient_ascent(delta: &[f64], gamma: f64, eta: f64, steps: usize) -> Vec<f64> {
    let mut lambda = vec![0.0; delta.len()];
    for _ in 0..steps {
        for (l, d) in lambda.iter_mut().zip(delta) {
            *l += eta * (d - gamma * *l);
        }
    }
    lambda
}

/// Moment features `phi(x) = (x, x^2, ..., x^k)` of scalar samples, averaged:
/// `E phi = (E x, ..., E x^k)`.
pub fn moment_features(samples: &[f64], k: usize) -> Vec<f64> {
    let n = samples.len().max(1) as f64;
    (1..=k)
        .map(|c| samples.iter().map(|x| x.powi(c as i32)).sum::<f64>() / n)
        .collect()
}
