//! `.wtns` (circom witness) → [`Witness`], and back.
//!
//! Layout (snarkjs `src/wtns_utils.js`, version 2): section 1 `u32 n8`, `prime` (n8 bytes),
//! `u32 nWitness`; section 2 `nWitness` canonical little-endian values. Index 0 is the
//! constant 1, then the public signals (outputs, then public inputs), then private signals.

use std::path::Path;

use ark_bn254::Fr;
use ark_ff::{BigInteger, One, PrimeField};

use crate::binfile::BinFile;
use crate::encoding::{self, N8};
use crate::io::map_file;
use crate::EngineError;

/// A full assignment `w = (1, public…, private…)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    /// Where it came from (file name), for error messages.
    pub source: String,
    /// The values.
    pub values: Vec<Fr>,
}

impl Witness {
    /// Parses `.wtns` bytes. `name` labels errors.
    pub fn parse(name: &str, bytes: &[u8]) -> Result<Self, EngineError> {
        let file = BinFile::parse(name, bytes, b"wtns")?;
        if file.version != 2 {
            return Err(EngineError::format(name, format!("unsupported wtns version {} (expected 2)", file.version)));
        }
        let mut h = file.reader(1)?;
        let n8 = h.u32("n8")? as usize;
        let prime = h.bytes(n8, "prime")?;
        if n8 != N8 || !encoding::prime_matches::<Fr>(prime) {
            return Err(EngineError::WrongCurve {
                source_name: name.to_owned(),
                what: format!("witness prime is {} ({n8} bytes), expected the BN254 scalar field", encoding::describe_prime(prime)),
            });
        }
        let n = h.u32("nWitness")? as usize;
        let data = file.section(2)?;
        if data.len() != n * N8 {
            return Err(EngineError::format(
                name,
                format!("section 2 has {} bytes, expected {} for {n} values", data.len(), n * N8),
            ));
        }
        let values = data
            .chunks_exact(N8)
            .enumerate()
            .map(|(i, b)| {
                encoding::field_from_canonical_le::<Fr>(b).ok_or_else(|| {
                    EngineError::format(name, format!("witness value {i} is not below the BN254 scalar-field modulus"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { source: name.to_owned(), values })
    }

    /// The exact size of a `.wtns` (version 2, as snarkjs and circom write it: the header, a
    /// section 1 of `n8`, prime and count, a section 2 of the values) holding `n_values` values.
    /// A body of any other size is not a witness of that many values, whatever it holds: the
    /// worker refuses it before copying it.
    pub const fn encoded_len(n_values: usize) -> usize {
        // "wtns", version, section count; then each section: u32 type + u64 size + payload.
        12 + (12 + 4 + N8 + 4) + (12 + n_values * N8)
    }

    /// Reads a `.wtns` file.
    pub fn read(path: &Path) -> Result<Self, EngineError> {
        let bytes = map_file(path)?;
        Self::parse(&path.display().to_string(), &bytes)
    }

    /// Serialises as `.wtns` version 2.
    pub fn to_wtns_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.values.len() * N8);
        out.extend_from_slice(b"wtns");
        out.extend_from_slice(&2u32.to_le_bytes());
        out.extend_from_slice(&2u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&(4 + N8 as u64 + 4).to_le_bytes());
        out.extend_from_slice(&(N8 as u32).to_le_bytes());
        out.extend_from_slice(&Fr::MODULUS.to_bytes_le());
        out.extend_from_slice(&(self.values.len() as u32).to_le_bytes());
        out.extend_from_slice(&2u32.to_le_bytes());
        out.extend_from_slice(&((self.values.len() * N8) as u64).to_le_bytes());
        for v in &self.values {
            out.extend_from_slice(&encoding::field_to_canonical_le(v));
        }
        out
    }

    /// The public signals `w[1..=n_public]` (what `public.json` holds).
    pub fn public_signals(&self, n_public: usize) -> &[Fr] {
        self.values.get(1..=n_public.min(self.values.len().saturating_sub(1))).unwrap_or(&[])
    }

    /// Checks the witness fits a key of `n_vars` variables and starts with the constant 1.
    pub fn check_shape(&self, n_vars: usize) -> Result<(), EngineError> {
        if self.values.len() != n_vars {
            return Err(EngineError::WitnessLength { source_name: self.source.clone(), expected: n_vars, found: self.values.len() });
        }
        if !self.values.first().is_some_and(|v| v.is_one()) {
            return Err(EngineError::format(&self.source, "witness value 0 must be the constant 1"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_len_is_the_length_written() {
        for n in [0usize, 1, 7, 1000] {
            let w = Witness { source: "t".into(), values: vec![Fr::one(); n] };
            assert_eq!(w.to_wtns_bytes().len(), Witness::encoded_len(n), "{n} values");
        }
        // And the files circom and snarkjs wrote.
        for f in crate::fixtures::ALL {
            let w = Witness::read(&f.wtns()).expect("fixture witness");
            let size = std::fs::metadata(f.wtns()).expect("fixture witness size").len();
            assert_eq!(size as usize, Witness::encoded_len(w.values.len()), "{}", f.name);
        }
    }
}
