//! `.npy` / `.npz` reading and writing of host tensors (numpy's formats).
//!
//! Reading accepts the dtypes gradlift has — `f4 f8 i4 i8 b1`, either byte
//! order — in C or Fortran order (Fortran data is reordered to row-major),
//! format versions 1.0, 2.0 and 3.0, 0-d and size-0 arrays, and stored or
//! deflated `.npz` archives. Anything else (other dtypes, pickled objects,
//! structured records, corrupt or truncated files) is an
//! [`IrError::Io`] naming the file and the problem; nothing here panics on
//! file contents.
//!
//! Writing produces what `numpy.save` / `numpy.savez` produce: little-endian,
//! C order, format 1.0, uncompressed archives.
//!
//! The format work is done by the `npyz` crate (header parsing and writing,
//! `.npz` archives through `zip`); this module adds gradlift's dtype mapping,
//! the Fortran-order reordering and the guards that turn hostile headers into
//! errors.
//!
//! ```
//! use gradlift_ir::{npy, Tensor};
//!
//! let t = Tensor::from_vec([2, 2], vec![1.0f64, 2.0, 3.0, 4.0])?;
//! let bytes = npy::write_npy_bytes(&t)?;
//! assert_eq!(npy::read_npy_bytes(&bytes)?, t);
//! # Ok::<(), gradlift_ir::IrError>(())
//! ```

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Cursor, Read, Seek, Write};
use std::path::Path;

use npyz::npz::{NpzArchive, NpzWriter};
use npyz::{Endianness, NpyHeader, Order, TypeChar, WriterBuilder};

use crate::dtype::DType;
use crate::error::IrError;
use crate::tensor::{Data, Tensor};
use crate::types::{checked_product, Shape};

/// The name errors use for in-memory data.
const IN_MEMORY: &str = "<in-memory .npy>";
const IN_MEMORY_NPZ: &str = "<in-memory .npz>";

/// Longest header accepted (numpy itself refuses headers over 10 000 bytes
/// by default); bounds what a corrupt length field can make us allocate.
const MAX_HEADER_LEN: usize = 1 << 20;

/// Deepest bracket nesting accepted in a header. A plain array's header
/// nests two deep; the bound keeps the recursive literal parser in `npyz`
/// far from the stack limit on hostile input.
const MAX_HEADER_DEPTH: usize = 16;

/// Reads a tensor from an `.npy` file.
pub fn read_npy(path: impl AsRef<Path>) -> Result<Tensor, IrError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| io_err(path, format!("cannot open: {e}")))?;
    read_npy_stream(BufReader::new(file)).map_err(|msg| io_err(path, msg))
}

/// Reads a tensor from the bytes of an `.npy` file.
pub fn read_npy_bytes(bytes: &[u8]) -> Result<Tensor, IrError> {
    read_npy_stream(bytes).map_err(|msg| io_err(IN_MEMORY, msg))
}

/// Writes a tensor to an `.npy` file (little-endian, C order), replacing
/// any file at `path`.
pub fn write_npy(path: impl AsRef<Path>, tensor: &Tensor) -> Result<(), IrError> {
    let path = path.as_ref();
    let fail = |e: io::Error| io_err(path, format!("cannot write: {e}"));
    let mut out = BufWriter::new(File::create(path).map_err(fail)?);
    write_npy_stream(&mut out, tensor).map_err(fail)?;
    out.flush().map_err(fail)
}

/// The bytes of an `.npy` file holding `tensor`.
pub fn write_npy_bytes(tensor: &Tensor) -> Result<Vec<u8>, IrError> {
    let mut out = Vec::with_capacity(128 + tensor.len() * tensor.dtype().size_bytes());
    write_npy_stream(&mut out, tensor).map_err(|e| io_err(IN_MEMORY, e.to_string()))?;
    Ok(out)
}

/// Reads every array of an `.npz` archive, in archive order, keyed by
/// member name without the `.npy` suffix (what `numpy.load(path).files`
/// lists).
pub fn read_npz(path: impl AsRef<Path>) -> Result<Vec<(String, Tensor)>, IrError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| io_err(path, format!("cannot open: {e}")))?;
    read_npz_stream(BufReader::new(file)).map_err(|msg| io_err(path, msg))
}

/// [`read_npz`] as a map from key to tensor.
pub fn read_npz_map(path: impl AsRef<Path>) -> Result<BTreeMap<String, Tensor>, IrError> {
    Ok(read_npz(path)?.into_iter().collect())
}

/// Reads every array of the bytes of an `.npz` archive (see [`read_npz`]).
pub fn read_npz_bytes(bytes: &[u8]) -> Result<Vec<(String, Tensor)>, IrError> {
    read_npz_stream(Cursor::new(bytes)).map_err(|msg| io_err(IN_MEMORY_NPZ, msg))
}

/// Writes named tensors to an uncompressed `.npz` archive, like
/// `numpy.savez(path, **arrays)`, replacing any file at `path`. Keys must
/// be distinct and non-empty.
pub fn write_npz(path: impl AsRef<Path>, arrays: &[(&str, &Tensor)]) -> Result<(), IrError> {
    let path = path.as_ref();
    check_keys(arrays).map_err(|msg| io_err(path, msg))?;
    let fail = |e: io::Error| io_err(path, format!("cannot write: {e}"));
    let file = File::create(path).map_err(fail)?;
    let mut out = write_npz_stream(BufWriter::new(file), arrays).map_err(fail)?;
    out.flush().map_err(fail)
}

/// The bytes of an uncompressed `.npz` archive (see [`write_npz`]).
pub fn write_npz_bytes(arrays: &[(&str, &Tensor)]) -> Result<Vec<u8>, IrError> {
    check_keys(arrays).map_err(|msg| io_err(IN_MEMORY_NPZ, msg))?;
    let out = write_npz_stream(Cursor::new(Vec::new()), arrays)
        .map_err(|e| io_err(IN_MEMORY_NPZ, e.to_string()))?;
    Ok(out.into_inner())
}

fn io_err(path: impl AsRef<Path>, msg: String) -> IrError {
    IrError::Io { path: path.as_ref().display().to_string(), msg }
}

// ---------------------------------------------------------------- reading

/// Reads one `.npy` stream; the error is a message without the file name.
fn read_npy_stream(mut r: impl Read) -> Result<Tensor, String> {
    let header = read_header(&mut r)?;
    let (dtype, endian) = element_type(&header)?;
    let dims = header
        .shape()
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<usize>, _>>()
        .map_err(|_| format!("shape {:?} does not fit in memory", header.shape()))?;
    let shape = Shape::new(&dims);
    let n = shape.num_elements().map_err(|e| e.to_string())?;
    // checked_product bounds n * 8 bytes, so this cannot overflow.
    let n_bytes = n * dtype.size_bytes();
    let mut raw = Vec::new();
    r.take(n_bytes as u64).read_to_end(&mut raw).map_err(|e| format!("cannot read data: {e}"))?;
    if raw.len() < n_bytes {
        return Err(format!(
            "truncated data: the header promises {dtype}{shape} ({n_bytes} bytes) but only {} bytes follow",
            raw.len()
        ));
    }
    let mut data = decode(dtype, endian, &raw);
    if header.order() == Order::Fortran && dims.len() > 1 {
        data = fortran_to_c(data, &dims);
    }
    Tensor::new(shape, data).map_err(|e| e.to_string())
}

/// Reads the preamble and header, checks it is safe to hand to `npyz`, and
/// lets `npyz` interpret it. Leaves `r` at the first data byte.
fn read_header(r: &mut impl Read) -> Result<NpyHeader, String> {
    let mut preamble = [0u8; 12];
    read_exactly(r, &mut preamble[..8], "not an .npy file: too short for the magic string")?;
    if &preamble[..6] != b"\x93NUMPY" {
        return Err("not an .npy file: bad magic string".into());
    }
    let len_bytes = match (preamble[6], preamble[7]) {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        (major, minor) => return Err(format!("unsupported .npy format version {major}.{minor}")),
    };
    let preamble = &mut preamble[..8 + len_bytes];
    read_exactly(r, &mut preamble[8..], "truncated header")?;
    let mut len = [0u8; 4];
    len[..len_bytes].copy_from_slice(&preamble[8..]);
    let header_len = u32::from_le_bytes(len) as usize;
    if header_len > MAX_HEADER_LEN {
        return Err(format!("header of {header_len} bytes is implausibly long"));
    }
    let mut bytes = preamble.to_vec();
    r.take(header_len as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read header: {e}"))?;
    if bytes.len() < preamble.len() + header_len {
        return Err("truncated header".into());
    }
    check_header_text(&bytes[preamble.len()..])?;
    NpyHeader::from_reader(&bytes[..]).map_err(|e| explain_bad_header(&bytes[preamble.len()..], e))
}

fn read_exactly(r: &mut impl Read, buf: &mut [u8], what: &str) -> Result<(), String> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => what.to_string(),
        _ => format!("cannot read: {e}"),
    })
}

/// Rejects headers that `npyz` would mishandle: bracket nesting deep enough
/// to matter to a recursive parser, and shapes whose element count
/// overflows (npyz multiplies dimensions unchecked, and panics).
///
/// The shape check reads the `'shape'` tuple itself, strictly (decimal
/// integers only), and must see every shape `npyz` could: so escape
/// sequences, which could spell a key `npyz` would see and this scan would
/// not, are refused (numpy never writes them for the dtypes we read).
fn check_header_text(text: &[u8]) -> Result<(), String> {
    let mut depth = 0usize;
    for &b in text {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_HEADER_DEPTH {
                    return Err("bad header: nested too deeply".into());
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'\\' => return Err("bad header: escape sequences are not supported".into()),
            _ => {}
        }
    }
    let text = String::from_utf8_lossy(text);
    let shapes = values_of_key(&text, "shape");
    if shapes.is_empty() {
        return Err("bad header: no 'shape' key".into());
    }
    for value in shapes {
        let dims = parse_shape(value)?;
        // Zero-sized dimensions do not stop npyz's stride products overflowing.
        let nonzero: Vec<usize> =
            dims.iter().map(|&d| usize::try_from(d.max(1)).unwrap_or(usize::MAX)).collect();
        if checked_product(&nonzero).is_none() {
            return Err(format!("shape {dims:?} has too many elements"));
        }
    }
    Ok(())
}

/// The text after each `'key':` in a header, in order.
fn values_of_key<'t>(text: &'t str, key: &str) -> Vec<&'t str> {
    let mut values = Vec::new();
    let mut rest = text;
    // The key is the quoted word followed by a colon (a record field named
    // like a key inside 'descr' is followed by a comma instead).
    while let Some(at) = rest.find(key) {
        let quoted = at > 0 && matches!(rest.as_bytes()[at - 1], b'\'' | b'"');
        let tail = &rest[at + key.len()..];
        if quoted {
            if let Some(value) =
                tail.strip_prefix(['\'', '"']).and_then(|t| t.trim_start().strip_prefix(':'))
            {
                values.push(value.trim_start());
            }
        }
        rest = tail;
    }
    values
}

/// The dimensions of a `(d0, d1, ...)` shape literal at the start of `value`.
fn parse_shape(value: &str) -> Result<Vec<u64>, String> {
    let inner = value.strip_prefix(['(', '[']).ok_or("bad header: 'shape' is not a tuple")?;
    let end = inner.find([')', ']']).ok_or("bad header: unterminated 'shape' tuple")?;
    inner[..end]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u64>().map_err(|_| format!("bad header: shape entry '{s}'")))
        .collect()
}

/// Explains a header `npyz` rejected: most often a dtype string it does not
/// know (pickled objects are `|O`), which deserves the unsupported-dtype
/// message rather than a parser error.
fn explain_bad_header(bytes: &[u8], npyz_error: io::Error) -> String {
    let text = String::from_utf8_lossy(bytes);
    let descr = values_of_key(&text, "descr").first().and_then(|v| {
        let quote = v.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
        let body = &v[1..];
        body.find(quote).map(|end| &body[..end])
    });
    match descr {
        Some(descr) if descr.trim_start_matches(['<', '>', '|', '=']).starts_with('O') => {
            format!("unsupported dtype '{descr}' (Python objects): {SUPPORTED}")
        }
        _ => format!("bad header: {npyz_error}"),
    }
}

/// What every unsupported-dtype message ends with.
const SUPPORTED: &str =
    "gradlift reads f4, f8, i4, i8 and b1 (convert with .astype() before saving)";

/// The gradlift dtype and byte order of a header's element type.
fn element_type(header: &NpyHeader) -> Result<(DType, Endianness), String> {
    let npy_dtype = header.dtype();
    let npyz::DType::Plain(ty) = &npy_dtype else {
        return Err(format!(
            "unsupported dtype {}: structured arrays are not supported; {SUPPORTED}",
            npy_dtype.descr()
        ));
    };
    let dtype = match (ty.type_char(), ty.size_field()) {
        (TypeChar::Float, 4) => Some(DType::F32),
        (TypeChar::Float, 8) => Some(DType::F64),
        (TypeChar::Int, 4) => Some(DType::I32),
        (TypeChar::Int, 8) => Some(DType::I64),
        (TypeChar::Bool, 1) => Some(DType::Bool),
        _ => None,
    };
    match dtype {
        Some(dtype) => Ok((dtype, ty.endianness())),
        None => Err(format!(
            "unsupported dtype '{ty}'{}: {SUPPORTED}",
            numpy_name(ty.type_char(), ty.size_field())
                .map(|name| format!(" ({name})"))
                .unwrap_or_default()
        )),
    }
}

/// numpy's name for a dtype, for error messages.
fn numpy_name(kind: TypeChar, size: u64) -> Option<String> {
    let name = match kind {
        TypeChar::Bool => "bool".to_string(),
        TypeChar::Int => format!("int{}", size * 8),
        TypeChar::Uint => format!("uint{}", size * 8),
        TypeChar::Float => format!("float{}", size * 8),
        TypeChar::Complex => format!("complex{}", size * 8),
        TypeChar::TimeDelta => "timedelta64".to_string(),
        TypeChar::DateTime => "datetime64".to_string(),
        TypeChar::ByteStr => "bytes".to_string(),
        TypeChar::UnicodeStr => "str".to_string(),
        TypeChar::RawData => "void".to_string(),
        _ => return None,
    };
    Some(name)
}

/// Decodes raw element bytes (exactly `len * size` of them).
fn decode(dtype: DType, endian: Endianness, raw: &[u8]) -> Data {
    let big = endian == Endianness::Big;
    match dtype {
        DType::F32 => Data::F32(words(raw, big, f32::from_le_bytes, f32::from_be_bytes)),
        DType::F64 => Data::F64(words(raw, big, f64::from_le_bytes, f64::from_be_bytes)),
        DType::I32 => Data::I32(words(raw, big, i32::from_le_bytes, i32::from_be_bytes)),
        DType::I64 => Data::I64(words(raw, big, i64::from_le_bytes, i64::from_be_bytes)),
        // numpy writes 0 and 1; any other byte is truthy, as numpy reads it.
        DType::Bool => Data::Bool(raw.iter().map(|&b| b != 0).collect()),
    }
}

fn words<const N: usize, T>(
    raw: &[u8],
    big: bool,
    from_le: fn([u8; N]) -> T,
    from_be: fn([u8; N]) -> T,
) -> Vec<T> {
    let convert = if big { from_be } else { from_le };
    raw.chunks_exact(N)
        .map(|chunk| {
            let mut word = [0u8; N];
            word.copy_from_slice(chunk);
            convert(word)
        })
        .collect()
}

/// Reorders column-major (Fortran) data of shape `dims` to row-major.
fn fortran_to_c(data: Data, dims: &[usize]) -> Data {
    match data {
        Data::F32(v) => Data::F32(reorder(&v, dims)),
        Data::F64(v) => Data::F64(reorder(&v, dims)),
        Data::I32(v) => Data::I32(reorder(&v, dims)),
        Data::I64(v) => Data::I64(reorder(&v, dims)),
        Data::Bool(v) => Data::Bool(reorder(&v, dims)),
    }
}

fn reorder<T: Copy>(src: &[T], dims: &[usize]) -> Vec<T> {
    let rank = dims.len();
    // Column-major strides: axis 0 is contiguous.
    let mut strides = vec![1usize; rank];
    for k in 1..rank {
        strides[k] = strides[k - 1] * dims[k - 1];
    }
    let mut index = vec![0usize; rank];
    let mut offset = 0usize;
    let mut out = Vec::with_capacity(src.len());
    for _ in 0..src.len() {
        out.push(src[offset]);
        // Step the row-major multi-index (last axis fastest).
        for k in (0..rank).rev() {
            index[k] += 1;
            offset += strides[k];
            if index[k] < dims[k] {
                break;
            }
            offset -= strides[k] * dims[k];
            index[k] = 0;
        }
    }
    out
}

fn read_npz_stream(r: impl Read + Seek) -> Result<Vec<(String, Tensor)>, String> {
    let mut archive =
        NpzArchive::new(r).map_err(|e| format!("not a valid .npz (zip) archive: {e}"))?;
    let zip = archive.zip_archive();
    let mut arrays: Vec<(String, Tensor)> = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let entry = zip.by_index(i).map_err(|e| format!("archive member #{i}: {e}"))?;
        if entry.is_dir() {
            continue;
        }
        let member = entry.name().to_string();
        let key = npyz::npz::array_name_from_file_name(&member).unwrap_or(&member).to_string();
        if arrays.iter().any(|(k, _)| *k == key) {
            return Err(format!("array '{key}' appears twice in the archive"));
        }
        let tensor = read_npy_stream(entry).map_err(|msg| format!("array '{key}': {msg}"))?;
        arrays.push((key, tensor));
    }
    Ok(arrays)
}

// ---------------------------------------------------------------- writing

fn write_npy_stream(w: impl Write, tensor: &Tensor) -> io::Result<()> {
    let shape: Vec<u64> = tensor.dims().iter().map(|&d| d as u64).collect();
    macro_rules! write_as {
        ($t:ty, $values:expr, $descr:literal) => {{
            let ty: npyz::TypeStr = $descr
                .parse()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{e}")))?;
            let mut writer = npyz::WriteOptions::<$t>::new()
                .dtype(npyz::DType::Plain(ty))
                .shape(&shape)
                .writer(w)
                .begin_nd()?;
            writer.extend($values.iter().copied())?;
            writer.finish()
        }};
    }
    match tensor.data() {
        Data::F32(v) => write_as!(f32, v, "<f4"),
        Data::F64(v) => write_as!(f64, v, "<f8"),
        Data::I32(v) => write_as!(i32, v, "<i4"),
        Data::I64(v) => write_as!(i64, v, "<i8"),
        Data::Bool(v) => write_as!(bool, v, "|b1"),
    }
}

fn check_keys(arrays: &[(&str, &Tensor)]) -> Result<(), String> {
    for (i, (key, _)) in arrays.iter().enumerate() {
        if key.is_empty() {
            return Err(format!("array #{i} has an empty name"));
        }
        if arrays[..i].iter().any(|(k, _)| k == key) {
            return Err(format!("array name '{key}' is given twice"));
        }
    }
    Ok(())
}

/// Writes the archive and returns the underlying writer, finished.
fn write_npz_stream<W: Write + Seek>(w: W, arrays: &[(&str, &Tensor)]) -> io::Result<W> {
    let mut npz = NpzWriter::new(w);
    let zip = npz.zip_writer();
    for (key, tensor) in arrays {
        let n_bytes = tensor.len().saturating_mul(tensor.dtype().size_bytes());
        let options = npyz::zip::write::FileOptions::default()
            .compression_method(npyz::zip::CompressionMethod::Stored)
            .large_file(n_bytes >= u32::MAX as usize - 1024);
        zip.start_file(npyz::npz::file_name_from_array_name(key), options)?;
        write_npy_stream(&mut *zip, tensor)?;
    }
    Ok(zip.finish()?)
}
