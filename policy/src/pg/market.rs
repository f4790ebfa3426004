//! The marketplace in PostgreSQL (migration 0010): template versions with their review state
//! (`draft → in_review → published → deprecated`, `in_review → draft` on a rejection) and
//! their reviews (reviewer, verdict, notes, time).
//!
//! **The review gate lives in the database**: triggers refuse a review by the template's author,
//! a review of a template not in review or of a spec that changed since it was submitted, any
//! other state transition, a publication whose latest review is not an approval by someone
//! other than the author, and a policy linked from a template that is not published. This
//! module only calls them; no client (the CLI included) can go around them.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio_postgres::{GenericClient, Transaction};

use super::PolicyStoreError;

/// A review state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReviewState {
    /// Written, not yet submitted for review (or sent back by a rejection).
    Draft,
    /// Waiting for a review.
    InReview,
    /// Approved by a reviewer other than its author and published: tenants may link it.
    Published,
    /// No longer offered; policies already linked keep working.
    Deprecated,
}

impl ReviewState {
    /// Its name in the database and in the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Draft => "draft",
            ReviewState::InReview => "in_review",
            ReviewState::Published => "published",
            ReviewState::Deprecated => "deprecated",
        }
    }

    fn parse(text: &str) -> ReviewState {
        match text {
            "in_review" => ReviewState::InReview,
            "published" => ReviewState::Published,
            "deprecated" => ReviewState::Deprecated,
            _ => ReviewState::Draft,
        }
    }
}

/// A reviewer's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The template may be published.
    Approve,
    /// It goes back to its author (state `draft`).
    Reject,
}

impl Verdict {
    /// Its name in the database and in the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::Reject => "reject",
        }
    }
}

/// A template version in the marketplace.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketTemplate {
    /// Template id.
    pub template_id: String,
    /// Version (semver text).
    pub version: String,
    /// Who wrote it.
    pub author: String,
    /// Its review state.
    pub state: ReviewState,
    /// When it entered that state, and who moved it there.
    pub state_at: DateTime<Utc>,
    /// Who moved it there.
    pub state_by: String,
    /// sha256 of the spec as submitted (hex).
    pub spec_sha256: String,
}

/// One review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// Template id.
    pub template_id: String,
    /// Version.
    pub version: String,
    /// Who reviewed.
    pub reviewer: String,
    /// `approve` or `reject`.
    pub verdict: String,
    /// The reviewer's notes.
    pub notes: String,
    /// When.
    pub reviewed_at: DateTime<Utc>,
}

/// The digest that identifies a template's spec: sha256 of its JSON text.
pub fn spec_sha256(spec: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(spec.to_string().as_bytes()))
}

/// A database error from one of the gate's triggers (SQLSTATE `ZQ0nn`) becomes
/// [`PolicyStoreError::Gate`] with the trigger's message; any other stays a database error.
pub(crate) fn gate_error(e: tokio_postgres::Error) -> PolicyStoreError {
    match e.as_db_error() {
        Some(db) if db.code().code().starts_with("ZQ") => PolicyStoreError::Gate(db.message().to_owned()),
        _ => PolicyStoreError::Db(e),
    }
}

const COLUMNS: &str = "template_id, version, author, state, state_at, state_by, spec_sha256";

fn template_row(r: &tokio_postgres::Row) -> MarketTemplate {
    MarketTemplate {
        template_id: r.get(0),
        version: r.get(1),
        author: r.get(2),
        state: ReviewState::parse(r.get::<_, &str>(3)),
        state_at: r.get(4),
        state_by: r.get(5),
        spec_sha256: r.get(6),
    }
}

/// Every template version in the marketplace, by id and version.
pub async fn templates(client: &impl GenericClient) -> Result<Vec<MarketTemplate>, PolicyStoreError> {
    let rows = client.query(&format!("select {COLUMNS} from policy_templates order by template_id, version"), &[]).await?;
    Ok(rows.iter().map(template_row).collect())
}

/// One template version, if it is in the marketplace.
pub async fn template(client: &impl GenericClient, id: &str, version: &str) -> Result<Option<MarketTemplate>, PolicyStoreError> {
    let row = client
        .query_opt(&format!("select {COLUMNS} from policy_templates where template_id = $1 and version = $2"), &[&id, &version])
        .await?;
    Ok(row.as_ref().map(template_row))
}

/// The reviews of a template version, oldest first.
pub async fn reviews(client: &impl GenericClient, id: &str, version: &str) -> Result<Vec<Review>, PolicyStoreError> {
    let rows = client
        .query(
            "select template_id, version, reviewer, verdict, notes, reviewed_at from policy_template_reviews
             where template_id = $1 and version = $2 order by id",
            &[&id, &version],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Review { template_id: r.get(0), version: r.get(1), reviewer: r.get(2), verdict: r.get(3), notes: r.get(4), reviewed_at: r.get(5) })
        .collect())
}

/// Submits a template version for review: enters it as a draft if it is new (or updates a
/// draft's spec), then moves it to `in_review`. `actor` submits; `author` wrote it.
pub async fn submit(
    tx: &Transaction<'_>,
    id: &str,
    version: &str,
    author: &str,
    spec: &serde_json::Value,
    actor: &str,
) -> Result<MarketTemplate, PolicyStoreError> {
    let digest = spec_sha256(spec);
    let step = async {
        let existing = template(tx, id, version).await?;
        match existing {
            None => {
                tx.execute(
                    "insert into policy_templates (template_id, version, author, spec, spec_sha256, state_by) values ($1, $2, $3, $4, $5, $6)",
                    &[&id, &version, &author, spec, &digest, &actor],
                )
                .await
                .map_err(gate_error)?;
            }
            Some(t) if t.spec_sha256 != digest => {
                tx.execute(
                    "update policy_templates set spec = $3, spec_sha256 = $4, author = $5 where template_id = $1 and version = $2",
                    &[&id, &version, spec, &digest, &author],
                )
                .await
                .map_err(gate_error)?;
            }
            Some(_) => {}
        }
        transition(tx, id, version, ReviewState::InReview, actor).await
    };
    step.await
}

/// Moves a template version to `to` (the database checks the transition and, for `published`,
/// the review gate).
pub async fn transition(tx: &Transaction<'_>, id: &str, version: &str, to: ReviewState, actor: &str) -> Result<MarketTemplate, PolicyStoreError> {
    let row = tx
        .query_opt(
            &format!("update policy_templates set state = $3, state_by = $4 where template_id = $1 and version = $2 returning {COLUMNS}"),
            &[&id, &version, &to.as_str(), &actor],
        )
        .await
        .map_err(gate_error)?;
    row.as_ref().map(template_row).ok_or_else(|| PolicyStoreError::UnknownTemplate(format!("{id}@{version}")))
}

/// Records a review of the spec `spec_sha256` (the one the reviewer read). A rejection sends the
/// template back to `draft`. Returns the template's new state.
pub async fn review(
    tx: &Transaction<'_>,
    id: &str,
    version: &str,
    reviewer: &str,
    verdict: Verdict,
    notes: &str,
    spec_sha256: &str,
) -> Result<MarketTemplate, PolicyStoreError> {
    if template(tx, id, version).await?.is_none() {
        return Err(PolicyStoreError::UnknownTemplate(format!("{id}@{version}")));
    }
    tx.execute(
        "insert into policy_template_reviews (template_id, version, reviewer, verdict, notes, spec_sha256) values ($1, $2, $3, $4, $5, $6)",
        &[&id, &version, &reviewer, &verdict.as_str(), &notes, &spec_sha256],
    )
    .await
    .map_err(gate_error)?;
    match verdict {
        Verdict::Reject => transition(tx, id, version, ReviewState::Draft, reviewer).await,
        Verdict::Approve => template(tx, id, version).await?.ok_or_else(|| PolicyStoreError::UnknownTemplate(format!("{id}@{version}"))),
    }
}
