//! Building blocks of the practice networks: weighted layers (with ProGAN's
//! equalized learning rate as an option), batch norm with its running
//! statistics, pixel norm, the minibatch standard deviation channel, and the
//! seeded initial values.
//!
//! Initialisation (He): a weight is `N(0, 1) * gain / sqrt(fan_in)`; with
//! equalized learning rate it is stored as `N(0, 1)` and multiplied by
//! `gain / sqrt(fan_in)` at every forward pass, so Adam's steps are the same
//! size relative to every layer's scale (Karras et al. 2018, section 4.1).
//! `fan_in` is `in k^2` for a convolution and `in (k / stride)^2` for a
//! transposed convolution (the inputs that reach one output pixel); gain is
//! `sqrt(2)` before a (leaky) ReLU and 1 for the output layers. Biases start at 0.
//! The `N(0, 1)` values come from ChaCha8 keyed by the config's seed and the
//! parameter's name, so a network is a function of its config on every device.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, Uniform};
use tch::{Device, Kind, Tensor};

/// `(seed, a, b, c)` mixed into one 63-bit seed (xor-multiply-shift rounds).
pub fn mix(seed: u64, a: u64, b: u64, c: u64) -> u64 {
    let mut h = seed ^ 0x6A09_E667_F3BC_C908;
    for v in [a, b, c] {
        h = (h ^ v.wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 29;
    }
    h & 0x7FFF_FFFF_FFFF_FFFF
}

/// A 64-bit FNV-1a hash of a name (to key a parameter's initial values).
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// `N(0, 1)` values of `shape` from ChaCha8 seeded with `seed`, as a tensor.
pub fn normal_tensor(seed: u64, shape: &[i64], kind: Kind, device: Device) -> Tensor {
    let n: i64 = shape.iter().product();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let v: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
    Tensor::from_slice(&v)
        .reshape(shape)
        .to_kind(kind)
        .to_device(device)
}

/// `U[0, 1)` values of `shape` from ChaCha8 seeded with `seed`, as a tensor.
pub fn uniform_tensor(seed: u64, shape: &[i64], kind: Kind, device: Device) -> Tensor {
    let n: i64 = shape.iter().product();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let u = Uniform::new(0.0f64, 1.0).expect("valid range");
    let v: Vec<f64> = (0..n).map(|_| u.sample(&mut rng)).collect();
    Tensor::from_slice(&v)
        .reshape(shape)
        .to_kind(kind)
        .to_device(device)
}

/// What a weighted layer computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `x W^T + b`, weight `(out, in)`.
    Linear,
    /// `conv2d`, weight `(out, in, k, k)`.
    Conv {
        /// Stride.
        stride: i64,
        /// Zero padding.
        pad: i64,
    },
    /// `conv_transpose2d`, weight `(in, out, k, k)`.
    ConvT {
        /// Stride.
        stride: i64,
        /// Padding.
        pad: i64,
    },
}

/// A weighted layer: weight, bias, and the run-time scale of equalized learning rate.
#[derive(Debug)]
pub struct Layer {
    /// The stored weight.
    pub w: Tensor,
    /// The bias.
    pub b: Tensor,
    /// Run-time multiplier of the weight (`Some` with equalized learning rate).
    pub scale: Option<f64>,
    /// The operation.
    pub op: Op,
}

impl Layer {
    /// The effective weight (stored weight times the run-time scale).
    pub fn weight(&self) -> Tensor {
        match self.scale {
            Some(s) => &self.w * s,
            None => self.w.shallow_clone(),
        }
    }

    /// The layer applied to `x`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let w = self.weight();
        match self.op {
            Op::Linear => x.linear(&w, Some(&self.b)),
            Op::Conv { stride, pad } => x.conv2d(&w, Some(&self.b), [stride], [pad], [1], 1),
            Op::ConvT { stride, pad } => {
                x.conv_transpose2d(&w, Some(&self.b), [stride], [pad], [0], 1, [1])
            }
        }
    }
}

/// Batch norm over `(B, H, W)` per channel with learned scale and shift and
/// running statistics (momentum 0.1, eps 1e-5, PyTorch's defaults).
#[derive(Debug)]
pub struct BatchNorm {
    /// Scale, starts at 1.
    pub gamma: Tensor,
    /// Shift, starts at 0.
    pub beta: Tensor,
    /// Running mean (a buffer).
    pub mean: Tensor,
    /// Running variance (a buffer).
    pub var: Tensor,
}

impl BatchNorm {
    /// Normalises with the batch's statistics (updating the running ones) when
    /// `train`, with the running statistics otherwise.
    pub fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        x.batch_norm(
            Some(&self.gamma),
            Some(&self.beta),
            Some(&self.mean),
            Some(&self.var),
            train,
            0.1,
            1e-5,
            false,
        )
    }
}

/// Virtual batch norm (Salimans et al. 2016) of `x` `(B, C, H, W)` whose
/// first `n_ref` rows are the reference batch: per channel, with `a_i` the
/// values of example `i` (`HW` of them) and `R` the reference's (`n_ref HW`),
/// `mu_i = (sum R + sum a_i) / (|R| + HW)`, `m2_i` likewise for the squares,
/// and `y_i = gamma (a_i - mu_i) / sqrt(m2_i - mu_i^2 + 1e-5) + beta`.
/// Reference rows are normalised with the reference's statistics alone.
/// No running statistics: generation runs the reference batch too.
pub fn virtual_batch_norm(x: &Tensor, n_ref: i64, bn: &BatchNorm) -> Tensor {
    let s = x.size();
    let (b, c) = (s[0], s[1]);
    let x3 = x.reshape([b, c, -1]);
    let hw = x3.size()[2] as f64;
    let r = x3.narrow(0, 0, n_ref);
    let nr = n_ref as f64 * hw;
    let sum_r = r.sum_dim_intlist([0i64, 2].as_slice(), false, None); // (C,)
    let sq_r = r
        .square()
        .sum_dim_intlist([0i64, 2].as_slice(), false, None);
    let sum_i = x3.sum_dim_intlist(2, false, None); // (B, C)
    let sq_i = x3.square().sum_dim_intlist(2, false, None);
    let is_ref = Tensor::arange(b, (Kind::Int64, x.device()))
        .lt(n_ref)
        .to_kind(x.kind())
        .unsqueeze(1); // (B, 1): 1 on reference rows
    let own = -is_ref + 1.0; // 1 on the others
    let count = &own * hw + nr;
    let mu = (sum_r.unsqueeze(0) + &sum_i * &own) / &count;
    let m2 = (sq_r.unsqueeze(0) + &sq_i * &own) / &count;
    let var = (&m2 - mu.square()).clamp_min(0.0);
    let y = (x3 - mu.unsqueeze(2)) * (var + 1e-5).rsqrt().unsqueeze(2);
    let y = y * bn.gamma.reshape([1, c, 1]) + bn.beta.reshape([1, c, 1]);
    y.reshape(s.as_slice())
}

/// Pixel norm `a / sqrt(mean_c a^2 + 1e-8)` at every location (ProGAN).
pub fn pixel_norm(x: &Tensor) -> Tensor {
    x * (x.square().mean_dim(1, true, None) + 1e-8).rsqrt()
}

/// LeakyReLU with negative slope `slope` (`slope = 0` is ReLU).
pub fn leaky(x: &Tensor, slope: &Tensor) -> Tensor {
    x.prelu(slope)
}

/// The minibatch standard deviation channel (ProGAN): samples are split into
/// groups of `g` (the largest divisor of `B` that is at most 4); in each group
/// the standard deviation of every feature over the group, averaged over
/// features and locations, is appended to each member as one constant channel.
pub fn minibatch_std(x: &Tensor) -> Tensor {
    let s = x.size();
    let (b, c, h, w) = (s[0], s[1], s[2], s[3]);
    let g = (1..=4.min(b)).rev().find(|g| b % g == 0).unwrap_or(1);
    let y = x.reshape([g, b / g, c, h, w]);
    let y = &y - y.mean_dim(0, true, None);
    let sd = (y.square().mean_dim(0, false, None) + 1e-8).sqrt(); // (B/g, c, h, w)
    let sd = sd.mean_dim([1i64, 2, 3].as_slice(), false, None); // (B/g,)
    let ch = sd.reshape([1, b / g, 1, 1, 1]).repeat([g, 1, 1, h, w]);
    Tensor::cat(&[x.shallow_clone(), ch.reshape([b, 1, h, w])], 1)
}

/// Nearest-neighbour 2x upsampling `(B, C, H, W) -> (B, C, 2H, 2W)`.
pub fn up2(x: &Tensor) -> Tensor {
    let s = x.size();
    x.upsample_nearest2d([s[2] * 2, s[3] * 2], None, None)
}

/// Creates the parameters of a network with seeded initial values and keeps
/// them, with their names, in creation order.
#[derive(Debug)]
pub struct Builder {
    seed: u64,
    kind: Kind,
    device: Device,
    equalized: bool,
    /// Trainable tensors and their names.
    pub params: Vec<(String, Tensor)>,
    /// Buffers (batch norm running statistics) and their names.
    pub buffers: Vec<(String, Tensor)>,
}

impl Builder {
    /// A builder; `equalized` selects equalized learning rate.
    pub fn new(seed: u64, kind: Kind, device: Device, equalized: bool) -> Builder {
        Builder {
            seed,
            kind,
            device,
            equalized,
            params: Vec::new(),
            buffers: Vec::new(),
        }
    }

    fn param(&mut self, name: &str, t: Tensor) -> Tensor {
        let t = t.set_requires_grad(true);
        self.params.push((name.to_string(), t.shallow_clone()));
        t
    }

    /// A weighted layer `name` with weight of `shape`, fan-in `fan_in`, gain `gain`.
    pub fn layer(&mut self, name: &str, shape: &[i64], fan_in: f64, gain: f64, op: Op) -> Layer {
        let he = gain / fan_in.sqrt();
        let seed = mix(self.seed, name_hash(name), 0x5EED, 0);
        let w0 = normal_tensor(seed, shape, self.kind, self.device);
        let (w0, scale) = if self.equalized {
            (w0, Some(he))
        } else {
            (w0 * he, None)
        };
        let out = match op {
            Op::ConvT { .. } => shape[1],
            _ => shape[0],
        };
        let w = self.param(&format!("{name}.weight"), w0);
        let b = self.param(
            &format!("{name}.bias"),
            Tensor::zeros([out], (self.kind, self.device)),
        );
        Layer { w, b, scale, op }
    }

    /// A linear layer `inp -> out`.
    pub fn linear(&mut self, name: &str, inp: i64, out: i64, gain: f64) -> Layer {
        self.layer(name, &[out, inp], inp as f64, gain, Op::Linear)
    }

    /// A `k x k` convolution `inp -> out`.
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        &mut self,
        name: &str,
        inp: i64,
        out: i64,
        k: i64,
        stride: i64,
        pad: i64,
        gain: f64,
    ) -> Layer {
        let fan_in = (inp * k * k) as f64;
        self.layer(
            name,
            &[out, inp, k, k],
            fan_in,
            gain,
            Op::Conv { stride, pad },
        )
    }

    /// A `k x k` transposed convolution `inp -> out`.
    #[allow(clippy::too_many_arguments)]
    pub fn conv_t(
        &mut self,
        name: &str,
        inp: i64,
        out: i64,
        k: i64,
        stride: i64,
        pad: i64,
        gain: f64,
    ) -> Layer {
        let per = (k as f64 / stride as f64).max(1.0);
        let fan_in = inp as f64 * per * per;
        self.layer(
            name,
            &[inp, out, k, k],
            fan_in,
            gain,
            Op::ConvT { stride, pad },
        )
    }

    /// Batch norm over `ch` channels.
    pub fn batch_norm(&mut self, name: &str, ch: i64) -> BatchNorm {
        let opts = (self.kind, self.device);
        let gamma = self.param(&format!("{name}.gamma"), Tensor::ones([ch], opts));
        let beta = self.param(&format!("{name}.beta"), Tensor::zeros([ch], opts));
        let mean = Tensor::zeros([ch], opts);
        let var = Tensor::ones([ch], opts);
        self.buffers
            .push((format!("{name}.running_mean"), mean.shallow_clone()));
        self.buffers
            .push((format!("{name}.running_var"), var.shallow_clone()));
        BatchNorm {
            gamma,
            beta,
            mean,
            var,
        }
    }

    /// The constant tensor holding a LeakyReLU slope.
    pub fn slope(&self, slope: f64) -> Tensor {
        Tensor::from_slice(&[slope])
            .to_kind(self.kind)
            .to_device(self.device)
    }
}
