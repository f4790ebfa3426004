//! The catalog files embedded in this build: `policy/catalog/*.toml`, by file name. A test
//! checks this list against the directory.

/// `(file name, TOML text)` for every file of `policy/catalog/`, sorted by name.
pub const FILES: &[(&str, &str)] = &[
    (
        "baseline-permit.toml",
        include_str!("../../catalog/baseline-permit.toml"),
    ),
    (
        "burst-limit-by-tier.toml",
        include_str!("../../catalog/burst-limit-by-tier.toml"),
    ),
    ("business-hours.toml", include_str!("../../catalog/business-hours.toml")),
    (
        "circuit-allow-list.toml",
        include_str!("../../catalog/circuit-allow-list.toml"),
    ),
    (
        "circuit-deny-list.toml",
        include_str!("../../catalog/circuit-deny-list.toml"),
    ),
    (
        "circuit-epsilon-ceiling.toml",
        include_str!("../../catalog/circuit-epsilon-ceiling.toml"),
    ),
    (
        "circuit-purpose-pairing.toml",
        include_str!("../../catalog/circuit-purpose-pairing.toml"),
    ),
    ("data-residency.toml", include_str!("../../catalog/data-residency.toml")),
    (
        "deadline-feasible.toml",
        include_str!("../../catalog/deadline-feasible.toml"),
    ),
    (
        "deadline-horizon.toml",
        include_str!("../../catalog/deadline-horizon.toml"),
    ),
    (
        "deadline-required.toml",
        include_str!("../../catalog/deadline-required.toml"),
    ),
    ("emergency-deny.toml", include_str!("../../catalog/emergency-deny.toml")),
    ("epsilon-cap.toml", include_str!("../../catalog/epsilon-cap.toml")),
    (
        "epsilon-ceiling.toml",
        include_str!("../../catalog/epsilon-ceiling.toml"),
    ),
    ("epsilon-floor.toml", include_str!("../../catalog/epsilon-floor.toml")),
    (
        "epsilon-required-for-purposes.toml",
        include_str!("../../catalog/epsilon-required-for-purposes.toml"),
    ),
    (
        "large-circuit-deadline.toml",
        include_str!("../../catalog/large-circuit-deadline.toml"),
    ),
    (
        "maintenance-window.toml",
        include_str!("../../catalog/maintenance-window.toml"),
    ),
    (
        "max-constraints.toml",
        include_str!("../../catalog/max-constraints.toml"),
    ),
    (
        "min-constraints.toml",
        include_str!("../../catalog/min-constraints.toml"),
    ),
    (
        "night-batch-purposes.toml",
        include_str!("../../catalog/night-batch-purposes.toml"),
    ),
    (
        "off-hours-priority-ceiling.toml",
        include_str!("../../catalog/off-hours-priority-ceiling.toml"),
    ),
    ("priority-cap.toml", include_str!("../../catalog/priority-cap.toml")),
    (
        "priority-ceiling.toml",
        include_str!("../../catalog/priority-ceiling.toml"),
    ),
    (
        "priority-floor-for-tier.toml",
        include_str!("../../catalog/priority-floor-for-tier.toml"),
    ),
    (
        "priority-rate-limit.toml",
        include_str!("../../catalog/priority-rate-limit.toml"),
    ),
    (
        "priority-reserved-for-tiers.toml",
        include_str!("../../catalog/priority-reserved-for-tiers.toml"),
    ),
    (
        "purpose-binding.toml",
        include_str!("../../catalog/purpose-binding.toml"),
    ),
    (
        "purpose-deny-list.toml",
        include_str!("../../catalog/purpose-deny-list.toml"),
    ),
    (
        "purpose-epsilon-ceiling.toml",
        include_str!("../../catalog/purpose-epsilon-ceiling.toml"),
    ),
    (
        "purpose-required.toml",
        include_str!("../../catalog/purpose-required.toml"),
    ),
    ("rate-limit.toml", include_str!("../../catalog/rate-limit.toml")),
    (
        "rate-limit@1.0.0.toml",
        include_str!("../../catalog/rate-limit@1.0.0.toml"),
    ),
    ("region-deny.toml", include_str!("../../catalog/region-deny.toml")),
    (
        "region-required.toml",
        include_str!("../../catalog/region-required.toml"),
    ),
    (
        "tier-allow-list.toml",
        include_str!("../../catalog/tier-allow-list.toml"),
    ),
    (
        "tier-gated-large-circuits.toml",
        include_str!("../../catalog/tier-gated-large-circuits.toml"),
    ),
    ("weekend-freeze.toml", include_str!("../../catalog/weekend-freeze.toml")),
    ("weight-by-tier.toml", include_str!("../../catalog/weight-by-tier.toml")),
    (
        "zero-epsilon-only.toml",
        include_str!("../../catalog/zero-epsilon-only.toml"),
    ),
];
