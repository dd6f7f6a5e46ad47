//! `params.safetensors`: the ground truth (or a learner's checkpoint) under the
//! tensor names of model.md section 6:
//!
//! | name | shape |
//! |---|---|
//! | `level1.w` | `(m_1, n_1, n_1, d0)` |
//! | `level1.alpha`, `level1.beta` | `(m_1,)` |
//! | `level{l}.weight` (l >= 2) | `(m_{l-1}, m_l, k, k)` |
//! | `level{l}.bias` (l >= 2) | `(m_l,)` |
//! | `level{l}.out` | `(m_l, c, ko, ko)` |
//!
//! The `__metadata__` holds `format = fsrgan-params`, the crate version, the
//! seed and the config as JSON, so the file describes itself.

use std::collections::BTreeMap;
use std::path::Path;

use ndarray::{Array1, Array4, ArrayD, Ix1, Ix4};

use super::IoError;
use super::reader::{TensorFile, read_checked, read_tensors};
use super::writer::{CHECKSUM_KEY, Dtype, FileDigest, Format, Sealed, TensorSpec, TensorWriter};
use crate::model::params::{Level1, UpLayer};
use crate::model::{Config, Params};

/// The tensors of `params` as `(name, shape, values)` in file order.
pub fn named_tensors(params: &Params) -> Vec<(String, Vec<usize>, Vec<f64>)> {
    let mut out = Vec::new();
    let mut push = |name: String, shape: &[usize], it: &mut dyn Iterator<Item = f64>| {
        out.push((name, shape.to_vec(), it.collect()));
    };
    let l1 = &params.level1;
    push("level1.w".into(), l1.w.shape(), &mut l1.w.iter().copied());
    push(
        "level1.alpha".into(),
        l1.alpha.shape(),
        &mut l1.alpha.iter().copied(),
    );
    push(
        "level1.beta".into(),
        l1.beta.shape(),
        &mut l1.beta.iter().copied(),
    );
    for (l, o) in params.out.iter().enumerate() {
        if l >= 1 {
            let up = &params.up[l - 1];
            push(
                format!("level{}.weight", l + 1),
                up.weight.shape(),
                &mut up.weight.iter().copied(),
            );
            push(
                format!("level{}.bias", l + 1),
                up.bias.shape(),
                &mut up.bias.iter().copied(),
            );
        }
        push(
            format!("level{}.out", l + 1),
            o.shape(),
            &mut o.iter().copied(),
        );
    }
    out
}

/// Writes `params` atomically as safetensors in `dtype`, carrying its own
/// checksum (the files of a run directory, [`read_params_checked`]).
///
/// # Errors
/// [`IoError::Os`] on I/O failure (the destination is then untouched).
pub fn write_params(
    path: &Path,
    params: &Params,
    seed: u64,
    dtype: Dtype,
) -> Result<FileDigest, IoError> {
    seal(path, params, seed, dtype, true)?.commit()
}

/// As [`write_params`], but leaves the finished file under its temporary
/// name until [`Sealed::commit`] (dropping it removes it).
///
/// # Errors
/// As [`write_params`].
/// A dataset's `params.safetensors` is checked by its manifest instead, so
/// it carries no checksum of its own (and keeps the bytes of earlier versions).
pub fn seal_params(
    path: &Path,
    params: &Params,
    seed: u64,
    dtype: Dtype,
) -> Result<Sealed, IoError> {
    seal(path, params, seed, dtype, false)
}

/// As [`seal_params`] for several truths in one file (a labelled or paired
/// dataset): truth `i`'s tensors under `prefixes[i]` followed by the
/// interchange names (`class0.level1.w`, `domain1.level2.out`, ...).
///
/// # Errors
/// As [`write_params`].
pub fn seal_params_set(
    path: &Path,
    truths: &[(String, &Params)],
    seed: u64,
    dtype: Dtype,
) -> Result<Sealed, IoError> {
    seal_set(path, truths, seed, dtype, false)
}

fn seal(
    path: &Path,
    params: &Params,
    seed: u64,
    dtype: Dtype,
    checked: bool,
) -> Result<Sealed, IoError> {
    seal_set(path, &[(String::new(), params)], seed, dtype, checked)
}

fn seal_set(
    path: &Path,
    truths: &[(String, &Params)],
    seed: u64,
    dtype: Dtype,
    checked: bool,
) -> Result<Sealed, IoError> {
    let config = &truths
        .first()
        .ok_or_else(|| IoError::Invalid("no parameters to write".into()))?
        .1
        .config;
    let tensors: Vec<(String, Vec<usize>, Vec<f64>)> = truths
        .iter()
        .flat_map(|(prefix, p)| {
            named_tensors(p)
                .into_iter()
                .map(move |(name, shape, v)| (format!("{prefix}{name}"), shape, v))
        })
        .collect();
    let specs = tensors
        .iter()
        .map(|(name, shape, _)| TensorSpec {
            name: name.clone(),
            dtype,
            shape: shape.clone(),
        })
        .collect();
    let mut meta = BTreeMap::new();
    meta.insert("format".to_string(), "fsrgan-params".to_string());
    meta.insert(
        "crate_version".to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
    );
    meta.insert("seed".to_string(), seed.to_string());
    if checked {
        meta.insert(CHECKSUM_KEY.to_string(), String::new());
    }
    meta.insert(
        "config".to_string(),
        serde_json::to_string(config).map_err(|e| IoError::Invalid(e.to_string()))?,
    );
    let mut w = TensorWriter::create(path, Format::Safetensors, specs, &meta)?;
    for (i, (_, _, values)) in tensors.iter().enumerate() {
        w.append_f64(i, values)?;
    }
    w.seal()
}

/// Reads the truths of a file written by [`seal_params_set`]: truth `i`
/// from the tensors named `prefixes[i]` + interchange name, each checked
/// against `config` as [`read_params`] checks one; a tensor under none of
/// the prefixes is an error.
///
/// # Errors
/// As [`read_params`], naming the prefix.
pub fn read_params_set(
    path: &Path,
    config: &Config,
    prefixes: &[String],
) -> Result<Vec<Params>, IoError> {
    let file = read_tensors(path)?;
    if let Some(extra) = file
        .tensors
        .keys()
        .find(|k| !prefixes.iter().any(|p| k.starts_with(p.as_str())))
    {
        return Err(IoError::mismatch(
            path,
            format!(
                "unexpected tensor `{extra}`: every tensor of this file is under one of the prefixes {}",
                prefixes.join(", ")
            ),
        ));
    }
    prefixes
        .iter()
        .map(|prefix| {
            let part = TensorFile {
                tensors: file
                    .tensors
                    .iter()
                    .filter_map(|(k, t)| {
                        Some((k.strip_prefix(prefix.as_str())?.to_string(), t.clone()))
                    })
                    .collect(),
                metadata: BTreeMap::new(),
            };
            params_from_tensors(path, &part, config.clone()).map_err(|e| match e {
                IoError::Mismatch { path, reason } => IoError::Mismatch {
                    path,
                    reason: format!("truth `{prefix}`: {reason}"),
                },
                IoError::Corrupt { path, reason } => IoError::Corrupt {
                    path,
                    reason: format!("truth `{prefix}`: {reason}"),
                },
                other => other,
            })
        })
        .collect()
}

/// Checks that the tensors of `stored` (a params file at `path`) are the
/// truths `truths` (each under its prefix) to the precision they are stored
/// in: each stored value `s` must equal the regenerated `v` within `|s - v|
/// <= eps |v| + tiny`, `eps` one unit in the last place of the stored dtype
/// (`2^-23` for float32, `2^-50` for float64) and `tiny` its smallest
/// normal value; `by` names what regenerated them (e.g. "the manifest's
/// config `tiny` and seed 3").
///
/// # Errors
/// [`IoError::Mismatch`] naming the truth's prefix (if any), the tensor, its
/// first differing entry and the largest difference, or a missing tensor.
pub fn check_regenerated(
    path: &Path,
    stored: &TensorFile,
    truths: &[(String, &Params)],
    by: &str,
) -> Result<(), IoError> {
    for (prefix, p) in truths {
        for (name, _, values) in named_tensors(p) {
            let key = format!("{prefix}{name}");
            let t = stored
                .tensors
                .get(&key)
                .ok_or_else(|| IoError::mismatch(path, format!("missing tensor `{key}`")))?;
            let (eps, tiny) = match t.dtype() {
                Dtype::F32 => (f64::from(f32::EPSILON), f64::from(f32::MIN_POSITIVE)),
                _ => (4.0 * f64::EPSILON, f64::MIN_POSITIVE),
            };
            let got = t.to_f64();
            if got.len() != values.len() {
                return Err(IoError::mismatch(
                    path,
                    format!(
                        "tensor `{key}` has {} values, the truth {}",
                        got.len(),
                        values.len()
                    ),
                ));
            }
            let mut first = None;
            let mut worst = 0.0f64;
            for (i, (&s, &v)) in got.iter().zip(&values).enumerate() {
                let d = (s - v).abs();
                if d.is_nan() || d > eps * v.abs() + tiny {
                    first.get_or_insert((i, s, v));
                    worst = worst.max(d / v.abs().max(f64::MIN_POSITIVE));
                }
            }
            if let Some((i, s, v)) = first {
                let what = if prefix.is_empty() {
                    "the truth".to_string()
                } else {
                    format!("truth `{prefix}`")
                };
                return Err(IoError::mismatch(
                    path,
                    format!(
                        "{what}: tensor `{name}` is not what {by} generate: entry {i} is {s:e}, the regenerated value {v:e} (largest relative difference {worst:.1e}); the file is damaged or belongs to another seed or dataset: sample the dataset again"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Reads a params file as [`read_params`] does with the config of its
/// metadata, and checks what vouches for its values: a file that carries
/// its own checksum (a run directory's, [`write_params`]) is checked
/// against it by the reader; one without (a dataset's truth, as `fsrgan
/// sample` writes it) that records its seed must be what its config and
/// seed generate ([`check_regenerated`]). Python's `Params.load`.
///
/// # Errors
/// As [`read_params`]; [`IoError::Mismatch`] from [`check_regenerated`];
/// [`IoError::Model`] if the recorded config cannot be calibrated.
pub fn read_params_verified(path: &Path) -> Result<Params, IoError> {
    let file = read_tensors(path)?;
    let checked = file.metadata.contains_key(CHECKSUM_KEY);
    let seed = file
        .metadata
        .get("seed")
        .and_then(|s| s.parse::<u64>().ok());
    let params = params_from_file(path, file.clone(), None)?;
    if let (false, Some(seed)) = (checked, seed) {
        let truth = Params::generate(&params.config, seed)?;
        check_regenerated(
            path,
            &file,
            &[(String::new(), &truth)],
            &format!(
                "its recorded config `{}` and seed {seed}",
                params.config.name
            ),
        )?;
    }
    Ok(params)
}

/// Reads parameters written by [`write_params`] and checks every tensor's
/// presence, shape and values against `config` (taken from the file's own
/// metadata when `None`).
///
/// # Errors
/// [`IoError::Corrupt`] for an unreadable file or non-finite values,
/// [`IoError::Mismatch`] for a missing tensor, a wrong shape, an extra tensor,
/// or `alpha <= 0`.
pub fn read_params(path: &Path, config: Option<&Config>) -> Result<Params, IoError> {
    let file = read_tensors(path)?;
    params_from_file(path, file, config)
}

/// As [`read_params`] for a file of a run directory, which must carry its
/// own checksum ([`crate::io::reader::read_checked`]).
///
/// # Errors
/// As [`read_params`], and [`IoError::Corrupt`] if the file has no checksum
/// or its bytes do not match it.
pub fn read_params_checked(path: &Path, config: Option<&Config>) -> Result<Params, IoError> {
    params_from_file(path, read_checked(path)?, config)
}

fn params_from_file(
    path: &Path,
    file: TensorFile,
    config: Option<&Config>,
) -> Result<Params, IoError> {
    let config = match config {
        Some(c) => c.clone(),
        None => {
            let json = file
                .metadata
                .get("config")
                .ok_or_else(|| IoError::corrupt(path, "no config in __metadata__; pass one"))?;
            let c: Config = serde_json::from_str(json)
                .map_err(|e| IoError::corrupt(path, format!("config in __metadata__: {e}")))?;
            c.validated()?
        }
    };
    params_from_tensors(path, &file, config)
}

/// Parameters from tensors under the interchange names (`file`'s
/// metadata unused), checked against `config` as [`read_params`] checks them;
/// `path` names their file in errors.
///
/// # Errors
/// As [`read_params`].
pub fn params_from_tensors(
    path: &Path,
    file: &TensorFile,
    config: Config,
) -> Result<Params, IoError> {
    let cfg = &config;
    let ko = cfg.output.size(cfg.patch);
    let mut used = std::collections::BTreeSet::new();
    let mut get = |name: &str, shape: &[usize]| -> Result<ArrayD<f64>, IoError> {
        let t = file
            .tensors
            .get(name)
            .ok_or_else(|| IoError::mismatch(path, format!("missing tensor `{name}`")))?;
        if t.shape() != shape {
            return Err(IoError::mismatch(
                path,
                format!(
                    "tensor `{name}` has shape {:?}, the config needs {shape:?}",
                    t.shape()
                ),
            ));
        }
        let a = t.to_f64();
        if a.iter().any(|v| !v.is_finite()) {
            return Err(IoError::corrupt(
                path,
                format!("tensor `{name}` holds NaN or infinity"),
            ));
        }
        used.insert(name.to_string());
        Ok(a)
    };
    let to4 = |a: ArrayD<f64>| -> Result<Array4<f64>, IoError> {
        a.into_dimensionality::<Ix4>()
            .map_err(|e| IoError::corrupt(path, e.to_string()))
    };
    let to1 = |a: ArrayD<f64>| -> Result<Array1<f64>, IoError> {
        a.into_dimensionality::<Ix1>()
            .map_err(|e| IoError::corrupt(path, e.to_string()))
    };
    let (m1, n1) = (cfg.m[0], cfg.n1);
    let level1 = Level1 {
        w: to4(get("level1.w", &[m1, n1, n1, cfg.d0])?)?,
        alpha: to1(get("level1.alpha", &[m1])?)?,
        beta: to1(get("level1.beta", &[m1])?)?,
    };
    if let Some(j) = level1.alpha.iter().position(|&a| a <= 0.0) {
        return Err(IoError::mismatch(
            path,
            format!("level1.alpha[{j}] must be > 0"),
        ));
    }
    let mut up = Vec::new();
    let mut out = Vec::new();
    for l in 0..cfg.levels {
        let lv = l + 1;
        if l >= 1 {
            let k = cfg.kernel;
            up.push(UpLayer {
                weight: to4(get(
                    &format!("level{lv}.weight"),
                    &[cfg.m[l - 1], cfg.m[l], k, k],
                )?)?,
                bias: to1(get(&format!("level{lv}.bias"), &[cfg.m[l]])?)?,
            });
        }
        out.push(to4(get(
            &format!("level{lv}.out"),
            &[cfg.m[l], cfg.channels, ko, ko],
        )?)?);
    }
    if let Some(extra) = file.tensors.keys().find(|k| !used.contains(*k)) {
        return Err(IoError::mismatch(
            path,
            format!("unexpected tensor `{extra}` for this config"),
        ));
    }
    Ok(Params {
        config,
        level1,
        up,
        out,
    })
}
