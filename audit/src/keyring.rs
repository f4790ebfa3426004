//! Key rings: the public keys a verifier trusts, by key id, with validity intervals.
//!
//! **Rotation**: a new key is generated and starts signing; the old one is retired (its
//! `not_after` set) but stays in the ring, so what it signed still verifies. A verifier that
//! knows when something was signed checks the key was valid then ([`KeyEntry::valid_at`]).
//!
//! The JSON document (`keys.json` in evidence bundles):
//! `{"keys": [{"keyid": "…16 hex…", "algorithm": "ed25519", "public_key_hex": "…64 hex…",
//! "not_before": 1767225600, "not_after": null}]}` — times in Unix seconds, `null` for open.
//! Reading it checks that each key id is the one its public key gives.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::AuditError;
use crate::keys::PublicKey;

/// A trusted key and when it may have signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEntry {
    /// The key.
    pub key: PublicKey,
    /// First valid instant, Unix seconds.
    pub not_before: Option<i64>,
    /// Retired at, Unix seconds.
    pub not_after: Option<i64>,
}

impl KeyEntry {
    /// Was the key valid at `t` (Unix seconds)?
    pub fn valid_at(&self, t: i64) -> bool {
        self.not_before.is_none_or(|b| t >= b) && self.not_after.is_none_or(|a| t <= a)
    }
}

/// Public keys by key id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRing {
    keys: BTreeMap<String, KeyEntry>,
}

/// One key in the JSON document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyDoc {
    /// Key id.
    pub keyid: String,
    /// Always `ed25519`.
    pub algorithm: String,
    /// Raw public key, hex.
    pub public_key_hex: String,
    /// Valid from, Unix seconds.
    pub not_before: Option<i64>,
    /// Retired at, Unix seconds.
    pub not_after: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RingDoc {
    keys: Vec<KeyDoc>,
}

impl KeyRing {
    /// Adds (or replaces) a key.
    pub fn insert(&mut self, key: PublicKey, not_before: Option<i64>, not_after: Option<i64>) {
        self.keys.insert(key.key_id(), KeyEntry { key, not_before, not_after });
    }

    /// The key with this id.
    pub fn get(&self, key_id: &str) -> Option<&KeyEntry> {
        self.keys.get(key_id)
    }

    /// Every key with its id, in key-id order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &KeyEntry)> + '_ {
        self.keys.iter().map(|(id, e)| (id.as_str(), e))
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// No keys?
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The JSON document.
    pub fn to_json(&self) -> String {
        let doc = RingDoc {
            keys: self
                .keys
                .iter()
                .map(|(id, e)| KeyDoc {
                    keyid: id.clone(),
                    algorithm: "ed25519".into(),
                    public_key_hex: e.key.to_hex(),
                    not_before: e.not_before,
                    not_after: e.not_after,
                })
                .collect(),
        };
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }

    /// Reads the JSON document; every key id must match its key.
    pub fn from_json(text: &str) -> Result<KeyRing, AuditError> {
        let doc: RingDoc = serde_json::from_str(text).map_err(|e| AuditError::BadKey(format!("not a key ring document: {e}")))?;
        let mut ring = KeyRing::default();
        for k in doc.keys {
            if k.algorithm != "ed25519" {
                return Err(AuditError::BadKey(format!("key {:?}: algorithm {:?} is not ed25519", k.keyid, k.algorithm)));
            }
            let key = PublicKey::from_hex(&k.public_key_hex)?;
            if key.key_id() != k.keyid {
                return Err(AuditError::BadKey(format!("key id {:?} does not match its public key (which gives {})", k.keyid, key.key_id())));
            }
            ring.insert(key, k.not_before, k.not_after);
        }
        Ok(ring)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsse::Envelope;
    use crate::keys::SigningKey;

    #[test]
    fn rotation_keeps_old_signatures_valid_and_json_round_trips() {
        let (old, new) = (SigningKey::generate().expect("r"), SigningKey::generate().expect("r"));
        let mut ring = KeyRing::default();
        ring.insert(old.public(), Some(100), Some(200));
        ring.insert(new.public(), Some(200), None);
        let ring = KeyRing::from_json(&ring.to_json()).expect("round trip");
        let signed_old = Envelope::sign("t", b"x", &old);
        assert!(signed_old.verify(&ring).is_ok());
        assert!(signed_old.verify_at(&ring, 150).is_ok());
        assert!(signed_old.verify_at(&ring, 250).is_err(), "a retired key cannot sign later");
        assert!(Envelope::sign("t", b"x", &new).verify_at(&ring, 250).is_ok());
        // The old key's entry given the new key's public half: its key id no longer matches.
        let mut tampered: serde_json::Value = serde_json::from_str(&ring.to_json()).expect("json");
        let keys = tampered["keys"].as_array_mut().expect("keys");
        let old_entry = keys.iter_mut().find(|k| k["keyid"] == old.key_id().as_str()).expect("the old key's entry");
        old_entry["public_key_hex"] = serde_json::Value::String(new.public().to_hex());
        let e = KeyRing::from_json(&tampered.to_string()).expect_err("mismatch").to_string();
        assert!(e.contains("does not match"), "{e}");
    }
}
