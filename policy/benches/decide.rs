//! `PolicyEngine::decide` for a tenant with 30 policies rendered from 30 different catalog
//! templates at their defaults, plus shared forbids: an allowed and a denied request.
//!
//! Criterion reports the mean and its spread; the tail comes from a manual loop that times each
//! of [`TIMED`] decisions with its own `Instant` and prints the median and p99.
//!
//! Run: `cargo bench -p zkq-policy --bench decide`.
#![allow(missing_docs, reason = "criterion_group! generates an undocumented `pub fn`")]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use zkq_policy::catalog::{Catalog, RequestOverrides, TemplateEffect};
use zkq_policy::{AdmissionRequest, Effect, PolicyEngine};

/// The tenant's own policies, each from a different template.
const POLICIES: usize = 30;
/// Decisions timed one by one for the median and p99.
const TIMED: usize = 20_000;
/// Shared forbids every tenant's set carries.
const SHARED: [(&str, &str); 3] = [
    (
        "shared.quarantine",
        r#"forbid(principal, action == Action::"Prove", resource) when { context.region == "xx-quarantine-1" };"#,
    ),
    (
        "shared.retired",
        r#"forbid(principal, action == Action::"Prove", resource) when { ["groth_v0", "mimc_old"].contains(resource.name) };"#,
    ),
    (
        "shared.overflow-guard",
        r#"forbid(principal, action == Action::"Prove", resource) when { context.epsilon_micro > 1000000000000 };"#,
    ),
];

/// The allowed request: the catalog's example request with ε 0.02 and a one-minute deadline
/// (so the ε-floor and deadline forbids pass).
fn allowed() -> AdmissionRequest {
    RequestOverrides {
        epsilon_micro: Some(20_000),
        deadline_in_ms: Some(60_000),
        ..Default::default()
    }
    .apply()
}

/// The denied request: the same from a quarantined region.
fn denied() -> AdmissionRequest {
    AdmissionRequest {
        region: "xx-quarantine-1".into(),
        ..allowed()
    }
}

/// The engine: 30 templates at their defaults for `acme` (forbids that would deny [`allowed`]
/// left out, so one request is allowed), and the shared forbids.
fn engine() -> PolicyEngine {
    let catalog = Catalog::builtin().expect("catalog");
    let request = allowed();
    let mut policies = Vec::new();
    for t in catalog.latest() {
        if policies.len() == POLICIES {
            break;
        }
        let rendered = t.render(&request.tenant, &BTreeMap::new()).expect("defaults render");
        let policy = PolicyEngine::parse(&format!("{}.{}", request.tenant, t.id), &rendered.source).expect("parses");
        if t.effect == TemplateEffect::Forbid {
            let mut alone = PolicyEngine::new().expect("engine");
            let all = PolicyEngine::parse("all", r#"permit(principal, action, resource);"#).expect("parses");
            alone
                .set_tenant(&request.tenant, vec![all, policy.clone()])
                .expect("valid");
            if alone.decide(&request).effect == Effect::Deny {
                continue;
            }
        }
        policies.push(policy);
    }
    assert_eq!(
        policies.len(),
        POLICIES,
        "the catalog has too few templates for the bench"
    );
    let mut engine = PolicyEngine::new().expect("engine");
    for (id, src) in SHARED {
        engine
            .add_shared(PolicyEngine::parse(id, src).expect("parses"))
            .expect("valid");
    }
    engine.set_tenant(&request.tenant, policies).expect("valid");
    assert_eq!(
        engine.decide(&allowed()).effect,
        Effect::Allow,
        "{:?}",
        engine.decide(&allowed())
    );
    assert_eq!(engine.decide(&denied()).effect, Effect::Deny);
    engine
}

/// Median and p99 of `TIMED` decisions, each timed on its own.
fn tail(engine: &PolicyEngine, request: &AdmissionRequest) -> (Duration, Duration) {
    for _ in 0..1000 {
        black_box(engine.decide(black_box(request)));
    }
    let mut times: Vec<Duration> = (0..TIMED)
        .map(|_| {
            let start = Instant::now();
            black_box(engine.decide(black_box(request)));
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    (times[TIMED / 2], times[TIMED * 99 / 100])
}

fn decide(c: &mut Criterion) {
    let engine = engine();
    let (allow, deny) = (allowed(), denied());
    let mut group = c.benchmark_group(format!("decide/{POLICIES}-templates+{}-shared", SHARED.len()));
    group.bench_function("allow", |b| b.iter(|| engine.decide(black_box(&allow))));
    group.bench_function("deny", |b| b.iter(|| engine.decide(black_box(&deny))));
    group.finish();
    for (name, request) in [("allow", &allow), ("deny", &deny)] {
        let (median, p99) = tail(&engine, request);
        eprintln!("decide {name}: {TIMED} timed decisions, median {median:?}, p99 {p99:?}");
    }
}

criterion_group!(benches, decide);
criterion_main!(benches);
