//! `manifest.json`: what a dataset directory holds and how it was made —
//! config, seed, sample range (and shard), crate version, array shapes, the
//! size and CRC-32 of every file, and the diagnostics measured while sampling.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::IoError;
use super::writer::{Dtype, FileDigest};
use crate::model::{Config, Diagnostics};

/// The `format` string of a dataset manifest.
pub const FORMAT: &str = "fsrgan-dataset";
/// The manifest's format version.
pub const FORMAT_VERSION: u32 = 1;

/// The `i`-th (0-based) of `count` disjoint contiguous shards of `n` samples:
/// samples `floor(i n / count) .. floor((i+1) n / count)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Shard index, `0 <= index < count`.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl Shard {
    /// Parses `i/n` (0-based `i`).
    ///
    /// # Errors
    /// [`IoError::Invalid`] unless `0 <= i < n`.
    pub fn parse(text: &str) -> Result<Shard, IoError> {
        let bad = || IoError::Invalid(format!("--shard must be i/n with 0 <= i < n, got `{text}`"));
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse::<u64>().map_err(|_| bad())?,
            n.trim().parse::<u64>().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The sample range of this shard of `n` samples.
    pub fn range(self, n: u64) -> (u64, u64) {
        let at = |i: u64| ((i as u128 * n as u128) / self.count as u128) as u64;
        (at(self.index), at(self.index + 1))
    }
}

/// Dtype and shape of an array in the samples file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrayInfo {
    /// Element type.
    pub dtype: Dtype,
    /// Shape.
    pub shape: Vec<usize>,
}

/// The manifest of a dataset directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The fsrgan version that wrote it.
    pub crate_version: String,
    /// The seed of parameters and samples.
    pub seed: u64,
    /// The model config.
    pub config: Config,
    /// Samples in the whole (unsharded) dataset.
    pub n_total: u64,
    /// First sample index held here.
    pub start: u64,
    /// One past the last sample index held here.
    pub end: u64,
    /// The shard, if this directory is one.
    pub shard: Option<Shard>,
    /// File name of the samples (`samples.npz` or `samples.safetensors`).
    pub samples_file: String,
    /// File name of the ground truth (`params.safetensors`); empty for a
    /// generated dataset (`fsrgan generate`), which has none.
    pub params_file: String,
    /// Whether `s{l}` and `z` are stored.
    pub hidden: bool,
    /// Arrays in the samples file.
    pub arrays: BTreeMap<String, ArrayInfo>,
    /// Size and CRC-32 of each file.
    pub files: BTreeMap<String, FileDigest>,
    /// Statistics measured while sampling.
    pub diagnostics: Diagnostics,
    /// For a generated dataset: the trained generator it was sampled from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// The trained generator a generated dataset (`fsrgan generate`) comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The run directory, as given.
    pub run: String,
    /// `theory` (the learner with the target's topology) or `practice` (a network).
    pub track: String,
    /// The checkpoint file, relative to the run directory.
    pub checkpoint: String,
    /// Its size and CRC-32 when it was sampled.
    pub checkpoint_digest: FileDigest,
}

/// What kind of dataset a manifest describes, recorded in `manifest.json` as
/// the top-level fields `classes` and `domains`, each written only when it
/// is not 1 (so an ordinary dataset's manifest is byte-identical to one
/// written before they existed, and an old manifest reads as ordinary):
///
/// * `classes: K` (`K >= 2`): a labelled mixture of `K` FSR models
///   (`fsrgan sample --classes K`; [`crate::model::Labelled`]), with labels `y`;
/// * `domains: 2`: two FSR models sharing their codes
///   (`fsrgan sample --domains 2`; [`crate::model::Paired`]), with `x{l}_b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kind {
    /// Number of classes (1: not labelled).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub classes: usize,
    /// Number of domains (1 or 2).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub domains: usize,
}

fn one() -> usize {
    1
}

fn is_one(v: &usize) -> bool {
    *v == 1
}

impl Default for Kind {
    fn default() -> Self {
        Kind::ORDINARY
    }
}

impl Kind {
    /// One model, no labels, one domain.
    pub const ORDINARY: Kind = Kind {
        classes: 1,
        domains: 1,
    };

    /// A labelled mixture of `k` classes (`k = 1`: [`Kind::ORDINARY`]).
    pub fn labelled(k: usize) -> Kind {
        Kind {
            classes: k,
            domains: 1,
        }
    }

    /// Two domains.
    pub const PAIRED: Kind = Kind {
        classes: 1,
        domains: 2,
    };

    /// Whether the dataset holds labels `y`.
    pub fn is_labelled(self) -> bool {
        self.classes >= 2
    }

    /// Whether the dataset holds domain-B images `x{l}_b`.
    pub fn is_paired(self) -> bool {
        self.domains == 2
    }

    /// Checks the combination, naming the flags of `fsrgan sample`.
    ///
    /// # Errors
    /// [`IoError::Invalid`] for `classes = 0` or beyond
    /// [`crate::model::mixture::MAX_CLASSES`], `domains` other than 1 or 2,
    /// or both `classes >= 2` and `domains = 2`.
    pub fn validated(self) -> Result<Kind, IoError> {
        if self.classes == 0 {
            return Err(IoError::Invalid(
                "--classes must be at least 1 (1: an ordinary dataset)".into(),
            ));
        }
        let most = crate::model::mixture::MAX_CLASSES;
        if self.classes > most {
            return Err(IoError::Invalid(format!(
                "--classes {}: a labelled mixture has at most {most} classes",
                self.classes
            )));
        }
        if !(1..=2).contains(&self.domains) {
            return Err(IoError::Invalid(format!(
                "--domains must be 1 or 2, got {}",
                self.domains
            )));
        }
        if self.is_labelled() && self.is_paired() {
            return Err(IoError::Invalid(format!(
                "--classes {} and --domains 2 cannot be combined: a dataset is either a labelled mixture (--classes) or a domain pair (--domains)",
                self.classes
            )));
        }
        Ok(self)
    }
}

/// A manifest with its [`Kind`] as top-level fields, for writing.
#[derive(Serialize)]
struct WithKind<'a> {
    #[serde(flatten)]
    manifest: &'a Manifest,
    #[serde(flatten)]
    kind: Kind,
}

impl Manifest {
    /// Reads and checks `manifest.json`.
    ///
    /// # Errors
    /// [`IoError::Corrupt`] if it is not a fsrgan dataset manifest of a known version.
    pub fn read(path: &Path) -> Result<Manifest, IoError> {
        Ok(Self::read_kind(path)?.0)
    }

    /// Reads and checks `manifest.json` and the [`Kind`] it records.
    ///
    /// # Errors
    /// As [`Manifest::read`], and [`IoError::Corrupt`] for an invalid kind.
    pub fn read_kind(path: &Path) -> Result<(Manifest, Kind), IoError> {
        let text = std::fs::read_to_string(path).map_err(IoError::os(path))?;
        let kind: Kind = serde_json::from_str(&text)
            .map_err(|e| IoError::corrupt(path, format!("not a valid fsrgan manifest: {e}")))?;
        let kind = kind
            .validated()
            .map_err(|e| IoError::corrupt(path, format!("`classes`/`domains`: {e}")))?;
        let m: Manifest = serde_json::from_str(&text)
            .map_err(|e| IoError::corrupt(path, format!("not a valid fsrgan manifest: {e}")))?;
        if m.format != FORMAT || m.format_version != FORMAT_VERSION {
            return Err(IoError::corrupt(
                path,
                format!(
                    "format `{}` version {} (this fsrgan reads `{FORMAT}` version {FORMAT_VERSION})",
                    m.format, m.format_version
                ),
            ));
        }
        if m.start > m.end || m.end > m.n_total {
            return Err(IoError::corrupt(
                path,
                format!("sample range {}..{} of {}", m.start, m.end, m.n_total),
            ));
        }
        // The range is the shard's of `n_total` (all of them without a shard).
        let want = m.shard.map_or((0, m.n_total), |s| s.range(m.n_total));
        let shard_ok = m.shard.is_none_or(|s| s.count > 0 && s.index < s.count);
        if !shard_ok || (m.start, m.end) != want {
            return Err(IoError::corrupt(
                path,
                format!(
                    "`start`..`end` = {}..{} is not {} of `n_total` = {} samples ({}..{}): the manifest does not describe its dataset",
                    m.start,
                    m.end,
                    m.shard.map_or("all".to_string(), |s| format!(
                        "shard {}/{}",
                        s.index, s.count
                    )),
                    m.n_total,
                    want.0,
                    want.1
                ),
            ));
        }
        Ok((m, kind))
    }

    /// Writes it atomically as pretty JSON (an ordinary dataset's).
    ///
    /// # Errors
    /// [`IoError::Os`] on I/O failure.
    pub fn write(&self, path: &Path) -> Result<(), IoError> {
        self.write_kind(path, Kind::ORDINARY)
    }

    /// Writes it atomically as pretty JSON with `kind`'s fields after its
    /// own (none for [`Kind::ORDINARY`]).
    ///
    /// # Errors
    /// [`IoError::Os`] on I/O failure.
    pub fn write_kind(&self, path: &Path, kind: Kind) -> Result<(), IoError> {
        let mut text = serde_json::to_string_pretty(&WithKind {
            manifest: self,
            kind,
        })
        .map_err(|e| IoError::Invalid(e.to_string()))?;
        text.push('\n');
        super::atomic::write_bytes(path, text.as_bytes())
    }

    /// The manifest as the JSON value [`Manifest::write_kind`] writes.
    ///
    /// # Errors
    /// [`IoError::Invalid`] if it cannot be serialised (a bug).
    pub fn to_json_kind(&self, kind: Kind) -> Result<serde_json::Value, IoError> {
        serde_json::to_value(WithKind {
            manifest: self,
            kind,
        })
        .map_err(|e| IoError::Invalid(e.to_string()))
    }

    /// Number of samples held.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Whether no sample is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
