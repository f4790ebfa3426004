//! [`Scope`]: what an access token (or an operator session) lets its bearer read.
//!
//! Scope strings are RFC 6749 §3.3 scope tokens; a `scope` parameter or claim is a
//! space-delimited list of them. Parsing is strict: exact lowercase names, single spaces between
//! them; an unknown name is an error, never ignored.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// A permission of the auditor API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// `audit:read`: attestations, the transparency log, keys.
    AuditRead,
    /// `budget:read`: privacy budgets and their receipts.
    BudgetRead,
    /// `costs:read`: cost per proof.
    CostsRead,
    /// `admin`: the access log and other operator-only reads (an operator session has it).
    Admin,
}

/// Every scope, in order.
pub const ALL_SCOPES: [Scope; 4] = [Scope::AuditRead, Scope::BudgetRead, Scope::CostsRead, Scope::Admin];

impl Scope {
    /// The scope's string: `audit:read`, `budget:read`, `costs:read` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::AuditRead => "audit:read",
            Scope::BudgetRead => "budget:read",
            Scope::CostsRead => "costs:read",
            Scope::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a scope or scope list did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// A name that is not one of the four scopes.
    #[error("unknown scope {0:?}: use audit:read, budget:read, costs:read or admin")]
    Unknown(String),
    /// An empty list, or empty items (leading, trailing or doubled spaces).
    #[error("malformed scope list {0:?}: scopes are separated by single spaces")]
    Malformed(String),
}

impl FromStr for Scope {
    type Err = ScopeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL_SCOPES
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| ScopeError::Unknown(s.chars().take(64).collect()))
    }
}

/// Parses a space-delimited scope list (RFC 6749 §3.3): at least one scope, single spaces,
/// every name known. Duplicates are allowed and collapse.
pub fn parse_scopes(list: &str) -> Result<BTreeSet<Scope>, ScopeError> {
    if list.is_empty() || list.split(' ').any(str::is_empty) {
        return Err(ScopeError::Malformed(list.chars().take(128).collect()));
    }
    list.split(' ').map(Scope::from_str).collect()
}

/// The space-delimited form of `scopes`, in [`Scope`] order (`""` for none).
pub fn format_scopes(scopes: &BTreeSet<Scope>) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_and_parse_strictly() {
        for s in ALL_SCOPES {
            assert_eq!(s.as_str().parse::<Scope>(), Ok(s));
        }
        let set = parse_scopes("budget:read audit:read budget:read").expect("valid");
        assert_eq!(format_scopes(&set), "audit:read budget:read");
        for bad in ["", " ", "audit:read ", " audit:read", "audit:read  admin", "AUDIT:READ", "audit:write", "audit:read\tadmin"] {
            assert!(parse_scopes(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_scopes("admin x").expect_err("unknown").to_string(),
            "unknown scope \"x\": use audit:read, budget:read, costs:read or admin"
        );
        assert_eq!(format_scopes(&BTreeSet::new()), "");
    }
}
