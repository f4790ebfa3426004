//! Credentials out of log and error lines.
//!
//! Broker URIs (`amqp://user:secret@host/vhost`) and PostgreSQL connection strings (`host=…
//! password=secret`, `postgres://user:secret@host/db?password=secret`) carry passwords, and
//! some errors echo them (amq-protocol's `Invalid URL: '<the whole URI>'`). [`redact`] replaces
//! every password it finds in a piece of text with `***`, leaving the rest readable; it is
//! applied to the worker's start-up line, to [`crate::SchedulerError`]'s broker and database
//! errors, and by the `zkq` binary to every error line it prints.

/// What a password is replaced with.
pub const REDACTED: &str = "***";

/// `text` with the password of every `scheme://user:password@host` URI and the value of every
/// `password=…` setting (libpq key=value, quoted or not, and URI query parameters) replaced by
/// [`REDACTED`]. Text without credentials is returned unchanged.
pub fn redact(text: &str) -> String {
    redact_key_values(&redact_opaque(&redact_userinfo(text)))
}

/// Schemes whose URIs are also recognised without `//` (`amqp:user:password@host`, which the
/// AMQP URI parser rejects by echoing it whole).
const OPAQUE_SCHEMES: [&str; 4] = ["amqp:", "amqps:", "postgres:", "postgresql:"];

/// The password of `amqp:user:password@host` (no `//`) → `***`.
fn redact_opaque(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < text.len() {
        let scheme = OPAQUE_SCHEMES.iter().find(|s| lower[i..].starts_with(*s) && !lower[i + s.len()..].starts_with("//"));
        let word_start = lower[..i].chars().next_back().is_none_or(|c| !c.is_ascii_alphanumeric());
        let (Some(scheme), true) = (scheme, word_start) else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let body_start = i + scheme.len();
        let body = &text[body_start..];
        let body = &body[..body.find(ends_uri).unwrap_or(body.len())];
        if let Some((colon, at)) = body.rfind('@').and_then(|at| body[..at].find(':').map(|colon| (colon, at))) {
            out.push_str(&text[copied..body_start + colon + 1]);
            out.push_str(REDACTED);
            copied = body_start + at;
        }
        i = body_start + body.len().max(1);
    }
    out.push_str(&text[copied.min(text.len())..]);
    out
}

/// Characters that end a URI in free text.
fn ends_uri(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\'' | '"' | '`' | '<' | '>')
}

/// The password of `scheme://user:password@host` → `***`. The userinfo ends at the last `@`
/// before the first `/`, `?` or `#`, or, when there is none there (a raw `/` in the password),
/// at the last `@` of the URI.
fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (before, after) = rest.split_at(i + 3);
        out.push_str(before);
        let uri_len = after.find(ends_uri).unwrap_or(after.len());
        let uri = &after[..uri_len];
        let authority = &uri[..uri.find(['/', '?', '#']).unwrap_or(uri.len())];
        let at = authority.rfind('@').or_else(|| uri.rfind('@'));
        match at.and_then(|at| uri[..at].find(':').map(|colon| (colon, at))) {
            Some((colon, at)) => {
                out.push_str(&uri[..=colon]);
                out.push_str(REDACTED);
                out.push_str(&uri[at..]);
            }
            None => out.push_str(uri),
        }
        rest = &after[uri_len..];
    }
    out.push_str(rest);
    out
}

/// `password=value` (any case; a libpq value may be single-quoted with `\'` escapes) → `password=***`.
fn redact_key_values(text: &str) -> String {
    const KEY: &str = "password";
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find(KEY) {
        let key_start = from + found;
        let key_end = key_start + KEY.len();
        from = key_end;
        // A whole word, or libpq's `sslpassword`: not the tail of another identifier
        // (`db_password` is still a password).
        let before = &lower[..key_start];
        let before = before.strip_suffix("ssl").unwrap_or(before);
        let preceded_ok = before.chars().next_back().is_none_or(|c| !c.is_ascii_alphanumeric());
        let after = &text[key_end..];
        let spaces = after.len() - after.trim_start_matches([' ', '\t']).len();
        if !preceded_ok || !after[spaces..].starts_with('=') {
            continue;
        }
        let value_start = key_end + spaces + 1;
        let value = &text[value_start..];
        let value_spaces = value.len() - value.trim_start_matches([' ', '\t']).len();
        let value_start = value_start + value_spaces;
        let value = &text[value_start..];
        let value_len = if let Some(quoted) = value.strip_prefix('\'') {
            // libpq: 'quoted value', with \' and \\ escapes.
            let mut escaped = false;
            let mut len = quoted.len();
            for (i, c) in quoted.char_indices() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '\'' => {
                        len = i + 1;
                        break;
                    }
                    _ => {}
                }
            }
            1 + len
        } else {
            value.find(|c: char| c.is_whitespace() || matches!(c, '&' | '#' | '"' | '\'' | '`' | ',' | ';' | ')')).unwrap_or(value.len())
        };
        out.push_str(&text[copied..value_start]);
        out.push_str(REDACTED);
        copied = value_start + value_len;
        from = copied;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_passwords_are_hidden_and_the_rest_kept() {
        assert_eq!(redact("amqp://guest:s3cret@127.0.0.1:5672/%2f"), "amqp://guest:***@127.0.0.1:5672/%2f");
        assert_eq!(redact("amqps://u:p%40ss@broker.example:5671"), "amqps://u:***@broker.example:5671");
        // An '@' inside the password: the last one before the host ends it.
        assert_eq!(redact("postgres://zkq:a@b@db:5432/zkq"), "postgres://zkq:***@db:5432/zkq");
        assert_eq!(
            redact("Invalid URL: 'amqp://admin:hunter2@rabbit/vh' (retrying)"),
            "Invalid URL: 'amqp://admin:***@rabbit/vh' (retrying)"
        );
        // No password, no userinfo: unchanged.
        for plain in ["amqp://guest@host/", "amqp://127.0.0.1:5672/%2f", "see https://example.org/a@b", "no uri here", ""] {
            assert_eq!(redact(plain), plain);
        }
        // Without `//` (the AMQP parser echoes such a URI whole in its error).
        assert_eq!(redact("Invalid URL: 'amqp:guest:pw@host'"), "Invalid URL: 'amqp:guest:***@host'");
        assert_eq!(redact("AMQPS:u:pw@h postgres:v:pw2@db"), "AMQPS:u:***@h postgres:v:***@db");
        assert_eq!(redact("amqp:host-without-userinfo"), "amqp:host-without-userinfo");
        // A raw '/' in the password.
        assert_eq!(redact("amqp://u:pa/ss@h:5672/vh"), "amqp://u:***@h:5672/vh");
        // Two URIs on one line.
        assert_eq!(redact("a=amqp://u:p1@h1 b=postgresql://v:p2@h2/db"), "a=amqp://u:***@h1 b=postgresql://v:***@h2/db");
    }

    #[test]
    fn key_value_passwords_are_hidden() {
        assert_eq!(
            redact("host=127.0.0.1 port=5432 user=zkq password=zkq dbname=zkq"),
            "host=127.0.0.1 port=5432 user=zkq password=*** dbname=zkq"
        );
        assert_eq!(redact("user=zkq password = 'a b\\' c' dbname=x"), "user=zkq password = *** dbname=x");
        assert_eq!(redact("PASSWORD=Top dbname=x"), "PASSWORD=*** dbname=x");
        assert_eq!(
            redact("postgres://db/zkq?user=zkq&password=s3cret&sslmode=require"),
            "postgres://db/zkq?user=zkq&password=***&sslmode=require"
        );
        assert_eq!(redact("password=last"), "password=***");
        assert_eq!(redact("db_password=x"), "db_password=***");
        assert_eq!(redact("sslmode=verify-full sslpassword=k3y"), "sslmode=verify-full sslpassword=***");
        // Not a setting: left alone.
        for plain in ["the password is wrong", "passwords=", "mypassword=x", "password"] {
            assert_eq!(redact(plain), plain);
        }
    }

    #[test]
    fn the_secret_never_survives() {
        let secret = "S3cr3t-Ütf8_pw";
        for line in [
            format!("amqp://zkq:{secret}@10.0.0.1:5672/prod"),
            format!("host=db user=zkq password={secret}"),
            format!("host=db user=zkq password='{secret} with space'"),
            format!("postgresql://zkq:{secret}@db/zkq?password={secret}"),
            format!("error: Invalid URL: 'amqp://zkq:{secret}@'"),
            format!("error: Invalid URL: 'amqp:zkq:{secret}@host'"),
        ] {
            let r = redact(&line);
            assert!(!r.contains(secret), "{line} → {r}");
            assert!(r.contains(REDACTED), "{r}");
        }
    }
}
