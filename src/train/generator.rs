//! The FSR generator in tch (model.md section 2), for the target (truth) and the learner.
//!
//! `S_1 = ReLU(alpha (W_1 z) - alpha t)` (with `t = beta / alpha`),
//! `S_l = ReLU(conv_transpose2d(S_{l-1}, W_l, stride 2, padding (k-2)/2) - b_l)`,
//! `X_l = conv_transpose2d(S_l, out_l, stride q)`; `out_l` is held as the
//! `m_l x D` matrix whose rows are the atoms `M_l[:, i]`.

use ndarray::{Array1, Array2, Array4};
use tch::{Device, Kind, Tensor};

use super::TrainError;
use crate::model::params::{Level1, UpLayer};
use crate::model::{Config, Params};

/// Generator parameters as tensors.
#[derive(Debug)]
pub struct Generator {
    /// Model config (shapes).
    pub config: Config,
    /// Level-1 unit vectors, `(m_1 n_1^2, d0)`.
    pub w1: Tensor,
    /// `alpha`, `(m_1,)`.
    pub alpha: Tensor,
    /// `t = beta / alpha`, `(m_1,)`.
    pub t: Tensor,
    /// Super-resolution weights `(m_{l-1}, m_l, k, k)` and biases `(m_l,)`, levels 2..L.
    pub up: Vec<(Tensor, Tensor)>,
    /// Output atoms as rows, `(m_l, D)` per level.
    pub out: Vec<Tensor>,
}

/// An ndarray (f64) as a tensor of `kind` on `device`.
pub fn tensor_from<D: ndarray::Dimension>(
    a: &ndarray::Array<f64, D>,
    kind: Kind,
    device: Device,
) -> Tensor {
    let shape: Vec<i64> = a.shape().iter().map(|&s| s as i64).collect();
    let data: Vec<f64> = a.iter().copied().collect();
    Tensor::from_slice(&data)
        .reshape(shape.as_slice())
        .to_kind(kind)
        .to_device(device)
}

/// A tensor's values as f64, in C order, with its shape.
///
/// # Errors
/// [`TrainError::Torch`] if libtorch cannot copy the values out.
pub fn values(t: &Tensor) -> Result<(Vec<usize>, Vec<f64>), TrainError> {
    let shape: Vec<usize> = t.size().iter().map(|&s| s as usize).collect();
    let flat = t
        .detach()
        .to_device(Device::Cpu)
        .to_kind(Kind::Double)
        .contiguous()
        .view([-1]);
    Ok((shape, Vec::<f64>::try_from(&flat)?))
}

fn shape_error(what: &str, shape: &[usize], expected: String) -> TrainError {
    TrainError::Shape {
        what: what.into(),
        shape: shape.to_vec(),
        expected,
    }
}

/// A 4-d tensor as an f64 array.
///
/// # Errors
/// [`TrainError::Shape`] if the tensor is not 4-d; [`TrainError::Torch`].
pub fn array4(t: &Tensor) -> Result<Array4<f64>, TrainError> {
    let (s, v) = values(t)?;
    match *s.as_slice() {
        [a, b, c, d] => Array4::from_shape_vec((a, b, c, d), v)
            .map_err(|e| shape_error("a 4-d tensor", &s, e.to_string())),
        _ => Err(shape_error("a 4-d tensor", &s, "4 dimensions".into())),
    }
}

/// A 2-d tensor as an f64 array.
///
/// # Errors
/// [`TrainError::Shape`] if the tensor is not 2-d; [`TrainError::Torch`].
pub fn array2(t: &Tensor) -> Result<Array2<f64>, TrainError> {
    let (s, v) = values(t)?;
    match *s.as_slice() {
        [a, b] => Array2::from_shape_vec((a, b), v)
            .map_err(|e| shape_error("a 2-d tensor", &s, e.to_string())),
        _ => Err(shape_error("a 2-d tensor", &s, "2 dimensions".into())),
    }
}

fn array1(t: &Tensor) -> Result<Array1<f64>, TrainError> {
    Ok(Array1::from(values(t)?.1))
}

/// Projects the rows of `t` `(m, D)`, `m <= D`, onto orthonormal rows in
/// place: the polar factor `(t t^T)^{-1/2} t`, the nearest matrix with
/// orthonormal rows (for a full-rank `t`). Newton-Schulz iterations
/// `X <- (3 X - X X^T X) / 2` from `X = t / sqrt(||t t^T||_inf)` (so every
/// singular value lies in `(0, 1]`, where they converge to 1; the error
/// squares each iteration once they are near 1, as after a small step from
/// orthonormal rows).
pub fn orthonormalize_rows(t: &mut Tensor, iters: usize) {
    tch::no_grad(|| {
        let g = t.matmul(&t.tr());
        let bound = g.abs().sum_dim_intlist(1, false, None::<Kind>).max();
        let mut x = &*t / bound.sqrt().clamp_min(1e-12);
        for _ in 0..iters {
            let xxt = x.matmul(&x.tr());
            x = (&x * 3.0 - xxt.matmul(&x)) * 0.5;
        }
        t.copy_(&x);
    });
}

impl Generator {
    /// The generator of `params` (frozen tensors).
    pub fn from_params(p: &Params, kind: Kind, device: Device) -> Generator {
        let cfg = &p.config;
        let (m1, n1) = (cfg.m[0], cfg.n1);
        let w1 =
            tensor_from(&p.level1.w, kind, device).reshape([(m1 * n1 * n1) as i64, cfg.d0 as i64]);
        let alpha = tensor_from(&p.level1.alpha, kind, device);
        let t = tensor_from(&(&p.level1.beta / &p.level1.alpha), kind, device);
        let up =
            p.up.iter()
                .map(|u| {
                    (
                        tensor_from(&u.weight, kind, device),
                        tensor_from(&u.bias, kind, device),
                    )
                })
                .collect();
        let out = p
            .out
            .iter()
            .map(|o| {
                let m = o.dim().0 as i64;
                tensor_from(o, kind, device).reshape([m, -1])
            })
            .collect();
        Generator {
            config: cfg.clone(),
            w1,
            alpha,
            t,
            up,
            out,
        }
    }

    /// The parameters in the interchange layout (f64).
    ///
    /// # Errors
    /// [`TrainError::Shape`] if a tensor does not have the config's shape.
    pub fn to_params(&self) -> Result<Params, TrainError> {
        let cfg = &self.config;
        let (m1, n1) = (cfg.m[0], cfg.n1);
        let (ws, w) = values(&self.w1)?;
        let alpha = array1(&self.alpha)?;
        let t = array1(&self.t)?;
        let ko = cfg.output.size(cfg.patch);
        let w = Array4::from_shape_vec((m1, n1, n1, cfg.d0), w)
            .map_err(|e| shape_error("level1.w", &ws, e.to_string()))?;
        let up = self
            .up
            .iter()
            .map(|(w, b)| {
                Ok(UpLayer {
                    weight: array4(w)?,
                    bias: array1(b)?,
                })
            })
            .collect::<Result<Vec<_>, TrainError>>()?;
        let out = self
            .out
            .iter()
            .enumerate()
            .map(|(l, o)| {
                let (os, v) = values(o)?;
                Array4::from_shape_vec((cfg.m[l], cfg.channels, ko, ko), v)
                    .map_err(|e| shape_error(&format!("level{}.out", l + 1), &os, e.to_string()))
            })
            .collect::<Result<Vec<_>, TrainError>>()?;
        Ok(Params {
            config: cfg.clone(),
            level1: Level1 {
                w,
                beta: &alpha * &t,
                alpha,
            },
            up,
            out,
        })
    }

    /// Level-1 codes `(B, m_1, n_1, n_1)` from latents `(B, d0)`.
    pub fn level1(&self, z: &Tensor) -> Tensor {
        let cfg = &self.config;
        let (m1, n1) = (cfg.m[0] as i64, cfg.n1 as i64);
        let g = z.matmul(&self.w1.tr()).view([-1, m1, n1, n1]);
        let a = self.alpha.view([1, m1, 1, 1]);
        let t = self.t.view([1, m1, 1, 1]);
        (a * (g - t)).relu()
    }

    /// Codes of level `l + 2` (1-based) from codes of level `l + 1`:
    /// `ReLU(conv_transpose2d(s, W) - b)`.
    pub fn up(&self, l: usize, s: &Tensor) -> Tensor {
        (self.up_pre(l, s) - self.up[l].1.view([1, -1, 1, 1])).relu()
    }

    /// [`Generator::up`] through a leaky ReLU, `max(u, 0) + leak min(u, 0)`: a
    /// training aid that passes gradient to inactive units (`leak = 0` is `up`).
    pub fn up_leaky(&self, l: usize, s: &Tensor, leak: f64) -> Tensor {
        let u = self.up_pre(l, s) - self.up[l].1.view([1, -1, 1, 1]);
        if leak > 0.0 {
            u.relu() + u.clamp_max(0.0) * leak
        } else {
            u.relu()
        }
    }

    /// Pre-activation `conv_transpose2d(s, W_{l+1})` without the bias.
    pub fn up_pre(&self, l: usize, s: &Tensor) -> Tensor {
        let pad = self.config.up_padding() as i64;
        s.conv_transpose2d(
            &self.up[l].0,
            None::<Tensor>,
            [2, 2],
            [pad, pad],
            [0, 0],
            1,
            [1, 1],
        )
    }

    /// All codes `S_1..S_L` from latents.
    pub fn codes(&self, z: &Tensor) -> Vec<Tensor> {
        let mut s = vec![self.level1(z)];
        for l in 0..self.up.len() {
            let next = self.up(l, &s[l]);
            s.push(next);
        }
        s
    }

    /// The image `X_l = conv_transpose2d(S_l, out_l, stride q)`, `(B, c, r_l, r_l)`.
    pub fn image(&self, l: usize, s: &Tensor) -> Tensor {
        let cfg = &self.config;
        let (c, q) = (cfg.channels as i64, cfg.patch as i64);
        let ko = cfg.output.size(cfg.patch) as i64;
        let po = cfg.output.padding(cfg.patch) as i64;
        let m = self.out[l].size()[0];
        let w = self.out[l].view([m, c, ko, ko]);
        s.conv_transpose2d(&w, None::<Tensor>, [q, q], [po, po], [0, 0], 1, [1, 1])
    }

    /// All images from latents.
    pub fn images(&self, z: &Tensor) -> Vec<Tensor> {
        self.codes(z)
            .iter()
            .enumerate()
            .map(|(l, s)| self.image(l, s))
            .collect()
    }
}

/// Patches `(B n^2, c q q)` of images `(B, c, n q, n q)` in `(c, qy, qx)` order.
pub fn patches(x: &Tensor, q: usize) -> Tensor {
    let s = x.size();
    let (b, c, r) = (s[0], s[1], s[2]);
    let q = q as i64;
    let n = r / q;
    x.view([b, c, n, q, n, q])
        .permute([0, 2, 4, 1, 3, 5])
        .reshape([b * n * n, c * q * q])
}

/// Decoded codes `ReLU(patches(x) M'^T - tau)` as `(B, m, n, n)`.
pub fn decode(x: &Tensor, atoms: &Tensor, q: usize, tau: f64) -> Tensor {
    let s = x.size();
    let (b, n) = (s[0], s[2] / q as i64);
    let m = atoms.size()[0];
    (patches(x, q).matmul(&atoms.tr()) - tau)
        .relu()
        .view([b, n, n, m])
        .permute([0, 3, 1, 2])
}

/// libtorch's generators are global: a seeded draw is `manual_seed` then
/// `randn`, and two threads (parallel tests) must not interleave them.
static RNG_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `N(0, 1)` entries of `shape` from `tch::manual_seed(seed)`, drawn on
/// `device` (float64 on the CPU, so CPU runs do not depend on `kind`),
/// atomically with respect to other seeded draws of this process.
pub fn seeded_randn(seed: u64, shape: &[i64], kind: Kind, device: Device) -> Tensor {
    let _guard = RNG_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    tch::manual_seed((seed & 0x7FFF_FFFF_FFFF_FFFF) as i64);
    match device {
        Device::Cpu => Tensor::randn(shape, (Kind::Double, Device::Cpu)).to_kind(kind),
        _ => Tensor::randn(shape, (kind, device)),
    }
}

/// `N(0, I)` latents `(B, d0)` for `seed` ([`seeded_randn`]).
pub fn latents(seed: u64, b: usize, d0: usize, kind: Kind, device: Device) -> Tensor {
    seeded_randn(seed, &[b as i64, d0 as i64], kind, device)
}
