//! `.r1cs` (circom constraint system) → [`R1cs`].
//!
//! Layout (iden3 `r1csfile/doc/r1cs_bin_format.md`, version 1): section 1 header (`u32 fs`,
//! prime, `u32 nWires, nPubOut, nPubIn, nPrvIn`, `u64 nLabels`, `u32 mConstraints`); section 2
//! constraints, each three linear combinations A, B, C of `u32 nTerms` then `(u32 wire,
//! fs-byte canonical value)`; section 3 wire → label map. circom writes section 2 before 1.

use std::path::Path;

use ark_bn254::Fr;
use ark_ff::Zero;

use crate::binfile::{BinFile, Reader};
use crate::encoding::{self, N8};
use crate::io::map_file;
use crate::EngineError;

/// A linear combination `Σ value·w[wire]`.
pub type LinearCombination = Vec<(u32, Fr)>;

/// One constraint `⟨A,w⟩ · ⟨B,w⟩ = ⟨C,w⟩`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// A.
    pub a: LinearCombination,
    /// B.
    pub b: LinearCombination,
    /// C.
    pub c: LinearCombination,
}

/// A circom constraint system.
#[derive(Debug, Clone)]
pub struct R1cs {
    /// Wires, the constant 1 included (= zkey nVars).
    pub n_wires: usize,
    /// Public outputs.
    pub n_pub_out: usize,
    /// Public inputs.
    pub n_pub_in: usize,
    /// Private inputs.
    pub n_prv_in: usize,
    /// Labels (signals before optimisation).
    pub n_labels: u64,
    /// The constraints.
    pub constraints: Vec<Constraint>,
}

impl R1cs {
    /// Public signals (outputs + public inputs) = zkey nPublic.
    pub fn n_public(&self) -> usize {
        self.n_pub_out + self.n_pub_in
    }

    /// Parses `.r1cs` bytes. `name` labels errors.
    pub fn parse(name: &str, bytes: &[u8]) -> Result<Self, EngineError> {
        let file = BinFile::parse(name, bytes, b"r1cs")?;
        if file.version != 1 {
            return Err(EngineError::format(name, format!("unsupported r1cs version {} (expected 1)", file.version)));
        }
        let mut h = file.reader(1)?;
        let fs = h.u32("field size")? as usize;
        let prime = h.bytes(fs, "prime")?;
        if fs != N8 || !encoding::prime_matches::<Fr>(prime) {
            return Err(EngineError::WrongCurve {
                source_name: name.to_owned(),
                what: format!("r1cs prime is {} ({fs} bytes)", encoding::describe_prime(prime)),
            });
        }
        let n_wires = h.u32("nWires")? as usize;
        let n_pub_out = h.u32("nPubOut")? as usize;
        let n_pub_in = h.u32("nPubIn")? as usize;
        let n_prv_in = h.u32("nPrvIn")? as usize;
        let n_labels = h.u64("nLabels")?;
        let m = h.u32("mConstraints")? as usize;
        if n_pub_out + n_pub_in + n_prv_in + 1 > n_wires {
            return Err(h.error(format!("{} declared inputs and outputs exceed nWires {n_wires}", n_pub_out + n_pub_in + n_prv_in)));
        }
        let mut r = file.reader(2)?;
        // Each constraint takes at least 12 bytes: never pre-allocate more than the data allows.
        let mut constraints = Vec::with_capacity(m.min(r.remaining() / 12));
        for i in 0..m {
            let lc = |r: &mut Reader<'_>, which: &str| -> Result<LinearCombination, EngineError> {
                let n = r.u32("term count")? as usize;
                if n > r.remaining() / (4 + N8) {
                    return Err(r.error(format!("constraint {i} {which}: {n} terms do not fit in the section")));
                }
                (0..n)
                    .map(|_| {
                        let wire = r.u32("wire id")?;
                        if wire as usize >= n_wires {
                            return Err(r.error(format!("constraint {i} {which}: wire {wire} ≥ nWires {n_wires}")));
                        }
                        let v = r.bytes(N8, "coefficient")?;
                        let v = encoding::field_from_canonical_le::<Fr>(v)
                            .ok_or_else(|| r.error(format!("constraint {i} {which}: coefficient is not below the modulus")))?;
                        Ok((wire, v))
                    })
                    .collect()
            };
            let a = lc(&mut r, "A")?;
            let b = lc(&mut r, "B")?;
            let c = lc(&mut r, "C")?;
            constraints.push(Constraint { a, b, c });
        }
        r.expect_end("the last constraint")?;
        Ok(Self { n_wires, n_pub_out, n_pub_in, n_prv_in, n_labels, constraints })
    }

    /// Reads a `.r1cs` file.
    pub fn read(path: &Path) -> Result<Self, EngineError> {
        let bytes = map_file(path)?;
        Self::parse(&path.display().to_string(), &bytes)
    }

    /// `Ok(())` if `w` satisfies every constraint, else the index of the first that fails. A
    /// witness of the wrong length fails at constraint 0 (or is `Ok` only for an empty system).
    pub fn check_satisfied(&self, w: &[Fr]) -> Result<(), usize> {
        if w.len() != self.n_wires {
            return if self.constraints.is_empty() { Ok(()) } else { Err(0) };
        }
        let eval = |lc: &LinearCombination| lc.iter().fold(Fr::zero(), |acc, (i, v)| acc + *v * w[*i as usize]);
        match self.constraints.iter().position(|k| eval(&k.a) * eval(&k.b) != eval(&k.c)) {
            None => Ok(()),
            Some(i) => Err(i),
        }
    }
}
