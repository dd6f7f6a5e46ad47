//! The image-to-image networks of pix2pix, StackGAN and CycleGAN: a small
//! U-Net on one level's patch grid.
//!
//! For an input `(B, c_in, r, r)` at resolution `r = s q` (patch side `q`):
//! * `e1 = lrelu(Conv_{q x q, stride q}(x))`, `(w, s, s)` — one feature vector per patch;
//! * `e2 = lrelu(Conv_{4x4, stride 2}(e1))`, `(w, s/2, s/2)`;
//! * with noise (StackGAN) `z` `(B, n_z)` joins `e2` as `n_z` constant channels;
//! * `d2 = relu(ConvT_{4x4, stride 2}(e2))`, `(w, s, s)`;
//! * `u = relu(Conv_{3x3}(cat(d2, e1)))` — the U-Net skip;
//! * output `ConvT_{q x q, stride q}(u)`, `(B, c, r, r)`, linear (no tanh: the
//!   data are not in `[-1, 1]`).
//!
//! No normalisation (the translators see single images; pix2pix's batch
//! norm at batch size 1 is instance norm). Initial values are seeded by the
//! config's seed and the parameter names, as every practice network.

use tch::{Kind, Tensor};

use super::config::PracticeConfig;
use super::layers::{Builder, Layer, leaky};

const SQRT2: f64 = std::f64::consts::SQRT_2;

/// A U-Net translator of one level; see the module documentation.
#[derive(Debug)]
pub struct Translator {
    e1: Layer,
    e2: Layer,
    d2: Layer,
    fuse: Layer,
    out: Layer,
    noise: i64,
    slope: Tensor,
    /// Trainable tensors with names (`{name}.*`).
    pub params: Vec<(String, Tensor)>,
}

impl Translator {
    /// A translator named `name` from `c_in` input channels to `c_out`
    /// output channels at patch side `q`, width `w`, with `noise` latent
    /// values joining the bottleneck (0: deterministic).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        cfg: &PracticeConfig,
        c_in: i64,
        c_out: i64,
        q: i64,
        w: i64,
        noise: i64,
        kind: Kind,
        device: tch::Device,
    ) -> Translator {
        let mut b = Builder::new(cfg.seed, kind, device, cfg.equalized_lr);
        let e1 = b.conv(&format!("{name}.e1"), c_in, w, q, q, 0, SQRT2);
        let e2 = b.conv(&format!("{name}.e2"), w, w, 4, 2, 1, SQRT2);
        let d2 = b.conv_t(&format!("{name}.d2"), w + noise, w, 4, 2, 1, SQRT2);
        let fuse = b.conv(&format!("{name}.fuse"), 2 * w, w, 3, 1, 1, SQRT2);
        let out = b.conv_t(&format!("{name}.out"), w, c_out, q, q, 0, 1.0);
        Translator {
            e1,
            e2,
            d2,
            fuse,
            out,
            noise,
            slope: b.slope(cfg.leaky_slope),
            params: b.params,
        }
    }

    /// The translation of `x` `(B, c_in, r, r)`, with noise `z` `(B, noise)`
    /// when the translator has noise inputs.
    pub fn forward(&self, x: &Tensor, z: Option<&Tensor>) -> Tensor {
        let e1 = leaky(&self.e1.forward(x), &self.slope);
        let mut e2 = leaky(&self.e2.forward(&e1), &self.slope);
        if let (Some(z), true) = (z, self.noise > 0) {
            let s = e2.size();
            let maps = z
                .reshape([s[0], self.noise, 1, 1])
                .expand([s[0], self.noise, s[2], s[3]], false);
            e2 = Tensor::cat(&[e2, maps], 1);
        }
        let d2 = self.d2.forward(&e2).relu();
        let u = self.fuse.forward(&Tensor::cat(&[d2, e1], 1)).relu();
        self.out.forward(&u)
    }
}
