//! snarkjs JSON: `proof.json`, `public.json`, `verification_key.json`.
//!
//! Shapes (snarkjs 0.7 `groth16_prove.js`, `zkey_export_verificationkey.js`): decimal strings;
//! G1 points `[x, y, z]`, G2 points `[[x.c0, x.c1], [y.c0, y.c1], [z.c0, z.c1]]`, Jacobian with
//! `z = 1` as written (any `z` is accepted on read; `z = 0` is infinity). Written with one-space
//! indentation, as snarkjs does. Every point read is checked to be on the curve, and G2 points
//! to lie in the prime-order subgroup.

use std::path::Path;

use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::PrimeField;
use serde_json::{json, Value};

use crate::encoding::{field_from_decimal, field_to_decimal};
use crate::io::{map_file, write_atomic};
use crate::keys::{Proof, VerifyingKey};
use crate::EngineError;

/// A JSON document being read, for error messages that name the file and the field.
struct Doc<'a> {
    name: &'a str,
}

impl Doc<'_> {
    fn err(&self, what: impl Into<String>) -> EngineError {
        EngineError::format(self.name, what)
    }

    fn field<'v>(&self, v: &'v Value, key: &str) -> Result<&'v Value, EngineError> {
        v.get(key).ok_or_else(|| self.err(format!("missing field `{key}`")))
    }

    fn array<'v>(&self, v: &'v Value, len: usize, at: &str) -> Result<&'v Vec<Value>, EngineError> {
        match v.as_array() {
            Some(a) if a.len() == len => Ok(a),
            Some(a) => Err(self.err(format!("`{at}` has {} entries, expected {len}", a.len()))),
            None => Err(self.err(format!("`{at}` is not an array"))),
        }
    }

    fn fe<F: PrimeField>(&self, v: &Value, at: &str) -> Result<F, EngineError> {
        let s = v.as_str().ok_or_else(|| self.err(format!("`{at}` is not a decimal string")))?;
        field_from_decimal::<F>(s).map_err(|e| self.err(format!("`{at}`: {e}")))
    }

    fn fq2(&self, v: &Value, at: &str) -> Result<Fq2, EngineError> {
        let a = self.array(v, 2, at)?;
        Ok(Fq2::new(self.fe(&a[0], &format!("{at}[0]"))?, self.fe(&a[1], &format!("{at}[1]"))?))
    }

    fn g1(&self, v: &Value, at: &str) -> Result<G1Affine, EngineError> {
        let a = self.array(v, 3, at)?;
        let [x, y, z]: [Fq; 3] = [
            self.fe(&a[0], &format!("{at}[0]"))?,
            self.fe(&a[1], &format!("{at}[1]"))?,
            self.fe(&a[2], &format!("{at}[2]"))?,
        ];
        let p = G1Projective::new_unchecked(x, y, z).into_affine();
        if !p.is_on_curve() {
            return Err(self.err(format!("`{at}` is not a point on the BN254 G1 curve")));
        }
        Ok(p)
    }

    fn g2(&self, v: &Value, at: &str) -> Result<G2Affine, EngineError> {
        let a = self.array(v, 3, at)?;
        let x = self.fq2(&a[0], &format!("{at}[0]"))?;
        let y = self.fq2(&a[1], &format!("{at}[1]"))?;
        let z = self.fq2(&a[2], &format!("{at}[2]"))?;
        let p = G2Projective::new_unchecked(x, y, z).into_affine();
        if !p.is_on_curve() {
            return Err(self.err(format!("`{at}` is not a point on the BN254 G2 curve")));
        }
        if !p.is_in_correct_subgroup_assuming_on_curve() {
            return Err(self.err(format!("`{at}` is not in the prime-order subgroup of G2")));
        }
        Ok(p)
    }

    fn expect_str(&self, v: &Value, key: &str, expected: &str) -> Result<(), EngineError> {
        match self.field(v, key)?.as_str() {
            Some(s) if s == expected => Ok(()),
            Some(s) if key == "curve" => Err(EngineError::WrongCurve {
                source_name: self.name.to_owned(),
                what: format!("curve is `{}`, expected `{expected}`", shown(s)),
            }),
            Some(s) => Err(self.err(format!("`{key}` is `{}`, expected `{expected}`", shown(s)))),
            None => Err(self.err(format!("`{key}` is not a string"))),
        }
    }
}

/// A string taken from the input, fit for a one-line error message: control characters
/// escaped, cut to 40 characters.
fn shown(s: &str) -> String {
    const MAX: usize = 40;
    let mut out: String = s.chars().take(MAX).flat_map(char::escape_debug).collect();
    if s.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

fn g1_json(p: &G1Affine) -> Value {
    match p.xy() {
        Some((x, y)) => json!([field_to_decimal(&x), field_to_decimal(&y), "1"]),
        None => json!(["0", "1", "0"]),
    }
}

fn fq2_json(x: &Fq2) -> Value {
    json!([field_to_decimal(&x.c0), field_to_decimal(&x.c1)])
}

fn g2_json(p: &G2Affine) -> Value {
    match p.xy() {
        Some((x, y)) => json!([fq2_json(&x), fq2_json(&y), ["1", "0"]]),
        None => json!([["0", "0"], ["1", "0"], ["0", "0"]]),
    }
}

/// snarkjs's formatting: `JSON.stringify(value, null, 1)`.
pub fn to_snarkjs_string(v: &Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(v, &mut ser).unwrap_or_default();
    String::from_utf8(buf).unwrap_or_default()
}

/// `proof.json`.
pub fn proof_to_json(p: &Proof) -> Value {
    json!({"pi_a": g1_json(&p.a), "pi_b": g2_json(&p.b), "pi_c": g1_json(&p.c), "protocol": "groth16", "curve": "bn128"})
}

/// `public.json`.
pub fn public_to_json(public: &[Fr]) -> Value {
    Value::Array(public.iter().map(|x| Value::String(field_to_decimal(x))).collect())
}

/// `verification_key.json`, with `vk_alphabeta_12 = e(α, β)` as snarkjs exports it.
pub fn verifying_key_to_json(vk: &VerifyingKey) -> Value {
    let ab = Bn254::pairing(vk.alpha_g1, vk.beta_g2).0;
    let fq6 = |x: &ark_bn254::Fq6| json!([fq2_json(&x.c0), fq2_json(&x.c1), fq2_json(&x.c2)]);
    json!({
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": vk.n_public(),
        "vk_alpha_1": g1_json(&vk.alpha_g1),
        "vk_beta_2": g2_json(&vk.beta_g2),
        "vk_gamma_2": g2_json(&vk.gamma_g2),
        "vk_delta_2": g2_json(&vk.delta_g2),
        "vk_alphabeta_12": [fq6(&ab.c0), fq6(&ab.c1)],
        "IC": vk.ic.iter().map(g1_json).collect::<Vec<_>>(),
    })
}

fn parse_json(name: &str, bytes: &[u8]) -> Result<Value, EngineError> {
    serde_json::from_slice(bytes).map_err(|e| EngineError::format(name, format!("invalid JSON: {e}")))
}

/// Parses `proof.json` (snarkjs or rapidsnark; rapidsnark omits `curve`).
pub fn proof_from_json(name: &str, v: &Value) -> Result<Proof, EngineError> {
    let d = Doc { name };
    if v.get("protocol").is_some() {
        d.expect_str(v, "protocol", "groth16")?;
    }
    if v.get("curve").is_some() {
        d.expect_str(v, "curve", "bn128")?;
    }
    Ok(Proof { a: d.g1(d.field(v, "pi_a")?, "pi_a")?, b: d.g2(d.field(v, "pi_b")?, "pi_b")?, c: d.g1(d.field(v, "pi_c")?, "pi_c")? })
}

/// Parses `public.json`.
pub fn public_from_json(name: &str, v: &Value) -> Result<Vec<Fr>, EngineError> {
    let d = Doc { name };
    let a = v.as_array().ok_or_else(|| d.err("expected a JSON array of decimal strings"))?;
    a.iter().enumerate().map(|(i, x)| d.fe(x, &format!("[{i}]"))).collect()
}

/// Parses `verification_key.json`.
pub fn verifying_key_from_json(name: &str, v: &Value) -> Result<VerifyingKey, EngineError> {
    let d = Doc { name };
    d.expect_str(v, "protocol", "groth16")?;
    d.expect_str(v, "curve", "bn128")?;
    let ic_v = d.field(v, "IC")?.as_array().ok_or_else(|| d.err("`IC` is not an array"))?;
    if ic_v.is_empty() {
        return Err(d.err("`IC` is empty"));
    }
    let ic = ic_v.iter().enumerate().map(|(i, p)| d.g1(p, &format!("IC[{i}]"))).collect::<Result<Vec<_>, _>>()?;
    if let Some(n) = v.get("nPublic") {
        let n = n.as_u64().ok_or_else(|| d.err("`nPublic` is not a non-negative integer"))?;
        if n.checked_add(1) != Some(ic.len() as u64) {
            return Err(d.err(format!("`nPublic` is {n} but `IC` has {} points (expected nPublic + 1)", ic.len())));
        }
    }
    Ok(VerifyingKey {
        alpha_g1: d.g1(d.field(v, "vk_alpha_1")?, "vk_alpha_1")?,
        beta_g2: d.g2(d.field(v, "vk_beta_2")?, "vk_beta_2")?,
        gamma_g2: d.g2(d.field(v, "vk_gamma_2")?, "vk_gamma_2")?,
        delta_g2: d.g2(d.field(v, "vk_delta_2")?, "vk_delta_2")?,
        ic,
    })
}

fn read_json(path: &Path) -> Result<(String, Value), EngineError> {
    let name = path.display().to_string();
    let bytes = map_file(path)?;
    let v = parse_json(&name, &bytes)?;
    Ok((name, v))
}

/// Reads `proof.json`.
pub fn read_proof(path: &Path) -> Result<Proof, EngineError> {
    let (name, v) = read_json(path)?;
    proof_from_json(&name, &v)
}

/// Reads `public.json`.
pub fn read_public(path: &Path) -> Result<Vec<Fr>, EngineError> {
    let (name, v) = read_json(path)?;
    public_from_json(&name, &v)
}

/// Reads `verification_key.json`.
pub fn read_verifying_key(path: &Path) -> Result<VerifyingKey, EngineError> {
    let (name, v) = read_json(path)?;
    verifying_key_from_json(&name, &v)
}

/// Writes `value` to `path` atomically in snarkjs's formatting.
pub fn write_json(path: &Path, value: &Value) -> Result<(), EngineError> {
    write_atomic(path, to_snarkjs_string(value).as_bytes())
}
