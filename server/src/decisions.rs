//! `GET /v1/decisions/{job_id}`: why the admission policy admitted or refused a job, in words a
//! non-expert reads, in English or Spanish.
//!
//! The worker stores each admission decision in the job's result message
//! (`job_results.result -> 'policy'`, docs/schemas/job-result.schema.json): the decision, the
//! deciding policies, the caps an allow applied, the explanation in language-neutral form (a
//! string key and its arguments, [`zkq_policy::Explanation`]) and its English and Spanish text.
//! This route re-renders the explanation from its key and arguments in the language the client
//! asks for — `?lang=en|es`, else negotiated from `Accept-Language` (RFC 9110 §12.5.4), else
//! English — as plain text, Markdown and HTML with glossary links. When the explanation cannot
//! be rendered (a key this build's strings lack), the stored text of that language is served
//! instead, escaped for Markdown and HTML: never a 500 for an old or foreign key.
//!
//! The answer names its language in `Content-Language` and carries `Vary: Accept-Language`.
//! A tenant-bound client sees only its tenant's jobs: another tenant's job answers exactly as a
//! missing one (404, same message).

use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::{ACCEPT_LANGUAGE, CONTENT_LANGUAGE, VARY};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use zkq_policy::i18n::{html_escape, markdown_escape};
use zkq_policy::{Explanation, Lang, RenderedText, Strings};

use crate::api::ApiState;
use crate::api_error::ApiError;
use crate::auth::{Principal, Scope};

/// The route, as the router and the access log name it.
pub const ROUTE: &str = "/v1/decisions/{job_id}";

/// `?lang=`.
#[derive(Debug, Deserialize)]
pub(crate) struct DecisionQuery {
    lang: Option<String>,
}

/// The policy object of a stored result message, as far as this route reads it.
#[derive(Debug, Deserialize)]
struct StoredVerdict {
    decision: String,
    #[serde(default)]
    policies: Vec<String>,
    #[serde(default)]
    caps: Option<Map<String, Value>>,
    #[serde(default)]
    explanation: Value,
    #[serde(default)]
    reason: Option<StoredReason>,
}

/// The stored English and Spanish text of the explanation.
#[derive(Debug, Default, Deserialize)]
struct StoredReason {
    #[serde(default)]
    en: Option<String>,
    #[serde(default)]
    es: Option<String>,
}

impl StoredReason {
    fn get(&self, lang: Lang) -> Option<&str> {
        match lang {
            Lang::En => self.en.as_deref(),
            Lang::Es => self.es.as_deref(),
        }
        .filter(|s| !s.trim().is_empty())
    }
}

/// The embedded EN/ES strings, parsed once (an error, which the crate's tests rule out, is kept
/// as text so every request reports it the same way).
fn strings() -> Result<&'static Strings, ApiError> {
    static STRINGS: OnceLock<Result<Strings, String>> = OnceLock::new();
    STRINGS
        .get_or_init(|| Strings::builtin().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| ApiError::Internal(format!("the built-in strings: {e}")))
}

/// The language of the answer: `?lang=` when given (en or es, else 400), else the one
/// `Accept-Language` prefers, else English.
pub fn answer_lang(query: Option<&str>, headers: &HeaderMap) -> Result<Lang, ApiError> {
    if let Some(asked) = query {
        return Lang::from_str(asked).map_err(|_| {
            ApiError::BadRequest(format!(
                "lang {:?}: expected en or es",
                asked.chars().take(32).collect::<String>()
            ))
        });
    }
    let accept = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    Ok(Lang::negotiate(accept))
}

/// `explanation` rendered in `lang`; when it cannot be (malformed, or a key or placeholder the
/// built-in strings lack), the stored text of `lang`, escaped, without links.
fn render(job_id: &str, explanation: &Value, reason: &StoredReason, lang: Lang) -> Result<RenderedText, ApiError> {
    let rendered = serde_json::from_value::<Explanation>(explanation.clone())
        .map_err(|e| e.to_string())
        .and_then(|e| {
            e.render(strings().map_err(|e| e.to_string())?, lang)
                .map_err(|e| e.to_string())
        });
    match rendered {
        Ok(r) => Ok(r),
        Err(why) => {
            tracing::warn!(job_id, lang = lang.code(), error = %why, "explanation not renderable: serving the stored text");
            let text = reason.get(lang).ok_or_else(|| {
                ApiError::Internal(format!(
                    "job {job_id}: explanation unrenderable ({why}) and no stored {lang} text"
                ))
            })?;
            Ok(RenderedText {
                text: text.to_owned(),
                markdown: markdown_escape(text),
                html: html_escape(text),
                links: Vec::new(),
            })
        }
    }
}

/// `GET /v1/decisions/{job_id}` (scope `audit:read`).
pub(crate) async fn decision(
    State(state): State<Arc<ApiState>>,
    principal: Principal,
    Path(job_id): Path<String>,
    q: Result<Query<DecisionQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    principal.require(Scope::AuditRead)?;
    if !zkq_store::rows::valid_job_id(&job_id) {
        return Err(ApiError::BadRequest(
            "a job id is 1-128 letters, digits or `._:-`".into(),
        ));
    }
    let q = q
        .map(|Query(q)| q)
        .map_err(|e| ApiError::BadRequest(format!("bad query: {}", e.body_text())))?;
    let lang = answer_lang(q.lang.as_deref(), &headers)?;
    let c = state
        .db
        .client()
        .await
        .map_err(|e| ApiError::Unavailable(format!("the database is unavailable: {e}")))?;
    let row = c
        .query_opt(
            "select j.tenant, r.job_id is not null, r.result -> 'policy'
             from jobs j left join job_results r on r.job_id = j.job_id
             where j.job_id = $1",
            &[&job_id],
        )
        .await
        .map_err(|e| ApiError::Internal(format!("decision: {e}")))?;
    // Another tenant's job answers exactly as a missing one.
    let missing = || ApiError::NotFound(format!("no job {job_id}"));
    let Some(row) = row else { return Err(missing()) };
    let tenant: String = row.get(0);
    if !principal.may_see_tenant(&tenant) {
        return Err(missing());
    }
    let has_result: bool = row.get(1);
    let stored: Option<Value> = row.get::<_, Option<Value>>(2).filter(|v| !v.is_null());
    let Some(stored) = stored else {
        return Err(ApiError::NotFound(if has_result {
            format!(
                "job {job_id} has no admission decision: it was refused before the policy was asked, or the worker ran \
                 without policies"
            )
        } else {
            format!("job {job_id} has no result yet, so no admission decision is recorded")
        }));
    };
    let verdict: StoredVerdict = serde_json::from_value(stored)
        .map_err(|e| ApiError::Internal(format!("job {job_id}: stored policy decision: {e}")))?;
    if !matches!(verdict.decision.as_str(), "allow" | "deny") {
        return Err(ApiError::Internal(format!(
            "job {job_id}: stored decision {:?}",
            verdict.decision
        )));
    }
    let reason = verdict.reason.unwrap_or_default();
    let rendered = render(&job_id, &verdict.explanation, &reason, lang)?;
    let links: Vec<Value> = rendered
        .links
        .iter()
        .map(|(term, href)| json!({"term": term, "href": href}))
        .collect();
    let body = json!({
        "job_id": job_id,
        "tenant": tenant,
        "decision": verdict.decision,
        "policies": verdict.policies,
        "caps": verdict.caps.unwrap_or_default(),
        "lang": lang.code(),
        "reason": {"text": rendered.text, "markdown": rendered.markdown, "html": rendered.html},
        "links": links,
        "explanation": verdict.explanation,
    });
    let mut res = Json(body).into_response();
    res.headers_mut()
        .insert(CONTENT_LANGUAGE, HeaderValue::from_static(lang.code()));
    res.headers_mut()
        .insert(VARY, HeaderValue::from_static("accept-language"));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPANISH_FIRST: &str = "es-MX,es;q=0.9,en;q=0.5";

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT_LANGUAGE, HeaderValue::from_str(value).expect("header"));
        h
    }

    #[test]
    fn the_query_overrides_accept_language_and_a_bad_one_is_refused() {
        assert_eq!(answer_lang(None, &HeaderMap::new()).expect("default"), Lang::En);
        assert_eq!(answer_lang(None, &accept(SPANISH_FIRST)).expect("header"), Lang::Es);
        assert_eq!(
            answer_lang(Some("en"), &accept(SPANISH_FIRST)).expect("query"),
            Lang::En
        );
        assert_eq!(answer_lang(Some("ES"), &HeaderMap::new()).expect("query"), Lang::Es);
        for bad in ["fr", "", "en-US", "<b>"] {
            let err = answer_lang(Some(bad), &HeaderMap::new()).expect_err(bad);
            assert!(matches!(err, ApiError::BadRequest(_)), "{bad}: {err:?}");
        }
    }

    #[test]
    fn an_unknown_key_falls_back_to_the_stored_text_escaped() {
        let reason = StoredReason {
            en: Some("Denied <b>now</b>".into()),
            es: Some("Rechazado".into()),
        };
        let explanation = json!({"key": "zkq.deny.from_the_future", "args": {}});
        let r = render("j1", &explanation, &reason, Lang::En).expect("fallback");
        assert_eq!(r.text, "Denied <b>now</b>");
        assert_eq!(r.html, "Denied &lt;b&gt;now&lt;/b&gt;");
        assert!(r.links.is_empty());
        assert_eq!(
            render("j1", &explanation, &reason, Lang::Es).expect("fallback").text,
            "Rechazado"
        );
        let err = render("j1", &explanation, &StoredReason::default(), Lang::Es).expect_err("nothing to serve");
        assert!(matches!(err, ApiError::Internal(_)), "{err:?}");
    }
}
