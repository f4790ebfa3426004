//! Registered circuits and circuit references.
//!
//! A circuit's identity is the sha256 of its zkey. Circuits are also registered under a name,
//! with versions counting up per name: registering a new zkey under an existing name makes the
//! next version, registering the same zkey again is a no-op that returns the existing record.

use tokio_postgres::Row;
use zkq_engine::zkey::ZkeyInfo;

use super::{is_sha256_hex, Result, Store};
use crate::model::CircuitRecord;
use crate::SchedulerError;

/// The advisory lock held while registering a circuit (`"zkq-circ"`): registrations are rare,
/// and one lock makes version numbering and the id/name checks race-free.
const REGISTER_LOCK_KEY: i64 = 0x7a6b_712d_6369_7263;

/// A circuit to register: the facts read from its zkey header, and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCircuit {
    /// sha256 of the zkey file, hex (stored lowercase).
    pub id: String,
    /// Name to register it under (see [`valid_circuit_name`]).
    pub name: String,
    /// Variables, the constant 1 included.
    pub n_vars: i32,
    /// Public signals.
    pub n_public: i32,
    /// Constraints.
    pub n_constraints: i32,
    /// Domain size.
    pub domain_size: i32,
    /// Size of the zkey file.
    pub zkey_bytes: i64,
    /// ε each proof costs, micro (`None`: no privacy budget is charged; registering it again
    /// with a value sets it).
    pub epsilon_micro: Option<i64>,
}

impl NewCircuit {
    /// The record for a zkey described by [`zkq_engine::zkey::info`] (as returned by
    /// [`crate::keystore::KeyStore::add`]), registered as `name`.
    pub fn from_zkey_info(name: &str, info: &ZkeyInfo) -> Result<NewCircuit> {
        let int = |what: &str, v: usize| {
            i32::try_from(v).map_err(|_| SchedulerError::Invalid(format!("the zkey's {what} ({v}) does not fit the circuit table")))
        };
        Ok(NewCircuit {
            id: info.sha256.to_ascii_lowercase(),
            name: name.to_owned(),
            n_vars: int("variable count", info.n_vars)?,
            n_public: int("public signal count", info.n_public)?,
            n_constraints: int("constraint count", info.n_constraints)?,
            domain_size: int("domain size", info.domain_size)?,
            zkey_bytes: i64::try_from(info.file_size)
                .map_err(|_| SchedulerError::Invalid(format!("the zkey's size ({}) does not fit the circuit table", info.file_size)))?,
            epsilon_micro: None,
        })
    }
}

/// A parsed circuit reference, as a job's `zkq-circuit` header or `zkq submit --circuit` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CircuitRef {
    /// `sha256:<hex>` or a bare 64-character hex id (lowercased).
    Id(String),
    /// `name@version`.
    NameVersion(String, i32),
    /// `name`: its latest version.
    Name(String),
}

impl CircuitRef {
    /// Parses a reference; `None` when it has none of the accepted forms.
    pub fn parse(reference: &str) -> Option<CircuitRef> {
        if let Some(hex) = reference.strip_prefix("sha256:") {
            return is_sha256_hex(hex).then(|| CircuitRef::Id(hex.to_ascii_lowercase()));
        }
        if is_sha256_hex(reference) {
            return Some(CircuitRef::Id(reference.to_ascii_lowercase()));
        }
        if let Some((name, version)) = reference.split_once('@') {
            let version: i32 = version.parse().ok().filter(|v| *v >= 1)?;
            return valid_circuit_name(name).then(|| CircuitRef::NameVersion(name.to_owned(), version));
        }
        valid_circuit_name(reference).then(|| CircuitRef::Name(reference.to_owned()))
    }
}

/// A circuit name: 1–100 characters of `[A-Za-z0-9._-]`, not itself a 64-character hex string
/// (which would read as an id).
pub fn valid_circuit_name(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && !is_sha256_hex(name)
}

const CIRCUIT_COLUMNS: &str = "id, name, version, n_vars, n_public, n_constraints, domain_size, zkey_bytes, created_at, epsilon_micro";

fn circuit_row(row: &Row) -> CircuitRecord {
    CircuitRecord {
        id: row.get("id"),
        name: row.get("name"),
        version: row.get("version"),
        n_vars: row.get("n_vars"),
        n_public: row.get("n_public"),
        n_constraints: row.get("n_constraints"),
        domain_size: row.get("domain_size"),
        zkey_bytes: row.get("zkey_bytes"),
        created_at: row.get("created_at"),
        epsilon_micro: row.get("epsilon_micro"),
    }
}

impl Store {
    /// Registers a circuit. A new zkey gets version `max(version) + 1` under its name (1 for a
    /// new name). Registering a zkey already registered under the same name returns the
    /// existing record unchanged (idempotent); a zkey registered under another name is refused
    /// (a circuit has one identity).
    pub async fn add_circuit(&self, circuit: &NewCircuit) -> Result<CircuitRecord> {
        if !valid_circuit_name(&circuit.name) {
            return Err(SchedulerError::Invalid(format!(
                "invalid circuit name {:?}: use 1-100 characters of A-Z a-z 0-9 . _ - (and not a 64-character hex string)",
                circuit.name
            )));
        }
        if !is_sha256_hex(&circuit.id) {
            return Err(SchedulerError::Invalid(format!("invalid circuit id {:?}: expected a sha256 in hex", circuit.id)));
        }
        let id = circuit.id.to_ascii_lowercase();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("select pg_advisory_xact_lock($1)", &[&REGISTER_LOCK_KEY]).await?;
        if let Some(row) = tx.query_opt(&format!("select {CIRCUIT_COLUMNS} from circuits where id = $1"), &[&id]).await? {
            let mut existing = circuit_row(&row);
            if existing.name == circuit.name && circuit.epsilon_micro.is_some() && circuit.epsilon_micro != existing.epsilon_micro {
                tx.execute("update circuits set epsilon_micro = $2 where id = $1", &[&id, &circuit.epsilon_micro]).await?;
                existing.epsilon_micro = circuit.epsilon_micro;
            }
            tx.commit().await?;
            return if existing.name == circuit.name {
                Ok(existing)
            } else {
                Err(SchedulerError::Invalid(format!("this zkey is already registered as {} (sha256:{id})", existing.label())))
            };
        }
        let row = tx
            .query_one(
                &format!(
                    "insert into circuits (id, name, version, n_vars, n_public, n_constraints, domain_size, zkey_bytes, epsilon_micro)
                     select $1::text, $2::text, coalesce(max(version), 0) + 1, $3::int, $4::int, $5::int, $6::int, $7::bigint, $8::bigint
                     from circuits where name = $2::text
                     returning {CIRCUIT_COLUMNS}"
                ),
                &[&id, &circuit.name, &circuit.n_vars, &circuit.n_public, &circuit.n_constraints, &circuit.domain_size, &circuit.zkey_bytes, &circuit.epsilon_micro],
            )
            .await?;
        tx.commit().await?;
        Ok(circuit_row(&row))
    }

    /// The circuit a reference names: `sha256:<hex>` or a bare 64-hex id, `name@version`, or
    /// `name` (its latest version). `None` when nothing registered matches, including when
    /// the reference has none of these forms.
    pub async fn resolve_circuit(&self, reference: &str) -> Result<Option<CircuitRecord>> {
        let Some(parsed) = CircuitRef::parse(reference) else { return Ok(None) };
        let client = self.client().await?;
        let row = match parsed {
            CircuitRef::Id(id) => {
                let stmt = client.prepare_cached(&format!("select {CIRCUIT_COLUMNS} from circuits where id = $1")).await?;
                client.query_opt(&stmt, &[&id]).await?
            }
            CircuitRef::NameVersion(name, version) => {
                let stmt = client.prepare_cached(&format!("select {CIRCUIT_COLUMNS} from circuits where name = $1 and version = $2")).await?;
                client.query_opt(&stmt, &[&name, &version]).await?
            }
            CircuitRef::Name(name) => {
                let stmt = client
                    .prepare_cached(&format!("select {CIRCUIT_COLUMNS} from circuits where name = $1 order by version desc limit 1"))
                    .await?;
                client.query_opt(&stmt, &[&name]).await?
            }
        };
        Ok(row.as_ref().map(circuit_row))
    }

    /// The most variables of any registered circuit (`None`: none registered): the largest
    /// inline witness a job can carry is a `.wtns` of that many values.
    pub async fn largest_n_vars(&self) -> Result<Option<i32>> {
        let client = self.client().await?;
        let row = client.query_one("select max(n_vars) from circuits", &[]).await?;
        Ok(row.get(0))
    }

    /// Every registered circuit, by name then version.
    pub async fn list_circuits(&self) -> Result<Vec<CircuitRecord>> {
        let client = self.client().await?;
        let rows = client.query(&format!("select {CIRCUIT_COLUMNS} from circuits order by name, version"), &[]).await?;
        Ok(rows.iter().map(circuit_row).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_reference_form() {
        let hex = "ab".repeat(32);
        assert_eq!(CircuitRef::parse(&format!("sha256:{hex}")), Some(CircuitRef::Id(hex.clone())));
        assert_eq!(CircuitRef::parse(&hex.to_uppercase()), Some(CircuitRef::Id(hex.clone())));
        assert_eq!(CircuitRef::parse("mul@3"), Some(CircuitRef::NameVersion("mul".into(), 3)));
        assert_eq!(CircuitRef::parse("mul"), Some(CircuitRef::Name("mul".into())));
        for bad in ["", "sha256:abc", "mul@", "mul@0", "mul@x", "a b", "@1", "mul@1@2", &format!("sha256:{hex}0")] {
            assert_eq!(CircuitRef::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn names_cannot_pass_for_ids() {
        assert!(valid_circuit_name("poseidon_merkle-v2.1"));
        assert!(!valid_circuit_name(&"0".repeat(64)));
        assert!(!valid_circuit_name("a@b"));
        assert!(!valid_circuit_name(&"x".repeat(101)));
    }
}
