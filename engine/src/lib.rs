//! # zkq-engine — Groth16 over BN254, circom/snarkjs compatible
//!
//! Reads the artifacts circom and snarkjs produce, proves with the same quadratic arithmetic
//! program (QAP) snarkjs and rapidsnark use, and verifies. Every MSM and NTT goes through a
//! [`zkq_kernels::Backend`], so the same prover runs on every device. Synchronous: no async
//! runtime reaches the engine.
//!
//! ## Layout
//! - [`binfile`] — the iden3 binary container shared by `.zkey`, `.wtns`, `.r1cs`.
//! - [`encoding`] — field elements and curve points as circom stores them (Montgomery LE) and as
//!   snarkjs prints them (decimal strings).
//! - [`zkey`] — `.zkey` (Groth16) → [`ProvingKey`], plus [`zkey::ZkeyInfo`] for `zkq zkey info`.
//! - [`wtns`] — `.wtns` → [`Witness`], and back.
//! - [`r1cs`] — `.r1cs` → [`r1cs::R1cs`], with a constraint-satisfaction check.
//! - [`keys`] — [`ProvingKey`], [`VerifyingKey`], [`Proof`], each field documented by its math.
//! - [`qap`] — the circom QAP: witness → evaluations of `h` on the odd coset.
//! - [`prover`] — [`Prover::prove_batch`]: one key, many witnesses; per-phase timings.
//! - [`verifier`] — the pairing check, [`verifier::PreparedVerifyingKey`].
//! - [`setup`] — an **insecure** dev Groth16 setup, `.r1cs` → `.zkey` in seconds, for tests
//!   and benchmarks (`zkq dev setup`).
//! - [`json`] — snarkjs `proof.json`, `public.json`, `verification_key.json`.
//! - [`io`] — memory-mapped reads and atomic writes.
//! - [`error`] — [`EngineError`], with an [`error::ErrorClass`] callers map to exit codes.
//!
//! ## Sources
//! Groth16: J. Groth, "On the Size of Pairing-based Non-interactive Arguments", EUROCRYPT 2016.
//! The circom QAP variant (c = a∘b, evaluations on the odd coset of the 2n-th roots of unity,
//! `h` MSM against zkey section 9) is the one of snarkjs `src/groth16_prove.js` and rapidsnark
//! `src/groth16.cpp`; file layouts are those of snarkjs `src/zkey_utils.js`, `src/wtns_utils.js`
//! and iden3 `r1csfile/doc/r1cs_bin_format.md`.

pub mod binfile;
pub mod encoding;
pub mod error;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod io;
pub mod json;
pub mod keys;
pub mod prover;
pub mod qap;
pub mod r1cs;
pub mod setup;
pub mod verifier;
pub mod wtns;
pub mod zkey;

pub use error::{EngineError, ErrorClass};
pub use keys::{Proof, ProvingKey, VerifyingKey};
pub use prover::{BatchOutput, PhaseTimings, Prover};
pub use verifier::{verify, PreparedVerifyingKey};
pub use wtns::Witness;
