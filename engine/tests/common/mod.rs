//! Helpers shared by the bad-input tests: read a fixture, locate the sections of an iden3
//! container (`magic[4]`, `version: u32`, `n_sections: u32`, then per section `type: u32`,
//! `size: u64`, payload), and patch little-endian integers in place.
//!
//! Deliberately independent of `zkq_engine::binfile`, so a bug there cannot hide itself.

#![allow(dead_code, unreachable_pub)]

use std::path::Path;

/// Byte offset of the section count in the container header.
pub const N_SECTIONS_AT: usize = 8;
/// Bytes of the container header before the first section header.
pub const HEADER_BYTES: usize = 12;
/// Bytes of one section header (`type: u32`, `size: u64`).
pub const SECTION_HEADER_BYTES: usize = 12;

/// One section of a well-formed container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    /// Section type.
    pub ty: u32,
    /// Offset of its 12-byte header (`type`, `size`).
    pub header: usize,
    /// Offset of its payload.
    pub start: usize,
    /// Payload bytes.
    pub size: usize,
}

impl Section {
    /// Offset of the `size: u64` field.
    pub fn size_at(&self) -> usize {
        self.header + 4
    }
    /// One past the payload.
    pub fn end(&self) -> usize {
        self.start + self.size
    }
}

/// The whole file, or a panic naming it.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Little-endian u32 at `at`.
pub fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// Little-endian u64 at `at`.
pub fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// Writes a little-endian u32 at `at`.
pub fn put_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Writes a little-endian u64 at `at`.
pub fn put_u64(bytes: &mut [u8], at: usize, v: u64) {
    bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// The section table of a well-formed container (panics on a malformed one: only called on the
/// committed fixtures).
pub fn sections(bytes: &[u8]) -> Vec<Section> {
    let n = u32_at(bytes, N_SECTIONS_AT) as usize;
    let mut at = HEADER_BYTES;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let ty = u32_at(bytes, at);
        let size = usize::try_from(u64_at(bytes, at + 4)).expect("section size fits usize");
        let start = at + SECTION_HEADER_BYTES;
        assert!(start + size <= bytes.len(), "fixture section {ty} runs past the end");
        out.push(Section { ty, header: at, start, size });
        at = start + size;
    }
    assert_eq!(at, bytes.len(), "fixture has trailing bytes after its last section");
    out
}

/// The only section of type `ty`.
pub fn section(bytes: &[u8], ty: u32) -> Section {
    let mut it = sections(bytes).into_iter().filter(|s| s.ty == ty);
    let s = it.next().unwrap_or_else(|| panic!("no section {ty}"));
    assert!(it.next().is_none(), "section {ty} appears twice");
    s
}
