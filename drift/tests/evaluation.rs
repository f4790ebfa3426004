//! The evaluation at the defaults: the targets on sudden shifts ≥ 1σ, and the table.

use zkq_drift::evaluate::evaluate;

/// The seed of the table in docs/drift.md.
const SEED: u64 = 2021;

#[test]
fn defaults_meet_the_targets_on_sudden_shifts() {
    let report = evaluate(SEED);
    #[allow(clippy::print_stdout)]
    {
        println!("{}", report.table());
    }
    for detector in ["cusum", "page-hinkley", "ewma"] {
        for row in report
            .rows
            .iter()
            .filter(|r| r.detector == detector && r.scenario_spec.is_sudden_shift())
        {
            let p = row.precision.unwrap_or(0.0);
            let r = row.recall.unwrap_or(0.0);
            assert!(p >= 0.9, "{detector} on {}: precision {p:.3} < 0.9", row.scenario);
            assert!(r >= 0.8, "{detector} on {}: recall {r:.3} < 0.8", row.scenario);
        }
    }
}

#[test]
fn evaluation_is_reproducible() {
    assert_eq!(evaluate(7), evaluate(7));
}
