//! The FSR model's configuration: fields, presets, TOML loading and validation.
//!
//! Every symbol of `../shared/spec/model.md` is a field here or derived from
//! one: `L = levels`, `c = channels`, `q = patch`, `n_1 = n1`, `d0`, `m_l = m[l]`,
//! `k_l = k[l]`, `sigma_l = sigma[l]`, the ConvT `kernel`. Per-level fields
//! accept either one value (used at every level) or a list of `L` values.
//! Levels are numbered from 1 in messages and files, from 0 in code.

use serde::{Deserialize, Deserializer, Serialize};

use super::ModelError;

/// How the output dictionaries `M_l` are drawn (assumption A2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dictionary {
    /// Orthonormal columns (QR of a Gaussian matrix): `mu_l = 0`, needs `m_l <= D`.
    Orthonormal,
    /// Independent random unit columns: over-complete allowed, `mu_l > 0`.
    Unit,
}

/// The output deconvolution from `S_l` to `X_l`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKernel {
    /// Kernel = stride = `q`: non-overlapping patches, `X_l[p] = M_l S_l[p]`.
    Patch,
    /// Kernel `2q`, stride `q`, padding `q/2`: each code paints a `2q x 2q`
    /// window that overlaps its neighbours (needs even `q`).
    Overlap,
}

impl OutputKernel {
    /// Kernel size of the output ConvTranspose2d for patch size `q`.
    pub fn size(self, q: usize) -> usize {
        match self {
            OutputKernel::Patch => q,
            OutputKernel::Overlap => 2 * q,
        }
    }
    /// Padding of the output ConvTranspose2d for patch size `q`.
    pub fn padding(self, q: usize) -> usize {
        match self {
            OutputKernel::Patch => 0,
            OutputKernel::Overlap => q / 2,
        }
    }
}

/// A validated-on-demand FSR model configuration (see [`Config::validated`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Preset name this config came from, or a user label.
    #[serde(default = "default_name")]
    pub name: String,
    /// Number of levels `L` (coarsest first).
    pub levels: usize,
    /// Image channels `c`.
    pub channels: usize,
    /// Patch side `q` (pixels).
    pub patch: usize,
    /// Patches per side at level 1, `n_1`; level `l` has `n_l = n_1 2^(l-1)`.
    pub n1: usize,
    /// Latent dimension `d0` of `z ~ N(0, I)`.
    pub d0: usize,
    /// Hidden channels per patch `m_l`, one value or one per level.
    #[serde(deserialize_with = "one_or_many")]
    pub m: Vec<usize>,
    /// Target mean number of active channels per patch `k_l` (A1).
    #[serde(deserialize_with = "one_or_many")]
    pub k: Vec<f64>,
    /// Noise scale `sigma_l` inside the ReLU of level `l >= 2`; `sigma_1` must be 0.
    #[serde(default = "default_sigma", deserialize_with = "one_or_many")]
    pub sigma: Vec<f64>,
    /// Kernel of the super-resolution ConvT (2: child sees its parent; 4: a 2x2
    /// parent neighbourhood). Stride 2, padding `(kernel - 2) / 2`.
    pub kernel: usize,
    /// Lower end of `alpha_j ~ U[alpha_min, alpha_max]`.
    #[serde(default = "default_alpha_min")]
    pub alpha_min: f64,
    /// Upper end of `alpha_j ~ U[alpha_min, alpha_max]`.
    #[serde(default = "default_alpha_max")]
    pub alpha_max: f64,
    /// How the dictionaries `M_l` are drawn.
    #[serde(default = "default_dictionary")]
    pub dictionary: Dictionary,
    /// The output deconvolution.
    #[serde(default = "default_output")]
    pub output: OutputKernel,
    /// Threshold `tau` of the decoder `ReLU(M^T x - tau)` used by diagnostics (A5).
    #[serde(default)]
    pub decode_tau: f64,
    /// Samples drawn (from their own random stream) to scale the ConvT weights
    /// and calibrate the thresholds `b_l`: `256..=MAX_CALIBRATION_SAMPLES`,
    /// and the calibration's memory ([`Config::calibration_bytes`]) at most
    /// [`MAX_CALIBRATION_BYTES`].
    #[serde(default = "default_calibration_samples")]
    pub calibration_samples: usize,
    /// Optional statement of the resolutions `r_l`; if given it must equal
    /// `q n_1 2^(l-1)` at every level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolutions: Option<Vec<usize>>,
}

fn default_name() -> String {
    "custom".into()
}
fn default_sigma() -> Vec<f64> {
    vec![0.0]
}
fn default_alpha_min() -> f64 {
    0.8
}
fn default_alpha_max() -> f64 {
    1.2
}
fn default_dictionary() -> Dictionary {
    Dictionary::Orthonormal
}
fn default_output() -> OutputKernel {
    OutputKernel::Patch
}
fn default_calibration_samples() -> usize {
    8192
}

fn one_or_many<'de, D, T>(de: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        One(T),
        Many(Vec<T>),
    }
    Ok(match OneOrMany::deserialize(de)? {
        OneOrMany::One(x) => vec![x],
        OneOrMany::Many(v) => v,
    })
}

/// Names of the built-in presets (part of the interface).
pub const PRESETS: [&str; 3] = ["tiny", "small", "paper"];

/// Most levels a config may have.
pub const MAX_LEVELS: usize = 8;

/// Upper limit on the number of scalars in one sample (every `x_l`, `s_l`
/// and `z`), to refuse configs that would overflow memory or index arithmetic.
pub const MAX_SAMPLE_SCALARS: usize = 1 << 28;

/// The largest `alpha_max` and `sigma_l`: the pre-activations they scale
/// are squared in float64 on the calibration sample.
pub const MAX_SCALE: f64 = 1e6;

/// Most `calibration_samples` a config may ask for.
pub const MAX_CALIBRATION_SAMPLES: usize = 1 << 20;

/// Most bytes the calibration of the thresholds may hold at once
/// ([`Config::calibration_bytes`]): 16 GiB.
pub const MAX_CALIBRATION_BYTES: u64 = 16 << 30;

/// Most scalars of one ground truth ([`Config::param_scalars`]): `2^28`
/// (2 GiB in float64).
pub const MAX_PARAM_SCALARS: usize = 1 << 28;

impl Config {
    /// The named preset of model.md section 5 (`tiny`, `small`, `paper`).
    ///
    /// # Errors
    /// [`ModelError::UnknownPreset`] for any other name.
    pub fn preset(name: &str) -> Result<Config, ModelError> {
        let (levels, channels, patch, m, k, d0, kernel) = match name {
            "tiny" => (2, 1, 2, 4, 0.5, 16, 2),
            "small" => (3, 3, 2, 12, 1.0, 48, 4),
            "paper" => (4, 3, 4, 32, 2.0, 128, 4),
            _ => return Err(ModelError::UnknownPreset(name.to_string())),
        };
        Ok(Config {
            name: name.to_string(),
            levels,
            channels,
            patch,
            n1: 2,
            d0,
            m: vec![m; levels],
            k: vec![k; levels],
            sigma: vec![0.0; levels],
            kernel,
            alpha_min: default_alpha_min(),
            alpha_max: default_alpha_max(),
            dictionary: Dictionary::Orthonormal,
            output: OutputKernel::Patch,
            decode_tau: 0.0,
            calibration_samples: default_calibration_samples(),
            resolutions: None,
        })
    }

    /// Parses a TOML config and validates it. A `preset = "NAME"` key starts
    /// from that preset; every other key overrides the preset's field.
    ///
    /// # Errors
    /// [`ModelError::Toml`] for syntax or unknown fields,
    /// [`ModelError::InvalidConfig`] naming the field and the rule it breaks.
    pub fn from_toml(text: &str) -> Result<Config, ModelError> {
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ModelError::Toml(e.to_string()))?;
        if let Some(preset) = table.remove("preset") {
            let name = preset.as_str().ok_or_else(|| ModelError::InvalidConfig {
                field: "preset".into(),
                rule: "must be a string naming a preset (tiny, small, paper)".into(),
            })?;
            let base = Config::preset(name)?;
            let mut merged =
                toml::Table::try_from(&base).map_err(|e| ModelError::Toml(e.to_string()))?;
            for (key, value) in table {
                merged.insert(key, value);
            }
            table = merged;
        }
        let config: Config = table
            .try_into()
            .map_err(|e: toml::de::Error| ModelError::Toml(e.to_string()))?;
        config.validated()
    }

    /// The config as TOML text (the form [`Config::from_toml`] reads).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# unserialisable config: {e}\n"))
    }

    /// Validates, broadcasting one-value per-level fields to `L` values.
    ///
    /// # Errors
    /// [`ModelError::InvalidConfig`] naming the first field that breaks a rule.
    pub fn validated(mut self) -> Result<Config, ModelError> {
        let bad = |field: &str, rule: String| ModelError::InvalidConfig {
            field: field.to_string(),
            rule,
        };
        if self.levels == 0 || self.levels > MAX_LEVELS {
            return Err(bad(
                "levels",
                format!("must be in 1..={MAX_LEVELS}, got {}", self.levels),
            ));
        }
        let l_count = self.levels;
        for (field, positive) in [
            ("channels", self.channels),
            ("patch", self.patch),
            ("n1", self.n1),
            ("d0", self.d0),
        ] {
            if positive == 0 {
                return Err(bad(field, "must be at least 1".into()));
            }
        }
        broadcast(&mut self.m, l_count, "m").map_err(|r| bad("m", r))?;
        broadcast(&mut self.k, l_count, "k").map_err(|r| bad("k", r))?;
        broadcast(&mut self.sigma, l_count, "sigma").map_err(|r| bad("sigma", r))?;
        if self.kernel != 2 && self.kernel != 4 {
            return Err(bad(
                "kernel",
                format!(
                    "must be 2 or 4 (stride-2 transposed convolution), got {}",
                    self.kernel
                ),
            ));
        }
        if !(self.alpha_min.is_finite() && self.alpha_min > 0.0 && self.alpha_min <= MAX_SCALE) {
            return Err(bad(
                "alpha_min",
                format!("must be in (0, {MAX_SCALE:e}], got {:?}", self.alpha_min),
            ));
        }
        if !(self.alpha_max >= self.alpha_min && self.alpha_max <= MAX_SCALE) {
            return Err(bad(
                "alpha_max",
                format!(
                    "must be in [alpha_min, {MAX_SCALE:e}] = [{:?}, {MAX_SCALE:e}], got {:?}",
                    self.alpha_min, self.alpha_max
                ),
            ));
        }
        if !(self.decode_tau.is_finite() && self.decode_tau >= 0.0) {
            return Err(bad(
                "decode_tau",
                format!("must be finite and >= 0, got {}", self.decode_tau),
            ));
        }
        if !(256..=MAX_CALIBRATION_SAMPLES).contains(&self.calibration_samples) {
            return Err(bad(
                "calibration_samples",
                format!(
                    "must be in 256..={MAX_CALIBRATION_SAMPLES}, got {}",
                    self.calibration_samples
                ),
            ));
        }
        if self.output == OutputKernel::Overlap && !self.patch.is_multiple_of(2) {
            return Err(bad(
                "output",
                format!(
                    "\"overlap\" needs an even patch size q, got patch = {}",
                    self.patch
                ),
            ));
        }
        let d = self
            .patch_dim()
            .ok_or_else(|| bad("patch", "q*q*c overflows".into()))?;
        for l in 0..l_count {
            let (m, k, sigma) = (self.m[l], self.k[l], self.sigma[l]);
            let lv = l + 1;
            if m == 0 {
                return Err(bad("m", format!("m[{lv}] must be at least 1")));
            }
            if !(k.is_finite() && k > 0.0 && k < m as f64) {
                return Err(bad(
                    "k",
                    format!(
                        "k[{lv}] must satisfy 0 < k_l < m_l = {m} (mean active channels per patch), got {k}"
                    ),
                ));
            }
            if !(sigma.is_finite() && (0.0..=MAX_SCALE).contains(&sigma)) {
                return Err(bad(
                    "sigma",
                    format!("sigma[{lv}] must be in [0, {MAX_SCALE:e}], got {sigma:?}"),
                ));
            }
            if l == 0 && sigma > 0.0 {
                return Err(bad(
                    "sigma",
                    format!(
                        "sigma[1] must be 0: level 1 is a deterministic function of z, got {sigma}"
                    ),
                ));
            }
            if self.dictionary == Dictionary::Orthonormal && m > d {
                return Err(bad(
                    "m",
                    format!(
                        "m[{lv}] = {m} > D = q*q*c = {d}: an orthonormal dictionary needs m_l <= D (A2); use dictionary = \"unit\" for an over-complete one"
                    ),
                ));
            }
        }
        let mut scalars: usize = self.d0;
        for l in 0..l_count {
            let n = self
                .n_checked(l)
                .ok_or_else(|| bad("n1", "n_1 2^(L-1) overflows".into()))?;
            let r = n.checked_mul(self.patch).ok_or_else(|| {
                bad(
                    "patch",
                    "r_l = q n_1 2^(l-1) overflows: lower `patch`, `n1` or `levels`".into(),
                )
            })?;
            let per_level = n
                .checked_mul(n)
                .and_then(|nn| nn.checked_mul(self.m[l]))
                .and_then(|s| {
                    r.checked_mul(r)
                        .and_then(|rr| rr.checked_mul(self.channels))
                        .and_then(|x| x.checked_add(s))
                });
            scalars = per_level
                .and_then(|p| scalars.checked_add(p))
                .filter(|&s| s <= MAX_SAMPLE_SCALARS)
                .ok_or_else(|| {
                    bad(
                        "levels",
                        format!(
                            "one sample would exceed {MAX_SAMPLE_SCALARS} scalars (c r_l^2 per image x_l, m_l n_l^2 per code s_l, d0): lower `channels`, `patch`, `n1`, `m`, `d0` or `levels`"
                        ),
                    )
                })?;
        }
        self.param_scalars()
            .filter(|&p| p <= MAX_PARAM_SCALARS)
            .ok_or_else(|| {
                bad(
                    "m",
                    format!(
                        "the ground truth would exceed {MAX_PARAM_SCALARS} scalars (m_1 n_1^2 d0 for level 1, m_(l-1) m_l kernel^2 per super-resolution layer, m_l D_out per dictionary): lower m, n1 or d0"
                    ),
                )
            })?;
        let cal = self.calibration_bytes();
        if cal.is_none_or(|b| b > MAX_CALIBRATION_BYTES) {
            return Err(bad(
                "calibration_samples",
                format!(
                    "calibrating {} samples of this model would hold {} bytes at once, more than {MAX_CALIBRATION_BYTES} (16 GiB): lower calibration_samples (about {} bytes per sample)",
                    self.calibration_samples,
                    cal.map_or_else(|| "more than 2^64".to_string(), |b| b.to_string()),
                    self.calibration_bytes_per_sample().unwrap_or(u64::MAX)
                ),
            ));
        }
        if let Some(res) = &self.resolutions {
            if res.len() != l_count {
                return Err(bad(
                    "resolutions",
                    format!("must list L = {l_count} resolutions, got {}", res.len()),
                ));
            }
            for (l, &r) in res.iter().enumerate() {
                let want = self.resolution(l);
                if r != want {
                    return Err(bad(
                        "resolutions",
                        format!(
                            "resolutions[{}] = {r} must equal q * n_1 * 2^(l-1) = {} * {} * {} = {want}",
                            l + 1,
                            self.patch,
                            self.n1,
                            1usize << l
                        ),
                    ));
                }
            }
        }
        Ok(self)
    }

    /// Scalars of one ground truth: `m_1 n_1^2 d0 + 2 m_1` (level 1), plus
    /// `m_(l-1) m_l kernel^2 + m_l` per super-resolution layer, plus
    /// `m_l c ko^2` per output dictionary (`ko` the output kernel); `None`
    /// if that overflows (per-level fields already broadcast).
    pub fn param_scalars(&self) -> Option<usize> {
        let m = |l: usize| self.m.get(l).copied();
        let ko = self.output.size(self.patch);
        let dout = self.channels.checked_mul(ko)?.checked_mul(ko)?;
        let mut total = m(0)?
            .checked_mul(self.n1.checked_mul(self.n1)?)?
            .checked_mul(self.d0)?
            .checked_add(2 * m(0)?)?;
        for l in 0..self.levels {
            if l >= 1 {
                let up = m(l - 1)?
                    .checked_mul(m(l)?)?
                    .checked_mul(self.kernel * self.kernel)?
                    .checked_add(m(l)?)?;
                total = total.checked_add(up)?;
            }
            total = total.checked_add(m(l)?.checked_mul(dout)?)?;
        }
        Some(total)
    }

    /// Bytes per calibration sample the calibration holds at its peak: its
    /// random stream, and at the level `l >= 2` that needs most, the codes
    /// of level `l - 1`, the pre-activations of level `l` twice (all of
    /// them, and their positive part for the threshold's selection) and
    /// level `l`'s activity masks; level 1's codes for `L = 1`. An estimate
    /// from above of the allocations (plus 64 bytes of bookkeeping per
    /// vector); `None` on overflow.
    pub fn calibration_bytes_per_sample(&self) -> Option<u64> {
        let codes = |l: usize| -> Option<u64> {
            let n = self.n_checked(l)? as u64;
            let m = *self.m.get(l)? as u64;
            let positions = n.checked_mul(n)?;
            let words = m.div_ceil(64);
            positions
                .checked_mul(m.checked_add(words)?)?
                .checked_mul(8)?
                .checked_add(128)
        };
        let mut peak = codes(0)?;
        for l in 1..self.levels {
            let n = self.n_checked(l)? as u64;
            let m = *self.m.get(l)? as u64;
            let pre = n.checked_mul(n)?.checked_mul(m)?.checked_mul(8)?;
            let at = codes(l - 1)?
                .checked_add(pre.checked_mul(2)?)?
                .checked_add(codes(l)?.saturating_sub(pre))?
                .checked_add(128)?;
            peak = peak.max(at);
        }
        peak.checked_add(std::mem::size_of::<super::rng::Stream>() as u64 + 64)
    }

    /// Bytes the calibration holds at its peak:
    /// `calibration_samples x` [`Config::calibration_bytes_per_sample`].
    pub fn calibration_bytes(&self) -> Option<u64> {
        self.calibration_bytes_per_sample()?
            .checked_mul(self.calibration_samples as u64)
    }

    /// Patch dimension `D = q*q*c`.
    pub fn patch_dim(&self) -> Option<usize> {
        self.patch
            .checked_mul(self.patch)?
            .checked_mul(self.channels)
    }

    fn n_checked(&self, l: usize) -> Option<usize> {
        1usize
            .checked_shl(l as u32)
            .and_then(|f| f.checked_mul(self.n1))
    }

    /// Patches per side at level `l` (0-based): `n_l = n_1 2^l`.
    pub fn n(&self, l: usize) -> usize {
        self.n1 << l
    }

    /// Image side at level `l` (0-based): `r_l = q n_l`.
    pub fn resolution(&self, l: usize) -> usize {
        self.patch * self.n(l)
    }

    /// `D = q*q*c` (valid configs only).
    pub fn d(&self) -> usize {
        self.patch * self.patch * self.channels
    }

    /// Padding of the super-resolution ConvT, `(kernel - 2) / 2`.
    pub fn up_padding(&self) -> usize {
        (self.kernel - 2) / 2
    }
}

fn broadcast<T: Clone>(v: &mut Vec<T>, levels: usize, name: &str) -> Result<(), String> {
    match v.len() {
        1 => {
            let x = v[0].clone();
            *v = vec![x; levels];
            Ok(())
        }
        n if n == levels => Ok(()),
        n => Err(format!(
            "{name} must have 1 or L = levels = {levels} entries, got {n}"
        )),
    }
}
