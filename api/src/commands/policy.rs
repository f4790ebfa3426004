//! `zkq policy …`: admission policies (zkq-policy, docs/policy.md) — the policies in force
//! (`list`, `show`, `set`, `revoke`, `new` from a marketplace template), the author's tools
//! (`lint`, `suggest`), decisions explained (`explain --job`), and the template marketplace
//! (`catalog list|show|submit|review|publish|deprecate|page`, docs/policy-catalog.md).
//!
//! Marketplace state changes act as an operator of the admin pages, authenticated with their
//! password (read from stdin, never from the command line); the review gate itself is enforced
//! by the database (migration 0010), so no flag of this command can go around it.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::json;
use zkq_policy::catalog::{Catalog, TemplateSpec};
use zkq_policy::pg::market::{self, ReviewState, Verdict};
use zkq_policy::pg::{self as policy_pg, telemetry, PolicyStoreError, StoredPolicy, TemplateLink};
use zkq_policy::{lint, risk, suggest, Explanation, Lang, Strings};
use zkq_store::Db;

use super::operators::DbArgs;
use super::services::runtime;
use super::{actor, invalid};
use crate::cli::{Format, FormatArgs};
use crate::exit::ExitCode;

/// `zkq policy …`.
#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// List the policies in force (the latest version of each, unless revoked).
    List {
        /// Only this tenant's (shared ones are listed unless --tenant is given).
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Show a policy: its source and every version.
    Show {
        /// The policy id.
        id: String,
        #[command(flatten)]
        scope: Scope,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Store a new version of a hand-written policy from a file (validated with the set it
    /// joins; refused if it broadens what the previous version permitted, unless
    /// --allow-broadening).
    Set {
        /// The policy id: 1-64 letters, digits or `._-`.
        id: String,
        /// The Cedar file (one policy).
        file: PathBuf,
        #[command(flatten)]
        scope: Scope,
        /// Store it even when it permits more than the previous version (the risks are printed).
        #[arg(long)]
        allow_broadening: bool,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Revoke the policy in force under an id.
    Revoke {
        /// The policy id.
        id: String,
        #[command(flatten)]
        scope: Scope,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Link a published marketplace template for a tenant: render it with the parameters,
    /// validate it with the tenant's set, and store it.
    New {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The template: `ID` (newest version) or `ID@VERSION`.
        #[arg(long)]
        template: String,
        /// A parameter, `name=value` (repeat); unnamed ones take their defaults.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// The policy id [default: the template id].
        #[arg(long)]
        id: Option<String>,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Check a policy file (or a tenant's stored policies) with Cedar's validator in strict
    /// mode and zkq's own checks: every error with line, column and help. Exit 1 on errors.
    Lint {
        /// The Cedar file.
        #[arg(required_unless_present = "tenant", conflicts_with = "tenant")]
        file: Option<PathBuf>,
        /// Lint this tenant's policies in force (shared ones with --tenant shared).
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Propose a fix for each lint finding as a unified diff (apply it with --write, or with
    /// `patch -p1`); with --previous, also flag what the file newly permits.
    Suggest {
        /// The Cedar file.
        file: PathBuf,
        /// Write the fixed file in place.
        #[arg(long)]
        write: bool,
        /// The previous version of the file: report changes that broaden what is permitted.
        #[arg(long)]
        previous: Option<PathBuf>,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Explain a job's admission decision, in English or Spanish.
    Explain {
        /// The job id.
        #[arg(long)]
        job: String,
        /// Language: en or es.
        #[arg(long, default_value = "en")]
        lang: String,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// The template marketplace.
    #[command(subcommand)]
    Catalog(CatalogCommand),
}

/// Whose policy: `--tenant T` or `--shared`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct Scope {
    /// The tenant whose policy it is.
    #[arg(long)]
    tenant: Option<String>,
    /// A shared policy (in every tenant's set).
    #[arg(long)]
    shared: bool,
}

impl Scope {
    fn tenant(&self) -> Option<&str> {
        if self.shared {
            None
        } else {
            self.tenant.as_deref()
        }
    }
}

/// `zkq policy catalog …`.
#[derive(Debug, Subcommand)]
pub(crate) enum CatalogCommand {
    /// Every template with its newest version, review state and usage.
    List {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// One template: description, parameters, examples, Cedar, reviews and usage.
    Show {
        /// `ID` or `ID@VERSION`.
        template: String,
        /// Language of the texts: en or es.
        #[arg(long, default_value = "en")]
        lang: String,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Submit a template version for review (as its author or on their behalf).
    Submit {
        /// `ID` or `ID@VERSION`.
        template: String,
        #[command(flatten)]
        operator: OperatorLogin,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Review a template version in review: approve or reject, with notes. Its author cannot.
    Review {
        /// `ID` or `ID@VERSION`.
        template: String,
        /// Approve it (it may then be published).
        #[arg(long, conflicts_with = "reject", required_unless_present = "reject")]
        approve: bool,
        /// Reject it (it goes back to draft).
        #[arg(long)]
        reject: bool,
        /// What the reviewer says.
        #[arg(long, default_value = "")]
        notes: String,
        #[command(flatten)]
        operator: OperatorLogin,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Publish a template version approved by someone other than its author.
    Publish {
        /// `ID` or `ID@VERSION`.
        template: String,
        #[command(flatten)]
        operator: OperatorLogin,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Deprecate a published template version (linked policies keep working; no new links).
    Deprecate {
        /// `ID` or `ID@VERSION`.
        template: String,
        #[command(flatten)]
        operator: OperatorLogin,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Print the catalog page (docs/policy-catalog.md is this output).
    Page,
}

/// The operator acting on the marketplace.
#[derive(Debug, Args)]
pub(crate) struct OperatorLogin {
    /// The operator (an account of `zkq operator add`).
    #[arg(long, env = "ZKQ_OPERATOR")]
    operator: String,
    /// Read the operator's password from stdin (required: passwords never go on the command line).
    #[arg(long, required = true)]
    password_stdin: bool,
}

fn catalog() -> anyhow::Result<Catalog> {
    Ok(Catalog::builtin()?)
}

fn strings() -> anyhow::Result<Strings> {
    Ok(Strings::builtin()?)
}

fn lang(text: &str) -> anyhow::Result<Lang> {
    text.parse::<Lang>().map_err(|e| invalid(format!("--lang: {e}")))
}

fn read_file(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| anyhow::Error::new(e).context(format!("cannot read {}", path.display())))
}

/// The template's spec as the marketplace stores and digests it.
fn spec_json(t: &TemplateSpec) -> serde_json::Value {
    json!({
        "id": t.id, "version": t.version, "author": t.author, "category": t.category, "effect": t.effect.as_str(),
        "params": t.params.iter().map(|p| json!({"name": p.name, "type": p.kind.name(), "default": p.default})).collect::<Vec<_>>(),
        "caps": t.caps, "cedar": t.cedar,
    })
}

fn scope_text(tenant: Option<&str>) -> String {
    tenant.map_or_else(|| "shared".to_owned(), str::to_owned)
}

fn policy_json(p: &StoredPolicy) -> serde_json::Value {
    json!({
        "tenant": p.tenant, "id": p.policy_id, "version": p.version, "source": p.source,
        "created_at": p.created_at, "created_by": p.created_by, "revoked_at": p.revoked_at,
        "template": p.template.as_ref().map(|t| json!({"id": t.template_id, "version": t.version, "params": t.params})),
    })
}

/// Runs `f` in one transaction.
async fn in_tx<T, F>(db: &Db, f: F) -> anyhow::Result<T>
where
    F: for<'t> FnOnce(&'t tokio_postgres::Transaction<'t>) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, PolicyStoreError>> + Send + 't>>,
{
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(zkq_store::StoreError::from)?;
    let out = f(&tx).await?;
    tx.commit().await.map_err(zkq_store::StoreError::from)?;
    Ok(out)
}

/// Runs a `zkq policy` command.
pub(crate) fn run(command: PolicyCommand) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCommand::Lint { file: Some(file), format, .. } => lint_file(&file, format.format),
        PolicyCommand::Suggest { file, write, previous, format } => suggest_file(&file, write, previous.as_deref(), format.format),
        PolicyCommand::Catalog(CatalogCommand::Page) => {
            let c = catalog()?;
            let (en, es) = (serde_json::from_str(zkq_policy::i18n::EN_JSON)?, serde_json::from_str(zkq_policy::i18n::ES_JSON)?);
            print!("{}", c.markdown(&en, &es));
            Ok(ExitCode::Ok)
        }
        other => runtime()?.block_on(run_db(other)),
    }
}

async fn run_db(command: PolicyCommand) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCommand::List { tenant, db, format } => list(&db.connect().await?, tenant.as_deref(), format.format).await,
        PolicyCommand::Show { id, scope, db, format } => show(&db.connect().await?, scope.tenant(), &id, format.format).await,
        PolicyCommand::Set { id, file, scope, allow_broadening, db, format } => {
            set(&db.connect().await?, scope.tenant(), &id, &file, allow_broadening, format.format).await
        }
        PolicyCommand::Revoke { id, scope, db } => {
            let tenant = scope.tenant().map(str::to_owned);
            let (who, pid) = (actor(), id.clone());
            let version = in_tx(&db.connect().await?, move |tx| Box::pin(async move { policy_pg::revoke(tx, tenant.as_deref(), &pid, &who).await })).await?;
            println!("revoked {} {id} (version {version})", scope_text(scope.tenant()));
            Ok(ExitCode::Ok)
        }
        PolicyCommand::New { tenant, template, params, id, db, format } => new(&db.connect().await?, &tenant, &template, &params, id.as_deref(), format.format).await,
        PolicyCommand::Lint { tenant: Some(tenant), db, format, .. } => lint_stored(&db.connect().await?, &tenant, format.format).await,
        PolicyCommand::Lint { .. } => Err(invalid("zkq policy lint needs a FILE or --tenant")),
        PolicyCommand::Explain { job, lang: l, db, format } => explain_job(&db.connect().await?, &job, lang(&l)?, format.format).await,
        PolicyCommand::Catalog(c) => run_catalog(c).await,
        PolicyCommand::Suggest { .. } => Err(invalid("unreachable: suggest runs without the database")),
    }
}

async fn list(db: &Db, tenant: Option<&str>, format: Format) -> anyhow::Result<ExitCode> {
    let client = db.client().await?;
    let all = policy_pg::in_force(&**client).await?;
    let shown: Vec<&StoredPolicy> = all.iter().filter(|p| tenant.is_none() || p.tenant.as_deref() == tenant).collect();
    match format {
        Format::Json => println!("{}", serde_json::Value::Array(shown.iter().map(|p| policy_json(p)).collect())),
        Format::Text => {
            println!("{:<24} {:<28} {:>4}  {:<26} {:<20} CREATED (UTC)", "TENANT", "ID", "VER", "TEMPLATE", "BY");
            for p in &shown {
                let template = p.template.as_ref().map_or_else(|| "-".to_owned(), |t| format!("{}@{}", t.template_id, t.version));
                println!(
                    "{:<24} {:<28} {:>4}  {:<26} {:<20} {}",
                    scope_text(p.tenant.as_deref()),
                    p.policy_id,
                    p.version,
                    template,
                    p.created_by,
                    p.created_at.format("%Y-%m-%d %H:%M:%S")
                );
            }
            if shown.is_empty() {
                println!("(no policy in force{}: every job is denied)", tenant.map(|t| format!(" for {t}")).unwrap_or_default());
            }
        }
    }
    Ok(ExitCode::Ok)
}

async fn show(db: &Db, tenant: Option<&str>, id: &str, format: Format) -> anyhow::Result<ExitCode> {
    let client = db.client().await?;
    let history = policy_pg::history(&**client, tenant, id).await?;
    if history.is_empty() {
        return Err(PolicyStoreError::NotFound { scope: scope_text(tenant), id: id.to_owned() }.into());
    }
    match format {
        Format::Json => println!("{}", serde_json::Value::Array(history.iter().map(policy_json).collect())),
        Format::Text => {
            for p in &history {
                let state = if p.revoked_at.is_some() { " (revoked)" } else { "" };
                println!("# {} {} version {} by {} at {}{state}", scope_text(p.tenant.as_deref()), p.policy_id, p.version, p.created_by, p.created_at.to_rfc3339());
                if let Some(t) = &p.template {
                    let params: Vec<String> = t.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    println!("# linked from {}@{} with {}", t.template_id, t.version, params.join(" "));
                }
                println!("{}\n", p.source.trim_end());
            }
        }
    }
    Ok(ExitCode::Ok)
}

fn print_risks(risks: &[risk::Risk]) {
    for r in risks {
        eprintln!("zkq: broadens: {r}");
    }
}

async fn set(db: &Db, tenant: Option<&str>, id: &str, file: &Path, allow_broadening: bool, format: Format) -> anyhow::Result<ExitCode> {
    let source = read_file(file)?;
    let findings = lint::lint(&source);
    if !findings.is_empty() {
        let name = file.display().to_string();
        for f in &findings {
            eprintln!("{}", f.in_file(&name));
        }
        return Err(invalid(format!("{name}: {} lint error(s); nothing stored (zkq policy suggest {name} proposes fixes)", findings.len())));
    }
    let client = db.client().await?;
    let previous = policy_pg::history(&**client, tenant, id).await?.into_iter().last().filter(|p| p.revoked_at.is_none());
    drop(client);
    let risks = match &previous {
        Some(p) => risk::broadening(&p.source, &source)?,
        None => Vec::new(),
    };
    if !risks.is_empty() {
        print_risks(&risks);
        if !allow_broadening {
            return Err(invalid(format!(
                "{} permits more than version {} of {id} ({} change(s) above); nothing stored — pass --allow-broadening to store it anyway",
                file.display(),
                previous.as_ref().map_or(0, |p| p.version),
                risks.len()
            )));
        }
    }
    let (t, pid, src, who) = (tenant.map(str::to_owned), id.to_owned(), source.clone(), actor());
    let version = in_tx(db, move |tx| Box::pin(async move { policy_pg::put(tx, t.as_deref(), &pid, &src, &who).await })).await?;
    match format {
        Format::Json => println!("{}", json!({"tenant": tenant, "id": id, "version": version, "broadens": risks.iter().map(|r| r.explanation.clone()).collect::<Vec<_>>()})),
        Format::Text => println!("stored {} {id} version {version}", scope_text(tenant)),
    }
    Ok(ExitCode::Ok)
}

fn parse_params(params: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for p in params {
        let Some((k, v)) = p.split_once('=') else { return Err(invalid(format!("--param {p:?}: write name=value"))) };
        if out.insert(k.trim().to_owned(), v.to_owned()).is_some() {
            return Err(invalid(format!("--param {k}: given twice")));
        }
    }
    Ok(out)
}

async fn new(db: &Db, tenant: &str, template: &str, params: &[String], id: Option<&str>, format: Format) -> anyhow::Result<ExitCode> {
    let c = catalog()?;
    let spec = c.get(template, None)?;
    let params = parse_params(params)?;
    let rendered = spec.render(tenant, &params)?;
    let client = db.client().await?;
    // The spec this binary renders must be the one reviewed and published.
    match market::template(&**client, &spec.id, &spec.version).await? {
        None => return Err(PolicyStoreError::UnknownTemplate(format!("{}@{}", spec.id, spec.version)).into()),
        Some(m) if m.spec_sha256 != market::spec_sha256(&spec_json(spec)) => {
            return Err(PolicyStoreError::Gate(format!(
                "template {}@{} in this zkq build differs from the one reviewed in the marketplace: it cannot be linked",
                spec.id, spec.version
            ))
            .into())
        }
        Some(_) => {}
    }
    drop(client);
    let policy_id = id.unwrap_or(&spec.id).to_owned();
    let link = TemplateLink { template_id: spec.id.clone(), version: spec.version.clone(), params: rendered.params.clone() };
    let (t, pid, src, who, l) = (tenant.to_owned(), policy_id.clone(), rendered.source.clone(), actor(), link.clone());
    let version = in_tx(db, move |tx| Box::pin(async move { policy_pg::put_linked(tx, Some(&t), &pid, &src, Some(&l), &who).await })).await?;
    match format {
        Format::Json => println!(
            "{}",
            json!({"tenant": tenant, "id": policy_id, "version": version, "template": {"id": spec.id, "version": spec.version}, "params": rendered.params, "source": rendered.source})
        ),
        Format::Text => {
            println!("linked {}@{} for {tenant} as {policy_id} version {version}", spec.id, spec.version);
            println!("{}", rendered.source.trim_end());
        }
    }
    Ok(ExitCode::Ok)
}

fn finding_json(file: &str, f: &lint::Finding) -> serde_json::Value {
    json!({
        "file": file, "severity": f.severity.to_string(), "code": f.code, "message": f.message,
        "line": f.line, "column": f.column, "end_line": f.end_line, "end_column": f.end_column,
        "help": f.help, "policy": f.policy_id(),
    })
}

/// Prints findings; the exit code is 1 when any is an error.
fn report(named: &[(String, Vec<lint::Finding>)], format: Format) -> ExitCode {
    let errors = named.iter().flat_map(|(_, f)| f).filter(|f| f.severity == lint::Severity::Error).count();
    match format {
        Format::Json => {
            let all: Vec<serde_json::Value> = named.iter().flat_map(|(n, fs)| fs.iter().map(move |f| finding_json(n, f))).collect();
            println!("{}", json!({"errors": errors, "findings": all}));
        }
        Format::Text => {
            for (name, findings) in named {
                for f in findings {
                    println!("{}", f.in_file(name));
                }
            }
            let total: usize = named.iter().map(|(_, f)| f.len()).sum();
            println!("{total} finding(s), {errors} error(s)");
        }
    }
    if errors > 0 {
        ExitCode::Invalid
    } else {
        ExitCode::Ok
    }
}

fn lint_file(file: &Path, format: Format) -> anyhow::Result<ExitCode> {
    let source = read_file(file)?;
    let mut findings = lint::lint(&source);
    findings.extend(lint::warnings(&source));
    Ok(report(&[(file.display().to_string(), findings)], format))
}

async fn lint_stored(db: &Db, tenant: &str, format: Format) -> anyhow::Result<ExitCode> {
    let client = db.client().await?;
    let all = policy_pg::in_force(&**client).await?;
    let want = if tenant == "shared" { None } else { Some(tenant) };
    let mine: Vec<&StoredPolicy> = all.iter().filter(|p| p.tenant.as_deref() == want).collect();
    if mine.is_empty() && want.is_some() && client.query_opt("select 1 from tenants where name = $1", &[&tenant]).await.map_err(zkq_store::StoreError::from)?.is_none() {
        return Err(PolicyStoreError::UnknownTenant(tenant.to_owned()).into());
    }
    let mut named = Vec::new();
    for p in &mine {
        let mut findings = lint::lint(&p.source);
        findings.extend(lint::warnings(&p.source));
        named.push((format!("{}/{}@v{}", scope_text(p.tenant.as_deref()), p.policy_id, p.version), findings));
    }
    // Each alone may be valid and the set not (e.g. a shared policy's id clash): the engine's check.
    if let Err(e) = policy_pg::engine_of(&all) {
        eprintln!("zkq: the stored set does not validate: {e}");
        return Ok(ExitCode::Invalid);
    }
    Ok(report(&named, format))
}

fn suggest_file(file: &Path, write: bool, previous: Option<&Path>, format: Format) -> anyhow::Result<ExitCode> {
    let source = read_file(file)?;
    let name = file.display().to_string();
    let s = suggest::suggest(&source, &name);
    let risks = match previous {
        Some(old) => risk::broadening(&read_file(old)?, if s.unfixed.is_empty() { &s.fixed } else { &source })?,
        None => Vec::new(),
    };
    if write && !s.diff.is_empty() {
        std::fs::write(file, &s.fixed).map_err(|e| anyhow::Error::new(e).context(format!("cannot write {name}")))?;
    }
    match format {
        Format::Json => println!(
            "{}",
            json!({
                "file": name, "diff": s.diff, "written": write && !s.diff.is_empty(),
                "fixes": s.fixes.iter().map(|f| json!({"code": f.code, "line": f.line, "column": f.column, "description": f.description, "caveat": f.caveat})).collect::<Vec<_>>(),
                "unfixed": s.unfixed.iter().map(|f| finding_json(&name, f)).collect::<Vec<_>>(),
                "broadens": risks.iter().map(|r| json!({"policy": r.policy_id, "kind": format!("{:?}", r.kind), "explanation": r.explanation})).collect::<Vec<_>>(),
            })
        ),
        Format::Text => {
            for f in &s.fixes {
                eprintln!("zkq: fix: {f}");
            }
            print!("{}", s.diff);
            for f in &s.unfixed {
                eprintln!("zkq: not fixed: {}", f.in_file(&name));
            }
            for r in &risks {
                eprintln!("zkq: broadens: {r}");
            }
            if write && !s.diff.is_empty() {
                eprintln!("zkq: wrote {name}");
            } else if !s.diff.is_empty() {
                eprintln!("zkq: apply with: zkq policy suggest {name} --write");
            }
        }
    }
    Ok(if s.unfixed.iter().any(|f| f.severity == lint::Severity::Error) { ExitCode::Invalid } else { ExitCode::Ok })
}

async fn explain_job(db: &Db, job: &str, lang: Lang, format: Format) -> anyhow::Result<ExitCode> {
    if !zkq_store::rows::valid_job_id(job) {
        return Err(invalid(format!("--job {job:?} is not a job id")));
    }
    let client = db.client().await?;
    let row = client
        .query_opt("select j.tenant, r.result -> 'policy' from jobs j left join job_results r on r.job_id = j.job_id where j.job_id = $1", &[&job])
        .await
        .map_err(zkq_store::StoreError::from)?;
    let Some(row) = row else { return Err(zkq_server::ServerError::NotFound(format!("there is no job {job:?}")).into()) };
    let tenant: String = row.get(0);
    let Some(policy) = row.get::<_, Option<serde_json::Value>>(1) else {
        return Err(zkq_server::ServerError::NotFound(format!(
            "job {job:?} has no admission decision (it was refused before the policy was asked, is still queued, or its worker ran without policies)"
        ))
        .into());
    };
    let strings = strings()?;
    let stored = |l: Lang| policy["reason"][l.code()].as_str().unwrap_or_default().to_owned();
    let text = match serde_json::from_value::<Explanation>(policy["explanation"].clone()) {
        Ok(e) => e.render(&strings, lang).map(|r| r.text).unwrap_or_else(|_| stored(lang)),
        Err(_) => stored(lang),
    };
    match format {
        Format::Json => println!(
            "{}",
            json!({"job_id": job, "tenant": tenant, "decision": policy["decision"], "policies": policy["policies"], "caps": policy.get("caps"), "lang": lang.code(), "reason": text})
        ),
        Format::Text => {
            let decision = policy["decision"].as_str().unwrap_or("?");
            let by: Vec<&str> = policy["policies"].as_array().map(|a| a.iter().filter_map(|v| v.as_str()).collect()).unwrap_or_default();
            println!("{job} ({tenant}): {decision}{}", if by.is_empty() { String::new() } else { format!(" by {}", by.join(", ")) });
            println!("{text}");
        }
    }
    Ok(ExitCode::Ok)
}

/// Reads the operator's password from stdin and authenticates them.
async fn login(db: &Db, login: &OperatorLogin) -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().take(4096).read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']);
    match zkq_server::operators::authenticate(db, &login.operator, password).await? {
        Some(op) => Ok(op.name),
        None => Err(PolicyStoreError::Gate(format!("operator {:?}: wrong name or password, or the account is removed", login.operator)).into()),
    }
}

async fn run_catalog(command: CatalogCommand) -> anyhow::Result<ExitCode> {
    let c = catalog()?;
    match command {
        CatalogCommand::List { db, format } => {
            let db = db.connect().await?;
            let client = db.client().await?;
            let states: BTreeMap<(String, String), market::MarketTemplate> =
                market::templates(&**client).await?.into_iter().map(|t| ((t.template_id.clone(), t.version.clone()), t)).collect();
            let usage: BTreeMap<(String, String), telemetry::TemplateUsage> =
                telemetry::template_usage(&**client).await?.into_iter().map(|u| ((u.template_id.clone(), u.version.clone()), u)).collect();
            let strings = strings()?;
            let rows: Vec<serde_json::Value> = c
                .templates()
                .iter()
                .map(|t| {
                    let key = (t.id.clone(), t.version.clone());
                    let state = states.get(&key).map_or("draft", |m| m.state.as_str());
                    let u = usage.get(&key);
                    json!({
                        "id": t.id, "version": t.version, "author": t.author, "category": t.category, "effect": t.effect.as_str(),
                        "title": strings.get(Lang::En, &format!("templates.{}.title", t.id)),
                        "title_es": strings.get(Lang::Es, &format!("templates.{}.title", t.id)),
                        "state": state, "tenants_linking": u.map_or(0, |u| u.tenants_linking),
                        "allows": u.map_or(0, |u| u.allows), "denies": u.map_or(0, |u| u.denies),
                    })
                })
                .collect();
            match format.format {
                Format::Json => println!("{}", serde_json::Value::Array(rows)),
                Format::Text => {
                    println!("{:<30} {:<8} {:<10} {:<11} {:>7} {:>9} {:>9}  TITLE", "TEMPLATE", "VERSION", "EFFECT", "STATE", "TENANTS", "ALLOWS", "DENIES");
                    for r in &rows {
                        println!(
                            "{:<30} {:<8} {:<10} {:<11} {:>7} {:>9} {:>9}  {}",
                            r["id"].as_str().unwrap_or(""),
                            r["version"].as_str().unwrap_or(""),
                            r["effect"].as_str().unwrap_or(""),
                            r["state"].as_str().unwrap_or(""),
                            r["tenants_linking"].as_i64().unwrap_or(0),
                            r["allows"].as_i64().unwrap_or(0),
                            r["denies"].as_i64().unwrap_or(0),
                            r["title"].as_str().unwrap_or("")
                        );
                    }
                }
            }
            Ok(ExitCode::Ok)
        }
        CatalogCommand::Show { template, lang: l, db, format } => {
            let lang = lang(&l)?;
            let t = c.get(&template, None)?;
            let db = db.connect().await?;
            let client = db.client().await?;
            let state = market::template(&**client, &t.id, &t.version).await?;
            let reviews = market::reviews(&**client, &t.id, &t.version).await?;
            let usage = telemetry::template_usage(&**client).await?.into_iter().find(|u| u.template_id == t.id && u.version == t.version);
            let strings = strings()?;
            let text = |k: &str| strings.get(lang, &format!("templates.{}.{k}", t.id)).unwrap_or_default().to_owned();
            let doc = json!({
                "id": t.id, "version": t.version, "author": t.author, "category": t.category, "effect": t.effect.as_str(),
                "title": text("title"), "description": text("description"), "lang": lang.code(),
                "params": t.params.iter().map(|p| json!({"name": p.name, "type": p.kind.name(), "default": p.default,
                    "doc": strings.get(lang, &format!("templates.{}.params.{}", t.id, p.name))})).collect::<Vec<_>>(),
                "caps": t.caps, "cedar": t.cedar,
                "examples": t.examples.iter().map(|e| json!({"name": e.name, "params": e.params, "request": e.request.describe(), "expect": format!("{:?}", e.expect).to_lowercase()})).collect::<Vec<_>>(),
                "state": state.as_ref().map_or("draft", |m| m.state.as_str()),
                "spec_sha256": market::spec_sha256(&spec_json(t)),
                "reviews": reviews.iter().map(|r| json!({"reviewer": r.reviewer, "verdict": r.verdict, "notes": r.notes, "at": r.reviewed_at})).collect::<Vec<_>>(),
                "tenants_linking": usage.as_ref().map_or(0, |u| u.tenants_linking),
                "allows": usage.as_ref().map_or(0, |u| u.allows), "denies": usage.as_ref().map_or(0, |u| u.denies),
            });
            match format.format {
                Format::Json => println!("{doc}"),
                Format::Text => {
                    println!("{}@{} — {} [{}]", t.id, t.version, doc["title"].as_str().unwrap_or(""), doc["state"].as_str().unwrap_or(""));
                    println!("{}", doc["description"].as_str().unwrap_or(""));
                    println!("author {}, category {}, {}", t.author, t.category, t.effect.as_str());
                    for p in &t.params {
                        println!("  --param {}=<{}> (default {})", p.name, p.kind.name(), p.default.as_deref().unwrap_or("none: required"));
                    }
                    println!("\n{}", t.cedar.trim_end());
                    for r in &reviews {
                        println!("review: {} {} at {}: {}", r.reviewer, r.verdict, r.reviewed_at.to_rfc3339(), r.notes);
                    }
                    println!("linked by {} tenant(s); {} allows, {} denies", doc["tenants_linking"], doc["allows"], doc["denies"]);
                }
            }
            Ok(ExitCode::Ok)
        }
        CatalogCommand::Submit { template, operator, db } => {
            let t = c.get(&template, None)?;
            let db = db.connect().await?;
            let who = login(&db, &operator).await?;
            let (id, version, author, spec) = (t.id.clone(), t.version.clone(), t.author.clone(), spec_json(t));
            let m = in_tx(&db, move |tx| Box::pin(async move { market::submit(tx, &id, &version, &author, &spec, &who).await })).await?;
            println!("{}@{} is {} (author {})", m.template_id, m.version, m.state.as_str(), m.author);
            Ok(ExitCode::Ok)
        }
        CatalogCommand::Review { template, approve, reject: _, notes, operator, db } => {
            let t = c.get(&template, None)?;
            let db = db.connect().await?;
            let who = login(&db, &operator).await?;
            let verdict = if approve { Verdict::Approve } else { Verdict::Reject };
            let (id, version, digest) = (t.id.clone(), t.version.clone(), market::spec_sha256(&spec_json(t)));
            let m = in_tx(&db, move |tx| Box::pin(async move { market::review(tx, &id, &version, &who, verdict, &notes, &digest).await })).await?;
            println!("{}@{}: {} recorded; it is {}", m.template_id, m.version, verdict.as_str(), m.state.as_str());
            Ok(ExitCode::Ok)
        }
        CatalogCommand::Publish { template, operator, db } => transition(&c, &template, &operator, &db, ReviewState::Published).await,
        CatalogCommand::Deprecate { template, operator, db } => transition(&c, &template, &operator, &db, ReviewState::Deprecated).await,
        CatalogCommand::Page => Err(invalid("unreachable: the page needs no database")),
    }
}

async fn transition(c: &Catalog, template: &str, operator: &OperatorLogin, db: &DbArgs, to: ReviewState) -> anyhow::Result<ExitCode> {
    let t = c.get(template, None)?;
    let db = db.connect().await?;
    let who = login(&db, operator).await?;
    let (id, version) = (t.id.clone(), t.version.clone());
    let m = in_tx(&db, move |tx| Box::pin(async move { market::transition(tx, &id, &version, to, &who).await })).await?;
    println!("{}@{} is {}", m.template_id, m.version, m.state.as_str());
    Ok(ExitCode::Ok)
}
