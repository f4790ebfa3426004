//! Attestations of proofs: in-toto Statements v1 with zkq's proof-result predicate, signed as
//! DSSE envelopes.
//!
//! **Statement** (in-toto Attestation Framework, Statement layer v1,
//! <https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md>):
//! `{"_type": "https://in-toto.io/Statement/v1", "subject": [{"name", "digest": {"sha256": hex}}],
//! "predicateType": …, "predicate": {…}}`. zkq's subjects are the proof's artefacts: `proof.json`
//! and `public.json`, each with the sha256 of the compact JSON bytes of the snarkjs proof and
//! public signals. The predicate ([`ProofResult`], type [`PROOF_RESULT_PREDICATE`]) says who
//! proved what, with which circuit, prover and device, at what cost and under which policy.
//!
//! **Envelope** (in-toto Envelope layer = DSSE, [`crate::dsse`]): payload type
//! [`PAYLOAD_TYPE`], payload the compact JSON of the statement. [`Statement::open`] checks the
//! signature first, then the payload type, `_type` and `predicateType`, then the predicate's
//! fields; unknown fields are ignored, as in-toto asks of consumers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::dsse::{Envelope, Verified};
use crate::error::AuditError;
use crate::keyring::KeyRing;
use crate::keys::SigningKey;

/// The `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The DSSE payload type of in-toto statements (in-toto Envelope layer).
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The predicate type of zkq's proof results.
pub const PROOF_RESULT_PREDICATE: &str = "https://zkq.dev/attestations/proof-result/v1";

/// An artefact the statement is about, by name and digests.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// Its name (`proof.json`, `public.json`).
    pub name: String,
    /// Digests by algorithm (`sha256` → lowercase hex).
    pub digest: BTreeMap<String, String>,
}

impl Subject {
    /// A subject named `name` with the sha256 of `bytes`.
    pub fn sha256(name: impl Into<String>, bytes: &[u8]) -> Subject {
        let digest = BTreeMap::from([("sha256".to_owned(), hex::encode(Sha256::digest(bytes)))]);
        Subject {
            name: name.into(),
            digest,
        }
    }
}

/// The circuit a proof is for.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct CircuitRef {
    /// The circuit's id: the sha256 of its zkey, hex.
    pub id: String,
    /// Its registered name, if any.
    #[serde(default)]
    pub name: Option<String>,
    /// The sha256 of its verifying key, hex.
    pub verifying_key_sha256: String,
}

/// The software that proved.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Prover {
    /// Its name (`zkq`).
    pub name: String,
    /// Its version.
    pub version: String,
}

/// What the proof cost.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Cost {
    /// In US dollars.
    pub usd: f64,
    /// Device time, seconds.
    pub device_seconds: f64,
    /// The price list entry used, if any.
    #[serde(default)]
    pub price_id: Option<i64>,
}

/// The privacy-budget charge of the job.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct BudgetCharge {
    /// The id of the signed budget receipt.
    pub receipt_id: String,
    /// The ε charged, as decimal text (exact).
    pub epsilon: String,
}

/// The policy decision that let the job run.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct PolicyDecision {
    /// The decision (`allow`).
    pub decision: String,
    /// The policy that decided.
    pub policy: String,
    /// Why.
    pub reason: String,
}

/// zkq's predicate ([`PROOF_RESULT_PREDICATE`]): one proved job.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ProofResult {
    /// The job's id.
    pub job_id: String,
    /// The tenant that submitted it.
    pub tenant: String,
    /// The purpose it was bound to, if any.
    #[serde(default)]
    pub purpose: Option<String>,
    /// The circuit.
    pub circuit: CircuitRef,
    /// The prover software.
    pub prover: Prover,
    /// The proving backend (`cpu`, `cuda`, `webgpu`).
    pub backend: String,
    /// The device, in words.
    pub device: String,
    /// The batch it was proved in, if any.
    #[serde(default)]
    pub batch_id: Option<String>,
    /// Its cost, if priced.
    #[serde(default)]
    pub cost: Option<Cost>,
    /// Its privacy-budget charge, if any.
    #[serde(default)]
    pub budget: Option<BudgetCharge>,
    /// The policy decision.
    pub policy: PolicyDecision,
    /// When the proof was made, RFC 3339.
    pub proved_at: String,
    /// When its result was committed, RFC 3339.
    pub committed_at: String,
}

/// An in-toto Statement v1 with a [`ProofResult`] predicate.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Statement {
    /// Always [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub type_: String,
    /// The artefacts.
    pub subject: Vec<Subject>,
    /// Always [`PROOF_RESULT_PREDICATE`].
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The proof result.
    pub predicate: ProofResult,
}

fn bad(why: impl Into<String>) -> AuditError {
    AuditError::BadStatement(why.into())
}

impl Statement {
    /// A proof-result statement about `subjects`.
    pub fn proof_result(subjects: Vec<Subject>, predicate: ProofResult) -> Statement {
        Statement {
            type_: STATEMENT_TYPE.to_owned(),
            subject: subjects,
            predicate_type: PROOF_RESULT_PREDICATE.to_owned(),
            predicate,
        }
    }

    /// Signs the statement's compact JSON as a DSSE envelope of type [`PAYLOAD_TYPE`]. Refuses a
    /// non-finite cost (JSON has no NaN or infinity).
    pub fn sign(&self, key: &SigningKey) -> Result<Envelope, AuditError> {
        if let Some(c) = &self.predicate.cost {
            if !c.usd.is_finite() || !c.device_seconds.is_finite() {
                return Err(bad(format!(
                    "job {}: the cost is not a finite number",
                    self.predicate.job_id
                )));
            }
        }
        let payload = serde_json::to_vec(self).map_err(|e| bad(format!("cannot encode the statement: {e}")))?;
        Ok(Envelope::sign(PAYLOAD_TYPE, &payload, key))
    }

    /// Verifies `envelope` under `ring` and reads its statement: the payload type, `_type` and
    /// `predicateType` must be zkq's.
    pub fn open(envelope: &Envelope, ring: &KeyRing) -> Result<Statement, AuditError> {
        Statement::read(envelope.verify(ring)?)
    }

    /// As [`Statement::open`], and the key must have been valid at `at` (Unix seconds).
    pub fn open_at(envelope: &Envelope, ring: &KeyRing, at: i64) -> Result<Statement, AuditError> {
        Statement::read(envelope.verify_at(ring, at)?)
    }

    fn read(verified: Verified) -> Result<Statement, AuditError> {
        if verified.payload_type != PAYLOAD_TYPE {
            return Err(bad(format!(
                "payloadType {:?} is not {PAYLOAD_TYPE}",
                verified.payload_type
            )));
        }
        let value: serde_json::Value =
            serde_json::from_slice(&verified.payload).map_err(|e| bad(format!("the payload is not JSON: {e}")))?;
        match value.get("_type").and_then(|t| t.as_str()) {
            Some(STATEMENT_TYPE) => {}
            other => return Err(bad(format!("_type {other:?} is not {STATEMENT_TYPE}"))),
        }
        match value.get("predicateType").and_then(|t| t.as_str()) {
            Some(PROOF_RESULT_PREDICATE) => {}
            other => return Err(bad(format!("predicateType {other:?} is not {PROOF_RESULT_PREDICATE}"))),
        }
        serde_json::from_value(value).map_err(|e| bad(format!("not a proof-result statement: {e}")))
    }

    /// The sha256 digest (hex) of the subject named `name`.
    pub fn subject_digest(&self, name: &str) -> Option<&str> {
        self.subject
            .iter()
            .find(|s| s.name == name)?
            .digest
            .get("sha256")
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    fn predicate() -> ProofResult {
        ProofResult {
            job_id: "job-1".into(),
            tenant: "acme".into(),
            purpose: Some("kyc".into()),
            circuit: CircuitRef {
                id: "ab".repeat(32),
                name: Some("multiplier".into()),
                verifying_key_sha256: "cd".repeat(32),
            },
            prover: Prover {
                name: "zkq".into(),
                version: "0.1.0".into(),
            },
            backend: "cpu".into(),
            device: "2 CPU cores".into(),
            batch_id: None,
            cost: Some(Cost {
                usd: 0.0125,
                device_seconds: 1.5,
                price_id: Some(3),
            }),
            budget: Some(BudgetCharge {
                receipt_id: "r-9".into(),
                epsilon: "0.5".into(),
            }),
            policy: PolicyDecision {
                decision: "allow".into(),
                policy: "default".into(),
                reason: "within budget".into(),
            },
            proved_at: "2026-12-03T15:04:05Z".into(),
            committed_at: "2026-12-03T15:04:06Z".into(),
        }
    }

    fn statement() -> Statement {
        let proof = br#"{"pi_a":["1","2","1"],"protocol":"groth16"}"#;
        Statement::proof_result(
            vec![
                Subject::sha256("proof.json", proof),
                Subject::sha256("public.json", br#"["33"]"#),
            ],
            predicate(),
        )
    }

    fn ring_of(key: &SigningKey) -> KeyRing {
        let mut ring = KeyRing::default();
        ring.insert(key.public(), None, None);
        ring
    }

    #[test]
    fn round_trip_and_json_shape() {
        let key = SigningKey::from_seed(&[3; 32]);
        let st = statement();
        let env = st.sign(&key).expect("signs");
        assert_eq!(env.payload_type, PAYLOAD_TYPE);
        assert_eq!(Statement::open(&env, &ring_of(&key)).expect("opens"), st);
        let json: serde_json::Value =
            serde_json::from_slice(&STANDARD.decode(&env.payload).expect("b64")).expect("json");
        assert_eq!(json["_type"], STATEMENT_TYPE);
        assert_eq!(json["predicateType"], PROOF_RESULT_PREDICATE);
        assert_eq!(json["subject"][1]["name"], "public.json");
        assert_eq!(json["predicate"]["circuit"]["verifying_key_sha256"], "cd".repeat(32));
        assert_eq!(json["predicate"]["cost"]["device_seconds"], 1.5);
        assert_eq!(json["predicate"]["budget"]["receipt_id"], "r-9");
        assert!(json["predicate"]["batch_id"].is_null());
        // sha256 of public.json's bytes `["33"]`.
        let digest = hex::encode(Sha256::digest(br#"["33"]"#));
        assert_eq!(st.subject_digest("public.json"), Some(digest.as_str()));
        assert_eq!(st.subject_digest("missing.json"), None);
        // Optional fields may be absent; unknown fields are ignored.
        let mut lean = json.clone();
        let p = lean["predicate"].as_object_mut().expect("object");
        for f in ["purpose", "batch_id", "cost", "budget"] {
            p.remove(f);
        }
        p.insert("future_field".into(), serde_json::json!(1));
        let env = Envelope::sign(PAYLOAD_TYPE, lean.to_string().as_bytes(), &key);
        let opened = Statement::open(&env, &ring_of(&key)).expect("opens");
        assert_eq!((opened.predicate.purpose, opened.predicate.cost), (None, None));
        // The key's validity.
        let mut ring = KeyRing::default();
        ring.insert(key.public(), Some(100), Some(200));
        let env = st.sign(&key).expect("signs");
        assert!(Statement::open_at(&env, &ring, 150).is_ok());
        assert!(matches!(
            Statement::open_at(&env, &ring, 250),
            Err(AuditError::KeyNotValid { .. })
        ));
    }

    #[test]
    fn wrong_types_and_tampering_are_refused() {
        let key = SigningKey::from_seed(&[3; 32]);
        let ring = ring_of(&key);
        let st = statement();
        let payload = serde_json::to_vec(&st).expect("json");
        // Right signature, wrong payload type.
        let env = Envelope::sign("application/json", &payload, &key);
        let e = Statement::open(&env, &ring).expect_err("payload type").to_string();
        assert!(e.contains("payloadType") && e.contains("application/json"), "{e}");
        // Right signature, wrong statement type, predicate type, or not a statement at all.
        for (field, value, words) in [
            ("_type", serde_json::json!("https://in-toto.io/Statement/v0.1"), "_type"),
            ("_type", serde_json::Value::Null, "_type"),
            (
                "predicateType",
                serde_json::json!("https://slsa.dev/provenance/v1"),
                "predicateType",
            ),
            (
                "predicate",
                serde_json::json!({"job_id": 7}),
                "not a proof-result statement",
            ),
        ] {
            let mut v = serde_json::to_value(&st).expect("json");
            v[field] = value;
            let env = Envelope::sign(PAYLOAD_TYPE, v.to_string().as_bytes(), &key);
            let e = Statement::open(&env, &ring).expect_err(field);
            assert!(
                matches!(&e, AuditError::BadStatement(w) if w.contains(words)),
                "{field}: {e}"
            );
        }
        let env = Envelope::sign(PAYLOAD_TYPE, b"not json", &key);
        assert!(matches!(Statement::open(&env, &ring), Err(AuditError::BadStatement(_))));
        // Tampering: a changed subject digest, a re-typed envelope, another key.
        let env = st.sign(&key).expect("signs");
        let text = String::from_utf8(payload.clone()).expect("utf8");
        let digest = st.subject_digest("proof.json").expect("digest");
        let forged = text.replace(digest, &"0".repeat(64));
        assert_ne!(forged, text);
        let tampered = Envelope {
            payload: STANDARD.encode(forged),
            ..env.clone()
        };
        assert!(matches!(
            Statement::open(&tampered, &ring),
            Err(AuditError::BadSignature(_))
        ));
        let retyped = Envelope {
            payload_type: "application/json".into(),
            ..env.clone()
        };
        assert!(matches!(
            Statement::open(&retyped, &ring),
            Err(AuditError::BadSignature(_))
        ));
        let other = SigningKey::from_seed(&[4; 32]);
        assert!(Statement::open(&st.sign(&other).expect("signs"), &ring).is_err());
        // JSON has no NaN.
        let mut nan = st.clone();
        nan.predicate.cost = Some(Cost {
            usd: f64::NAN,
            device_seconds: 1.0,
            price_id: None,
        });
        assert!(matches!(nan.sign(&key), Err(AuditError::BadStatement(_))));
    }
}

/// The canonical JSON bytes zkq hashes for subjects and digests: RFC 8785 (JSON
/// Canonicalization Scheme) for the values zkq produces — no whitespace, object members sorted
/// by their names' UTF-16 code units, strings as `serde_json` escapes them (which for the
/// ASCII decimal strings of snarkjs proofs, public signals and verifying keys is exactly JCS).
/// Numbers are written as `serde_json` writes them, which is JCS for integers; zkq hashes no
/// floating-point numbers. Key order of the input does not matter, so a value that went through
/// PostgreSQL's `jsonb` (which reorders keys) hashes the same. An auditor reproduces it with
/// Python's `json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`.
pub fn canonical_json(value: &serde_json::Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut Vec<u8>) {
    match value {
        serde_json::Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(v, out);
            }
            out.push(b']');
        }
        serde_json::Value::Object(map) => {
            let mut members: Vec<(&String, &serde_json::Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(serde_json::Value::String(k.clone()).to_string().as_bytes());
                out.push(b':');
                write_canonical(v, out);
            }
            out.push(b'}');
        }
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod canonical_tests {
    use super::canonical_json;

    #[test]
    fn canonical_json_sorts_members_at_every_depth_and_drops_whitespace() {
        let a: serde_json::Value = serde_json::from_str(r#"{"pi_c": ["3", "4"], "pi_a": {"z": 1, "b": [true, null]}, "protocol": "groth16"}"#).expect("json");
        let b: serde_json::Value = serde_json::from_str(r#"{"protocol":"groth16","pi_a":{"b":[true,null],"z":1},"pi_c":["3","4"]}"#).expect("json");
        let want = br#"{"pi_a":{"b":[true,null],"z":1},"pi_c":["3","4"],"protocol":"groth16"}"#;
        assert_eq!(canonical_json(&a), want.to_vec());
        assert_eq!(canonical_json(&b), want.to_vec());
        // RFC 8785 §3.2.3: names sort by UTF-16 code units ("\u{10000}" sorts before "\u{ffff}").
        let c = serde_json::json!({"\u{ffff}": 1, "\u{10000}": 2, "a\"b": 3});
        assert_eq!(String::from_utf8(canonical_json(&c)).expect("utf8"), "{\"a\\\"b\":3,\"\u{10000}\":2,\"\u{ffff}\":1}");
    }
}
