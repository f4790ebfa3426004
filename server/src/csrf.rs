//! Cross-site request forgery defences, and the cookies they rest on.
//!
//! Every POST passes two checks before it does anything:
//!
//! 1. **Origin.** A POST whose `Origin` header is present and is not this server's own origin
//!    (`http://` or, with secure cookies, `https://`, followed by the request's `Host`) is
//!    refused. A POST whose `Sec-Fetch-Site` header says `cross-site` or `same-site` is refused
//!    too. `Origin: null` is accepted only with `Sec-Fetch-Site: same-origin`: our pages send
//!    `Referrer-Policy: no-referrer`, under which Chromium sends `Origin: null` on our own form
//!    posts, and `Sec-Fetch-Site` is set by the browser alone (pages cannot forge it); without
//!    it, `null` is refused. (Browsers send `Origin` on every POST; a missing one means a
//!    non-browser client, which check 2 still covers.)
//! 2. **Synchronizer token.** The form's hidden `csrf` field must equal the session's CSRF
//!    token ([`crate::sessions`]), compared in constant time. The login form, which has no
//!    session yet, uses a double-submit token instead: a random value in a short-lived
//!    `zkq_login` cookie and the same value in the form.
//!
//! Cookies are `HttpOnly; SameSite=Strict; Path=/`, plus `Secure` when configured; the session
//! cookie is then named `__Host-zkq_session`, a name browsers accept only from a secure origin
//! for the whole host.

use axum::http::header::{COOKIE, HOST, ORIGIN};
use axum::http::HeaderMap;
use subtle::ConstantTimeEq;

/// Name of the session cookie (`__Host-zkq_session` with secure cookies).
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-zkq_session"
    } else {
        "zkq_session"
    }
}

/// Name of the login form's double-submit cookie (`__Host-zkq_login` with secure cookies).
pub fn login_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-zkq_login"
    } else {
        "zkq_login"
    }
}

/// Name of the one-shot message cookie shown after a redirect.
pub fn flash_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-zkq_flash"
    } else {
        "zkq_flash"
    }
}

/// A `Set-Cookie` value: `name=value` with our attributes; `max_age` in seconds (0 deletes).
pub fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Strict{secure}")
}

/// The value of cookie `name` in the request, if sent (the first one, if sent twice).
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Whether `given` equals `expected`, in time that depends only on their lengths. An empty
/// expected token never matches.
pub fn tokens_match(expected: &str, given: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// Why a POST was refused before it was looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It came from another site (`Origin` or `Sec-Fetch-Site`).
    ForeignOrigin,
    /// Its CSRF token is missing or wrong.
    BadToken,
}

/// Check 1 (see the module docs): the request's `Origin`, if present, is ours.
pub fn check_origin(headers: &HeaderMap, secure: bool) -> Result<(), Refusal> {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(site, Some("cross-site" | "same-site")) {
        return Err(Refusal::ForeignOrigin);
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return Ok(());
    };
    if origin.as_bytes() == b"null" && site == Some("same-origin") {
        return Ok(());
    }
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    let scheme = if secure { "https" } else { "http" };
    match (origin.to_str(), host) {
        (Ok(origin), Some(host)) if origin.eq_ignore_ascii_case(&format!("{scheme}://{host}")) => Ok(()),
        _ => Err(Refusal::ForeignOrigin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origins_other_than_our_own_are_refused() {
        let own = headers(&[("host", "127.0.0.1:8480"), ("origin", "http://127.0.0.1:8480")]);
        assert_eq!(check_origin(&own, false), Ok(()));
        assert_eq!(
            check_origin(&own, true),
            Err(Refusal::ForeignOrigin),
            "https expected behind TLS"
        );
        let tls = headers(&[("host", "zkq.example"), ("origin", "https://zkq.example")]);
        assert_eq!(check_origin(&tls, true), Ok(()));
        for origin in [
            "http://evil.example",
            "null",
            "http://127.0.0.1:8481",
            "http://127.0.0.1:8480.evil",
        ] {
            let h = headers(&[("host", "127.0.0.1:8480"), ("origin", origin)]);
            let h = {
                let mut h = h;
                h.insert("origin", HeaderValue::from_str(origin).expect("header"));
                h
            };
            assert_eq!(check_origin(&h, false), Err(Refusal::ForeignOrigin), "{origin}");
        }
        assert_eq!(
            check_origin(&headers(&[("origin", "http://a")]), false),
            Err(Refusal::ForeignOrigin),
            "no Host"
        );
        assert_eq!(
            check_origin(&headers(&[("host", "a")]), false),
            Ok(()),
            "no Origin: the token decides"
        );
        let fetch = headers(&[("host", "a"), ("sec-fetch-site", "cross-site")]);
        assert_eq!(check_origin(&fetch, false), Err(Refusal::ForeignOrigin));
        assert_eq!(
            check_origin(&headers(&[("host", "a"), ("sec-fetch-site", "same-origin")]), false),
            Ok(())
        );
        // `Origin: null` (what Chromium sends under `Referrer-Policy: no-referrer`): only when the
        // browser itself vouches that the form is ours.
        let null_ours = headers(&[("host", "a"), ("origin", "null"), ("sec-fetch-site", "same-origin")]);
        assert_eq!(check_origin(&null_ours, false), Ok(()));
        let null_theirs = headers(&[("host", "a"), ("origin", "null"), ("sec-fetch-site", "cross-site")]);
        assert_eq!(check_origin(&null_theirs, false), Err(Refusal::ForeignOrigin));
        assert_eq!(
            check_origin(&headers(&[("host", "a"), ("origin", "null")]), false),
            Err(Refusal::ForeignOrigin)
        );
        let foreign = headers(&[
            ("host", "a"),
            ("origin", "http://evil"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert_eq!(
            check_origin(&foreign, false),
            Err(Refusal::ForeignOrigin),
            "a foreign origin stays foreign"
        );
    }

    #[test]
    fn cookies_are_parsed_and_set_with_strict_attributes() {
        let h = headers(&[("cookie", "a=1; zkq_session=abc ; b=2"), ("cookie", "zkq_flash=x")]);
        assert_eq!(cookie(&h, "zkq_session"), Some("abc"));
        assert_eq!(cookie(&h, "zkq_flash"), Some("x"));
        assert_eq!(cookie(&h, "zkq"), None);
        assert_eq!(
            set_cookie("n", "v", 60, false),
            "n=v; Max-Age=60; Path=/; HttpOnly; SameSite=Strict"
        );
        assert!(set_cookie("n", "v", 60, true).ends_with("; Secure"));
        assert_eq!(session_cookie_name(true), "__Host-zkq_session");
    }

    #[test]
    fn tokens_must_match_exactly() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("abc", "ab"));
        assert!(!tokens_match("", ""));
    }
}
