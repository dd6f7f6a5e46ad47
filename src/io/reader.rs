//! Validating readers of tensor files, independent of [`super::writer`]: npz
//! through the `zip` crate (which checks each member's CRC-32) and
//! `ndarray-npy`, safetensors through the `safetensors` crate (which checks that
//! the header's offsets tile the file exactly). Anything truncated, corrupted or
//! of an unsupported type is an [`IoError::Corrupt`], never a panic.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use ndarray::ArrayD;

use super::IoError;
use super::npy;
use super::writer::{CHECKSUM_KEY, Dtype, Format, checksum_digits};

/// A tensor read from a file, in its stored precision.
#[derive(Debug, Clone, PartialEq)]
pub enum Tensor {
    /// float32 data.
    F32(ArrayD<f32>),
    /// float64 data.
    F64(ArrayD<f64>),
    /// int64 data (labels).
    I64(ArrayD<i64>),
}

impl Tensor {
    /// Shape of the tensor.
    pub fn shape(&self) -> &[usize] {
        match self {
            Tensor::F32(a) => a.shape(),
            Tensor::F64(a) => a.shape(),
            Tensor::I64(a) => a.shape(),
        }
    }
    /// Stored element type.
    pub fn dtype(&self) -> Dtype {
        match self {
            Tensor::F32(_) => Dtype::F32,
            Tensor::F64(_) => Dtype::F64,
            Tensor::I64(_) => Dtype::I64,
        }
    }
    /// The values as float64 (exact for floats and for integers of
    /// magnitude below `2^53`).
    pub fn to_f64(&self) -> ArrayD<f64> {
        match self {
            Tensor::F32(a) => a.mapv(f64::from),
            Tensor::F64(a) => a.clone(),
            Tensor::I64(a) => a.mapv(|v| v as f64),
        }
    }
    /// The values as float32 (rounded if stored as float64 or int64).
    pub fn to_f32(&self) -> ArrayD<f32> {
        match self {
            Tensor::F32(a) => a.clone(),
            Tensor::F64(a) => a.mapv(|v| v as f32),
            Tensor::I64(a) => a.mapv(|v| v as f32),
        }
    }
    /// The values as class labels: integers stored as int64, or floats
    /// holding integral values, each `0 <= v < k`; `Err(i, reason)` names
    /// the first element that is not one.
    pub fn to_labels(&self, k: usize) -> Result<Vec<usize>, (usize, String)> {
        let check = |i: usize, v: f64| -> Result<usize, (usize, String)> {
            if v.fract() != 0.0 || !v.is_finite() {
                return Err((i, format!("{v} is not an integer label")));
            }
            if v < 0.0 || v >= k as f64 {
                return Err((i, format!("label {v} is not in 0..{k}")));
            }
            Ok(v as usize)
        };
        match self {
            Tensor::I64(a) => a
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    if v < 0 || v as u64 >= k as u64 {
                        Err((i, format!("label {v} is not in 0..{k}")))
                    } else {
                        Ok(v as usize)
                    }
                })
                .collect(),
            other => other
                .to_f64()
                .iter()
                .enumerate()
                .map(|(i, &v)| check(i, v))
                .collect(),
        }
    }
}

/// The tensors of a file and, for safetensors, its `__metadata__`.
#[derive(Debug, Clone, Default)]
pub struct TensorFile {
    /// Tensors by name (`.npy` suffix removed for npz).
    pub tensors: BTreeMap<String, Tensor>,
    /// The safetensors `__metadata__` map (empty for npz).
    pub metadata: BTreeMap<String, String>,
}

/// Reads every tensor of an npz or safetensors file (detected from its first bytes).
///
/// # Errors
/// [`IoError::Os`] if the file cannot be read, [`IoError::Corrupt`] if it is
/// truncated, corrupted, compressed with an unsupported method, or holds a
/// dtype other than float32/float64/int64.
pub fn read_tensors(path: &Path) -> Result<TensorFile, IoError> {
    let mut f = std::fs::File::open(path).map_err(IoError::os(path))?;
    let mut magic = [0u8; 4];
    let n = f.read(&mut magic).map_err(IoError::os(path))?;
    if n < 4 {
        return Err(IoError::corrupt(
            path,
            "file too short to be npz or safetensors",
        ));
    }
    let zip = magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06";
    match (zip, format_of(path)) {
        (true, _) => read_npz(path),
        (false, Some(Format::Npz)) => Err(IoError::corrupt(
            path,
            "not an .npz file: an .npz is a zip archive, and this file does not start with the zip signature `PK`",
        )),
        (false, Some(Format::Safetensors)) => read_safetensors(path),
        (false, None) => read_safetensors(path).map_err(|_| {
            IoError::corrupt(path, "neither an .npz (zip) file nor a safetensors file")
        }),
    }
}

/// The format a path's extension names, if any.
pub fn format_of(path: &Path) -> Option<Format> {
    match path.extension()?.to_str()? {
        "npz" => Some(Format::Npz),
        "safetensors" => Some(Format::Safetensors),
        _ => None,
    }
}

fn read_npz(path: &Path) -> Result<TensorFile, IoError> {
    let f = std::fs::File::open(path).map_err(IoError::os(path))?;
    let file_len = f.metadata().map_err(IoError::os(path))?.len();
    let mut zip = zip::ZipArchive::new(f)
        .map_err(|e| IoError::corrupt(path, format!("not a readable npz (zip) archive: {e}")))?;
    let mut out = TensorFile::default();
    for i in 0..zip.len() {
        let mut member = zip
            .by_index(i)
            .map_err(|e| IoError::corrupt(path, format!("member {i}: {e}")))?;
        let name = member.name().to_string();
        let Some(key) = name.strip_suffix(".npy") else {
            return Err(IoError::corrupt(
                path,
                format!("member `{name}` is not a .npy array"),
            ));
        };
        let bad = |why: String| IoError::corrupt(path, format!("member `{name}`: {why}"));
        // The most bytes the member can hold: what the archive stores of it
        // (deflate expands at most 1032-fold).
        let (size, stored) = (member.size(), member.compressed_size());
        let limit = match member.compression() {
            zip::CompressionMethod::Stored => stored,
            _ => stored.saturating_mul(1032).saturating_add(1024),
        };
        if stored > file_len || size > limit {
            return Err(bad(format!(
                "declares {size} bytes ({stored} stored), more than the {file_len}-byte archive can hold: the file is damaged"
            )));
        }
        let tensor = read_npy_from(&mut member, size, &|why| bad(why))?;
        // Reading to the end checks the member's CRC-32.
        let mut rest = [0u8; 1];
        match member.read(&mut rest) {
            Ok(0) => {}
            Ok(_) => {
                return Err(bad(
                    "bytes after the array's data: the member is not one .npy array".into(),
                ));
            }
            Err(e) => return Err(bad(e.to_string())),
        }
        out.tensors.insert(key.to_string(), tensor);
    }
    Ok(out)
}

/// One `.npy` array of exactly `len` bytes from `r`: the header is read and
/// checked first (dtype, and the declared shape's bytes against `len`), and
/// only then is the data's memory reserved (`try_reserve_exact`).
fn read_npy_from(
    r: &mut impl Read,
    len: u64,
    bad: &dyn Fn(String) -> IoError,
) -> Result<Tensor, IoError> {
    let mut prefix = Vec::with_capacity(npy::PREFIX_BYTES);
    r.by_ref()
        .take(npy::PREFIX_BYTES as u64)
        .read_to_end(&mut prefix)
        .map_err(|e| bad(e.to_string()))?;
    let header_len = npy::header_len(&prefix).map_err(&bad)?;
    if header_len as u64 > len {
        return Err(bad(format!(
            "truncated: the .npy header declares {header_len} bytes but the array has {len}"
        )));
    }
    let mut head = prefix;
    if head.len() < header_len {
        let more = (header_len - head.len()) as u64;
        r.by_ref()
            .take(more)
            .read_to_end(&mut head)
            .map_err(|e| bad(e.to_string()))?;
    }
    head.truncate(header_len);
    let header = npy::parse_header(&head).map_err(&bad)?;
    let have = len - header_len as u64;
    match header.data_bytes() {
        Some(need) if need == have => {}
        need => {
            return Err(bad(format!(
                "the header declares {} ({} bytes of data), but the array holds {have} bytes of data after its {header_len}-byte header: the file is damaged or not what it says",
                header.describe(),
                need.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string()),
            )));
        }
    }
    npy::read_data(&header, r).map_err(|e| match e {
        npy::DataError::Bad(why) => bad(why),
        npy::DataError::Memory(bytes) => bad(format!(
            "cannot allocate {bytes} bytes for its {}: not enough memory; free memory or read a smaller set",
            header.describe()
        )),
    })
}

/// Reads one `.npy` file (float32, float64 or int64, any NPY version, C or
/// Fortran order, either byte order); the declared shape is checked against
/// the file's length before the data are read.
///
/// # Errors
/// [`IoError::Os`] if it cannot be read, [`IoError::Corrupt`] if it is not a
/// complete float32/float64/int64 `.npy` array (the message names the
/// dtype, or the declared and actual sizes), or its memory cannot be had.
pub fn read_npy(path: &Path) -> Result<Tensor, IoError> {
    let f = std::fs::File::open(path).map_err(IoError::os(path))?;
    let len = f.metadata().map_err(IoError::os(path))?.len();
    let mut r = std::io::BufReader::new(f);
    let bad = |why: String| IoError::corrupt(path, why);
    read_npy_from(&mut r, len, &bad)
}

/// Reads a safetensors file that must carry its own checksum
/// ([`super::writer::CHECKSUM_KEY`]), as every tensor file of a run directory
/// does, and checks it.
///
/// # Errors
/// As [`read_tensors`], and [`IoError::Corrupt`] if the file is not
/// safetensors or has no checksum (a file written by another tool, or one
/// whose checksum field was damaged).
pub fn read_checked(path: &Path) -> Result<TensorFile, IoError> {
    let f = read_tensors(path)?;
    if !f.metadata.contains_key(CHECKSUM_KEY) {
        return Err(IoError::corrupt(
            path,
            format!(
                "the file carries no checksum (metadata `{CHECKSUM_KEY}`): fsrgan writes one into every file of a run directory, so this file was written by another tool, by an older fsrgan, or damaged"
            ),
        ));
    }
    Ok(f)
}

/// Checks the checksum a safetensors file carries in its metadata, if any:
/// the CRC-32 of the whole file with the checksum's eight hex digits read as
/// `00000000` (see [`super::writer`]). Returns whether there was one.
///
/// # Errors
/// [`IoError::Corrupt`] if the recorded and computed CRC-32s differ, or the
/// recorded one is malformed.
pub fn verify_checksum(path: &Path, bytes: &[u8], recorded: Option<&str>) -> Result<bool, IoError> {
    let Some(recorded) = recorded else {
        return Ok(false);
    };
    let bad = |why: String| IoError::corrupt(path, why);
    let want = recorded
        .strip_prefix("crc32:")
        .filter(|h| h.len() == 8)
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .ok_or_else(|| bad(format!("malformed checksum `{recorded}` in the metadata")))?;
    let header_len = bytes
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_le_bytes)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| bad("truncated header".into()))?;
    let header = bytes
        .get(..8usize.saturating_add(header_len))
        .ok_or_else(|| bad("truncated header".into()))?;
    let at = checksum_digits(header)
        .ok_or_else(|| bad("the checksum field is not where fsrgan writes it".into()))?;
    let mut h = crc32fast::Hasher::new();
    h.update(&bytes[..at]);
    h.update(b"00000000");
    h.update(&bytes[at + 8..]);
    let got = h.finalize();
    if got != want {
        return Err(bad(format!(
            "checksum mismatch: the file records CRC-32 {want:08x} but its bytes give {got:08x}: the file is corrupted"
        )));
    }
    Ok(true)
}

fn read_safetensors(path: &Path) -> Result<TensorFile, IoError> {
    let bytes = std::fs::read(path).map_err(IoError::os(path))?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| IoError::corrupt(path, format!("not a valid safetensors file: {e}")))?;
    verify_checksum(
        path,
        &bytes,
        meta.metadata()
            .as_ref()
            .and_then(|m| m.get(CHECKSUM_KEY))
            .map(String::as_str),
    )?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| IoError::corrupt(path, format!("not a valid safetensors file: {e}")))?;
    let mut out = TensorFile {
        metadata: meta
            .metadata()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        ..TensorFile::default()
    };
    let memory = |name: &str, bytes: u64| {
        IoError::corrupt(
            path,
            format!(
                "tensor `{name}`: cannot allocate {bytes} bytes: not enough memory; free memory or read a smaller file"
            ),
        )
    };
    for (name, view) in st.tensors() {
        let shape = view.shape().to_vec();
        let data = view.data();
        let tensor = match view.dtype() {
            safetensors::Dtype::F32 => {
                let v: Vec<f32> = collect_exact(
                    data.chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                )
                .map_err(|bytes| memory(&name, bytes))?;
                Tensor::F32(
                    ArrayD::from_shape_vec(shape, v)
                        .map_err(|e| IoError::corrupt(path, format!("`{name}`: {e}")))?,
                )
            }
            safetensors::Dtype::F64 => {
                let v: Vec<f64> =
                    collect_exact(data.chunks_exact(8).map(|c| {
                        f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
                    }))
                    .map_err(|bytes| memory(&name, bytes))?;
                Tensor::F64(
                    ArrayD::from_shape_vec(shape, v)
                        .map_err(|e| IoError::corrupt(path, format!("`{name}`: {e}")))?,
                )
            }
            safetensors::Dtype::I64 => {
                let v: Vec<i64> =
                    collect_exact(data.chunks_exact(8).map(|c| {
                        i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
                    }))
                    .map_err(|bytes| memory(&name, bytes))?;
                Tensor::I64(
                    ArrayD::from_shape_vec(shape, v)
                        .map_err(|e| IoError::corrupt(path, format!("`{name}`: {e}")))?,
                )
            }
            other => {
                return Err(IoError::corrupt(
                    path,
                    format!("tensor `{name}` has dtype {other:?}; fsrgan reads F32, F64 and I64"),
                ));
            }
        };
        out.tensors.insert(name, tensor);
    }
    Ok(out)
}

/// The items of an exact-size iterator in a vector whose memory is reserved
/// with `try_reserve_exact`; `Err(bytes)` if it cannot be had.
fn collect_exact<T>(it: impl ExactSizeIterator<Item = T>) -> Result<Vec<T>, u64> {
    let mut v = Vec::new();
    v.try_reserve_exact(it.len())
        .map_err(|_| (it.len() as u64).saturating_mul(std::mem::size_of::<T>() as u64))?;
    v.extend(it);
    Ok(v)
}
