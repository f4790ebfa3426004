//! The auditor API's data routes (`/v1/…`): attestations, the transparency log and its proofs,
//! budget receipts and ledgers, costs, keys; health and readiness. `docs/auditor-api.yaml` is
//! the contract (a test checks the running server against it); `docs/auditor-api.md` explains
//! it.
//!
//! | Route | Scope | What |
//! |---|---|---|
//! | `GET /v1/keys` | `audit:read` | the public keys that sign attestations, checkpoints and receipts |
//! | `GET /v1/attestations/{job_id}` | `audit:read` | the job's DSSE envelope, its log index, proof and public signals |
//! | `GET /v1/decisions/{job_id}` | `audit:read` | the admission policy's decision on the job, explained in EN/ES ([`crate::decisions`]) |
//! | `GET /v1/log/checkpoint` | `audit:read` | the latest signed checkpoint (`?tree_size=` one of a given size) |
//! | `GET /v1/log/entries` | `audit:read` | entries `start <= index < end` (at most 1000) |
//! | `GET /v1/log/proof/inclusion` | `audit:read` | the inclusion proof of `index` in `tree_size` |
//! | `GET /v1/log/proof/consistency` | `audit:read` | the consistency proof from `first` to `second` |
//! | `GET /v1/receipts/{id}` | `budget:read` | a signed budget receipt |
//! | `GET /v1/budgets/{tenant}` | `budget:read` | a tenant's ledgers |
//! | `GET /v1/costs` | `costs:read` | cost per proof, with attestation references |
//! | `GET /v1/healthz`, `GET /v1/readyz` | none | liveness; readiness (database, log head) |
//!
//! A tenant-bound client sees only its tenant's records: another tenant's attestation, decision,
//! receipt, ledger or cost answers exactly as a missing one does (404, or nothing listed), so ids cannot
//! be probed. Every error is JSON `{"error": code, "message": one line}`.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::ApiState;
use crate::api_error::ApiError;
use crate::auth::{Principal, Scope};

/// Most log entries one request returns.
pub const MAX_ENTRIES: u64 = 1000;
/// Most cost rows one request returns, and the default.
pub const MAX_COST_ROWS: i64 = 1000;
/// Default number of cost rows.
pub const DEFAULT_COST_ROWS: i64 = 100;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

impl From<zkq_audit::pg::LogError> for ApiError {
    fn from(e: zkq_audit::pg::LogError) -> ApiError {
        match e {
            zkq_audit::pg::LogError::OutOfRange(why) => ApiError::BadRequest(why),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<zkq_budget::BudgetError> for ApiError {
    fn from(e: zkq_budget::BudgetError) -> ApiError {
        ApiError::Internal(e.to_string())
    }
}

type Answer = Result<Response, ApiError>;

fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("{what}: {e}"))
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t).map_err(|e| ApiError::BadRequest(format!("bad query: {}", e.body_text())))
}

async fn client(state: &ApiState) -> Result<deadpool_postgres::Object, ApiError> {
    state.db.client().await.map_err(|e| ApiError::Unavailable(format!("the database is unavailable: {e}")))
}

/// The data routes (no fallback: `zkq serve` merges them with the admin pages, whose fallback
/// answers unknown paths).
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/v1/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/v1/readyz", get(readyz))
        .route("/v1/keys", get(keys))
        .route("/v1/attestations/{job_id}", get(attestation))
        .route(crate::decisions::ROUTE, get(crate::decisions::decision))
        .route("/v1/log/checkpoint", get(checkpoint))
        .route("/v1/log/entries", get(entries))
        .route("/v1/log/proof/inclusion", get(inclusion))
        .route("/v1/log/proof/consistency", get(consistency))
        .route("/v1/receipts/{receipt_id}", get(receipt))
        .route("/v1/budgets/{tenant}", get(budgets))
        .route("/v1/costs", get(costs))
        // Unknown paths under /v1 answer JSON, like every other API error (the admin pages'
        // fallback answers the rest of the site in HTML).
        .route("/v1/{*rest}", axum::routing::any(|| async { ApiError::NotFound("no such API route".into()) }))
        .with_state(state)
}

async fn readyz(State(state): State<Arc<ApiState>>) -> Answer {
    let c = client(&state).await?;
    let size = zkq_audit::pg::size(&**c).await.map_err(|e| ApiError::Unavailable(format!("the log is unreadable: {e}")))?;
    Ok(Json(json!({"status": "ready", "log_size": size})).into_response())
}

async fn keys(State(state): State<Arc<ApiState>>, principal: Principal) -> Answer {
    principal.require(Scope::AuditRead)?;
    let c = client(&state).await?;
    let rows = zkq_budget::pg::keys(&**c).await.map_err(|e| internal("keys", e))?;
    let mut ring = zkq_audit::KeyRing::default();
    let mut keys = Vec::with_capacity(rows.len());
    for (key_id, public_hex, created, retired) in rows {
        let Ok(public) = zkq_audit::PublicKey::from_hex(&public_hex) else {
            return Err(internal("keys", format!("stored key {key_id} is malformed")));
        };
        keys.push(json!({
            "kid": key_id,
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "x": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public.to_bytes()),
            "public_key_hex": public_hex,
            "created_at": created,
            "retired_at": retired,
        }));
        ring.insert(public, None, retired.map(|r| r.timestamp()));
    }
    let keyring: Value = serde_json::from_str(&ring.to_json()).unwrap_or(Value::Null);
    Ok(Json(json!({"keys": keys, "keyring": keyring})).into_response())
}

async fn attestation(State(state): State<Arc<ApiState>>, principal: Principal, Path(job_id): Path<String>) -> Answer {
    principal.require(Scope::AuditRead)?;
    if !zkq_store::rows::valid_job_id(&job_id) {
        return Err(ApiError::BadRequest("a job id is 1-128 letters, digits or `._:-`".into()));
    }
    let c = client(&state).await?;
    let missing = || ApiError::NotFound(format!("no attestation for job {job_id}"));
    let entry = zkq_audit::pg::entry_for_job(&**c, &job_id).await.map_err(ApiError::from)?.ok_or_else(missing)?;
    if !principal.may_see_tenant(&entry.tenant) {
        return Err(missing());
    }
    let envelope: Value = serde_json::from_slice(&entry.entry).map_err(|e| internal("stored envelope", e))?;
    let result: Option<Value> = c
        .query_opt("select result from job_results where job_id = $1", &[&job_id])
        .await
        .map_err(|e| internal("job result", e))?
        .map(|r| r.get(0));
    let result = result.unwrap_or(Value::Null);
    Ok(Json(json!({
        "job_id": entry.job_id,
        "tenant": entry.tenant,
        "log_index": entry.index,
        "key_id": entry.key_id,
        "logged_at": entry.created_at,
        "entry": B64.encode(&entry.entry),
        "leaf_hash": B64.encode(zkq_audit::merkle::leaf_hash(&entry.entry)),
        "envelope": envelope,
        "proof": result.get("proof").cloned().unwrap_or(Value::Null),
        "public_signals": result.get("public_signals").cloned().unwrap_or(Value::Null),
    }))
    .into_response())
}

/// `?tree_size=`.
#[derive(Debug, Deserialize)]
struct CheckpointQuery {
    tree_size: Option<u64>,
}

async fn checkpoint(State(state): State<Arc<ApiState>>, principal: Principal, q: Result<Query<CheckpointQuery>, QueryRejection>) -> Answer {
    principal.require(Scope::AuditRead)?;
    let q = query(q)?;
    let c = client(&state).await?;
    let found = zkq_audit::pg::checkpoint(&**c, q.tree_size).await.map_err(ApiError::from)?;
    let Some(cp) = found else {
        return Err(ApiError::NotFound(match q.tree_size {
            Some(s) => format!("no checkpoint of tree size {s} (checkpoints exist for the sizes appends ended at)"),
            None => "the log is empty: no checkpoint yet".into(),
        }));
    };
    Ok(Json(json!({
        "tree_size": cp.size,
        "root": B64.encode(cp.root),
        "time": cp.at,
        "key_id": cp.key_id,
        "note": cp.note,
    }))
    .into_response())
}

/// `?start=&end=`.
#[derive(Debug, Deserialize)]
struct EntriesQuery {
    start: u64,
    end: Option<u64>,
}

async fn entries(State(state): State<Arc<ApiState>>, principal: Principal, q: Result<Query<EntriesQuery>, QueryRejection>) -> Answer {
    principal.require(Scope::AuditRead)?;
    let q = query(q)?;
    let end = q.end.unwrap_or(q.start.saturating_add(100));
    if end <= q.start {
        return Err(ApiError::BadRequest(format!("end ({end}) must be above start ({})", q.start)));
    }
    let end = end.min(q.start.saturating_add(MAX_ENTRIES)).min(i64::MAX as u64);
    let c = client(&state).await?;
    let rows = zkq_audit::pg::entries(&**c, q.start, end, principal.tenant.as_deref()).await.map_err(ApiError::from)?;
    let list: Vec<Value> = rows
        .iter()
        .map(|e| {
            json!({
                "index": e.index,
                "job_id": e.job_id,
                "tenant": e.tenant,
                "entry": B64.encode(&e.entry),
                "key_id": e.key_id,
                "logged_at": e.created_at,
            })
        })
        .collect();
    Ok(Json(json!({"start": q.start, "end": end, "entries": list})).into_response())
}

/// `?index=&tree_size=`.
#[derive(Debug, Deserialize)]
struct InclusionQuery {
    index: u64,
    tree_size: u64,
}

async fn inclusion(State(state): State<Arc<ApiState>>, principal: Principal, q: Result<Query<InclusionQuery>, QueryRejection>) -> Answer {
    principal.require(Scope::AuditRead)?;
    let q = query(q)?;
    let c = client(&state).await?;
    if let Some(tenant) = principal.tenant.as_deref() {
        // A tenant-bound client proves inclusion of its own entries only.
        let own = zkq_audit::pg::entries(&**c, q.index, q.index.saturating_add(1).min(i64::MAX as u64), Some(tenant))
            .await
            .map_err(ApiError::from)?;
        if own.is_empty() {
            return Err(ApiError::NotFound(format!("no entry {} of yours", q.index)));
        }
    }
    let hashes = zkq_audit::pg::inclusion_proof(&**c, q.index, q.tree_size).await.map_err(ApiError::from)?;
    Ok(Json(json!({
        "index": q.index,
        "tree_size": q.tree_size,
        "hashes": hashes.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `?first=&second=`.
#[derive(Debug, Deserialize)]
struct ConsistencyQuery {
    first: u64,
    second: u64,
}

async fn consistency(State(state): State<Arc<ApiState>>, principal: Principal, q: Result<Query<ConsistencyQuery>, QueryRejection>) -> Answer {
    principal.require(Scope::AuditRead)?;
    let q = query(q)?;
    let c = client(&state).await?;
    let hashes = zkq_audit::pg::consistency_proof(&**c, q.first, q.second).await.map_err(ApiError::from)?;
    Ok(Json(json!({
        "first": q.first,
        "second": q.second,
        "hashes": hashes.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
    }))
    .into_response())
}

async fn receipt(State(state): State<Arc<ApiState>>, principal: Principal, Path(receipt_id): Path<String>) -> Answer {
    principal.require(Scope::BudgetRead)?;
    if receipt_id.len() != 64 || !receipt_id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(ApiError::BadRequest("a receipt id is 64 lowercase hex digits".into()));
    }
    let c = client(&state).await?;
    let missing = || ApiError::NotFound(format!("no receipt {receipt_id}"));
    let r = zkq_budget::pg::receipt(&**c, &receipt_id).await.map_err(|e| internal("receipt", e))?.ok_or_else(missing)?;
    if !principal.may_see_tenant(&r.tenant) {
        return Err(missing());
    }
    Ok(Json(serde_json::to_value(&r).unwrap_or(Value::Null)).into_response())
}

async fn budgets(State(state): State<Arc<ApiState>>, principal: Principal, Path(tenant): Path<String>) -> Answer {
    principal.require(Scope::BudgetRead)?;
    if !zkq_store::rows::valid_tenant_name(&tenant) {
        return Err(ApiError::BadRequest("a tenant name is 1-128 characters without spaces or control characters".into()));
    }
    if !principal.may_see_tenant(&tenant) {
        return Err(ApiError::NotFound(format!("no budgets for tenant {tenant}")));
    }
    let mut c = client(&state).await?;
    let tx = c.transaction().await.map_err(|e| internal("budgets", e))?;
    let ledgers = zkq_budget::pg::show(&tx, Some(&tenant)).await.map_err(|e| internal("budgets", e))?;
    tx.commit().await.map_err(|e| internal("budgets", e))?;
    if ledgers.is_empty() {
        return Err(ApiError::NotFound(format!("no budgets for tenant {tenant}")));
    }
    let micro = |m: u64| zkq_budget::Epsilon::from_micros(m).map_or_else(|| "0".to_owned(), |e| e.to_string());
    let list: Vec<Value> = ledgers
        .iter()
        .map(|l| {
            json!({
                "purpose": l.purpose,
                "window": l.window,
                "cap": micro(l.cap_micro),
                "per_job_max": l.per_job_max_micro.map(micro),
                "spent": micro(l.spent_micro),
                "reserved": micro(l.reserved_micro),
                "remaining": micro(l.remaining_micro),
                "counted_since": l.counted_since,
                "next_release": l.next_release,
                "receipts": l.seq,
                "head": l.head,
                "as_of": l.as_of,
            })
        })
        .collect();
    Ok(Json(json!({"tenant": tenant, "ledgers": list})).into_response())
}

/// `?tenant=&from=&to=&limit=`.
#[derive(Debug, Deserialize)]
struct CostsQuery {
    tenant: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: Option<i64>,
}

async fn costs(State(state): State<Arc<ApiState>>, principal: Principal, q: Result<Query<CostsQuery>, QueryRejection>) -> Answer {
    principal.require(Scope::CostsRead)?;
    let q = query(q)?;
    if let Some(t) = q.tenant.as_deref().filter(|t| !zkq_store::rows::valid_tenant_name(t)) {
        return Err(ApiError::BadRequest(format!("tenant {t:?}: 1-128 characters without spaces or control characters")));
    }
    let limit = q.limit.unwrap_or(DEFAULT_COST_ROWS);
    if !(1..=MAX_COST_ROWS).contains(&limit) {
        return Err(ApiError::BadRequest(format!("limit must be 1-{MAX_COST_ROWS}")));
    }
    // A tenant-bound client sees its own tenant's rows whatever it asks for.
    let tenant = match (principal.tenant.as_deref(), q.tenant.as_deref()) {
        (Some(own), Some(asked)) if own != asked => return Ok(Json(json!({"costs": []})).into_response()),
        (Some(own), _) => Some(own.to_owned()),
        (None, asked) => asked.map(str::to_owned),
    };
    let c = client(&state).await?;
    let rows = c
        .query(
            "select c.job_id, j.tenant, j.circuit_id, j.purpose, c.device_type, c.price_id, c.device_seconds,
                    c.usd::float8, c.batch_id, coalesce(b.finished_at, r.received_at) as at, l.idx
             from job_costs c
             join jobs j on j.job_id = c.job_id
             join job_results r on r.job_id = c.job_id
             left join batches b on b.id = c.batch_id
             left join log_entries l on l.job_id = c.job_id
             where ($1::text is null or j.tenant = $1)
               and ($2::timestamptz is null or coalesce(b.finished_at, r.received_at) >= $2)
               and ($3::timestamptz is null or coalesce(b.finished_at, r.received_at) < $3)
             order by at, c.job_id
             limit $4",
            &[&tenant, &q.from, &q.to, &limit],
        )
        .await
        .map_err(|e| internal("costs", e))?;
    let list: Vec<Value> = rows
        .iter()
        .map(|r| {
            let job_id: String = r.get(0);
            let log_index: Option<i64> = r.get(10);
            json!({
                "job_id": job_id,
                "tenant": r.get::<_, String>(1),
                "circuit_id": r.get::<_, Option<String>>(2),
                "purpose": r.get::<_, String>(3),
                "device_type": r.get::<_, String>(4),
                "price_id": r.get::<_, Option<i64>>(5),
                "device_seconds": r.get::<_, f64>(6),
                "usd": r.get::<_, f64>(7),
                "batch_id": r.get::<_, Option<uuid::Uuid>>(8).map(|u| u.to_string()),
                "at": r.get::<_, DateTime<Utc>>(9),
                "attestation": log_index.map(|i| json!({"log_index": i, "href": format!("/v1/attestations/{job_id}")})),
            })
        })
        .collect();
    Ok(Json(json!({"costs": list})).into_response())
}
