//! The iden3 binary container used by `.zkey`, `.wtns`, `.r1cs` and `.ptau`.
//!
//! Layout (snarkjs `binfileutils`, r1csfile `doc/r1cs_bin_format.md`): `magic[4]`, `version:
//! u32`, `n_sections: u32`, then per section `type: u32`, `size: u64`, payload. All integers
//! little-endian. Sections may come in any order; readers find them by type.

use std::collections::HashMap;
use std::ops::Range;

use crate::EngineError;

/// A parsed container: where each section's payload lies in the underlying bytes.
#[derive(Debug, Clone)]
pub struct BinFile<'a> {
    name: String,
    bytes: &'a [u8],
    /// Format version from the header.
    pub version: u32,
    sections: HashMap<u32, Vec<Range<usize>>>,
    order: Vec<(u32, Range<usize>)>,
}

impl<'a> BinFile<'a> {
    /// Parses the header and section table of `bytes`, expecting `magic`. `name` labels errors.
    pub fn parse(name: &str, bytes: &'a [u8], magic: &[u8; 4]) -> Result<Self, EngineError> {
        if bytes.is_empty() {
            return Err(EngineError::format(name, format!("file is empty (expected a .{} file)", String::from_utf8_lossy(magic))));
        }
        let mut r = Reader::new(name, bytes, 0);
        let found = r.bytes(4, "magic")?;
        if found != magic {
            return Err(EngineError::format(
                name,
                format!(
                    "not a .{} file (magic {:?}, expected {:?})",
                    String::from_utf8_lossy(magic),
                    String::from_utf8_lossy(found),
                    String::from_utf8_lossy(magic)
                ),
            ));
        }
        let version = r.u32("version")?;
        let n_sections = r.u32("section count")?;
        let mut sections: HashMap<u32, Vec<Range<usize>>> = HashMap::new();
        let mut order = Vec::new();
        for i in 0..n_sections {
            let ty = r.u32("section type")?;
            let size = r.u64("section size")?;
            let start = r.pos;
            let declared = size;
            let size = usize::try_from(size).ok().filter(|s| start.checked_add(*s).is_some_and(|e| e <= bytes.len()));
            let Some(size) = size else {
                return Err(EngineError::format(
                    name,
                    format!(
                        "truncated: section {i} (type {ty}) at byte {start} declares {declared} bytes but only {} remain (file of {} bytes)",
                        bytes.len() - start,
                        bytes.len()
                    ),
                ));
            };
            sections.entry(ty).or_default().push(start..start + size);
            order.push((ty, start..start + size));
            r.pos = start + size;
        }
        Ok(Self { name: name.to_owned(), bytes, version, sections, order })
    }

    /// The name used in error messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The payload of the only section of type `ty`.
    pub fn section(&self, ty: u32) -> Result<&'a [u8], EngineError> {
        match self.sections.get(&ty).map(Vec::as_slice) {
            Some([range]) => Ok(&self.bytes[range.clone()]),
            Some(_) => Err(EngineError::format(&self.name, format!("section {ty} appears more than once"))),
            None => Err(EngineError::format(&self.name, format!("section {ty} is missing"))),
        }
    }

    /// A reader over the payload of section `ty`.
    pub fn reader(&self, ty: u32) -> Result<Reader<'a>, EngineError> {
        let range = self.sections.get(&ty).and_then(|v| v.first()).cloned();
        self.section(ty)?;
        let range = range.unwrap_or(0..0);
        Ok(Reader { name: format!("{} section {ty}", self.name), bytes: &self.bytes[range], pos: 0, base: 0 })
    }

    /// `(type, size)` of every section in file order.
    pub fn section_table(&self) -> Vec<(u32, u64)> {
        self.order.iter().map(|(t, r)| (*t, r.len() as u64)).collect()
    }
}

/// A bounds-checked little-endian cursor whose errors name the file and the byte offset.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    name: String,
    bytes: &'a [u8],
    /// Current offset within `bytes`.
    pub pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// A cursor at `pos` within `bytes`.
    pub fn new(name: &str, bytes: &'a [u8], pos: usize) -> Self {
        Self { name: name.to_owned(), bytes, pos, base: 0 }
    }

    /// Error naming this reader's source.
    pub fn error(&self, what: impl Into<String>) -> EngineError {
        EngineError::format(&self.name, what)
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize, what: &str) -> Result<&'a [u8], EngineError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.bytes.len()).ok_or_else(|| {
            self.error(format!(
                "truncated: {what} needs {n} bytes at offset {} but only {} remain",
                self.base + self.pos,
                self.bytes.len().saturating_sub(self.pos)
            ))
        })?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// A little-endian `u32`.
    pub fn u32(&mut self, what: &str) -> Result<u32, EngineError> {
        let b = self.bytes(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A little-endian `u64`.
    pub fn u64(&mut self, what: &str) -> Result<u64, EngineError> {
        let b = self.bytes(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// Fails unless every byte was consumed.
    pub fn expect_end(&self, what: &str) -> Result<(), EngineError> {
        if self.remaining() != 0 {
            return Err(self.error(format!("{} unexpected trailing bytes after {what}", self.remaining())));
        }
        Ok(())
    }
}
