//! ed25519 signing keys (RFC 8032), their ids and their files.
//!
//! **Key id**: the lowercase hex of the first 8 bytes of sha256 over the 32-byte raw public
//! key — 16 characters (auditors recompute it from the public key; [`key_id_of`]).
//!
//! **Files**: the secret key is PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, RFC 8410), as
//! `openssl genpkey -algorithm ed25519` writes it, so operators can make or inspect keys with
//! openssl. zkq creates key files with mode 0600, atomically (temporary file, fsync, rename),
//! never over an existing file, and refuses to read one that group or others may read or
//! write (as ssh does). Public keys are SPKI PEM (`-----BEGIN PUBLIC KEY-----`) or 64 hex.
//!
//! Verification is `verify_strict` (rejects small-order keys and non-canonical signatures).

use std::io::Write;
use std::path::Path;

use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signer, Verifier};
use sha2::{Digest, Sha256};

use crate::error::AuditError;

/// The key id of a raw public key (see the module docs).
pub fn key_id_of(public: &[u8; 32]) -> String {
    hex::encode(&Sha256::digest(public)[..8])
}

/// A secret signing key.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.key_id())
    }
}

/// A public verifying key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.key_id())
    }
}

fn file_err(path: &Path, why: impl Into<String>) -> AuditError {
    AuditError::KeyFile { path: path.display().to_string(), why: why.into() }
}

impl SigningKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<SigningKey, AuditError> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| AuditError::BadKey(format!("no randomness: {e}")))?;
        Ok(SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// A key from its 32-byte seed (tests and fixtures).
    pub fn from_seed(seed: &[u8; 32]) -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// Its public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Its key id.
    pub fn key_id(&self) -> String {
        self.public().key_id()
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    /// PKCS#8 PEM text of the secret key.
    pub fn to_pem(&self) -> Result<String, AuditError> {
        self.0
            .to_pkcs8_pem(Default::default())
            .map(|p| p.to_string())
            .map_err(|e| AuditError::BadKey(format!("cannot encode the key: {e}")))
    }

    /// Reads a PKCS#8 PEM text.
    pub fn from_pem(text: &str) -> Result<SigningKey, AuditError> {
        ed25519_dalek::SigningKey::from_pkcs8_pem(text)
            .map(SigningKey)
            .map_err(|e| AuditError::BadKey(format!("not an ed25519 PKCS#8 PEM private key ({e})")))
    }

    /// Writes the key to a new file `path` (mode 0600, atomically); refuses an existing file.
    pub fn write_new(&self, path: &Path) -> Result<(), AuditError> {
        if path.exists() {
            return Err(file_err(path, "already exists; zkq never overwrites a key file"));
        }
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| file_err(dir, format!("cannot create the directory: {e}")))?;
        let pem = self.to_pem()?;
        let tmp = dir.join(format!(".{}.tmp-{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("key"), std::process::id()));
        let write = || -> std::io::Result<()> {
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
            f.write_all(pem.as_bytes())?;
            f.sync_all()?;
            // A hard link fails if `path` appeared meanwhile: never replaces a key.
            std::fs::hard_link(&tmp, path)?;
            std::fs::remove_file(&tmp)?;
            Ok(())
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            file_err(path, format!("cannot write the key: {e}"))
        })
    }

    /// Reads a key file, refusing one that group or others may read or write.
    pub fn read(path: &Path) -> Result<SigningKey, AuditError> {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| file_err(path, format!("cannot read the key file: {e}")))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(file_err(path, format!("mode {mode:04o} lets others read or change the secret key; run chmod 600 on it")));
        }
        let text = std::fs::read_to_string(path).map_err(|e| file_err(path, format!("cannot read the key file: {e}")))?;
        SigningKey::from_pem(&text).map_err(|e| file_err(path, e.to_string()))
    }
}

impl PublicKey {
    /// Its key id.
    pub fn key_id(&self) -> String {
        key_id_of(self.0.as_bytes())
    }

    /// The raw 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The raw 32 bytes as 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    /// From 64 hex characters.
    pub fn from_hex(text: &str) -> Result<PublicKey, AuditError> {
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| AuditError::BadKey("a public key is 64 hex characters".into()))?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes).map(PublicKey).map_err(|e| AuditError::BadKey(format!("not an ed25519 public key ({e})")))
    }

    /// SPKI PEM text.
    pub fn to_pem(&self) -> Result<String, AuditError> {
        self.0.to_public_key_pem(Default::default()).map_err(|e| AuditError::BadKey(format!("cannot encode the key: {e}")))
    }

    /// From SPKI PEM text.
    pub fn from_pem(text: &str) -> Result<PublicKey, AuditError> {
        ed25519_dalek::VerifyingKey::from_public_key_pem(text)
            .map(PublicKey)
            .map_err(|e| AuditError::BadKey(format!("not an ed25519 SPKI PEM public key ({e})")))
    }

    /// Strict verification of a 64-byte signature over `message`.
    pub fn verify_strict(&self, message: &[u8], signature: &[u8]) -> Result<(), AuditError> {
        let bad = || AuditError::BadSignature(self.key_id());
        let sig: [u8; 64] = signature.try_into().map_err(|_| bad())?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig);
        // `verify_strict` also rejects weak keys; plain `verify` kept for the trait's sake.
        self.0.verify_strict(message, &sig).map_err(|_| bad())?;
        self.0.verify(message, &sig).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made once with `openssl genpkey -algorithm ed25519` (OpenSSL 3.0), and its public half
    /// from `openssl pkey -pubout`.
    const OPENSSL_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJEZgT8x/bzilu9FTqurYdMfuQZfj9XkY3fL3dv2H42i\n-----END PRIVATE KEY-----\n";
    const OPENSSL_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEArxozSGuqGUGiXK+iCLJmr/L9ZcYWTbbBjMErkuUt4NM=\n-----END PUBLIC KEY-----\n";

    #[test]
    fn openssl_keys_read_and_ids_are_stable() {
        let key = SigningKey::from_pem(OPENSSL_KEY).expect("openssl key");
        let public = key.public();
        assert_eq!(PublicKey::from_pem(OPENSSL_PUBLIC).expect("openssl public key"), public);
        assert_eq!(public.to_pem().expect("pem"), OPENSSL_PUBLIC);
        assert_eq!(key.key_id().len(), 16);
        assert_eq!(PublicKey::from_hex(&public.to_hex()).expect("hex"), public);
        assert_eq!(PublicKey::from_pem(&public.to_pem().expect("pem")).expect("pem"), public);
        assert_eq!(key_id_of(&hex::decode(public.to_hex()).expect("hex").try_into().expect("32")), key.key_id());
        let again = SigningKey::from_pem(&key.to_pem().expect("pem")).expect("round trip");
        assert_eq!(again.key_id(), key.key_id());
        let sig = key.sign(b"m");
        assert!(public.verify_strict(b"m", &sig).is_ok());
        assert!(public.verify_strict(b"n", &sig).is_err());
        assert!(public.verify_strict(b"m", &sig[..63]).is_err());
    }

    #[test]
    fn key_files_are_private_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("keys/zkq.key");
        let key = SigningKey::generate().expect("random");
        key.write_new(&path).expect("write");
        assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
        assert_eq!(SigningKey::read(&path).expect("read").key_id(), key.key_id());
        let e = SigningKey::generate().expect("random").write_new(&path).expect_err("exists");
        assert!(e.to_string().contains("already exists"), "{e}");
        assert_eq!(SigningKey::read(&path).expect("read").key_id(), key.key_id(), "the first key is kept");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let e = SigningKey::read(&path).expect_err("too open").to_string();
        assert!(e.contains("0644") && e.contains("chmod 600"), "{e}");
        let junk = dir.path().join("junk.key");
        std::fs::write(&junk, "hello").expect("write");
        std::fs::set_permissions(&junk, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let e = SigningKey::read(&junk).expect_err("junk").to_string();
        assert!(e.contains("junk.key") && e.contains("PKCS#8"), "{e}");
        let e = SigningKey::read(&dir.path().join("missing.key")).expect_err("missing").to_string();
        assert!(e.contains("missing.key"), "{e}");
    }
}
