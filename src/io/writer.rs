//! A streaming writer of named tensors whose shapes are known in advance, in
//! either container:
//!
//! * **npz**: a ZIP archive of stored (uncompressed) `NAME.npy` members, as
//!   `numpy.savez` writes it, with ZIP64 records only where a size or offset
//!   reaches 4 GiB. Timestamps are fixed (1980-01-01), so the same tensors give
//!   the same bytes.
//! * **safetensors**: an 8-byte little-endian header length, a JSON header
//!   (keys sorted, padded with spaces to a multiple of 8), then the tensors'
//!   bytes back to back in the order given.
//!
//! Because every size is known, each tensor's place in the file is fixed at
//! creation; rows are appended tensor by tensor in any interleaving (by
//! positioned writes), so a dataset of any size is written in one pass with
//! bounded memory. The CRC-32 of the whole file is assembled from the CRCs of
//! its regions (headers, each tensor's bytes, the zip directory) with
//! `crc32fast`'s combination, so the file is never read back. The file is an
//! [`AtomicFile`]: it appears under its name only after
//! [`TensorWriter::finish`] (or [`TensorWriter::seal`], then [`Sealed::commit`]).
//!
//! **Self-checked safetensors.** When the metadata given to
//! [`TensorWriter::create`] holds the key [`CHECKSUM_KEY`] (any value), the
//! writer stores there `crc32:HHHHHHHH`, the CRC-32 of the whole file computed
//! with those eight hex digits written as `00000000`. A file then carries its
//! own checksum ([`super::reader::verify_checksum`]), so a run directory's
//! files are checked on every read without a manifest that a crash could
//! leave out of step with them.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::IoError;
use super::atomic::AtomicFile;

/// Container format of a tensor file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// NumPy `.npz` (ZIP of `.npy`).
    Npz,
    /// Hugging Face `.safetensors`.
    Safetensors,
}

impl Format {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Npz => "npz",
            Format::Safetensors => "safetensors",
        }
    }
}

/// Element type of a stored tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// IEEE binary32, little-endian.
    F32,
    /// IEEE binary64, little-endian.
    F64,
    /// Two's-complement 64-bit integer, little-endian (labels `y`; never a
    /// `--params-dtype`).
    #[value(skip)]
    I64,
}

impl Dtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F64 | Dtype::I64 => 8,
        }
    }
    /// The safetensors dtype string.
    pub fn safetensors_name(self) -> &'static str {
        match self {
            Dtype::F32 => "F32",
            Dtype::F64 => "F64",
            Dtype::I64 => "I64",
        }
    }
}

/// Name, element type and shape of one tensor to write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorSpec {
    /// Tensor name (`x1`, `level2.weight`, ...).
    pub name: String,
    /// Element type on disk.
    pub dtype: Dtype,
    /// Shape (C order).
    pub shape: Vec<usize>,
}

impl TensorSpec {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
    /// Bytes of data.
    pub fn data_len(&self) -> u64 {
        (self.numel() * self.dtype.size()) as u64
    }
}

/// The safetensors metadata key of a file's own checksum (module docs).
pub const CHECKSUM_KEY: &str = "checksum";
/// The checksum value before it is filled in: `crc32:` and eight zeros.
pub(crate) const CHECKSUM_BLANK: &str = "crc32:00000000";

/// Size and CRC-32 (IEEE) of a finished file, as recorded in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// File size in bytes.
    pub bytes: u64,
    /// CRC-32 of the whole file.
    pub crc32: u32,
}

impl FileDigest {
    /// Size and CRC-32 of the file at `path`, read in 1 MiB blocks.
    ///
    /// # Errors
    /// [`IoError::Os`] if the file cannot be read.
    pub fn of_file(path: &Path) -> Result<FileDigest, IoError> {
        let mut f = std::fs::File::open(path).map_err(IoError::os(path))?;
        digest_reader(&mut f).map_err(IoError::os(path))
    }
}

fn digest_reader(r: &mut impl Read) -> std::io::Result<FileDigest> {
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(FileDigest {
        bytes,
        crc32: hasher.finalize(),
    })
}

#[derive(Debug)]
struct Entry {
    spec: TensorSpec,
    /// Offset of the zip local header (npz only).
    header_offset: u64,
    /// Offset of the npy header (npz) or of the data (safetensors).
    member_offset: u64,
    /// Bytes before the raw data within the member (npy header; 0 for safetensors).
    prefix: Vec<u8>,
    written: u64,
    crc: crc32fast::Hasher,
    zip64: bool,
}

impl Entry {
    fn member_len(&self) -> u64 {
        self.prefix.len() as u64 + self.spec.data_len()
    }
    fn data_offset(&self) -> u64 {
        self.member_offset + self.prefix.len() as u64
    }
}

/// Streaming writer; see the module documentation.
#[derive(Debug)]
pub struct TensorWriter {
    file: AtomicFile,
    path: PathBuf,
    format: Format,
    entries: Vec<Entry>,
    /// Where the zip central directory starts (npz) or the file ends.
    end_of_data: u64,
    force_zip64: bool,
    /// The safetensors header (length and JSON), for the file's CRC.
    header: Vec<u8>,
    /// Where in `header` the eight hex digits of the file's own checksum go.
    checksum_at: Option<usize>,
    /// Reused buffer of encoded values.
    buf: Vec<u8>,
}

/// A completely written, synced file still under its temporary name, with
/// its size and CRC-32: [`Sealed::commit`] renames it into place, dropping it
/// removes it.
#[derive(Debug)]
pub struct Sealed {
    file: AtomicFile,
    digest: FileDigest,
}

impl Sealed {
    /// The finished file's size and CRC-32.
    pub fn digest(&self) -> FileDigest {
        self.digest
    }

    /// Renames the file to its destination and returns its digest.
    ///
    /// # Errors
    /// [`IoError::Os`] if the rename fails (the temporary file is removed).
    pub fn commit(self) -> Result<FileDigest, IoError> {
        self.file.commit()?;
        Ok(self.digest)
    }
}

const ZIP64_LIMIT: u64 = 0xFFFF_FFFF;
const DOS_DATE_1980_01_01: u16 = (1 << 5) | 1;

impl TensorWriter {
    /// Creates the file (under a temporary name) with room for every tensor.
    ///
    /// # Errors
    /// [`IoError::Invalid`] for duplicate or empty names, [`IoError::Os`] on I/O failure.
    pub fn create(
        path: &Path,
        format: Format,
        specs: Vec<TensorSpec>,
        metadata: &BTreeMap<String, String>,
    ) -> Result<TensorWriter, IoError> {
        Self::create_impl(path, format, specs, metadata, false)
    }

    /// As [`TensorWriter::create`], but writes ZIP64 records for every npz
    /// member (for testing readers on the ZIP64 path with small files).
    #[doc(hidden)]
    pub fn create_forcing_zip64(
        path: &Path,
        specs: Vec<TensorSpec>,
    ) -> Result<TensorWriter, IoError> {
        Self::create_impl(path, Format::Npz, specs, &BTreeMap::new(), true)
    }

    fn create_impl(
        path: &Path,
        format: Format,
        specs: Vec<TensorSpec>,
        metadata: &BTreeMap<String, String>,
        force_zip64: bool,
    ) -> Result<TensorWriter, IoError> {
        let mut seen = std::collections::BTreeSet::new();
        for s in &specs {
            if s.name.is_empty() || !seen.insert(s.name.clone()) {
                return Err(IoError::Invalid(format!(
                    "tensor names must be unique and non-empty, got `{}` twice or empty",
                    s.name
                )));
            }
        }
        let file = AtomicFile::create(path)?;
        let mut w = TensorWriter {
            file,
            path: path.to_path_buf(),
            format,
            entries: Vec::with_capacity(specs.len()),
            end_of_data: 0,
            force_zip64,
            header: Vec::new(),
            checksum_at: None,
            buf: Vec::new(),
        };
        match format {
            Format::Npz => w.layout_npz(specs)?,
            Format::Safetensors => w.layout_safetensors(specs, metadata)?,
        }
        Ok(w)
    }

    fn layout_npz(&mut self, specs: Vec<TensorSpec>) -> Result<(), IoError> {
        let mut offset = 0u64;
        for spec in specs {
            let prefix = super::npy::header(spec.dtype, &spec.shape);
            let name_len = spec.name.len() as u64 + 4;
            let member_len = prefix.len() as u64 + spec.data_len();
            let zip64 = self.force_zip64 || member_len >= ZIP64_LIMIT || offset >= ZIP64_LIMIT;
            let local_len = 30 + name_len + if zip64 { 20 } else { 0 };
            let mut crc = crc32fast::Hasher::new();
            crc.update(&prefix);
            self.entries.push(Entry {
                spec,
                header_offset: offset,
                member_offset: offset + local_len,
                prefix,
                written: 0,
                crc,
                zip64,
            });
            offset += local_len + member_len;
        }
        self.end_of_data = offset;
        // Local headers with a zero CRC (patched in `finish`) and npy headers.
        for i in 0..self.entries.len() {
            let header = self.local_header(i, 0);
            let (at, prefix) = (
                self.entries[i].header_offset,
                self.entries[i].prefix.clone(),
            );
            self.write_at(at, &header)?;
            self.write_at(self.entries[i].member_offset, &prefix)?;
        }
        Ok(())
    }

    fn layout_safetensors(
        &mut self,
        specs: Vec<TensorSpec>,
        metadata: &BTreeMap<String, String>,
    ) -> Result<(), IoError> {
        let mut header = serde_json::Map::new();
        if !metadata.is_empty() {
            let mut metadata = metadata.clone();
            if let Some(v) = metadata.get_mut(CHECKSUM_KEY) {
                *v = CHECKSUM_BLANK.to_string();
            }
            header.insert(
                "__metadata__".into(),
                serde_json::Value::Object(
                    metadata
                        .into_iter()
                        .map(|(k, v)| (k, serde_json::Value::String(v)))
                        .collect(),
                ),
            );
        }
        let mut offset = 0u64;
        for s in &specs {
            let end = offset + s.data_len();
            header.insert(
                s.name.clone(),
                serde_json::json!({
                    "dtype": s.dtype.safetensors_name(),
                    "shape": s.shape,
                    "data_offsets": [offset, end],
                }),
            );
            offset = end;
        }
        let mut json = serde_json::to_vec(&serde_json::Value::Object(header))
            .map_err(|e| IoError::Invalid(format!("safetensors header: {e}")))?;
        while json.len() % 8 != 0 {
            json.push(b' ');
        }
        let base = 8 + json.len() as u64;
        let mut prefix = (json.len() as u64).to_le_bytes().to_vec();
        prefix.extend_from_slice(&json);
        if metadata.contains_key(CHECKSUM_KEY) {
            self.checksum_at = Some(checksum_digits(&prefix).ok_or_else(|| {
                IoError::Invalid("internal: the checksum field is not in the header".into())
            })?);
        }
        self.write_at(0, &prefix)?;
        self.header = prefix;
        let mut offset = base;
        for spec in specs {
            let len = spec.data_len();
            self.entries.push(Entry {
                spec,
                header_offset: 0,
                member_offset: offset,
                prefix: Vec::new(),
                written: 0,
                crc: crc32fast::Hasher::new(),
                zip64: false,
            });
            offset += len;
        }
        self.end_of_data = offset;
        self.file
            .file()
            .set_len(offset)
            .map_err(IoError::os(self.file.tmp_path()))?;
        Ok(())
    }

    /// Index of the tensor called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.spec.name == name)
    }

    /// Appends `values` (converted to the tensor's dtype) to tensor `tensor`.
    ///
    /// # Errors
    /// [`IoError::Invalid`] if the tensor would overflow its declared shape,
    /// [`IoError::Os`] on I/O failure.
    pub fn append_f64(&mut self, tensor: usize, values: &[f64]) -> Result<(), IoError> {
        let e = self
            .entries
            .get(tensor)
            .ok_or_else(|| IoError::Invalid(format!("no tensor number {tensor}")))?;
        let dtype = e.spec.dtype;
        if e.written + (values.len() * dtype.size()) as u64 > e.spec.data_len() {
            return Err(IoError::Invalid(format!(
                "tensor `{}`: writing past its declared shape {:?}",
                e.spec.name, e.spec.shape
            )));
        }
        // In blocks that stay in cache between encoding, CRC and write.
        const BLOCK: usize = 1 << 15;
        let mut buf = std::mem::take(&mut self.buf);
        let mut r = Ok(());
        for block in values.chunks(BLOCK) {
            encode(block, dtype, &mut buf);
            r = self.append_bytes(tensor, &buf);
            if r.is_err() {
                break;
            }
        }
        self.buf = buf;
        r
    }

    /// Appends raw little-endian bytes to tensor `tensor`.
    ///
    /// # Errors
    /// As [`TensorWriter::append_f64`].
    pub fn append_bytes(&mut self, tensor: usize, bytes: &[u8]) -> Result<(), IoError> {
        let e = self
            .entries
            .get(tensor)
            .ok_or_else(|| IoError::Invalid(format!("no tensor number {tensor}")))?;
        if e.written + bytes.len() as u64 > e.spec.data_len() {
            return Err(IoError::Invalid(format!(
                "tensor `{}`: writing past its declared shape {:?}",
                e.spec.name, e.spec.shape
            )));
        }
        let at = e.data_offset() + e.written;
        self.write_at(at, bytes)?;
        let e = &mut self.entries[tensor];
        e.crc.update(bytes);
        e.written += bytes.len() as u64;
        Ok(())
    }

    /// Appends float32 values to tensor `tensor`, which must be float32:
    /// their little-endian bytes are written as they are (no conversion).
    ///
    /// # Errors
    /// As [`TensorWriter::append_f64`], and [`IoError::Invalid`] if the
    /// tensor is not float32.
    pub fn append_f32(&mut self, tensor: usize, values: &[f32]) -> Result<(), IoError> {
        if self.entries.get(tensor).map(|e| e.spec.dtype) != Some(Dtype::F32) {
            return Err(IoError::Invalid(format!(
                "tensor number {tensor} is not a float32 tensor"
            )));
        }
        #[cfg(target_endian = "little")]
        {
            // SAFETY: an f32 is 4 plain bytes, in little-endian order on this
            // target; the byte view covers exactly the values' memory.
            let bytes = unsafe {
                std::slice::from_raw_parts(
                    values.as_ptr().cast::<u8>(),
                    std::mem::size_of_val(values),
                )
            };
            self.append_bytes(tensor, bytes)
        }
        #[cfg(not(target_endian = "little"))]
        {
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            self.append_bytes(tensor, &bytes)
        }
    }

    /// Appends integers to tensor `tensor`, which must be int64.
    ///
    /// # Errors
    /// As [`TensorWriter::append_f64`], and [`IoError::Invalid`] if the
    /// tensor is not int64.
    pub fn append_i64(&mut self, tensor: usize, values: &[i64]) -> Result<(), IoError> {
        if self.entries.get(tensor).map(|e| e.spec.dtype) != Some(Dtype::I64) {
            return Err(IoError::Invalid(format!(
                "tensor number {tensor} is not an int64 tensor"
            )));
        }
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.append_bytes(tensor, &bytes)
    }

    /// Bytes written so far (headers excluded).
    pub fn bytes_written(&self) -> u64 {
        self.entries.iter().map(|e| e.written).sum()
    }

    /// A second handle on the temporary file, to sync it from another thread
    /// while writing goes on ([`std::fs::File::sync_data`] starts the
    /// write-back of what is written so far).
    ///
    /// # Errors
    /// [`IoError::Os`] if the handle cannot be duplicated.
    pub fn sync_handle(&self) -> Result<std::fs::File, IoError> {
        self.file
            .file()
            .try_clone()
            .map_err(IoError::os(self.file.tmp_path()))
    }

    fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<(), IoError> {
        write_all_at(self.file.file(), bytes, offset)
            .map_err(IoError::writing(self.file.tmp_path(), self.end_of_data))
    }

    fn local_header(&self, i: usize, crc: u32) -> Vec<u8> {
        let e = &self.entries[i];
        let name = format!("{}.npy", e.spec.name);
        let len = e.member_len();
        let mut h = Vec::with_capacity(50 + name.len());
        h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        h.extend_from_slice(&(if e.zip64 { 45u16 } else { 20u16 }).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes()); // flags
        h.extend_from_slice(&0u16.to_le_bytes()); // stored
        h.extend_from_slice(&0u16.to_le_bytes()); // time 00:00
        h.extend_from_slice(&DOS_DATE_1980_01_01.to_le_bytes());
        h.extend_from_slice(&crc.to_le_bytes());
        let small = if e.zip64 {
            ZIP64_LIMIT as u32
        } else {
            len as u32
        };
        h.extend_from_slice(&small.to_le_bytes());
        h.extend_from_slice(&small.to_le_bytes());
        h.extend_from_slice(&(name.len() as u16).to_le_bytes());
        h.extend_from_slice(&(if e.zip64 { 20u16 } else { 0u16 }).to_le_bytes());
        h.extend_from_slice(name.as_bytes());
        if e.zip64 {
            h.extend_from_slice(&1u16.to_le_bytes());
            h.extend_from_slice(&16u16.to_le_bytes());
            h.extend_from_slice(&len.to_le_bytes());
            h.extend_from_slice(&len.to_le_bytes());
        }
        h
    }

    fn central_directory(&self, crcs: &[u32]) -> Vec<u8> {
        let mut cd = Vec::new();
        for (e, &crc) in self.entries.iter().zip(crcs) {
            let name = format!("{}.npy", e.spec.name);
            let len = e.member_len();
            let off_big = self.force_zip64 || e.header_offset >= ZIP64_LIMIT;
            let mut extra = Vec::new();
            if e.zip64 {
                extra.extend_from_slice(&len.to_le_bytes());
                extra.extend_from_slice(&len.to_le_bytes());
            }
            if off_big {
                extra.extend_from_slice(&e.header_offset.to_le_bytes());
            }
            let extra_field = if extra.is_empty() {
                Vec::new()
            } else {
                let mut f = Vec::with_capacity(4 + extra.len());
                f.extend_from_slice(&1u16.to_le_bytes());
                f.extend_from_slice(&(extra.len() as u16).to_le_bytes());
                f.extend_from_slice(&extra);
                f
            };
            let version: u16 = if extra_field.is_empty() { 20 } else { 45 };
            cd.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            cd.extend_from_slice(&version.to_le_bytes()); // made by
            cd.extend_from_slice(&version.to_le_bytes()); // needed
            cd.extend_from_slice(&0u16.to_le_bytes());
            cd.extend_from_slice(&0u16.to_le_bytes());
            cd.extend_from_slice(&0u16.to_le_bytes());
            cd.extend_from_slice(&DOS_DATE_1980_01_01.to_le_bytes());
            cd.extend_from_slice(&crc.to_le_bytes());
            let small = if e.zip64 {
                ZIP64_LIMIT as u32
            } else {
                len as u32
            };
            cd.extend_from_slice(&small.to_le_bytes());
            cd.extend_from_slice(&small.to_le_bytes());
            cd.extend_from_slice(&(name.len() as u16).to_le_bytes());
            cd.extend_from_slice(&(extra_field.len() as u16).to_le_bytes());
            cd.extend_from_slice(&0u16.to_le_bytes()); // comment
            cd.extend_from_slice(&0u16.to_le_bytes()); // disk
            cd.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
            cd.extend_from_slice(&0u32.to_le_bytes()); // external attributes
            let off = if off_big {
                ZIP64_LIMIT as u32
            } else {
                e.header_offset as u32
            };
            cd.extend_from_slice(&off.to_le_bytes());
            cd.extend_from_slice(name.as_bytes());
            cd.extend_from_slice(&extra_field);
        }
        let cd_offset = self.end_of_data;
        let cd_len = cd.len() as u64;
        let count = self.entries.len() as u64;
        let need64 = self.force_zip64 || cd_offset >= ZIP64_LIMIT || count >= 0xFFFF;
        if need64 {
            let eocd64_offset = cd_offset + cd_len;
            cd.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
            cd.extend_from_slice(&44u64.to_le_bytes());
            cd.extend_from_slice(&45u16.to_le_bytes());
            cd.extend_from_slice(&45u16.to_le_bytes());
            cd.extend_from_slice(&0u32.to_le_bytes());
            cd.extend_from_slice(&0u32.to_le_bytes());
            cd.extend_from_slice(&count.to_le_bytes());
            cd.extend_from_slice(&count.to_le_bytes());
            cd.extend_from_slice(&cd_len.to_le_bytes());
            cd.extend_from_slice(&cd_offset.to_le_bytes());
            cd.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
            cd.extend_from_slice(&0u32.to_le_bytes());
            cd.extend_from_slice(&eocd64_offset.to_le_bytes());
            cd.extend_from_slice(&1u32.to_le_bytes());
        }
        let count16 = if need64 { 0xFFFF } else { count as u16 };
        cd.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        cd.extend_from_slice(&0u16.to_le_bytes());
        cd.extend_from_slice(&0u16.to_le_bytes());
        cd.extend_from_slice(&count16.to_le_bytes());
        cd.extend_from_slice(&count16.to_le_bytes());
        let len32 = if need64 {
            ZIP64_LIMIT as u32
        } else {
            cd_len as u32
        };
        let off32 = if need64 {
            ZIP64_LIMIT as u32
        } else {
            cd_offset as u32
        };
        cd.extend_from_slice(&len32.to_le_bytes());
        cd.extend_from_slice(&off32.to_le_bytes());
        cd.extend_from_slice(&0u16.to_le_bytes());
        cd
    }

    /// Completes the file (zip directory or nothing), syncs it, renames it into
    /// place and returns its size and CRC-32.
    ///
    /// # Errors
    /// [`IoError::Invalid`] if a tensor was not completely written; the
    /// destination is then untouched. [`IoError::Os`] on I/O failure.
    pub fn finish(self) -> Result<FileDigest, IoError> {
        self.seal()?.commit()
    }

    /// Completes and syncs the file but leaves it under its temporary name,
    /// so that several files can be put in place together.
    ///
    /// # Errors
    /// As [`TensorWriter::finish`].
    pub fn seal(self) -> Result<Sealed, IoError> {
        if let Some(e) = self.entries.iter().find(|e| e.written != e.spec.data_len()) {
            return Err(IoError::Invalid(format!(
                "{}: tensor `{}` got {} of its {} bytes",
                self.path.display(),
                e.spec.name,
                e.written,
                e.spec.data_len()
            )));
        }
        // The file is the concatenation of its regions, in order:
        // npz: (local header, member) per tensor, then the directory;
        // safetensors: the header, then each tensor's bytes.
        let mut whole = crc32fast::Hasher::new();
        let bytes = if self.format == Format::Npz {
            let crcs: Vec<u32> = self
                .entries
                .iter()
                .map(|e| e.crc.clone().finalize())
                .collect();
            for (i, &crc) in crcs.iter().enumerate() {
                let header = self.local_header(i, crc);
                self.write_at(self.entries[i].header_offset, &header)?;
                whole.update(&header);
                whole.combine(&self.entries[i].crc);
            }
            let cd = self.central_directory(&crcs);
            self.write_at(self.end_of_data, &cd)?;
            whole.update(&cd);
            self.end_of_data + cd.len() as u64
        } else {
            let mut header = self.header.clone();
            if let Some(at) = self.checksum_at {
                // The CRC with the digits blank, then the digits filled in.
                let mut blank = crc32fast::Hasher::new();
                blank.update(&header);
                for e in &self.entries {
                    blank.combine(&e.crc);
                }
                let hex = format!("{:08x}", blank.finalize());
                header[at..at + 8].copy_from_slice(hex.as_bytes());
                self.write_at(0, &header)?;
            }
            whole.update(&header);
            for e in &self.entries {
                whole.combine(&e.crc);
            }
            self.end_of_data
        };
        let mut file = self.file;
        file.sync()?;
        Ok(Sealed {
            file,
            digest: FileDigest {
                bytes,
                crc32: whole.finalize(),
            },
        })
    }
}

/// Offset in `header` (length prefix and JSON of a safetensors file) of the
/// eight hex digits of its own checksum: the JSON text `"checksum":"crc32:`
/// can occur only once, as the key (a string value holding it would have its
/// quotes escaped).
pub(crate) fn checksum_digits(header: &[u8]) -> Option<usize> {
    let pat = format!("\"{CHECKSUM_KEY}\":\"crc32:");
    let pat = pat.as_bytes();
    header
        .windows(pat.len())
        .position(|w| w == pat)
        .map(|i| i + pat.len())
        .filter(|&at| at + 8 <= header.len())
}

/// `values` converted to `dtype`, little-endian, into `buf` (resized).
fn encode(values: &[f64], dtype: Dtype, buf: &mut Vec<u8>) {
    buf.clear();
    buf.resize(values.len() * dtype.size(), 0);
    match dtype {
        Dtype::F32 => {
            for (dst, &v) in buf.chunks_exact_mut(4).zip(values) {
                dst.copy_from_slice(&(v as f32).to_le_bytes());
            }
        }
        Dtype::F64 => {
            for (dst, &v) in buf.chunks_exact_mut(8).zip(values) {
                dst.copy_from_slice(&v.to_le_bytes());
            }
        }
        Dtype::I64 => {
            for (dst, &v) in buf.chunks_exact_mut(8).zip(values) {
                dst.copy_from_slice(&(v as i64).to_le_bytes());
            }
        }
    }
}

/// Writes all of `bytes` at `offset` (positioned write; the file's cursor is
/// not used, so several regions can be written without seeking).
#[cfg(unix)]
fn write_all_at(file: &std::fs::File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

#[cfg(not(unix))]
fn write_all_at(mut file: &std::fs::File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(bytes)
}
