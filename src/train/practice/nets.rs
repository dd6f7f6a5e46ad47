//! The practice networks (levels 0-based in code, 1-based in names and messages).
//!
//! **Generator** (DCGAN with ProGAN's per-level output heads). Feature maps
//! live on a grid of side `s_l = r_l / q` (patch heads) or `s_l = r_l`
//! (1x1 heads), with `C_l` channels:
//! * level 1: `h = act(norm(Linear(z) -> (C_1, s_1, s_1)))`;
//! * level `l >= 2`: `h = act(norm(Up(h_{l-1})))`, `Up` a 4x4 stride-2
//!   transposed convolution (`resample = "transposed"`) or nearest 2x then a
//!   3x3 convolution (`"nearest"`), `C_{l-1} -> C_l`;
//! * then `blocks` times `h = act(norm(Conv3x3(h)))`;
//! * output `X_l = toRGB_l(h_l)`: a linear `q x q` stride-`q` transposed
//!   convolution (`to_rgb = "patch"`) or 1x1 convolution (`"conv1x1"`);
//!   no tanh, the data are not in `[-1, 1]`.
//!
//! `norm` is batch norm before the activation, or pixel norm after it; `act`
//! is ReLU or LeakyReLU. The post-activation (post pixel norm) map of every
//! layer is the generator's hidden representation (E3 counts its active channels).
//! At the top level `P` of a progressive phase, `X_P = fade toRGB_P(h_P) +
//! (1 - fade) up2(X_{P-1})` (ProGAN's fade-in, `up2` nearest).
//!
//! **Critic** (strided convolutions, MSG-GAN-style inputs). `fromRGB_l` (a
//! `q x q` stride-`q` convolution (`d_first_layer = "patch"`) or a 1x1
//! convolution (`"conv"`), then LeakyReLU) maps an input of level `l` to
//! `C_l` channels on the grid `s_l`. From the top level `T` down:
//! `h_T = fromRGB_T(x_T)`; for `l = T..2`, `h_{l-1} = fade_l Down_l(h_l) +
//! fromRGB_{l-1}(x_{l-1})` (the second term only where level `l - 1` has an
//! input), with `Down_l` = `blocks` 3x3 convolutions then a 4x4 stride-2
//! convolution (or a 3x3 convolution and 2x2 average pooling), `C_l -> C_{l-1}`,
//! and `fade_l = fade` at the top level of a progressive phase, 1 elsewhere.
//! At the end: (minibatch std), 3x3 convolution, LeakyReLU, linear to one logit.
//! Normalisation (batch norm, optional) follows every convolution but the first.
//! The same critic sees every level (end to end, progressive), level 1 only
//! (layer-wise level 1) or the pair `cat(up2(X_{l-1}), X_l)` at level `l`
//! (layer-wise level `l >= 2`).

use tch::{Kind, Tensor};

use super::config::{Activation, DNorm, FirstLayer, GNorm, PracticeConfig, Resample, ToRgb};
use super::layers::{
    BatchNorm, Builder, Layer, leaky, minibatch_std, pixel_norm, up2, virtual_batch_norm,
};
use crate::model::Config;

/// The shapes of the FSR samples a game generates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shapes {
    /// Levels `L`.
    pub levels: usize,
    /// Image channels `c`.
    pub channels: usize,
    /// Patch side `q`.
    pub patch: usize,
    /// Resolutions `r_l`, coarsest first.
    pub resolutions: Vec<usize>,
}

impl Shapes {
    /// The shapes of a model config.
    pub fn of(model: &Config) -> Shapes {
        Shapes {
            levels: model.levels,
            channels: model.channels,
            patch: model.patch,
            resolutions: (0..model.levels).map(|l| model.resolution(l)).collect(),
        }
    }
}

const SQRT2: f64 = std::f64::consts::SQRT_2;

/// One convolution with its optional batch norm.
#[derive(Debug)]
struct Unit {
    layer: Layer,
    bn: Option<BatchNorm>,
    /// Nearest 2x upsampling before the layer.
    upsample: bool,
    /// 2x2 average pooling after the activation.
    pool: bool,
}

/// The generator; see the module documentation.
#[derive(Debug)]
pub struct Generator {
    /// Layers of each level (the first is the projection or the upsampling).
    units: Vec<Vec<Unit>>,
    /// Output heads.
    heads: Vec<Layer>,
    /// Feature grid side per level.
    pub grid: Vec<i64>,
    /// Width per level.
    pub widths: Vec<i64>,
    norm: GNorm,
    act: Activation,
    slope: Tensor,
    /// Trainable tensors (with names, `g.level{l}.*`), and the level of each.
    pub params: Vec<(String, Tensor)>,
    /// Level (0-based) of each parameter.
    pub param_level: Vec<usize>,
    /// Batch norm running statistics.
    pub buffers: Vec<(String, Tensor)>,
    z_dim: i64,
    /// Virtual batch norm's fixed reference latents `(N, z_in)`, run ahead
    /// of every batch (`g_norm = "virtual_batch"`).
    vbn_ref: Option<Tensor>,
}

/// A generator's output: one image batch per level and the hidden maps.
#[derive(Debug)]
pub struct GenOut {
    /// `X_l`, `(B, c, r_l, r_l)`, levels `1..=top`.
    pub x: Vec<Tensor>,
    /// Post-activation maps of every layer of each level.
    pub hidden: Vec<Vec<Tensor>>,
}

/// How a generator pass runs.
#[derive(Debug, Clone, Copy)]
pub struct GenPass {
    /// Top level (0-based) to compute.
    pub top: usize,
    /// Fade-in weight of the top level's head (1: no blend).
    pub fade: f64,
    /// Levels below this (0-based) are frozen: run without gradient, batch
    /// norm with running statistics.
    pub train_from: usize,
    /// Batch norm of the levels from `train_from` up uses batch statistics
    /// (and updates the running ones); otherwise running statistics everywhere.
    pub train: bool,
}

impl Generator {
    /// Builds the generator of `cfg` for `shapes` (named `g`, latent input
    /// [`PracticeConfig::z_in`]).
    pub fn new(
        cfg: &PracticeConfig,
        shapes: &Shapes,
        kind: Kind,
        device: tch::Device,
    ) -> Generator {
        Generator::named(cfg, shapes, kind, device, "g", cfg.z_in())
    }

    /// As [`Generator::new`], with parameters named `{prefix}.level{l}.*` and
    /// a latent input of `z_in` values (BEGAN's decoder is such a network).
    pub fn named(
        cfg: &PracticeConfig,
        shapes: &Shapes,
        kind: Kind,
        device: tch::Device,
        prefix: &str,
        z_in: usize,
    ) -> Generator {
        let mut b = Builder::new(cfg.seed, kind, device, cfg.equalized_lr);
        let q = shapes.patch as i64;
        let c = shapes.channels as i64;
        let grid: Vec<i64> = shapes
            .resolutions
            .iter()
            .map(|&r| match cfg.to_rgb {
                ToRgb::Patch => r as i64 / q,
                ToRgb::Conv1x1 => r as i64,
            })
            .collect();
        let widths: Vec<i64> = (0..shapes.levels).map(|l| cfg.width_of(l) as i64).collect();
        let bn = |b: &mut Builder, name: &str, ch: i64| {
            matches!(cfg.g_norm, GNorm::Batch | GNorm::VirtualBatch).then(|| b.batch_norm(name, ch))
        };
        let mut units = Vec::new();
        let mut heads = Vec::new();
        let mut param_level = Vec::new();
        for l in 0..shapes.levels {
            let p = format!("{prefix}.level{}", l + 1);
            let w = widths[l];
            let mut level = Vec::new();
            if l == 0 {
                let s = grid[0];
                let layer = b.linear(&format!("{p}.project"), z_in as i64, w * s * s, SQRT2);
                level.push(Unit {
                    layer,
                    bn: bn(&mut b, &format!("{p}.project.bn"), w),
                    upsample: false,
                    pool: false,
                });
            } else {
                let wp = widths[l - 1];
                let (layer, upsample) = match cfg.resample {
                    Resample::Transposed => {
                        (b.conv_t(&format!("{p}.up"), wp, w, 4, 2, 1, SQRT2), false)
                    }
                    Resample::Nearest => (b.conv(&format!("{p}.up"), wp, w, 3, 1, 1, SQRT2), true),
                };
                level.push(Unit {
                    layer,
                    bn: bn(&mut b, &format!("{p}.up.bn"), w),
                    upsample,
                    pool: false,
                });
            }
            for i in 0..cfg.blocks {
                let layer = b.conv(&format!("{p}.conv{i}"), w, w, 3, 1, 1, SQRT2);
                level.push(Unit {
                    layer,
                    bn: bn(&mut b, &format!("{p}.conv{i}.bn"), w),
                    upsample: false,
                    pool: false,
                });
            }
            let head = match cfg.to_rgb {
                ToRgb::Patch => b.conv_t(&format!("{p}.to_rgb"), w, c, q, q, 0, 1.0),
                ToRgb::Conv1x1 => b.conv(&format!("{p}.to_rgb"), w, c, 1, 1, 0, 1.0),
            };
            units.push(level);
            heads.push(head);
            param_level.resize(b.params.len(), l);
        }
        Generator {
            units,
            heads,
            grid,
            widths,
            norm: cfg.g_norm,
            act: cfg.g_activation,
            slope: b.slope(match cfg.g_activation {
                Activation::Relu => 0.0,
                Activation::LeakyRelu => cfg.leaky_slope,
            }),
            params: b.params,
            param_level,
            buffers: b.buffers,
            z_dim: z_in as i64,
            vbn_ref: (cfg.g_norm == GNorm::VirtualBatch).then(|| {
                super::layers::normal_tensor(
                    super::layers::mix(cfg.seed, 0x0BB2, 0, 0),
                    &[cfg.batch as i64, z_in as i64],
                    kind,
                    device,
                )
            }),
        }
    }

    /// The reference batch of virtual batch norm: `N` latents with the
    /// label or code part (past `z_dim`) set to `cond` when given (a fixed
    /// one-hot per row), kept as drawn otherwise.
    pub fn vbn_reference(&self) -> Option<&Tensor> {
        self.vbn_ref.as_ref()
    }

    /// Replaces virtual batch norm's reference latents (e.g. with one-hot
    /// labels in their last columns); a no-op without virtual batch norm.
    pub fn set_vbn_reference(&mut self, z: Tensor) {
        if self.vbn_ref.is_some() {
            self.vbn_ref = Some(z);
        }
    }

    fn norm_of(&self, bn: &BatchNorm, h: &Tensor, train: bool) -> Tensor {
        match (self.norm, &self.vbn_ref) {
            (GNorm::VirtualBatch, Some(r)) => virtual_batch_norm(h, r.size()[0], bn),
            _ => bn.forward(h, train),
        }
    }

    /// Latent dimension.
    pub fn z_dim(&self) -> i64 {
        self.z_dim
    }

    fn unit(&self, u: &Unit, x: &Tensor, train: bool) -> Tensor {
        let x = if u.upsample {
            up2(x)
        } else {
            x.shallow_clone()
        };
        let mut h = u.layer.forward(&x);
        if let Some(bn) = &u.bn {
            h = self.norm_of(bn, &h, train);
        }
        h = match self.act {
            Activation::Relu => h.relu(),
            Activation::LeakyRelu => leaky(&h, &self.slope),
        };
        if self.norm == GNorm::Pixel {
            h = pixel_norm(&h);
        }
        h
    }

    fn level(&self, l: usize, input: &Tensor, train: bool, hidden: &mut Vec<Tensor>) -> Tensor {
        let mut h = input.shallow_clone();
        for (i, u) in self.units[l].iter().enumerate() {
            h = if l == 0 && i == 0 {
                let s = self.grid[0];
                let x = if self.norm == GNorm::Pixel {
                    pixel_norm(&input.unsqueeze(-1).unsqueeze(-1)).flatten(1, -1)
                } else {
                    input.shallow_clone()
                };
                let p = u.layer.forward(&x).reshape([-1, self.widths[0], s, s]);
                let p = match &u.bn {
                    Some(bn) => self.norm_of(bn, &p, train),
                    None => p,
                };
                let p = match self.act {
                    Activation::Relu => p.relu(),
                    Activation::LeakyRelu => leaky(&p, &self.slope),
                };
                if self.norm == GNorm::Pixel {
                    pixel_norm(&p)
                } else {
                    p
                }
            } else {
                self.unit(u, &h, train)
            };
            hidden.push(h.shallow_clone());
        }
        h
    }

    /// The generator applied to latents `z` `(B, z_in)`. With virtual batch
    /// norm the reference latents run ahead of `z` in the same pass and are
    /// cut off the outputs.
    pub fn forward(&self, z: &Tensor, pass: GenPass) -> GenOut {
        match &self.vbn_ref {
            Some(r) => {
                let n = r.size()[0];
                let out = self.forward_rows(
                    &Tensor::cat(&[r.shallow_clone(), z.shallow_clone()], 0),
                    pass,
                );
                let cut = |t: &Tensor| t.narrow(0, n, t.size()[0] - n);
                GenOut {
                    x: out.x.iter().map(cut).collect(),
                    hidden: out
                        .hidden
                        .iter()
                        .map(|v| v.iter().map(cut).collect())
                        .collect(),
                }
            }
            None => self.forward_rows(z, pass),
        }
    }

    fn forward_rows(&self, z: &Tensor, pass: GenPass) -> GenOut {
        let mut x = Vec::with_capacity(pass.top + 1);
        let mut hidden = Vec::with_capacity(pass.top + 1);
        let mut h = z.shallow_clone();
        for l in 0..=pass.top {
            let frozen = l < pass.train_from;
            let train = pass.train && !frozen;
            let mut hl = Vec::new();
            let (hn, xl) = if frozen {
                tch::no_grad(|| {
                    let hn = self.level(l, &h, false, &mut hl);
                    let xl = self.heads[l].forward(&hn);
                    (hn, xl)
                })
            } else {
                let hn = self.level(l, &h, train, &mut hl);
                let xl = self.heads[l].forward(&hn);
                (hn, xl)
            };
            let xl = if l == pass.top && l > 0 && pass.fade < 1.0 {
                xl * pass.fade + up2(&x[l - 1]) * (1.0 - pass.fade)
            } else {
                xl
            };
            x.push(xl);
            hidden.push(hl);
            h = hn;
        }
        GenOut { x, hidden }
    }

    /// Indices into [`Generator::params`] of the levels in `levels`.
    pub fn param_indices(&self, levels: std::ops::Range<usize>) -> Vec<usize> {
        (0..self.params.len())
            .filter(|&i| levels.contains(&self.param_level[i]))
            .collect()
    }
}

/// What a critic outputs and what it is conditioned on, beyond the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CriticSpec {
    /// One-hot condition channels appended to every input (cGAN's label).
    pub cond: usize,
    /// Outputs of the last linear layer (1: a logit; InfoGAN `1 + |c|`;
    /// an encoder its code).
    pub out_dim: usize,
    /// Minibatch discrimination kernels (0: none).
    pub minibatch: usize,
}

/// Dimension `C` of each minibatch-discrimination kernel (Salimans et al. use 5).
pub const MINIBATCH_KERNEL_DIM: i64 = 5;

/// Minibatch discrimination (Salimans et al. 2016, section 3.2): features
/// `f` `(n, A)` times `T` `(A, B C)` give `M_i` `(B, C)` per example; the
/// closeness `c_b(i, j) = exp(-||M_{i,b} - M_{j,b}||_1)` and
/// `o_b(x_i) = sum_j c_b(i, j)` over the whole batch (`j = i` included, as
/// in the paper); returns `o` `(n, B)`.
pub fn minibatch_features(f: &Tensor, t: &Tensor, kernels: i64) -> Tensor {
    let n = f.size()[0];
    let m = f.matmul(t).reshape([n, kernels, MINIBATCH_KERNEL_DIM]);
    let d = (m.unsqueeze(1) - m.unsqueeze(0))
        .abs()
        .sum_dim_intlist(3, false, None); // (n, n, B)
    (-d).exp().sum_dim_intlist(1, false, None)
}

/// What a critic computed: its last features and its outputs.
#[derive(Debug)]
pub struct CriticOut {
    /// The features the last linear layer reads (before minibatch
    /// discrimination's), `(B, F)`: feature matching compares their means.
    pub features: Tensor,
    /// The outputs `(B, out_dim)`.
    pub out: Tensor,
}

/// A discriminator; see the module documentation.
#[derive(Debug)]
pub struct Critic {
    /// `fromRGB_l` of the levels with an input.
    from: Vec<Option<Layer>>,
    /// `Down_l` of levels `l >= 2` (index `l`), up to the top.
    down: Vec<Vec<Unit>>,
    final_conv: Layer,
    final_lin: Layer,
    mbstd: bool,
    /// Minibatch discrimination's `T` `(A, B C)` (a layer's weight) and `B`.
    minibatch: Option<(Layer, i64)>,
    /// One-hot condition channels at every input.
    cond: i64,
    /// Outputs of the last layer.
    pub out_dim: usize,
    slope: Tensor,
    /// Top level (0-based).
    pub top: usize,
    /// Trainable tensors with names.
    pub params: Vec<(String, Tensor)>,
    /// Batch norm running statistics.
    pub buffers: Vec<(String, Tensor)>,
}

impl Critic {
    /// A critic named `name` up to level `top` (0-based) whose inputs enter
    /// at the levels with `Some(channels)` in `inputs`: one logit, with the
    /// config's minibatch discrimination, unconditioned.
    pub fn new(
        name: &str,
        cfg: &PracticeConfig,
        shapes: &Shapes,
        top: usize,
        inputs: &[Option<usize>],
        kind: Kind,
        device: tch::Device,
    ) -> Critic {
        let spec = CriticSpec {
            cond: 0,
            out_dim: 1,
            minibatch: cfg.minibatch_features,
        };
        Critic::with_spec(name, cfg, shapes, top, inputs, spec, kind, device)
    }

    /// As [`Critic::new`], with the outputs and condition of `spec`.
    #[allow(clippy::too_many_arguments)]
    pub fn with_spec(
        name: &str,
        cfg: &PracticeConfig,
        shapes: &Shapes,
        top: usize,
        inputs: &[Option<usize>],
        spec: CriticSpec,
        kind: Kind,
        device: tch::Device,
    ) -> Critic {
        let mut b = Builder::new(cfg.seed, kind, device, cfg.equalized_lr);
        let cond = spec.cond as i64;
        let q = shapes.patch as i64;
        let widths: Vec<i64> = (0..shapes.levels).map(|l| cfg.width_of(l) as i64).collect();
        let grid: Vec<i64> = shapes
            .resolutions
            .iter()
            .map(|&r| match cfg.d_first_layer {
                FirstLayer::Patch => r as i64 / q,
                FirstLayer::Conv => r as i64,
            })
            .collect();
        let mut from = Vec::new();
        for (l, &width) in widths.iter().enumerate().take(top + 1) {
            from.push(inputs.get(l).copied().flatten().map(|ch| {
                let n = format!("{name}.level{}.from_rgb", l + 1);
                match cfg.d_first_layer {
                    FirstLayer::Patch => b.conv(&n, ch as i64 + cond, width, q, q, 0, SQRT2),
                    FirstLayer::Conv => b.conv(&n, ch as i64 + cond, width, 1, 1, 0, SQRT2),
                }
            }));
        }
        let bn = |b: &mut Builder, n: &str, ch: i64| {
            (cfg.d_norm == DNorm::Batch).then(|| b.batch_norm(n, ch))
        };
        let mut down = vec![Vec::new()];
        for l in 1..=top {
            let p = format!("{name}.level{}", l + 1);
            let (w, wl) = (widths[l], widths[l - 1]);
            let mut units = Vec::new();
            for i in 0..cfg.blocks {
                let layer = b.conv(&format!("{p}.conv{i}"), w, w, 3, 1, 1, SQRT2);
                units.push(Unit {
                    layer,
                    bn: bn(&mut b, &format!("{p}.conv{i}.bn"), w),
                    upsample: false,
                    pool: false,
                });
            }
            let (layer, pool) = match cfg.resample {
                Resample::Transposed => {
                    (b.conv(&format!("{p}.down"), w, wl, 4, 2, 1, SQRT2), false)
                }
                Resample::Nearest => (b.conv(&format!("{p}.down"), w, wl, 3, 1, 1, SQRT2), true),
            };
            units.push(Unit {
                layer,
                bn: bn(&mut b, &format!("{p}.down.bn"), wl),
                upsample: false,
                pool,
            });
            down.push(units);
        }
        let w1 = widths[0];
        let extra = i64::from(cfg.minibatch_std);
        let final_conv = b.conv(
            &format!("{name}.final.conv"),
            w1 + extra,
            w1,
            3,
            1,
            1,
            SQRT2,
        );
        let s = grid[0];
        let feat = w1 * s * s;
        let kernels = spec.minibatch as i64;
        let minibatch = (kernels > 0).then(|| {
            let t = b.layer(
                &format!("{name}.final.minibatch"),
                &[feat, kernels * MINIBATCH_KERNEL_DIM],
                feat as f64,
                1.0,
                super::layers::Op::Linear,
            );
            // Only the weight is used (`f T`, no bias): drop the bias from the
            // trainable list so no parameter goes without a gradient.
            b.params.pop();
            (t, kernels)
        });
        let final_lin = b.linear(
            &format!("{name}.final.linear"),
            feat + kernels,
            spec.out_dim as i64,
            1.0,
        );
        Critic {
            from,
            down,
            final_conv,
            final_lin,
            minibatch,
            cond,
            out_dim: spec.out_dim,
            mbstd: cfg.minibatch_std,
            slope: b.slope(cfg.leaky_slope),
            top,
            params: b.params,
            buffers: b.buffers,
        }
    }

    fn act(&self, x: &Tensor) -> Tensor {
        leaky(x, &self.slope)
    }

    fn unit(&self, u: &Unit, x: &Tensor, train: bool) -> Tensor {
        let mut h = u.layer.forward(x);
        if let Some(bn) = &u.bn {
            h = bn.forward(&h, train);
        }
        let h = self.act(&h);
        if u.pool {
            h.avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None::<i64>)
        } else {
            h
        }
    }

    /// Logits `(B,)` of inputs `x` (index = level, `None` where the critic
    /// takes no input), from level `top` (at most the critic's top) down;
    /// `fade` weighs the top level's branch. `train`: batch norm with batch
    /// statistics. (The first output of a critic with several.)
    pub fn forward(&self, x: &[Option<Tensor>], top: usize, fade: f64, train: bool) -> Tensor {
        self.forward_full(x, None, top, fade, train)
            .out
            .select(1, 0)
    }

    /// As [`Critic::forward`], with every output and the last features;
    /// `cond` `(B, cond)` (one-hot) is appended to every input as constant channels.
    pub fn forward_full(
        &self,
        x: &[Option<Tensor>],
        cond: Option<&Tensor>,
        top: usize,
        fade: f64,
        train: bool,
    ) -> CriticOut {
        let input = |l: usize| -> Option<Tensor> {
            match (
                self.from.get(l).and_then(Option::as_ref),
                x.get(l).and_then(Option::as_ref),
            ) {
                (Some(f), Some(xl)) => {
                    let xl = match cond {
                        Some(y) if self.cond > 0 => {
                            let s = xl.size();
                            let maps = y
                                .to_kind(xl.kind())
                                .reshape([s[0], self.cond, 1, 1])
                                .expand([s[0], self.cond, s[2], s[3]], false);
                            Tensor::cat(&[xl.shallow_clone(), maps], 1)
                        }
                        _ => xl.shallow_clone(),
                    };
                    Some(self.act(&f.forward(&xl)))
                }
                _ => None,
            }
        };
        let mut h = input(top).expect("the critic's top level has an input");
        for l in (1..=top).rev() {
            for u in &self.down[l] {
                h = self.unit(u, &h, train);
            }
            if l == top && fade < 1.0 {
                h *= fade;
            }
            if let Some(e) = input(l - 1) {
                h += e;
            }
        }
        if self.mbstd {
            h = minibatch_std(&h);
        }
        let features = self.act(&self.final_conv.forward(&h)).flatten(1, -1);
        let last = match &self.minibatch {
            Some((t, k)) => Tensor::cat(
                &[
                    features.shallow_clone(),
                    minibatch_features(&features, &t.weight(), *k),
                ],
                1,
            ),
            None => features.shallow_clone(),
        };
        CriticOut {
            out: self.final_lin.forward(&last),
            features,
        }
    }

    /// The effective first-layer weight `(C_l, in, k, k)` of level `l`
    /// (0-based), if the level has an input.
    pub fn from_weight(&self, l: usize) -> Option<Tensor> {
        self.from
            .get(l)
            .and_then(Option::as_ref)
            .map(|f| f.weight().detach())
    }
}
