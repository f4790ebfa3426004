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
}
