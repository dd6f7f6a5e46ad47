//! The practice-track config (TOML): networks, loss, optimisers, the way to
//! train and the budgets. Every field has a default, so an empty file is a
//! valid config; `validated` names the field and the rule of any bad value.
//!
//! ```toml
//! mode = "end_to_end"      # end_to_end | layerwise | progressive
//! loss = "non_saturating"  # minimax | non_saturating | wgan | wgan_gp | lsgan | hinge
//! z_dim = 64
//! width = 64               # channels at every level (or widths = [.., ..] per level)
//! blocks = 1               # 3x3 convolutions per level after the projection / resampling
//! g_norm = "batch"         # batch | pixel | none (generator)
//! d_norm = "none"          # none | batch (discriminator; never batch with wgan_gp)
//! g_activation = "relu"    # relu | leaky_relu
//! leaky_slope = 0.2
//! to_rgb = "patch"         # patch (q x q stride-q deconvolution) | conv1x1
//! d_first_layer = "patch"  # patch (q x q stride-q convolution) | conv (1x1, ProGAN's fromRGB)
//! resample = "transposed"  # transposed (4x4 stride-2 (de)convolutions) | nearest (nearest/avg-pool + 3x3)
//! equalized_lr = false
//! minibatch_std = false
//! lr_g = 2e-4
//! lr_d = 2e-4
//! beta1 = 0.5
//! beta2 = 0.999
//! n_d = 1
//! batch = 64
//! steps = 3000             # generator steps per phase (end_to_end has one phase)
//! fade_steps = 500         # progressive: steps of each phase >= 2 over which `fade` goes 0 -> 1
//! max_steps = 100000       # budget: generator steps over all phases
//! max_seconds = 900.0      # budget: wall seconds over all phases
//! seed = 1
//! precision = "f32"
//! # The rest of the GAN family (issue 23), each a configuration of the same step:
//! method = "gan"           # gan | cgan | infogan | began | vae | pix2pix | stackgan | cyclegan
//! classes = 0              # cgan: labels' classes (0: from the dataset)
//! info_codes = 10          # infogan: categories of the latent code c
//! info_weight = 1.0        # infogan: lambda of the mutual-information term
//! l1_weight = 100.0        # pix2pix: lambda of the L1 term
//! cycle_weight = 10.0      # cyclegan: lambda of the cycle-consistency term
//! began_gamma = 0.5        # began: diversity ratio gamma
//! began_lambda_k = 0.001   # began: learning rate of k_t
//! began_hidden = 64        # began: the autoencoder's code dimension
//! vae_sigma = 0.1          # vae: the decoder's pixel standard deviation
//! # The Improved-GAN techniques (Salimans et al. 2016) as switches:
//! feature_matching = false # generator loss ||E f(x_r) - E f(G(z))||^2 on the critic's last features
//! minibatch_features = 0   # minibatch discrimination: kernels (0: off), each of dimension 5
//! historical_weight = 0.0  # historical averaging: weight of ||theta - mean of past theta||^2
//! real_label = 1.0         # one-sided label smoothing: the real target (0.9 in the paper)
//! # g_norm = "virtual_batch": virtual batch norm on a fixed reference batch
//! ```

use serde::{Deserialize, Serialize};

use super::super::TrainError;
use super::super::config::Precision;
use crate::model::Config;

/// The GAN loss, computed from the discriminator's logits `D(x)` (see [`super::loss`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Goodfellow's minimax: `L_D = E_r softplus(-D) + E_f softplus(D)`,
    /// `L_G = -E_f softplus(D)` (`= E_f log(1 - sigma(D))`, saturating).
    Minimax,
    /// Non-saturating: `L_D` as minimax, `L_G = E_f softplus(-D)` (`= -E_f log sigma(D)`).
    NonSaturating,
    /// WGAN: `L_D = E_f D - E_r D`, `L_G = -E_f D`, discriminator weights clipped to `[-clip, clip]`.
    Wgan,
    /// WGAN-GP: WGAN plus `gp_weight * E (||grad D(x_hat)|| - 1)^2` on random interpolates.
    WganGp,
    /// Least squares (a = 0, b = c = 1): `L_D = E_r (D - 1)^2 / 2 + E_f D^2 / 2`, `L_G = E_f (D - 1)^2 / 2`.
    Lsgan,
    /// Hinge: `L_D = E_r relu(1 - D) + E_f relu(1 + D)`, `L_G = -E_f D`.
    Hinge,
}

impl LossKind {
    /// Every loss, in the order of the E5 tables.
    pub const ALL: [LossKind; 6] = [
        LossKind::Minimax,
        LossKind::NonSaturating,
        LossKind::Wgan,
        LossKind::WganGp,
        LossKind::Lsgan,
        LossKind::Hinge,
    ];

    /// The config spelling.
    pub fn name(self) -> &'static str {
        match self {
            LossKind::Minimax => "minimax",
            LossKind::NonSaturating => "non_saturating",
            LossKind::Wgan => "wgan",
            LossKind::WganGp => "wgan_gp",
            LossKind::Lsgan => "lsgan",
            LossKind::Hinge => "hinge",
        }
    }
}

/// How the generator is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One phase: the whole generator against one discriminator that sees
    /// every level (MSG-GAN style: each `X_l` enters at its resolution).
    EndToEnd,
    /// Phase `l` trains generator level `l` only (lower levels frozen);
    /// level 1 against a discriminator on `X_1`, level `l >= 2` against a
    /// fresh pair discriminator on `(up2(X_{l-1}), X_l)`.
    Layerwise,
    /// ProGAN: phase `P` trains levels `1..=P` against the discriminator of
    /// levels `1..=P`; level `P` fades in with weight `fade` over `fade_steps`.
    Progressive,
}

/// The generator's normalisation after each convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GNorm {
    /// None.
    None,
    /// Batch norm before the activation (DCGAN).
    Batch,
    /// Pixel norm `a / sqrt(mean_c a^2 + 1e-8)` after the activation (ProGAN).
    Pixel,
    /// Virtual batch norm (Salimans et al. 2016) before the activation:
    /// example `i` is normalised with the statistics of a fixed reference
    /// batch together with itself, `mu_i = (N mu_ref + a_i) / (N + 1)` and
    /// likewise for the second moment, so no example depends on the others
    /// of its batch.
    VirtualBatch,
}

/// A member of the GAN family (seeds 000, 002, 004), each a configuration
/// of the practice track's one step and one loop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The GAN of `loss` (DCGAN with the chosen loss and tricks).
    #[default]
    Gan,
    /// Conditional GAN (Mirza and Osindero 2014): the one-hot label enters
    /// the generator beside `z` and the critic as constant input channels;
    /// needs a labelled dataset (`fsrgan sample --classes K`).
    Cgan,
    /// InfoGAN (Chen et al. 2016): a categorical code `c` of `info_codes`
    /// values beside `z`, and a head `Q(c | x)` on the critic's features;
    /// both players add `info_weight * CE(Q(G(z, c)), c)`, which is
    /// `info_weight * (H(c) - L_I)` with `L_I` the mutual-information lower bound.
    Infogan,
    /// BEGAN (Berthelot et al. 2017): the critic is an autoencoder with
    /// reconstruction loss `L(x) = mean |x - AE(x)|`; `L_D = L(x_r) - k_t L(G(z))`,
    /// `L_G = L(G(z))`, `k_{t+1} = clip(k_t + lambda_k (gamma L(x_r) - L(G(z))), 0, 1)`.
    Began,
    /// A variational autoencoder (Kingma and Welling 2014): the generator is
    /// the decoder, a Gaussian encoder on every level, `-ELBO` minimised; no critic.
    Vae,
    /// pix2pix (Isola et al. 2017): level 1 is a GAN; each level `l >= 2` is a
    /// U-Net translator `X_{l-1} -> X_l` (no noise) against a conditional
    /// critic on `(up2(X_{l-1}), X_l)`, plus `l1_weight * ||G(X_{l-1}) - X_l||_1`,
    /// trained on the real pairs.
    Pix2pix,
    /// StackGAN (Zhang et al. 2017): level 1 is a GAN; each level `l >= 2` is a
    /// translator `(G_{l-1}(z) , z') -> X_l` conditioned on the frozen lower
    /// stage's output and fresh noise, against a critic on `X_l` alone.
    Stackgan,
    /// CycleGAN (Zhu et al. 2017) between the two domains of a paired
    /// dataset (`fsrgan sample --domains 2`), trained unpaired: per level,
    /// translators `G: A -> B`, `F: B -> A`, critics on each domain's `X_l`,
    /// plus `cycle_weight (||F(G(a)) - a||_1 + ||G(F(b)) - b||_1)`.
    Cyclegan,
}

impl Method {
    /// The config spelling.
    pub fn name(self) -> &'static str {
        match self {
            Method::Gan => "gan",
            Method::Cgan => "cgan",
            Method::Infogan => "infogan",
            Method::Began => "began",
            Method::Vae => "vae",
            Method::Pix2pix => "pix2pix",
            Method::Stackgan => "stackgan",
            Method::Cyclegan => "cyclegan",
        }
    }

    /// Whether levels `l >= 2` are image-to-image translators.
    pub fn translates(self) -> bool {
        matches!(self, Method::Pix2pix | Method::Stackgan | Method::Cyclegan)
    }
}

/// The discriminator's normalisation after each convolution but the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DNorm {
    /// None (WGAN-GP, ProGAN).
    None,
    /// Batch norm before the activation (DCGAN).
    Batch,
}

/// The generator's hidden activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// ReLU (DCGAN's generator).
    Relu,
    /// LeakyReLU with `leaky_slope` (ProGAN).
    LeakyRelu,
}

/// The generator's output head of each level (ProGAN's `toRGB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToRgb {
    /// A `q x q`, stride-`q` transposed convolution from a feature map on the
    /// patch grid `n_l x n_l` (the FSR model's own output layer).
    Patch,
    /// A 1x1 convolution from a feature map at pixel resolution `r_l`.
    Conv1x1,
}

/// The discriminator's first layer at each level (ProGAN's `fromRGB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstLayer {
    /// A `q x q`, stride-`q` convolution onto the patch grid: its filters are
    /// `q^2 c` vectors comparable with the true atoms.
    Patch,
    /// A 1x1 convolution at pixel resolution.
    Conv,
}

/// How resolution changes between levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resample {
    /// DCGAN: 4x4 stride-2 transposed convolution up, 4x4 stride-2 convolution down.
    Transposed,
    /// ProGAN: nearest-neighbour upsampling then 3x3 convolution; 3x3
    /// convolution then 2x2 average pooling.
    Nearest,
}

/// The whole practice-track config; see the module documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PracticeConfig {
    /// How to train.
    pub mode: Mode,
    /// The loss.
    pub loss: LossKind,
    /// Latent dimension.
    pub z_dim: usize,
    /// Channels at every level (both networks), unless `widths` is given.
    pub width: usize,
    /// Channels per level `1..=L` (both networks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widths: Option<Vec<usize>>,
    /// 3x3 convolutions per level after the projection / resampling (generator)
    /// and before the downsampling (discriminator).
    pub blocks: usize,
    /// The generator's normalisation.
    pub g_norm: GNorm,
    /// The discriminator's normalisation.
    pub d_norm: DNorm,
    /// The generator's activation (the discriminator's is always LeakyReLU).
    pub g_activation: Activation,
    /// Negative slope of every LeakyReLU.
    pub leaky_slope: f64,
    /// The generator's output heads.
    pub to_rgb: ToRgb,
    /// The discriminator's first layers.
    pub d_first_layer: FirstLayer,
    /// Up/down-sampling between levels.
    pub resample: Resample,
    /// ProGAN's equalized learning rate: weights drawn `N(0, 1)` and scaled at
    /// run time by He's constant `gain / sqrt(fan_in)`.
    pub equalized_lr: bool,
    /// ProGAN's minibatch standard deviation channel before the discriminator's last layers.
    pub minibatch_std: bool,
    /// WGAN's weight clip (loss `wgan`).
    pub clip: f64,
    /// WGAN-GP's penalty weight lambda (loss `wgan_gp`).
    pub gp_weight: f64,
    /// ProGAN's drift term `drift * E_r D^2` added to the discriminator's loss (0: off).
    pub drift: f64,
    /// Generator learning rate (Adam).
    pub lr_g: f64,
    /// Discriminator learning rate (Adam; `lr_d != lr_g` is TTUR).
    pub lr_d: f64,
    /// Adam's beta1 (both players).
    pub beta1: f64,
    /// Adam's beta2 (both players).
    pub beta2: f64,
    /// Discriminator steps per generator step.
    pub n_d: usize,
    /// Samples per minibatch (real and fake each).
    pub batch: usize,
    /// Generator steps per phase.
    pub steps: usize,
    /// Progressive mode: steps at the start of each phase `P >= 2` over which
    /// `fade` rises linearly from `1/fade_steps` to 1.
    pub fade_steps: usize,
    /// Budget: generator steps over all phases.
    pub max_steps: usize,
    /// Budget: wall-clock seconds over all phases.
    pub max_seconds: f64,
    /// Seed of the initial weights and of every latent batch.
    pub seed: u64,
    /// Floating-point precision.
    pub precision: Precision,
    /// The member of the GAN family.
    pub method: Method,
    /// `cgan`: classes of the labels (0: taken from the dataset).
    pub classes: usize,
    /// `infogan`: categories of the latent code.
    pub info_codes: usize,
    /// `infogan`: weight of the mutual-information term.
    pub info_weight: f64,
    /// `pix2pix`: weight of the L1 term.
    pub l1_weight: f64,
    /// `cyclegan`: weight of the cycle-consistency term.
    pub cycle_weight: f64,
    /// `began`: the equilibrium ratio `gamma = E L(G(z)) / E L(x)`.
    pub began_gamma: f64,
    /// `began`: the step size `lambda_k` of `k_t`.
    pub began_lambda_k: f64,
    /// `began`: the autoencoder's code dimension.
    pub began_hidden: usize,
    /// `vae`: the decoder's pixel standard deviation `sigma` (`p(x | z) = N(G(z), sigma^2 I)`).
    pub vae_sigma: f64,
    /// Feature matching: the generator minimises `||E f(x_r) - E f(G(z))||^2`
    /// on the critic's last features instead of its loss.
    pub feature_matching: bool,
    /// Minibatch discrimination: kernels `B` (of dimension 5) whose closeness
    /// features `o_b(x_i) = sum_j exp(-||M_{i,b} - M_{j,b}||_1)` join the
    /// critic's last features (0: off).
    pub minibatch_features: usize,
    /// Historical averaging: `historical_weight ||theta - theta_bar||^2` in
    /// both players' losses, `theta_bar` the mean of the past values (0: off).
    pub historical_weight: f64,
    /// One-sided label smoothing: the target of real samples (1: off; 0.9
    /// in the paper), fakes keep 0. `minimax` and `non_saturating` only.
    pub real_label: f64,
}

impl Default for PracticeConfig {
    /// The defaults; why each was chosen is in `experiments/practice/README.md`.
    fn default() -> Self {
        PracticeConfig {
            mode: Mode::EndToEnd,
            loss: LossKind::NonSaturating,
            z_dim: 64,
            width: 64,
            widths: None,
            blocks: 1,
            g_norm: GNorm::Batch,
            d_norm: DNorm::None,
            g_activation: Activation::Relu,
            leaky_slope: 0.2,
            to_rgb: ToRgb::Patch,
            d_first_layer: FirstLayer::Patch,
            resample: Resample::Transposed,
            equalized_lr: false,
            minibatch_std: false,
            clip: 0.01,
            gp_weight: 10.0,
            drift: 0.0,
            lr_g: 2e-4,
            lr_d: 2e-4,
            beta1: 0.5,
            beta2: 0.999,
            n_d: 1,
            batch: 64,
            steps: 3000,
            fade_steps: 500,
            max_steps: 100_000,
            max_seconds: 900.0,
            seed: 1,
            precision: Precision::F32,
            method: Method::Gan,
            classes: 0,
            info_codes: 10,
            info_weight: 1.0,
            l1_weight: 100.0,
            cycle_weight: 10.0,
            began_gamma: 0.5,
            began_lambda_k: 0.001,
            began_hidden: 64,
            vae_sigma: 0.1,
            feature_matching: false,
            minibatch_features: 0,
            historical_weight: 0.0,
            real_label: 1.0,
        }
    }
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::EndToEnd => "end_to_end",
        Mode::Layerwise => "layerwise",
        Mode::Progressive => "progressive",
    }
}

fn bad(field: &str, rule: String) -> TrainError {
    TrainError::InvalidConfig {
        field: field.into(),
        rule,
    }
}

impl PracticeConfig {
    /// Parses a TOML document (every key optional) and validates it.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] naming the field and the rule.
    pub fn from_toml(text: &str) -> Result<PracticeConfig, TrainError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| bad("(syntax)", e.to_string()))?;
        PracticeConfig::from_table(table)
    }

    /// As [`PracticeConfig::from_toml`], from a parsed table (e.g. a
    /// `[practice]` table of a larger config).
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] naming the field and the rule.
    pub fn from_table(table: toml::Table) -> Result<PracticeConfig, TrainError> {
        let cfg: PracticeConfig = table.try_into().map_err(|e: toml::de::Error| {
            // serde names the key in its message (unknown field, invalid variant).
            bad("(fields)", e.to_string())
        })?;
        cfg.validated()
    }

    /// The config as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# unserialisable: {e}\n"))
    }

    /// Channels of level `l` (0-based) for a model of `levels` levels.
    pub fn width_of(&self, l: usize) -> usize {
        match &self.widths {
            Some(w) => w[l],
            None => self.width,
        }
    }

    /// Checks every rule that does not depend on the model, naming the field.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`].
    pub fn validated(self) -> Result<PracticeConfig, TrainError> {
        for (field, v, min, max) in [
            ("z_dim", self.z_dim, 1usize, 1 << 16),
            ("width", self.width, 1, 4096),
            ("blocks", self.blocks, 0, 16),
            ("n_d", self.n_d, 1, 100),
            ("batch", self.batch, 2, 1 << 20),
            ("steps", self.steps, 1, usize::MAX),
            ("max_steps", self.max_steps, 1, usize::MAX),
        ] {
            if !(min..=max).contains(&v) {
                return Err(bad(field, format!("must be in {min}..={max}, got {v}")));
            }
        }
        if let Some(w) = &self.widths {
            if let Some(&v) = w.iter().find(|&&v| !(1..=4096).contains(&v)) {
                return Err(bad("widths", format!("each must be in 1..=4096, got {v}")));
            }
            if w.is_empty() {
                return Err(bad("widths", "must list one width per level".into()));
            }
        }
        if self.mode == Mode::Progressive && self.fade_steps > self.steps {
            return Err(bad(
                "fade_steps",
                format!(
                    "the fade-in is part of a phase: must be at most steps ({}), got {}",
                    self.steps, self.fade_steps
                ),
            ));
        }
        if self.mode == Mode::Progressive && self.fade_steps == 0 {
            return Err(bad(
                "fade_steps",
                "progressive growing fades each new level in: must be at least 1".into(),
            ));
        }
        if !(self.leaky_slope.is_finite() && (0.0..1.0).contains(&self.leaky_slope)) {
            return Err(bad(
                "leaky_slope",
                format!("must be in [0, 1), got {}", self.leaky_slope),
            ));
        }
        for (field, v) in [
            ("lr_g", self.lr_g),
            ("lr_d", self.lr_d),
            ("clip", self.clip),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(bad(field, format!("must be finite and > 0, got {v}")));
            }
        }
        for (field, v) in [("gp_weight", self.gp_weight), ("drift", self.drift)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(bad(field, format!("must be finite and >= 0, got {v}")));
            }
        }
        if self.loss == LossKind::WganGp && self.gp_weight <= 0.0 {
            return Err(bad(
                "gp_weight",
                "loss = \"wgan_gp\" needs a positive penalty weight (10 in the paper)".into(),
            ));
        }
        if !(self.max_seconds.is_finite() && self.max_seconds > 0.0) {
            return Err(bad(
                "max_seconds",
                format!("must be finite and > 0, got {}", self.max_seconds),
            ));
        }
        for (field, v) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&v) {
                return Err(bad(field, format!("must be in [0, 1), got {v}")));
            }
        }
        self.check_family()?;
        if self.loss == LossKind::WganGp && self.d_norm == DNorm::Batch {
            return Err(bad(
                "d_norm",
                "batch norm is not allowed in a WGAN-GP critic: the gradient penalty is per sample and batch norm mixes the samples of a batch (Gulrajani et al. 2017); use d_norm = \"none\"".into(),
            ));
        }
        Ok(self)
    }

    /// The rules of the family's methods and switches: which combinations
    /// are meaningful, naming the field and the rule.
    fn check_family(&self) -> Result<(), TrainError> {
        let m = self.method;
        for (field, v, min, max) in [
            ("info_codes", self.info_codes, 2usize, 1 << 12),
            ("began_hidden", self.began_hidden, 1, 1 << 14),
            ("minibatch_features", self.minibatch_features, 0, 1024),
            ("classes", self.classes, 0, 1 << 12),
        ] {
            if !(min..=max).contains(&v) {
                return Err(bad(field, format!("must be in {min}..={max}, got {v}")));
            }
        }
        for (field, v) in [
            ("info_weight", self.info_weight),
            ("l1_weight", self.l1_weight),
            ("cycle_weight", self.cycle_weight),
            ("began_lambda_k", self.began_lambda_k),
            ("historical_weight", self.historical_weight),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(bad(field, format!("must be finite and >= 0, got {v}")));
            }
        }
        if !(self.began_gamma.is_finite() && self.began_gamma > 0.0 && self.began_gamma <= 1.0) {
            return Err(bad(
                "began_gamma",
                format!("must be in (0, 1], got {}", self.began_gamma),
            ));
        }
        if !(self.vae_sigma.is_finite() && self.vae_sigma > 0.0) {
            return Err(bad(
                "vae_sigma",
                format!("must be finite and > 0, got {}", self.vae_sigma),
            ));
        }
        if !(self.real_label.is_finite() && self.real_label > 0.5 && self.real_label <= 1.0) {
            return Err(bad(
                "real_label",
                format!("must be in (0.5, 1], got {}", self.real_label),
            ));
        }
        if self.real_label < 1.0
            && !matches!(self.loss, LossKind::Minimax | LossKind::NonSaturating)
        {
            return Err(bad(
                "real_label",
                format!(
                    "one-sided label smoothing sets the target of a sigmoid cross-entropy: only with loss = \"minimax\" or \"non_saturating\", not \"{}\"",
                    self.loss.name()
                ),
            ));
        }
        let needs = |field: &str, mode: Mode, why: &str| -> Result<(), TrainError> {
            if self.mode == mode {
                Ok(())
            } else {
                Err(bad(
                    field,
                    format!(
                        "method = \"{}\" {why}: it needs mode = \"{}\", got \"{}\"",
                        m.name(),
                        mode_name(mode),
                        mode_name(self.mode)
                    ),
                ))
            }
        };
        match m {
            Method::Began => needs(
                "mode",
                Mode::EndToEnd,
                "trains one autoencoder critic on every level",
            )?,
            Method::Vae => needs(
                "mode",
                Mode::EndToEnd,
                "trains one encoder and one decoder on every level",
            )?,
            Method::Pix2pix | Method::Stackgan | Method::Cyclegan => needs(
                "mode",
                Mode::Layerwise,
                "trains one translator per level, level by level",
            )?,
            _ => {}
        }
        let no_critic_loss = matches!(m, Method::Began | Method::Vae);
        if no_critic_loss && self.loss != LossKind::NonSaturating {
            return Err(bad(
                "loss",
                format!(
                    "method = \"{}\" has its own loss; leave loss at its default \"non_saturating\", got \"{}\"",
                    m.name(),
                    self.loss.name()
                ),
            ));
        }
        if m == Method::Vae && self.n_d != 1 {
            return Err(bad(
                "n_d",
                format!(
                    "method = \"vae\" has no critic: n_d must be 1, got {}",
                    self.n_d
                ),
            ));
        }
        for (field, on) in [
            ("feature_matching", self.feature_matching),
            ("minibatch_features", self.minibatch_features > 0),
            ("real_label", self.real_label < 1.0),
        ] {
            if on && (no_critic_loss || m == Method::Cyclegan) {
                return Err(bad(
                    field,
                    format!(
                        "an Improved-GAN technique for a critic with a logit; method = \"{}\" has none it applies to",
                        m.name()
                    ),
                ));
            }
        }
        if self.minibatch_features > 0 && self.loss == LossKind::WganGp {
            return Err(bad(
                "minibatch_features",
                "minibatch discrimination mixes the samples of a batch, and WGAN-GP's penalty is per sample: use one or the other".into(),
            ));
        }
        if self.g_norm == GNorm::VirtualBatch && m == Method::Cyclegan {
            return Err(bad(
                "g_norm",
                "virtual batch norm normalises the generator's layers; method = \"cyclegan\" has translators only".into(),
            ));
        }
        if self.classes > 0 && m != Method::Cgan {
            return Err(bad(
                "classes",
                format!(
                    "labels condition method = \"cgan\" only, got method = \"{}\"",
                    m.name()
                ),
            ));
        }
        if self.classes == 1 {
            return Err(bad(
                "classes",
                "a conditional GAN needs at least 2 classes (0: from the dataset)".into(),
            ));
        }
        Ok(())
    }

    /// The width of the latent input of the generator: `z_dim`, plus the
    /// one-hot label (`cgan`) or code (`infogan`).
    pub fn z_in(&self) -> usize {
        self.z_dim
            + match self.method {
                Method::Cgan => self.classes,
                Method::Infogan => self.info_codes,
                _ => 0,
            }
    }

    /// Checks the rules that depend on the model's shapes, naming the field.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`].
    pub fn check_model(&self, model: &Config) -> Result<(), TrainError> {
        if let Some(w) = &self.widths
            && w.len() != model.levels
        {
            return Err(bad(
                "widths",
                format!(
                    "must list one width per level: the model has {} levels, got {}",
                    model.levels,
                    w.len()
                ),
            ));
        }
        Ok(())
    }
}
