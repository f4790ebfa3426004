//! Hand-computed statistics on tiny series, and properties.

use proptest::prelude::*;
use zkq_drift::adwin::Adwin;
use zkq_drift::csv::{parse, write, Point};
use zkq_drift::detector::run;
use zkq_drift::synth::{generate, Scenario};
use zkq_drift::*;

#[test]
fn cusum_by_hand() {
    // μ0 = 10, σ = 2, k = 0.5, h = 2. z = (x − 10)/2.
    let mut c = Cusum::new(CusumConfig {
        k: 0.5,
        h: 2.0,
        reference: Reference::Given { mean: 10.0, sigma: 2.0 },
    })
    .expect("fixture");
    // x = 12: z = 1;   C⁺ = max(0, 0 + 1 − 0.5) = 0.5; C⁻ = max(0, 0 − 1 − 0.5) = 0.
    assert_eq!(c.update(12.0), None);
    assert_eq!(c.sums(), (0.5, 0.0));
    // x = 13: z = 1.5; C⁺ = 0.5 + 1.5 − 0.5 = 1.5.
    assert_eq!(c.update(13.0), None);
    assert_eq!(c.sums(), (1.5, 0.0));
    // x = 10: z = 0;   C⁺ = 1.5 − 0.5 = 1.0.
    assert_eq!(c.update(10.0), None);
    assert_eq!(c.statistic(), 1.0);
    // x = 14: z = 2;   C⁺ = 1.0 + 2 − 0.5 = 2.5 > h = 2: alarm Up, then reset.
    let a = c.update(14.0).expect("fixture");
    assert_eq!((a.direction, a.statistic), (Direction::Up, 2.5));
    assert_eq!(c.sums(), (0.0, 0.0));
    // x = 4: z = −3;   C⁻ = 0 + 3 − 0.5 = 2.5 > 2: alarm Down.
    assert_eq!(c.update(4.0).map(|a| a.direction), Some(Direction::Down));
}

#[test]
fn cusum_warm_up_estimates_the_reference() {
    // Warm-up 4 points 1, 2, 3, 4: median 2.5, MAD-σ = 1.4826 × 1 (deviations 1.5, .5, .5, 1.5);
    // none trimmed; μ0 = 2.5, σ = sample sd = √(5/3).
    let mut c = Cusum::new(CusumConfig {
        k: 0.5,
        h: 5.0,
        reference: Reference::Estimate { warmup: 4 },
    })
    .expect("fixture");
    for x in [1.0, 2.0, 3.0, 4.0] {
        assert_eq!(c.update(x), None);
        assert_eq!(c.statistic(), 0.0);
    }
    let (mu, sigma) = c.reference().expect("fixture");
    assert_eq!(mu, 2.5);
    assert!((sigma - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
}

#[test]
fn page_hinkley_by_hand() {
    // σ = 1 given, δ = 0.5, λ = 1, α = 1, alarms from the 2nd point.
    let cfg = PageHinkleyConfig {
        min_instances: 2,
        delta: 0.5,
        threshold: 1.0,
        alpha: 1.0,
        sigma: Some(1.0),
    };
    let mut p = PageHinkley::new(cfg).expect("fixture");
    // x = 0: x̄ = 0; m⁺ = 0 − 0 − 0.5 = −0.5, M⁺ = −0.5; m⁻ = 0 + 0.5 = 0.5, M⁻ = 0.5. n = 1 < 2.
    assert_eq!(p.update(0.0), None);
    assert_eq!(p.statistics(), (0.0, 0.0));
    // x = 2: x̄ = 1; m⁺ = −0.5 + (2 − 1 − 0.5) = 0, M⁺ = −0.5 → up = 0.5;
    //               m⁻ = 0.5 + (2 − 1 + 0.5) = 2, M⁻ = 2 → down = 0.
    assert_eq!(p.update(2.0), None);
    assert_eq!(p.statistics(), (0.5, 0.0));
    assert_eq!(p.mean(), 1.0);
    // x = 4: x̄ = 2; m⁺ = 0 + (4 − 2 − 0.5) = 1.5 → up = 1.5 − (−0.5) = 2 > 1: alarm Up.
    let a = p.update(4.0).expect("fixture");
    assert_eq!((a.direction, a.statistic), (Direction::Up, 2.0));
    assert_eq!(p.mean(), 0.0, "the alarm resets");
}

#[test]
fn ewma_by_hand() {
    // μ0 = 0, σ = 1, λ = 0.5, L = 2, asymptotic limits: σ_z = √(0.5/1.5) = 0.57735.
    let cfg = EwmaConfig {
        lambda: 0.5,
        l: 2.0,
        time_varying: false,
        reference: Reference::Given { mean: 0.0, sigma: 1.0 },
    };
    let mut e = Ewma::new(cfg).expect("fixture");
    // x = 1: z = 0.5·1 + 0.5·0 = 0.5; stat = 0.5/0.57735 = 0.866.
    assert_eq!(e.update(1.0), None);
    assert_eq!(e.smoothed(), Some(0.5));
    assert!((e.statistic() - 0.5 / (1.0f64 / 3.0).sqrt()).abs() < 1e-12);
    // x = 1: z = 0.5 + 0.25 = 0.75; stat = 1.299.
    assert_eq!(e.update(1.0), None);
    assert_eq!(e.smoothed(), Some(0.75));
    // x = 2: z = 1 + 0.375 = 1.375; stat = 2.3816 > 2: alarm Up.
    let a = e.update(2.0).expect("fixture");
    assert_eq!(a.direction, Direction::Up);
    assert!((a.statistic - 1.375 / (1.0f64 / 3.0).sqrt()).abs() < 1e-12);
    // Time-varying limits at t = 1: σ_z = √(λ/(2−λ)·(1 − (1−λ)²)) = √(1/3 · 0.75) = 0.5.
    let tv = Ewma::new(EwmaConfig {
        time_varying: true,
        ..cfg
    })
    .expect("fixture");
    assert!((tv.sigma_z(1.0, 1) - 0.5).abs() < 1e-12);
}

#[test]
fn bad_parameters_are_errors() {
    let e = Cusum::new(CusumConfig {
        h: 0.0,
        ..Default::default()
    })
    .expect_err("an error");
    assert_eq!(e.to_string(), "cusum: parameter h = 0: must be finite and > 0");
    assert!(Adwin::new(AdwinConfig {
        delta: 1.5,
        ..Default::default()
    })
    .is_err());
    assert!(Ewma::new(EwmaConfig {
        lambda: 0.0,
        ..Default::default()
    })
    .is_err());
}

#[test]
fn csv_errors_name_line_and_column() {
    assert_eq!(
        parse("time,value\n1,2\n2,abc\n").expect_err("an error").to_string(),
        "line 3, column 2: value `abc` is not a number"
    );
    assert_eq!(
        parse("1,2,3").expect_err("an error").to_string(),
        "line 1: expected 2 columns (time,value), found 3"
    );
    assert_eq!(
        parse("1,NaN").expect_err("an error").to_string(),
        "line 1, column 2: value `NaN` is not finite"
    );
    assert_eq!(parse(",1").expect_err("an error").to_string(), "line 1, column 1: time is empty");
    assert_eq!(
        parse("\n1, 2.5\n").expect("fixture"),
        vec![Point {
            time: "1".into(),
            value: 2.5
        }]
    );
}

#[test]
fn adwin_shrinks_after_a_large_shift() {
    let mut a = Adwin::new(AdwinConfig::default()).expect("fixture");
    for i in 0..1000 {
        a.update(f64::from(i % 2));
    }
    assert_eq!(a.width(), 1000);
    let mut alarms = 0;
    for _ in 0..500 {
        alarms += usize::from(a.update(10.0).is_some());
    }
    assert!(alarms >= 1);
    assert!(a.width() < 700, "width {}", a.width());
}

#[test]
fn series_defaults_build() {
    for s in Series::ALL {
        let mut m = Monitor::new(&s.default_config()).expect("fixture");
        assert!(m.run((0..500).map(|_| 1.0)).is_empty(), "{s:?}");
    }
}

proptest! {
    #[test]
    fn no_alarm_on_a_constant_series(c in -1e6f64..1e6, n in 1usize..2000) {
        for d in DetectorConfig::defaults() {
            prop_assert!(run(&d, &vec![c; n]).expect("fixture").is_empty(), "{}", d.name());
        }
    }

    #[test]
    fn alarms_are_deterministic_per_seed(seed in any::<u64>()) {
        let s = generate(Scenario::MeanShift { sigmas: 2.0 }, seed);
        prop_assert_eq!(&s, &generate(Scenario::MeanShift { sigmas: 2.0 }, seed));
        for d in DetectorConfig::defaults() {
            prop_assert_eq!(run(&d, &s.values).expect("fixture"), run(&d, &s.values).expect("fixture"));
        }
    }

    #[test]
    fn adwin_window_only_grows_on_a_stationary_stream(c in -1e3f64..1e3, period in 1usize..5, n in 1usize..3000) {
        // A stationary, exactly periodic stream: no split ever differs by more than the bound.
        let mut a = Adwin::new(AdwinConfig::default()).expect("fixture");
        let mut last = 0;
        for i in 0..n {
            prop_assert!(a.update(c + (i % period) as f64 * 0.01).is_none());
            prop_assert!(a.width() >= last);
            last = a.width();
        }
        prop_assert_eq!(last, n);
    }

    #[test]
    fn csv_round_trips(values in proptest::collection::vec(-1e12f64..1e12, 0..50)) {
        let points: Vec<Point> = values.iter().enumerate().map(|(i, &v)| Point { time: format!("t{i}"), value: v }).collect();
        prop_assert_eq!(parse(&write(&points)).expect("fixture"), points);
    }
}
