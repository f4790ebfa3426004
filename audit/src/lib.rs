//! # zkq-audit — what zkq signs, and how anyone verifies it offline
//!
//! Pure (no database, no network, no async) except the `pg` module behind the feature of that
//! name: the signing foundation of zkq's trust fabric.
//! Privacy-budget receipts (`zkq-budget`) are signed with it; so are attestations of proofs
//! (in-toto statements) and the checkpoints of the transparency log that records them.
//!
//! ## Module map
//! - [`dsse`] — DSSE v1 envelopes: the pre-authentication encoding, signing, verification
//!   (spec: <https://github.com/secure-systems-lab/dsse/blob/master/protocol.md>).
//! - [`keys`] — ed25519 keys (RFC 8032, `ed25519-dalek`, strict verification), key ids (first
//!   8 bytes of sha256 of the public key, hex), PKCS#8/SPKI PEM files (RFC 8410) with safe
//!   permissions.
//! - [`keyring`] — the public keys a verifier trusts, with validity intervals (rotation).
//! - [`merkle`] — the transparency log's RFC 6962 Merkle tree over stored perfect subtrees:
//!   hashing, node plans, roots, inclusion and consistency proofs, batch appends, RFC 9162
//!   verification, an in-memory tree.
//! - [`checkpoint`] — signed tree heads: C2SP tlog-checkpoint text, C2SP signed-note ed25519
//!   signatures.
//! - [`statement`] — proof attestations: in-toto Statement v1 with zkq's proof-result predicate,
//!   in DSSE envelopes.
//! - `pg` (feature `pg`) — the log in PostgreSQL: serialised appends in the caller's
//!   transaction, checkpoints, entries, proofs from O(log n) stored nodes fetched in one query.
//! - [`error`] — [`AuditError`].
//!
//! `docs/signing.md` and `docs/transparency-log.md` document the formats for auditors.

pub mod checkpoint;
pub mod dsse;
pub mod error;
pub mod keyring;
pub mod keys;
pub mod merkle;
#[cfg(feature = "pg")]
pub mod pg;
pub mod statement;

pub use checkpoint::Checkpoint;
pub use error::AuditError;
pub use keyring::{KeyEntry, KeyRing};
pub use keys::{key_id_of, PublicKey, SigningKey};
pub use merkle::{Hash, MemoryTree, NodeId, NodeLookup};
pub use statement::{Statement, Subject};
