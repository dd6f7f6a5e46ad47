//! Monte Carlo estimates with standard errors: sample means and covariances of
//! feature vectors, and the delta method for smooth functions of means.
//!
//! For i.i.d. feature vectors `f_1..f_n` with mean `mu` and covariance `S`, the
//! sample mean `m` has covariance `S / n`, and for smooth `g`,
//! `se(g(m))^2 ~= grad g(m)^T (S / n) grad g(m)` (first-order delta method).
//! The gradient is taken by central differences with steps `1e-6 max(|m_k|, 1e-3)`.

#![allow(clippy::needless_range_loop)] // index loops mirror the matrix algebra

/// An estimate and its standard error.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Estimate {
    /// The estimate.
    pub value: f64,
    /// Its standard error.
    pub se: f64,
}

impl Estimate {
    /// Whether `|value - truth| <= z se`.
    pub fn covers(&self, truth: f64, z: f64) -> bool {
        (self.value - truth).abs() <= z * self.se
    }
}

/// Mean and unbiased covariance of feature rows (`rows[i]` has `d` entries).
#[derive(Debug, Clone, PartialEq)]
pub struct MeanCov {
    /// Sample size.
    pub n: usize,
    /// Sample mean.
    pub mean: Vec<f64>,
    /// Unbiased sample covariance, `d x d`.
    pub cov: Vec<Vec<f64>>,
}

impl MeanCov {
    /// Accumulates rows produced by `row(i, &mut buf)` for `i in 0..n`
    /// (two-pass: means first, then centred products).
    pub fn from_rows(n: usize, d: usize, mut row: impl FnMut(usize, &mut [f64])) -> MeanCov {
        let mut buf = vec![0.0; d];
        let mut mean = vec![0.0; d];
        for i in 0..n {
            row(i, &mut buf);
            for (m, b) in mean.iter_mut().zip(&buf) {
                *m += b;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
        let mut cov = vec![vec![0.0; d]; d];
        for i in 0..n {
            row(i, &mut buf);
            for a in 0..d {
                let da = buf[a] - mean[a];
                for b in 0..=a {
                    cov[a][b] += da * (buf[b] - mean[b]);
                }
            }
        }
        let denom = (n.max(2) - 1) as f64;
        for a in 0..d {
            for b in 0..=a {
                cov[a][b] /= denom;
                cov[b][a] = cov[a][b];
            }
        }
        MeanCov { n, mean, cov }
    }

    /// `g(mean)` with its delta-method standard error.
    ///
    /// # Errors
    /// Whatever `g` returns at the mean or at a perturbed mean.
    pub fn delta<E>(&self, g: impl Fn(&[f64]) -> Result<f64, E>) -> Result<Estimate, E> {
        let value = g(&self.mean)?;
        let d = self.mean.len();
        let mut grad = vec![0.0; d];
        let mut x = self.mean.clone();
        for k in 0..d {
            let h = 1e-6 * self.mean[k].abs().max(1e-3);
            x[k] = self.mean[k] + h;
            let up = g(&x)?;
            x[k] = self.mean[k] - h;
            let down = g(&x)?;
            x[k] = self.mean[k];
            grad[k] = (up - down) / (2.0 * h);
        }
        let mut var = 0.0;
        for a in 0..d {
            for b in 0..d {
                var += grad[a] * self.cov[a][b] * grad[b];
            }
        }
        Ok(Estimate {
            value,
            se: (var.max(0.0) / self.n as f64).sqrt(),
        })
    }
}

/// Mean of `f(x_i)` with its standard error `sd / sqrt(n)`.
pub fn mean_estimate(values: impl IntoIterator<Item = f64>) -> Estimate {
    let mc = {
        let v: Vec<f64> = values.into_iter().collect();
        MeanCov::from_rows(v.len(), 1, |i, b| b[0] = v[i])
    };
    Estimate {
        value: mc.mean[0],
        se: (mc.cov[0][0] / mc.n as f64).sqrt(),
    }
}
