//! DSSE v1 envelopes (Dead Simple Signing Envelope,
//! <https://github.com/secure-systems-lab/dsse/blob/master/protocol.md> and `envelope.md`).
//!
//! The signature is over the pre-authentication encoding
//! `PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, LEN being the
//! ASCII decimal byte length, so a signature binds the payload *and* its type and no bytes can
//! be moved between them. The JSON envelope is
//! `{"payload": b64(body), "payloadType": type, "signatures": [{"keyid": …, "sig": b64(sig)}]}`.
//! `keyid` is an unauthenticated hint: it only selects which key of the ring to try, and a
//! signature by a key outside the ring never verifies. Verifiers accept the standard and the
//! URL-safe base64 alphabets, padded or not (as the spec asks).

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::error::AuditError;
use crate::keyring::KeyRing;
use crate::keys::SigningKey;

/// The pre-authentication encoding of `payload_type` and `payload`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).as_bytes());
    out.extend_from_slice(payload);
    out
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// The signing key's id (a hint, not authenticated).
    #[serde(default)]
    pub keyid: String,
    /// The ed25519 signature over the PAE, base64.
    pub sig: String,
}

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The payload, base64 (standard alphabet when zkq writes it).
    pub payload: String,
    /// Its type (a media type or URI).
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// Signatures (zkq writes one).
    pub signatures: Vec<Signature>,
}

/// What a verified envelope carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The payload bytes.
    pub payload: Vec<u8>,
    /// Its type.
    pub payload_type: String,
    /// The id of the key whose signature verified.
    pub key_id: String,
}

fn decode(field: &'static str, text: &str) -> Result<Vec<u8>, AuditError> {
    [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .ok_or(AuditError::Base64 { field })
}

impl Envelope {
    /// Signs `payload` of `payload_type` with `key`.
    pub fn sign(payload_type: &str, payload: &[u8], key: &SigningKey) -> Envelope {
        let sig = key.sign(&pae(payload_type, payload));
        Envelope {
            payload: STANDARD.encode(payload),
            payload_type: payload_type.to_owned(),
            signatures: vec![Signature { keyid: key.key_id(), sig: STANDARD.encode(sig) }],
        }
    }

    /// Verifies that at least one signature is valid under a key of `ring` (strict ed25519
    /// verification), and returns the payload.
    pub fn verify(&self, ring: &KeyRing) -> Result<Verified, AuditError> {
        self.verify_inner(ring, None)
    }

    /// As [`Envelope::verify`], and the key must have been valid at `at` (Unix seconds).
    pub fn verify_at(&self, ring: &KeyRing, at: i64) -> Result<Verified, AuditError> {
        self.verify_inner(ring, Some(at))
    }

    fn verify_inner(&self, ring: &KeyRing, at: Option<i64>) -> Result<Verified, AuditError> {
        let payload = decode("payload", &self.payload)?;
        let message = pae(&self.payload_type, &payload);
        let mut last = AuditError::NoSignatures;
        for s in &self.signatures {
            let Some(entry) = ring.get(&s.keyid) else {
                last = AuditError::UnknownKey(s.keyid.clone());
                continue;
            };
            if let Some(t) = at.filter(|t| !entry.valid_at(*t)) {
                last = AuditError::KeyNotValid { key_id: s.keyid.clone(), at: t.to_string() };
                continue;
            }
            let sig = decode("signature", &s.sig)?;
            match entry.key.verify_strict(&message, &sig) {
                Ok(()) => return Ok(Verified { payload, payload_type: self.payload_type.clone(), key_id: s.keyid.clone() }),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spec_test_vector() {
        // protocol.md: PAE("http://example.com/HelloWorld", "hello world").
        assert_eq!(pae("http://example.com/HelloWorld", b"hello world"), b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec());
    }

    fn ring_of(key: &SigningKey) -> KeyRing {
        let mut ring = KeyRing::default();
        ring.insert(key.public(), None, None);
        ring
    }

    #[test]
    fn round_trip_and_every_tamper_is_caught() {
        let key = SigningKey::generate().expect("random");
        let ring = ring_of(&key);
        let env = Envelope::sign("application/vnd.zkq.test+json", br#"{"a":1}"#, &key);
        let v = env.verify(&ring).expect("verifies");
        assert_eq!((v.payload.as_slice(), v.key_id.as_str()), (br#"{"a":1}"#.as_slice(), key.key_id().as_str()));
        // URL-safe, unpadded: the same envelope.
        let mut url = env.clone();
        url.payload = URL_SAFE_NO_PAD.encode(br#"{"a":1}"#);
        url.signatures[0].sig = URL_SAFE_NO_PAD.encode(decode("sig", &env.signatures[0].sig).expect("b64"));
        assert!(url.verify(&ring).is_ok());
        // Every byte of payload and signature, and the type.
        let payload = decode("p", &env.payload).expect("b64");
        for i in 0..payload.len() {
            let mut p = payload.clone();
            p[i] ^= 1;
            let e = Envelope { payload: STANDARD.encode(&p), ..env.clone() };
            assert!(matches!(e.verify(&ring), Err(AuditError::BadSignature(_))), "payload byte {i}");
        }
        let sig = decode("s", &env.signatures[0].sig).expect("b64");
        for i in 0..sig.len() {
            let mut s = sig.clone();
            s[i] ^= 0x80;
            let mut e = env.clone();
            e.signatures[0].sig = STANDARD.encode(&s);
            assert!(e.verify(&ring).is_err(), "signature byte {i}");
        }
        let e = Envelope { payload_type: "application/vnd.zkq.other+json".into(), ..env.clone() };
        assert!(matches!(e.verify(&ring), Err(AuditError::BadSignature(_))));
        // Another key, an unknown key id, no signature.
        let other = SigningKey::generate().expect("random");
        assert!(matches!(env.verify(&ring_of(&other)), Err(AuditError::UnknownKey(k)) if k == key.key_id()));
        let mut forged = Envelope::sign("application/vnd.zkq.test+json", br#"{"a":1}"#, &other);
        forged.signatures[0].keyid = key.key_id();
        assert!(matches!(forged.verify(&ring), Err(AuditError::BadSignature(_))), "a keyid hint cannot make another key's signature valid");
        let e = Envelope { signatures: vec![], ..env.clone() };
        assert_eq!(e.verify(&ring), Err(AuditError::NoSignatures));
        let e = Envelope { payload: "not base64!".into(), ..env };
        assert!(matches!(e.verify(&ring), Err(AuditError::Base64 { .. })));
    }

    proptest! {
        #[test]
        fn pae_is_injective(t1 in ".{0,12}", b1 in proptest::collection::vec(any::<u8>(), 0..24),
                            t2 in ".{0,12}", b2 in proptest::collection::vec(any::<u8>(), 0..24)) {
            prop_assume!((t1.as_str(), &b1) != (t2.as_str(), &b2));
            prop_assert_ne!(pae(&t1, &b1), pae(&t2, &b2));
        }
    }
}
