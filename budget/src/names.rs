//! What budget names and administrative texts may be.

use crate::error::BudgetError;

/// The longest purpose name, in bytes.
pub const MAX_PURPOSE_BYTES: usize = 64;
/// The longest reason for an administrative change, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// A purpose name: 1–64 bytes of `[a-z0-9._-]`, starting with a letter or digit
/// (`fraud-check`, `marketing.eu`). Jobs name it in `zkq-purpose`.
pub fn check_purpose(purpose: &str) -> Result<(), BudgetError> {
    let ok = !purpose.is_empty()
        && purpose.len() <= MAX_PURPOSE_BYTES
        && purpose.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
        && purpose.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        return Ok(());
    }
    let shown: String = purpose.chars().take(40).collect();
    let more = if purpose.chars().count() > 40 { format!("… ({} bytes)", purpose.len()) } else { String::new() };
    Err(BudgetError::Invalid(format!(
        "purpose {shown:?}{more} is not a valid purpose name: 1–{MAX_PURPOSE_BYTES} characters of a–z, 0–9, '.', '_' or '-', starting with a letter or digit"
    )))
}

/// A reason (resets, cap changes): 1–500 characters, no control characters.
pub fn check_reason(reason: &str) -> Result<(), BudgetError> {
    let n = reason.trim().chars().count();
    if n == 0 {
        return Err(BudgetError::Invalid("a reason is required: say why (it is recorded in the signed receipt)".into()));
    }
    if n > MAX_REASON_CHARS {
        return Err(BudgetError::Invalid(format!("the reason is {n} characters; at most {MAX_REASON_CHARS}")));
    }
    if let Some(c) = reason.chars().find(|c| c.is_control()) {
        return Err(BudgetError::Invalid(format!("the reason contains the control character U+{:04X}", c as u32)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purpose_names() {
        for ok in ["fraud-check", "marketing.eu", "a", "0", "kyc_v2", &"p".repeat(64)] {
            assert!(check_purpose(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Fraud", "-x", ".x", "a b", "a\0b", "a/b", "é", "<script>", &"p".repeat(65), &"x".repeat(10_240)] {
            let e = check_purpose(bad).expect_err(bad).to_string();
            assert!(e.contains("not a valid purpose name") && e.len() < 300, "{e}");
        }
        assert!(check_reason("").is_err() && check_reason("  ").is_err() && check_reason("a\nb").is_err());
        assert!(check_reason(&"r".repeat(501)).is_err() && check_reason("quarterly review, ticket #42").is_ok());
    }
}
