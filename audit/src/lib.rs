//! # zkq-audit — what zkq signs, and how anyone verifies it offline
//!
//! Pure (no database, no network, no async): the signing foundation of zkq's trust fabric.
//! Privacy-budget receipts (`zkq-budget`) are signed with it now; attestations of proofs and
//! the transparency log's checkpoints will be too.
//!
//! ## Module map
//! - [`dsse`] — DSSE v1 envelopes: the pre-authentication encoding, signing, verification
//!   (spec: <https://github.com/secure-systems-lab/dsse/blob/master/protocol.md>).
//! - [`keys`] — ed25519 keys (RFC 8032, `ed25519-dalek`, strict verification), key ids (first
//!   8 bytes of sha256 of the public key, hex), PKCS#8/SPKI PEM files (RFC 8410) with safe
//!   permissions.
//! - [`keyring`] — the public keys a verifier trusts, with validity intervals (rotation).
//! - [`error`] — [`AuditError`].
//!
//! `docs/signing.md` documents the formats for auditors.

pub mod checkpoint;
pub mod dsse;
pub mod error;
pub mod keyring;
pub mod keys;
pub mod merkle;
pub mod statement;

pub use error::AuditError;
pub use keyring::{KeyEntry, KeyRing};
pub use keys::{key_id_of, PublicKey, SigningKey};
