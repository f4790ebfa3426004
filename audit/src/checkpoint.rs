//! Signed checkpoints (signed tree heads) of the transparency log, in the C2SP formats.
//!
//! **Body** (C2SP tlog-checkpoint, <https://c2sp.org/tlog-checkpoint>): three lines, the origin
//! (the log's name), the tree size in ASCII decimal and the tree head in standard base64, then
//! zkq's one extension line, the checkpoint's time in RFC 3339 UTC to the second:
//!
//! ```text
//! zkq.example/log
//! 42
//! FzfklbsFP6vkO3Zv9yEDFERDhNZfb8r88lunxA2MJbw=
//! time 2026-12-03T15:04:05Z
//! ```
//!
//! **Signature** (C2SP signed-note, <https://c2sp.org/signed-note>): the body, a blank line,
//! then one line per signature, `— <key name> <base64(key hash || signature)>`, the dash being
//! U+2014 followed by a space. The key name is the origin; the key hash is the first 4 bytes of
//! `SHA-256(key name || "\n" || 0x01 || 32-byte ed25519 public key)` (0x01: the ed25519
//! signature type), and the signature is ed25519 over the body bytes, final newline included.
//!
//! Parsing is strict: canonical numbers (no sign, no leading zero), canonical padded base64, a
//! 32-byte root, exactly the four body lines, no control characters but newlines, and the note
//! ends in a newline. Signature lines by other names (cosigners) are parsed and ignored, as the
//! signed-note spec asks; at least one must be by a ring key, valid at the checkpoint's time.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};
use sha2::{Digest, Sha256};

use crate::error::AuditError;
use crate::keyring::KeyRing;
use crate::keys::{PublicKey, SigningKey};
use crate::merkle::Hash;

/// The signed-note signature type of ed25519 keys (C2SP signed-note, "Signatures").
const ED25519_TYPE: u8 = 0x01;

/// The dash and space that start a signature line (U+2014 EM DASH, U+0020).
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// At most this many signature lines (as the Go reference implementation, golang.org/x/mod/sumdb/note).
const MAX_SIGNATURES: usize = 100;

/// The time line's format: RFC 3339 (§5.6) `date-time` in UTC, whole seconds.
const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// A tree head of the log at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's name, and the signing key's name: printable ASCII without spaces or `+`.
    pub origin: String,
    /// The tree size (number of entries).
    pub size: u64,
    /// The tree head, RFC 6962 MTH of the first `size` entries.
    pub root: Hash,
    /// When the checkpoint was made; signed to the second (a fraction is dropped).
    pub time: DateTime<Utc>,
}

/// The signed-note key hash of an ed25519 key named `name`: the first 4 bytes of
/// `SHA-256(name || "\n" || 0x01 || public key)`.
pub fn key_hash(name: &str, key: &PublicKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ED25519_TYPE]);
    h.update(key.to_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// Checks an origin (a signed-note key name): not empty, printable ASCII, no space, no `+`.
pub fn check_origin(origin: &str) -> Result<(), AuditError> {
    if origin.is_empty() {
        return Err(bad(1, "the origin is empty"));
    }
    if let Some(c) = origin.chars().find(|c| !c.is_ascii_graphic() || *c == '+') {
        return Err(bad(
            1,
            format!("the origin has {c:?}: it must be printable ASCII without spaces or '+'"),
        ));
    }
    Ok(())
}

fn bad(line: usize, why: impl Into<String>) -> AuditError {
    AuditError::BadCheckpoint { line, why: why.into() }
}

/// One parsed signature line.
struct SignatureLine<'a> {
    name: &'a str,
    key_hash: [u8; 4],
    signature: Vec<u8>,
}

/// A note split into its checkpoint, its signed body and its signature lines.
struct Parsed<'a> {
    checkpoint: Checkpoint,
    body: &'a str,
    signatures: Vec<SignatureLine<'a>>,
}

/// ASCII decimal without sign or leading zero (C2SP tlog-checkpoint: "ASCII decimal").
fn parse_size(text: &str) -> Result<u64, AuditError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) || (text.len() > 1 && text.starts_with('0')) {
        return Err(bad(
            2,
            format!("the tree size {text:?} is not a canonical decimal number"),
        ));
    }
    text.parse::<u64>()
        .map_err(|_| bad(2, format!("the tree size {text:?} does not fit 64 bits")))
}

/// Standard, padded, canonical base64 of exactly 32 bytes.
fn parse_root(text: &str) -> Result<Hash, AuditError> {
    let bytes = STANDARD
        .decode(text)
        .map_err(|_| bad(3, "the root hash is not standard base64"))?;
    let root: Hash = bytes
        .try_into()
        .map_err(|b: Vec<u8>| bad(3, format!("the root hash has {} bytes, not 32", b.len())))?;
    if STANDARD.encode(root) != text {
        return Err(bad(3, "the root hash is not canonical base64"));
    }
    Ok(root)
}

fn parse_time(line: &str) -> Result<DateTime<Utc>, AuditError> {
    let text = line
        .strip_prefix("time ")
        .ok_or_else(|| bad(4, format!("{line:?} is not the time line (\"time <RFC 3339 UTC>\")")))?;
    let time = NaiveDateTime::parse_from_str(text, TIME_FORMAT)
        .map_err(|_| {
            bad(
                4,
                format!("the time {text:?} is not RFC 3339 UTC to the second (2026-12-03T15:04:05Z)"),
            )
        })?
        .and_utc();
    if time.format(TIME_FORMAT).to_string() != text {
        return Err(bad(4, format!("the time {text:?} is not in canonical form")));
    }
    Ok(time)
}

fn parse_signature(line: &str, number: usize) -> Result<SignatureLine<'_>, AuditError> {
    let rest = line
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or_else(|| bad(number, "a signature line starts with \"\u{2014} \" (U+2014, a space)"))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or_else(|| bad(number, "a signature line is \"\u{2014} <key name> <base64>\""))?;
    if name.is_empty() || name.contains('+') {
        return Err(bad(number, format!("the key name {name:?} is empty or has '+'")));
    }
    let bytes = STANDARD
        .decode(b64)
        .map_err(|_| bad(number, "the signature is not standard base64"))?;
    if bytes.len() < 5 || STANDARD.encode(&bytes) != b64 {
        return Err(bad(
            number,
            "the signature is not canonical base64 of a key hash and a signature",
        ));
    }
    Ok(SignatureLine {
        name,
        key_hash: [bytes[0], bytes[1], bytes[2], bytes[3]],
        signature: bytes[4..].to_vec(),
    })
}

fn parse(note: &str) -> Result<Parsed<'_>, AuditError> {
    // C2SP signed-note: UTF-8 text (a &str is), no control characters but newline.
    for (i, line) in note.split('\n').enumerate() {
        if let Some(c) = line.chars().find(|c| c.is_control()) {
            return Err(bad(i + 1, format!("control character {c:?}")));
        }
    }
    let Some(text) = note.strip_suffix('\n') else {
        return Err(bad(note.split('\n').count(), "the note does not end with a newline"));
    };
    let lines: Vec<&str> = text.split('\n').collect();
    // Lines 1–4: the body; line 5: blank; 6…: signatures.
    let line = |i: usize, what: &str| {
        lines
            .get(i)
            .copied()
            .ok_or_else(|| bad(i + 1, format!("missing: the note ends before {what}")))
    };
    let origin = line(0, "the origin")?;
    check_origin(origin)?;
    let size = parse_size(line(1, "the tree size")?)?;
    let root = parse_root(line(2, "the root hash")?)?;
    let time = parse_time(line(3, "the time line")?)?;
    match line(4, "the blank line before the signatures")? {
        "" => {}
        _ => {
            return Err(bad(
                5,
                "a checkpoint has exactly one extension line (time), then a blank line",
            ))
        }
    }
    let sig_lines = &lines[5..];
    if sig_lines.is_empty() {
        return Err(bad(6, "missing: the note has no signature"));
    }
    if sig_lines.len() > MAX_SIGNATURES {
        return Err(bad(
            6 + MAX_SIGNATURES,
            format!("more than {MAX_SIGNATURES} signatures"),
        ));
    }
    let signatures = sig_lines
        .iter()
        .enumerate()
        .map(|(i, l)| parse_signature(l, i + 6))
        .collect::<Result<Vec<_>, _>>()?;
    // The body: the first four lines with their newlines (all ASCII, so byte offsets are safe).
    let body_len = lines[..4].iter().map(|l| l.len() + 1).sum::<usize>();
    let body = note
        .get(..body_len)
        .ok_or_else(|| bad(4, "the body is not on character boundaries"))?;
    Ok(Parsed {
        checkpoint: Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            time,
        },
        body,
        signatures,
    })
}

impl Checkpoint {
    /// The signed body: origin, size, root and time lines.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\ntime {}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root),
            self.time.format(TIME_FORMAT)
        )
    }

    /// The whole signed note: the body, a blank line and `key`'s signature under the key name
    /// `origin`. The origin should pass [`check_origin`]; [`open`] refuses one that does not.
    pub fn sign(&self, key: &SigningKey) -> String {
        let body = self.body();
        let mut sig = Vec::with_capacity(68);
        sig.extend_from_slice(&key_hash(&self.origin, &key.public()));
        sig.extend_from_slice(&key.sign(body.as_bytes()));
        format!("{body}\n{SIGNATURE_PREFIX}{} {}\n", self.origin, STANDARD.encode(sig))
    }

    /// Parses a signed note strictly, without checking any signature (at least one signature
    /// line must be there, well formed).
    pub fn parse_unverified(note: &str) -> Result<Checkpoint, AuditError> {
        parse(note).map(|p| p.checkpoint)
    }
}

/// Parses a signed checkpoint strictly and verifies it: a signature under the origin's name by a
/// key of `ring` (found by key hash; strict ed25519) that was valid at the checkpoint's time.
/// Returns the checkpoint and the verifying key's id.
pub fn open(note: &str, ring: &KeyRing) -> Result<(Checkpoint, String), AuditError> {
    let parsed = parse(note)?;
    let cp = parsed.checkpoint;
    let at = cp.time.timestamp();
    let mut last: Option<AuditError> = None;
    for s in parsed.signatures.iter().filter(|s| s.name == cp.origin) {
        for (key_id, entry) in ring.iter().filter(|(_, e)| key_hash(&cp.origin, &e.key) == s.key_hash) {
            if let Err(e) = entry.key.verify_strict(parsed.body.as_bytes(), &s.signature) {
                last = Some(e);
                continue;
            }
            if !entry.valid_at(at) {
                last = Some(AuditError::KeyNotValid {
                    key_id: key_id.to_owned(),
                    at: cp.time.to_rfc3339(),
                });
                continue;
            }
            return Ok((cp, key_id.to_owned()));
        }
    }
    Err(last.unwrap_or_else(|| {
        let hashes: Vec<String> = parsed
            .signatures
            .iter()
            .map(|s| format!("{} {}", s.name, hex::encode(s.key_hash)))
            .collect();
        AuditError::UnknownKey(hashes.join(", "))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_seed(&[seed; 32])
    }

    fn ring_of(key: &SigningKey, not_before: Option<i64>, not_after: Option<i64>) -> KeyRing {
        let mut ring = KeyRing::default();
        ring.insert(key.public(), not_before, not_after);
        ring
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: "zkq.example/log".into(),
            size: 42,
            root: crate::merkle::leaf_hash(b"head"),
            time: Utc.with_ymd_and_hms(2026, 12, 3, 15, 4, 5).single().expect("a time"),
        }
    }

    #[test]
    fn round_trip_and_format() {
        let k = key(7);
        let cp = checkpoint();
        let note = cp.sign(&k);
        let (opened, key_id) = open(&note, &ring_of(&k, None, None)).expect("opens");
        assert_eq!((opened, key_id), (cp.clone(), k.key_id()));
        assert_eq!(Checkpoint::parse_unverified(&note).expect("parses"), cp);
        let lines: Vec<&str> = note.lines().collect();
        assert_eq!(
            &lines[..5],
            &[
                "zkq.example/log",
                "42",
                &STANDARD.encode(cp.root),
                "time 2026-12-03T15:04:05Z",
                ""
            ]
        );
        assert_eq!(lines.len(), 6);
        let sig = lines[5]
            .strip_prefix("\u{2014} zkq.example/log ")
            .expect("signature line");
        let sig = STANDARD.decode(sig).expect("base64");
        assert_eq!(sig.len(), 68);
        // The key hash recomputed by hand, and the signature over the body bytes.
        let mut pre = b"zkq.example/log\n\x01".to_vec();
        pre.extend_from_slice(&k.public().to_bytes());
        assert_eq!(&sig[..4], &Sha256::digest(&pre)[..4]);
        assert!(k.public().verify_strict(cp.body().as_bytes(), &sig[4..]).is_ok());
        // A fraction of a second is not signed.
        let mut frac = cp.clone();
        frac.time += chrono::Duration::milliseconds(250);
        assert_eq!(open(&frac.sign(&k), &ring_of(&k, None, None)).expect("opens").0, cp);
        // A cosigner's line (another name) is ignored, before or after ours.
        let other = key(8);
        let cosigned = Checkpoint {
            origin: "witness.example".into(),
            ..cp.clone()
        }
        .sign(&other);
        let witness_line = cosigned.lines().last().expect("line");
        let both = format!("{note}{witness_line}\n");
        assert_eq!(open(&both, &ring_of(&k, None, None)).expect("opens").1, k.key_id());
        let (body, ours) = note.split_once("\n\n").expect("blank line");
        let both = format!("{body}\n\n{witness_line}\n{ours}");
        assert_eq!(open(&both, &ring_of(&k, None, None)).expect("opens").1, k.key_id());
    }

    /// The example of docs/transparency-log.md, made independently with Python's
    /// `cryptography` (Ed25519PrivateKey.from_private_bytes(bytes([7] * 32)), hashlib, base64).
    const PYTHON_NOTE: &str = "zkq.example/log\n42\nFzfklbsFP6vkO3Zv9yEDFERDhNZfb8r88lunxA2MJbw=\n\
        time 2026-12-03T15:04:05Z\n\n\u{2014} zkq.example/log \
        WF2mWYvrFIsR9ZtQB5EjU2psQmn9i/oVnuJHpsC0ug++50FxU9EJJDNlkbnizjNuKl4wl+aI5e+fSZDQ0hoHoXh/qQM=\n";

    #[test]
    fn matches_an_independent_implementation() {
        let k = key(7);
        assert_eq!(checkpoint().sign(&k), PYTHON_NOTE);
        assert_eq!(
            k.public().to_hex(),
            "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
        );
        let (cp, key_id) = open(PYTHON_NOTE, &ring_of(&k, None, None)).expect("opens");
        assert_eq!((cp, key_id.as_str()), (checkpoint(), "fe812c12f3ab4ce6"));
    }

    #[test]
    fn every_single_byte_change_is_refused() {
        let k = key(7);
        let ring = ring_of(&k, None, None);
        let note = checkpoint().sign(&k);
        let bytes = note.as_bytes();
        let mut tried = 0;
        for i in 0..bytes.len() {
            for new in [
                bytes[i] ^ 0x01,
                bytes[i] ^ 0x20,
                b'0',
                b'A',
                b' ',
                b'\n',
                b'+',
                b'/',
                b'=',
            ] {
                if new == bytes[i] {
                    continue;
                }
                let mut changed = bytes.to_vec();
                changed[i] = new;
                // A change that breaks UTF-8 cannot even be given as text.
                let Ok(changed) = String::from_utf8(changed) else {
                    continue;
                };
                tried += 1;
                assert!(
                    open(&changed, &ring).is_err(),
                    "byte {i} changed to {new:#04x} was accepted:\n{changed}"
                );
            }
        }
        assert!(tried > bytes.len() * 5, "{tried}");
        // Removing or adding a byte, too.
        for i in 0..bytes.len() {
            let mut shorter = bytes.to_vec();
            shorter.remove(i);
            if let Ok(s) = String::from_utf8(shorter) {
                assert!(open(&s, &ring).is_err(), "byte {i} removed");
            }
        }
        assert!(open(&format!("{note}\n"), &ring).is_err(), "a trailing blank line");
        assert!(open(&format!(" {note}"), &ring).is_err(), "a leading space");
    }

    #[test]
    fn other_keys_and_invalid_keys_are_refused() {
        let (k, other) = (key(7), key(8));
        let cp = checkpoint();
        let ring = ring_of(&k, None, None);
        // Another key: its key hash matches no ring key.
        let e = open(&cp.sign(&other), &ring).expect_err("another key");
        assert!(
            matches!(&e, AuditError::UnknownKey(s) if s.contains("zkq.example/log")),
            "{e}"
        );
        // Another key's signature under our key hash: the signature does not verify.
        let forged = cp.sign(&other);
        let (head, sig) = forged.rsplit_once(' ').expect("signature");
        let mut bytes = STANDARD.decode(sig.trim_end()).expect("base64");
        bytes[..4].copy_from_slice(&key_hash(&cp.origin, &k.public()));
        let forged = format!("{head} {}\n", STANDARD.encode(bytes));
        assert!(matches!(open(&forged, &ring), Err(AuditError::BadSignature(_))));
        // Our key, but retired before the checkpoint's time or not yet valid.
        let at = cp.time.timestamp();
        let note = cp.sign(&k);
        assert!(open(&note, &ring_of(&k, Some(at), Some(at))).is_ok());
        let e = open(&note, &ring_of(&k, None, Some(at - 1))).expect_err("retired");
        assert!(
            matches!(&e, AuditError::KeyNotValid { key_id, .. } if *key_id == k.key_id()),
            "{e}"
        );
        assert!(matches!(
            open(&note, &ring_of(&k, Some(at + 1), None)),
            Err(AuditError::KeyNotValid { .. })
        ));
        // An empty ring.
        assert!(matches!(
            open(&note, &KeyRing::default()),
            Err(AuditError::UnknownKey(_))
        ));
    }

    #[test]
    fn strict_parsing_names_the_line() {
        let k = key(7);
        let good = checkpoint().sign(&k);
        let lines: Vec<&str> = good.split('\n').collect();
        let with = |i: usize, text: &str| {
            let mut l = lines.clone();
            l[i] = text;
            l.join("\n")
        };
        let root = lines[2];
        let short_root = STANDARD.encode([0u8; 31]);
        let unpadded = root.trim_end_matches('=');
        let cases: Vec<(String, usize, &str)> = vec![
            (with(0, ""), 1, "empty"),
            (with(0, "zkq example"), 1, "printable ASCII"),
            (with(0, "zkq+log"), 1, "printable ASCII"),
            (with(1, "042"), 2, "canonical"),
            (with(1, "+42"), 2, "canonical"),
            (with(1, "-1"), 2, "canonical"),
            (with(1, ""), 2, "canonical"),
            (with(1, "4 2"), 2, "canonical"),
            (with(1, "18446744073709551616"), 2, "64 bits"),
            (with(2, "not base64!"), 3, "base64"),
            (with(2, unpadded), 3, "base64"),
            (with(2, &short_root), 3, "31 bytes"),
            (with(3, "time 2026-12-03T15:04:05+00:00"), 4, "RFC 3339"),
            (with(3, "time 2026-12-03T15:04:05.5Z"), 4, "RFC 3339"),
            (with(3, "time 2026-12-3T15:04:05Z"), 4, "2026-12-3T15"),
            (with(3, "timestamp 2026-12-03T15:04:05Z"), 4, "time line"),
            (with(4, "extra"), 5, "exactly one extension line"),
            (with(5, "- zkq.example/log AAAA"), 6, "U+2014"),
            (with(5, "\u{2014} zkq.example/log"), 6, "key name"),
            (with(5, "\u{2014} zkq.example/log AAAA"), 6, "canonical base64"),
            (lines[..5].join("\n") + "\n", 6, "no signature"),
            (lines[..3].join("\n") + "\n", 4, "missing"),
            (good.trim_end().to_owned(), 6, "newline"),
            (good.replace('\n', "\r\n"), 1, "control character"),
        ];
        for (note, line, words) in cases {
            let e = Checkpoint::parse_unverified(&note).expect_err(&note);
            assert!(
                matches!(&e, AuditError::BadCheckpoint { line: l, why } if *l == line && why.contains(words)),
                "{note:?}: {e}"
            );
            assert!(open(&note, &ring_of(&k, None, None)).is_err());
        }
        // Size 0 (the empty tree) and the largest size parse.
        for size in [0, u64::MAX] {
            let cp = Checkpoint { size, ..checkpoint() };
            assert_eq!(Checkpoint::parse_unverified(&cp.sign(&k)).expect("parses"), cp);
        }
    }
}
