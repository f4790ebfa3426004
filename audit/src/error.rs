//! The audit module's errors: one line each, naming what is wrong and where.

/// Why signing, verifying or a key file failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// A base64 field does not decode (standard or URL-safe alphabet).
    #[error("{field} is not base64")]
    Base64 {
        /// Which field.
        field: &'static str,
    },
    /// The envelope carries no signature.
    #[error("the envelope has no signature")]
    NoSignatures,
    /// A signature names a key the verifier does not have.
    #[error("signed by key {0:?}, which is not in the key ring")]
    UnknownKey(String),
    /// The key was not valid when the signature was made.
    #[error("key {key_id} was not valid at {at}")]
    KeyNotValid {
        /// Key id.
        key_id: String,
        /// The signing time asked about.
        at: String,
    },
    /// No signature verified.
    #[error("no signature verifies (key {0:?}): the payload, its type or the signature was changed, or another key signed it")]
    BadSignature(String),
    /// A key file could not be used.
    #[error("{path}: {why}")]
    KeyFile {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// A key in text form is malformed.
    #[error("bad key: {0}")]
    BadKey(String),
    /// A leaf index at or beyond the tree size.
    #[error("leaf index {index} is not below the tree size {size}")]
    IndexOutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// Tree sizes a consistency proof cannot join (it needs `0 < first <= second`).
    #[error("no consistency proof from tree size {first} to {second}: it needs 0 < first <= second")]
    BadTreeSizes {
        /// The older tree's size.
        first: u64,
        /// The newer tree's size.
        second: u64,
    },
    /// A stored perfect subtree the computation needs was not looked up (or is not stored).
    #[error("the log node at level {level}, index {index} is missing")]
    MissingNode {
        /// Its level.
        level: u8,
        /// Its index within the level.
        index: u64,
    },
    /// Appending would take the log past 2^64 − 1 entries.
    #[error("appending {count} leaves to a log of {size} would overflow its size")]
    LogFull {
        /// The log's size.
        size: u64,
        /// How many leaves were to be appended.
        count: u64,
    },
    /// A Merkle inclusion or consistency proof does not verify; says which and why.
    #[error("{0}")]
    ProofMismatch(String),
    /// A signed payload is not a zkq proof-result statement: its payload type, `_type`,
    /// `predicateType` or fields are wrong.
    #[error("statement: {0}")]
    BadStatement(String),
    /// A signed checkpoint is malformed: the line (from 1) and what is wrong with it.
    #[error("checkpoint line {line}: {why}")]
    BadCheckpoint {
        /// The line, counted from 1.
        line: usize,
        /// What is wrong.
        why: String,
    },
}
