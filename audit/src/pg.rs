//! The transparency log in PostgreSQL (feature `pg`): the database edge of [`crate::merkle`]
//! and [`crate::checkpoint`]. Tables (zkq-store migration 0008): `log_head` (one row: size and
//! root), `log_entries` (the entries' bytes), `log_nodes` (every perfect subtree by level and
//! index) and `log_checkpoints` (one signed checkpoint per append).
//!
//! [`append`] runs inside the caller's transaction — the worker's batch commit — so a result and
//! its log entry commit together or not at all. It first locks the `log_head` row
//! (`select … for update`): appends take turns, each starts from the committed head, and the
//! log's order is unique. Readers ([`checkpoint`], [`entries`], [`inclusion_proof`],
//! [`consistency_proof`]) fetch the O(log n) perfect subtrees a proof needs in one query.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio_postgres::{GenericClient, Transaction};

use crate::checkpoint::Checkpoint;
use crate::merkle::{self, Hash, NodeId};
use crate::{AuditError, SigningKey};

/// Why a log operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// PostgreSQL refused or failed.
    #[error("transparency log: database: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// A computation over the log's hashes failed (a missing node: the tables disagree).
    #[error("transparency log: {0}")]
    Audit(#[from] AuditError),
    /// A request outside the log (an index or size beyond it).
    #[error("{0}")]
    OutOfRange(String),
    /// A stored value is not what the schema promises.
    #[error("transparency log: stored data is inconsistent: {0}")]
    Corrupt(String),
}

/// What an append is given for each entry.
#[derive(Debug, Clone)]
pub struct NewEntry {
    /// The job the entry attests.
    pub job_id: String,
    /// Its tenant (readers filter by it).
    pub tenant: String,
    /// The exact bytes logged (the DSSE envelope, compact JSON); leaf = sha256(0x00 || bytes).
    pub entry: Vec<u8>,
}

/// What an append did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Index of the first entry appended.
    pub first_index: u64,
    /// The log's size after it.
    pub size: u64,
    /// Its root after it.
    pub root: Hash,
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Its index (leaf position).
    pub index: u64,
    /// The job it attests.
    pub job_id: String,
    /// The job's tenant.
    pub tenant: String,
    /// The bytes logged.
    pub entry: Vec<u8>,
    /// The key that signed it.
    pub key_id: String,
    /// When it was appended.
    pub created_at: DateTime<Utc>,
}

/// One stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root.
    pub root: Hash,
    /// Its time.
    pub at: DateTime<Utc>,
    /// The signing key.
    pub key_id: String,
    /// The signed note, as served.
    pub note: String,
}

fn to_i64(v: u64, what: &str) -> Result<i64, LogError> {
    i64::try_from(v).map_err(|_| LogError::OutOfRange(format!("{what} {v} is beyond the log")))
}

fn to_u64(v: i64, what: &str) -> Result<u64, LogError> {
    u64::try_from(v).map_err(|_| LogError::Corrupt(format!("negative {what} {v}")))
}

fn to_hash(bytes: &[u8], what: &str) -> Result<Hash, LogError> {
    bytes.try_into().map_err(|_| LogError::Corrupt(format!("{what} is {} bytes, not 32", bytes.len())))
}

/// Fetches these perfect subtrees in one query.
async fn nodes(client: &impl GenericClient, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, LogError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let levels: Vec<i16> = ids.iter().map(|n| i16::from(n.level)).collect();
    let idxs = ids.iter().map(|n| to_i64(n.index, "node index")).collect::<Result<Vec<i64>, _>>()?;
    let rows = client
        .query_typed(
            "select n.level, n.idx, n.hash from unnest($1::int2[], $2::int8[]) as u(level, idx)
             join log_nodes n on n.level = u.level and n.idx = u.idx",
            &[(&levels, tokio_postgres::types::Type::INT2_ARRAY), (&idxs, tokio_postgres::types::Type::INT8_ARRAY)],
        )
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let level: i16 = r.get(0);
        let level = u8::try_from(level).map_err(|_| LogError::Corrupt(format!("node level {level}")))?;
        let index = to_u64(r.get(1), "node index")?;
        out.insert(NodeId { level, index }, to_hash(r.get(2), "a node hash")?);
    }
    Ok(out)
}

/// Writes an append — entries, new nodes, the head, the checkpoint — in one round trip.
const WRITE_APPEND: &str = "with e as (
         insert into log_entries (idx, job_id, tenant, entry, key_id, created_at)
         select u.idx, u.job_id, u.tenant, u.entry, $5, $6
         from unnest($1::int8[], $2::text[], $3::text[], $4::bytea[]) as u(idx, job_id, tenant, entry)
     ), n as (
         insert into log_nodes (level, idx, hash) select * from unnest($7::int2[], $8::int8[], $9::bytea[])
     ), h as (
         update log_head set tree_size = $10, root = $11 where id
     ), c as (
         insert into log_checkpoints (tree_size, root, at, key_id, note) values ($10, $11, $6, $5, $12)
     )
     select 1";

/// Appends `entries` (in this order) to the log in the caller's transaction, and stores a
/// checkpoint of the new head signed by `key` (whose public half must be in `signing_keys`).
/// Locks `log_head` until the transaction ends. Nothing to append: `Ok(None)`.
///
/// Three round trips (statements sent with their parameter types, so nothing is prepared
/// separately): the append runs inside the worker's batch commit, whose latency bounds the
/// pipeline's throughput.
pub async fn append(
    tx: &Transaction<'_>,
    entries: &[NewEntry],
    key: &SigningKey,
    origin: &str,
    now: DateTime<Utc>,
) -> Result<Option<Appended>, LogError> {
    use tokio_postgres::types::Type;
    if entries.is_empty() {
        return Ok(None);
    }
    // The lock first, in its own statement: a statement waiting for the lock would read the
    // nodes in the snapshot it started with, before the append it waited for committed (READ
    // COMMITTED re-reads only the locked row). The frontier is read after, in a new snapshot.
    let head = tx.query_typed_one("select tree_size from log_head where id for update", &[]).await?;
    let size = to_u64(head.get(0), "tree size")?;
    let frontier = nodes(tx, &merkle::append_plan(size)).await?;
    let leaves: Vec<Hash> = entries.iter().map(|e| merkle::leaf_hash(&e.entry)).collect();
    let appended = merkle::append(size, &frontier, &leaves)?;

    let key_id = key.key_id();
    let first = to_i64(size, "tree size")?;
    let idx: Vec<i64> = (0..entries.len() as i64).map(|i| first + i).collect();
    let job_ids: Vec<&str> = entries.iter().map(|e| e.job_id.as_str()).collect();
    let tenants: Vec<&str> = entries.iter().map(|e| e.tenant.as_str()).collect();
    let bytes: Vec<&[u8]> = entries.iter().map(|e| e.entry.as_slice()).collect();
    let levels: Vec<i16> = appended.nodes.iter().map(|(n, _)| i16::from(n.level)).collect();
    let node_idx = appended.nodes.iter().map(|(n, _)| to_i64(n.index, "node index")).collect::<Result<Vec<i64>, _>>()?;
    let hashes: Vec<&[u8]> = appended.nodes.iter().map(|(_, h)| h.as_slice()).collect();
    let new_size = to_i64(appended.size, "tree size")?;
    let root = appended.root.as_slice();
    let note = Checkpoint { origin: origin.to_owned(), size: appended.size, root: appended.root, time: now }.sign(key);
    tx.query_typed(
        WRITE_APPEND,
        &[
            (&idx, Type::INT8_ARRAY),
            (&job_ids, Type::TEXT_ARRAY),
            (&tenants, Type::TEXT_ARRAY),
            (&bytes, Type::BYTEA_ARRAY),
            (&key_id, Type::TEXT),
            (&now, Type::TIMESTAMPTZ),
            (&levels, Type::INT2_ARRAY),
            (&node_idx, Type::INT8_ARRAY),
            (&hashes, Type::BYTEA_ARRAY),
            (&new_size, Type::INT8),
            (&root, Type::BYTEA),
            (&note, Type::TEXT),
        ],
    )
    .await?;
    Ok(Some(Appended { first_index: size, size: appended.size, root: appended.root }))
}

/// The log's committed size.
pub async fn size(client: &impl GenericClient) -> Result<u64, LogError> {
    to_u64(client.query_typed_one("select tree_size from log_head where id", &[]).await?.get(0), "tree size")
}

fn checkpoint_row(r: &tokio_postgres::Row) -> Result<StoredCheckpoint, LogError> {
    Ok(StoredCheckpoint {
        size: to_u64(r.get(0), "tree size")?,
        root: to_hash(r.get(1), "a checkpoint root")?,
        at: r.get(2),
        key_id: r.get(3),
        note: r.get(4),
    })
}

/// The checkpoint of size `size`, or the latest one (`None`). `Ok(None)`: no such checkpoint
/// (an empty log, or a size no append ended at).
pub async fn checkpoint(client: &impl GenericClient, size: Option<u64>) -> Result<Option<StoredCheckpoint>, LogError> {
    let row = match size {
        Some(s) => {
            let s = to_i64(s, "tree size")?;
            client
                .query_opt("select tree_size, root, at, key_id, note from log_checkpoints where tree_size = $1", &[&s])
                .await?
        }
        None => {
            client
                .query_opt(
                    "select tree_size, root, at, key_id, note from log_checkpoints order by tree_size desc limit 1",
                    &[],
                )
                .await?
        }
    };
    row.as_ref().map(checkpoint_row).transpose()
}

fn entry_row(r: &tokio_postgres::Row) -> Result<StoredEntry, LogError> {
    Ok(StoredEntry {
        index: to_u64(r.get(0), "entry index")?,
        job_id: r.get(1),
        tenant: r.get(2),
        entry: r.get(3),
        key_id: r.get(4),
        created_at: r.get(5),
    })
}

/// The entry attesting `job_id`, if any.
pub async fn entry_for_job(client: &impl GenericClient, job_id: &str) -> Result<Option<StoredEntry>, LogError> {
    let stmt = client
        .prepare("select idx, job_id, tenant, entry, key_id, created_at from log_entries where job_id = $1")
        .await?;
    client.query_opt(&stmt, &[&job_id]).await?.as_ref().map(entry_row).transpose()
}

/// Entries with `start <= index < end`, in index order; only `tenant`'s when given (a
/// tenant-bound reader).
pub async fn entries(
    client: &impl GenericClient,
    start: u64,
    end: u64,
    tenant: Option<&str>,
) -> Result<Vec<StoredEntry>, LogError> {
    let (start, end) = (to_i64(start, "start")?, to_i64(end, "end")?);
    let stmt = client
        .prepare(
            "select idx, job_id, tenant, entry, key_id, created_at from log_entries
             where idx >= $1 and idx < $2 and ($3::text is null or tenant = $3) order by idx",
        )
        .await?;
    client.query(&stmt, &[&start, &end, &tenant]).await?.iter().map(entry_row).collect()
}

/// Checks that `size` is within the committed log.
async fn within(client: &impl GenericClient, size: u64) -> Result<(), LogError> {
    let current = self::size(client).await?;
    if size > current {
        return Err(LogError::OutOfRange(format!("tree size {size} is beyond the log's size {current}")));
    }
    Ok(())
}

/// The inclusion proof of entry `index` in the tree of size `size` (RFC 6962 §2.1.1).
pub async fn inclusion_proof(client: &impl GenericClient, index: u64, size: u64) -> Result<Vec<Hash>, LogError> {
    within(client, size).await?;
    let plan = merkle::inclusion_plan(index, size).map_err(|e| LogError::OutOfRange(e.to_string()))?;
    let found = nodes(client, &plan).await?;
    Ok(merkle::inclusion_proof(index, size, &found)?)
}

/// The consistency proof between trees of sizes `first` and `second` (RFC 6962 §2.1.2).
pub async fn consistency_proof(client: &impl GenericClient, first: u64, second: u64) -> Result<Vec<Hash>, LogError> {
    within(client, second).await?;
    let plan = merkle::consistency_plan(first, second).map_err(|e| LogError::OutOfRange(e.to_string()))?;
    let found = nodes(client, &plan).await?;
    Ok(merkle::consistency_proof(first, second, &found)?)
}
