//! The NPY v1.0 header (NumPy's `.npy` format): magic `\x93NUMPY`, version
//! `1.0`, a little-endian `u16` header length, and a Python dict literal
//! padded with spaces and a final newline so the data starts on a 64-byte boundary:
//! [`header`] writes it; [`header_len`], [`parse_header`] and [`read_data`]
//! read any version (1.0 to 3.0), checking the declared shape and dtype
//! before a byte of data is allocated.

use super::reader::Tensor;
use super::writer::Dtype;

/// The full header (magic to newline) for a C-order array of `shape`.
pub fn header(dtype: Dtype, shape: &[usize]) -> Vec<u8> {
    let descr = match dtype {
        Dtype::F32 => "<f4",
        Dtype::F64 => "<f8",
        Dtype::I64 => "<i8",
    };
    let dims = match shape {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    let unpadded = 10 + dict.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    dict.extend(std::iter::repeat_n(' ', pad));
    dict.push('\n');
    let mut out = Vec::with_capacity(10 + dict.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

/// The most bytes an NPY header (magic to newline) may have. NumPy writes
/// headers of a few hundred bytes (and by default refuses to read ones over
/// 10 000); a larger length field is damage, refused before it is read.
pub const MAX_HEADER_BYTES: usize = 1 << 16;

/// Bytes of the fixed prefix of any NPY version: the magic, the version and
/// the longest length field (4 bytes, versions 2 and 3).
pub const PREFIX_BYTES: usize = 12;

/// A parsed NPY header: element type, byte order, layout and shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// The element type (float32, float64 or int64).
    pub dtype: Dtype,
    /// Whether the data are big-endian (`'>'` in the descriptor).
    pub big_endian: bool,
    /// Whether the data are in Fortran (column-major) order.
    pub fortran_order: bool,
    /// The declared shape.
    pub shape: Vec<usize>,
    /// Bytes of the header, magic to newline: where the data start.
    pub data_offset: usize,
}

impl NpyHeader {
    /// The number of elements the shape declares, `None` if it overflows `u64`.
    pub fn elements(&self) -> Option<u64> {
        self.shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
    }
    /// The bytes of data the shape and dtype declare (`elements x size`),
    /// `None` if that overflows `u64`.
    pub fn data_bytes(&self) -> Option<u64> {
        self.elements()?.checked_mul(self.dtype.size() as u64)
    }
    /// The shape and dtype as words for messages, e.g. `shape (2, 3) of float32`.
    pub fn describe(&self) -> String {
        let dims: Vec<String> = self.shape.iter().map(usize::to_string).collect();
        let name = match self.dtype {
            Dtype::F32 => "float32",
            Dtype::F64 => "float64",
            Dtype::I64 => "int64",
        };
        format!("shape ({}) of {name}", dims.join(", "))
    }
}

/// The total header length (magic to newline) from the first
/// [`PREFIX_BYTES`] bytes (fewer if the file is shorter) of an NPY array.
///
/// # Errors
/// A reason if the bytes are not an NPY magic and version 1, 2 or 3, or the
/// declared header length exceeds [`MAX_HEADER_BYTES`].
pub fn header_len(prefix: &[u8]) -> Result<usize, String> {
    if prefix.len() < 10 || &prefix[..6] != b"\x93NUMPY" {
        return Err("not an .npy array: it does not start with the NPY magic `\\x93NUMPY`".into());
    }
    let (len, fixed) = match prefix[6] {
        1 => (u16::from_le_bytes([prefix[8], prefix[9]]) as usize, 10),
        2 | 3 if prefix.len() >= 12 => (
            u32::from_le_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]) as usize,
            12,
        ),
        2 | 3 => return Err("truncated .npy header".into()),
        v => {
            return Err(format!(
                "NPY format version {v}.{} is not one of 1.0, 2.0, 3.0",
                prefix[7]
            ));
        }
    };
    if len > MAX_HEADER_BYTES {
        return Err(format!(
            "the .npy header declares {len} bytes; headers are at most {MAX_HEADER_BYTES} bytes (NumPy writes a few hundred): the file is damaged"
        ));
    }
    Ok(fixed + len)
}

/// Parses a whole NPY header (`header_len(..)` bytes, magic to newline).
///
/// Accepts the descriptors `<f4 >f4 <f8 >f8 <i8 >i8` (`=`/`|` read as the
/// little-endian order every machine fsrgan runs on writes), `fortran_order`
/// `True` or `False`, and a shape tuple of non-negative integers.
///
/// # Errors
/// A reason naming what is wrong: an unreadable dictionary, a missing key,
/// or a dtype other than float32, float64 and int64 (with how to convert).
pub fn parse_header(bytes: &[u8]) -> Result<NpyHeader, String> {
    let total = header_len(bytes)?;
    let fixed = if bytes[6] == 1 { 10 } else { 12 };
    let text = bytes
        .get(fixed..total)
        .ok_or_else(|| "truncated .npy header".to_string())?;
    let text = std::str::from_utf8(text).map_err(|_| "the .npy header is not text".to_string())?;
    let dict =
        parse_dict(text).map_err(|e| format!("unreadable .npy header `{}`: {e}", text.trim()))?;
    let mut descr = None;
    let mut fortran = None;
    let mut shape = None;
    for (key, value) in dict {
        match (key.as_str(), value) {
            ("descr", Value::Str(s)) => descr = Some(s),
            ("descr", _) => {
                return Err(
                    "the .npy array has a structured dtype; fsrgan reads plain float32/float64 arrays (and int64 labels)"
                        .into(),
                );
            }
            ("fortran_order", Value::Bool(b)) => fortran = Some(b),
            ("shape", Value::Tuple(t)) => shape = Some(t),
            (k, _) => return Err(format!("unexpected value of `{k}` in the .npy header")),
        }
    }
    let descr = descr.ok_or("the .npy header has no `descr`")?;
    let fortran_order = fortran.ok_or("the .npy header has no `fortran_order`")?;
    let shape = shape.ok_or("the .npy header has no `shape`")?;
    let (order, code) = match descr.as_bytes().first() {
        Some(b'<' | b'>' | b'=' | b'|') => (descr.as_bytes()[0], &descr[1..]),
        _ => (b'=', descr.as_str()),
    };
    let dtype = match code {
        "f4" => Dtype::F32,
        "f8" => Dtype::F64,
        "i8" => Dtype::I64,
        other => {
            let name = match other {
                "f2" | "e" => "float16",
                "f16" | "g" => "long double",
                "i1" | "b" => "int8",
                "i2" | "h" => "int16",
                "i4" | "i" => "int32",
                "u1" | "B" => "uint8",
                "u2" | "H" => "uint16",
                "u4" | "I" => "uint32",
                "u8" | "L" | "Q" => "uint64",
                "b1" | "?" => "bool",
                "c8" | "c16" => "complex",
                _ => "an unsupported type",
            };
            return Err(format!(
                "dtype '{descr}' ({name}) is not supported: fsrgan reads float32/float64 arrays (and int64 labels); convert it with `a.astype(np.float32)`"
            ));
        }
    };
    Ok(NpyHeader {
        dtype,
        big_endian: order == b'>',
        fortran_order,
        shape,
        data_offset: total,
    })
}

/// A value of the header's Python literal.
enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
    Other,
}

/// The `{'key': value, ...}` literal of an NPY header (values: strings,
/// `True`/`False`, tuples of integers; anything else is [`Value::Other`]).
fn parse_dict(text: &str) -> Result<Vec<(String, Value)>, String> {
    let mut p = Lexer {
        s: text.trim().as_bytes(),
        at: 0,
    };
    p.expect(b'{')?;
    let mut out = Vec::new();
    loop {
        p.skip_ws();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.skip_ws();
        p.expect(b':')?;
        p.skip_ws();
        let value = p.value()?;
        out.push((key, value));
        p.skip_ws();
        if !p.eat(b',') {
            p.skip_ws();
            p.expect(b'}')?;
            break;
        }
    }
    p.skip_ws();
    if p.at != p.s.len() {
        return Err("text after the dictionary".into());
    }
    Ok(out)
}

struct Lexer<'a> {
    s: &'a [u8],
    at: usize,
}

impl Lexer<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.s.get(self.at) == Some(&c) {
            self.at += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{}` at byte {}", c as char, self.at))
        }
    }
    fn string(&mut self) -> Result<String, String> {
        let quote = match self.s.get(self.at) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return Err(format!("expected a quoted string at byte {}", self.at)),
        };
        self.at += 1;
        let start = self.at;
        while let Some(&c) = self.s.get(self.at) {
            if c == quote {
                let s = String::from_utf8_lossy(&self.s[start..self.at]).into_owned();
                self.at += 1;
                return Ok(s);
            }
            self.at += 1;
        }
        Err("unterminated string".into())
    }
    fn word(&mut self) -> &[u8] {
        let start = self.at;
        while self
            .s
            .get(self.at)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.at += 1;
        }
        &self.s[start..self.at]
    }
    fn value(&mut self) -> Result<Value, String> {
        match self.s.get(self.at) {
            Some(b'\'' | b'"') => Ok(Value::Str(self.string()?)),
            Some(b'(') => {
                self.at += 1;
                let mut dims = Vec::new();
                loop {
                    self.skip_ws();
                    if self.eat(b')') {
                        break;
                    }
                    let w = self.word();
                    let w = std::str::from_utf8(w).unwrap_or("");
                    // `10L` (Python 2) is an integer too.
                    let digits = w.strip_suffix('L').unwrap_or(w);
                    let d = digits.parse::<usize>().map_err(|_| {
                        format!(
                            "shape entry `{w}` is not a non-negative integer that fits in 64 bits"
                        )
                    })?;
                    dims.push(d);
                    self.skip_ws();
                    if !self.eat(b',') {
                        self.skip_ws();
                        self.expect(b')')?;
                        break;
                    }
                }
                Ok(Value::Tuple(dims))
            }
            Some(b'[') | Some(b'{') => {
                // A structured dtype's list (or a nested dict): skip it.
                let (open, close) = if self.s[self.at] == b'[' {
                    (b'[', b']')
                } else {
                    (b'{', b'}')
                };
                let mut depth = 0usize;
                while let Some(&c) = self.s.get(self.at) {
                    self.at += 1;
                    if c == open {
                        depth += 1;
                    } else if c == close {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(Value::Other);
                        }
                    }
                }
                Err("unterminated list".into())
            }
            _ => match self.word() {
                b"True" => Ok(Value::Bool(true)),
                b"False" => Ok(Value::Bool(false)),
                b"" => Err(format!("unexpected character at byte {}", self.at)),
                _ => Ok(Value::Other),
            },
        }
    }
}

/// Why [`read_data`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataError {
    /// The data are shorter than the header declares, or unreadable.
    Bad(String),
    /// The array's memory (this many bytes) could not be allocated.
    Memory(u64),
}

/// Reads the data of `header` from `r` (exactly [`NpyHeader::data_bytes`]
/// bytes) into a [`Tensor`] in C order. The caller has checked the byte
/// count against the file; the memory is reserved with `try_reserve_exact`,
/// so an array that does not fit is [`DataError::Memory`], not an abort.
///
/// # Errors
/// [`DataError::Bad`] if `r` ends early or fails, [`DataError::Memory`] if
/// the array cannot be allocated.
pub fn read_data(header: &NpyHeader, r: &mut impl std::io::Read) -> Result<Tensor, DataError> {
    let count = header
        .elements()
        .and_then(|c| usize::try_from(c).ok())
        .ok_or(DataError::Memory(u64::MAX))?;
    let be = header.big_endian;
    let tensor = match header.dtype {
        Dtype::F32 => Tensor::F32(shaped(
            header,
            decode(r, count, |b: [u8; 4]| {
                if be {
                    f32::from_be_bytes(b)
                } else {
                    f32::from_le_bytes(b)
                }
            })?,
        )?),
        Dtype::F64 => Tensor::F64(shaped(
            header,
            decode(r, count, |b: [u8; 8]| {
                if be {
                    f64::from_be_bytes(b)
                } else {
                    f64::from_le_bytes(b)
                }
            })?,
        )?),
        Dtype::I64 => Tensor::I64(shaped(
            header,
            decode(r, count, |b: [u8; 8]| {
                if be {
                    i64::from_be_bytes(b)
                } else {
                    i64::from_le_bytes(b)
                }
            })?,
        )?),
    };
    Ok(tensor)
}

/// `count` values of `N` bytes each from `r`, converted by `f`, in blocks.
fn decode<T, const N: usize>(
    r: &mut impl std::io::Read,
    count: usize,
    f: impl Fn([u8; N]) -> T,
) -> Result<Vec<T>, DataError> {
    let mut out: Vec<T> = Vec::new();
    out.try_reserve_exact(count)
        .map_err(|_| DataError::Memory((count as u64).saturating_mul(N as u64)))?;
    let mut buf = vec![0u8; N * 8192];
    let mut left = count;
    while left > 0 {
        let take = left.min(8192);
        let block = &mut buf[..take * N];
        r.read_exact(block).map_err(|e| {
            DataError::Bad(if e.kind() == std::io::ErrorKind::UnexpectedEof {
                format!(
                    "truncated: the header declares {count} elements but the data end after about {}",
                    count - left
                )
            } else {
                e.to_string()
            })
        })?;
        out.extend(block.chunks_exact(N).map(|c| {
            let mut a = [0u8; N];
            a.copy_from_slice(c);
            f(a)
        }));
        left -= take;
    }
    Ok(out)
}

/// `v` as an array of the header's shape, in C order.
fn shaped<T: Clone>(header: &NpyHeader, v: Vec<T>) -> Result<ndarray::ArrayD<T>, DataError> {
    use ndarray::ShapeBuilder;
    let dims = ndarray::IxDyn(&header.shape);
    let bad = |e: ndarray::ShapeError| DataError::Bad(format!("shape: {e}"));
    if header.fortran_order {
        let a = ndarray::ArrayD::from_shape_vec(dims.f(), v).map_err(bad)?;
        Ok(a.as_standard_layout().into_owned())
    } else {
        ndarray::ArrayD::from_shape_vec(dims, v).map_err(bad)
    }
}
