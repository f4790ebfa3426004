//! A small client of RabbitMQ's management HTTP API (`rabbitmq_management` plugin): create or
//! replace a user (with a password hash, never the password), set its permissions on a vhost,
//! delete it. Only what `zkq tenant add|rotate-credentials|remove` need, over plain HTTP/1.1
//! with basic authentication (the operator's credentials): keep the API on localhost or a
//! trusted network; HTTPS is not supported. No HTTP crate: one request per connection,
//! `Connection: close`, the status line decides.
//!
//! Endpoints (RabbitMQ HTTP API reference): `PUT /api/users/{user}`,
//! `DELETE /api/users/{user}`, `PUT /api/permissions/{vhost}/{user}`, `GET /api/whoami`.

use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{percent_encode, rabbit_password_hash, Permissions};

/// How long one request may take (connect, send, read).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of a response body an error message quotes.
const ERROR_BODY_CHARS: usize = 300;

/// Why a management API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ManagementError {
    /// The API URL is not `http://host[:port]`.
    #[error("invalid RabbitMQ management URL {0:?}: expected http://host[:port]")]
    BadUrl(String),
    /// The API could not be reached (not enabled, wrong port, timed out).
    #[error("cannot reach RabbitMQ's management API at {url}: {detail} (enable it with `rabbitmq-plugins enable rabbitmq_management`; scripts/services.sh does)")]
    Unreachable {
        /// The API URL.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The API answered with an error status.
    #[error("RabbitMQ's management API refused {what}: HTTP {status} {body}")]
    Refused {
        /// The request, in words.
        what: String,
        /// HTTP status.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// No randomness for a password or salt.
    #[error("no randomness from the operating system: {0}")]
    Random(String),
}

/// The management API of one broker, with the operator's credentials.
#[derive(Debug, Clone)]
pub struct ManagementApi {
    url: String,
    host: String,
    port: u16,
    authorization: String,
}

impl ManagementApi {
    /// The API at `url` (`http://host[:port]`, default port 15672), authenticated as `user`.
    pub fn new(url: &str, user: &str, password: &str) -> Result<ManagementApi, ManagementError> {
        let rest = url.strip_prefix("http://").ok_or_else(|| ManagementError::BadUrl(url.to_owned()))?;
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') || authority.contains('@') {
            return Err(ManagementError::BadUrl(url.to_owned()));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| ManagementError::BadUrl(url.to_owned()))?),
            None => (authority.to_owned(), 15672),
        };
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Ok(ManagementApi { url: format!("http://{host}:{port}"), host, port, authorization: format!("Basic {token}") })
    }

    /// The API's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Creates `user`, or replaces its password, with no tags (no management access).
    pub async fn put_user(&self, user: &str, password: &str) -> Result<(), ManagementError> {
        let mut salt = [0u8; 4];
        getrandom::getrandom(&mut salt).map_err(|e| ManagementError::Random(e.to_string()))?;
        let body = serde_json::json!({
            "password_hash": rabbit_password_hash(password, salt),
            "hashing_algorithm": "rabbit_password_hashing_sha256",
            "tags": "",
        });
        self.call("PUT", &format!("/api/users/{}", percent_encode(user)), Some(&body), &format!("to create user {user}")).await
    }

    /// Deletes `user` (the broker closes its connections). A user that does not exist is fine.
    pub async fn delete_user(&self, user: &str) -> Result<(), ManagementError> {
        match self.call("DELETE", &format!("/api/users/{}", percent_encode(user)), None, &format!("to delete user {user}")).await {
            Err(ManagementError::Refused { status: 404, .. }) => Ok(()),
            other => other,
        }
    }

    /// Sets `user`'s permissions on `vhost`.
    pub async fn put_permissions(&self, vhost: &str, user: &str, p: &Permissions) -> Result<(), ManagementError> {
        let path = format!("/api/permissions/{}/{}", percent_encode(vhost), percent_encode(user));
        let body = serde_json::to_value(p).unwrap_or_default();
        self.call("PUT", &path, Some(&body), &format!("to set the permissions of {user}")).await
    }

    /// Checks that the API answers and the credentials are accepted.
    pub async fn whoami(&self) -> Result<(), ManagementError> {
        self.call("GET", "/api/whoami", None, "the operator's credentials").await
    }

    async fn call(&self, method: &str, path: &str, body: Option<&serde_json::Value>, what: &str) -> Result<(), ManagementError> {
        let unreachable = |detail: String| ManagementError::Unreachable { url: self.url.clone(), detail };
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}:{}\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
            self.host,
            self.port,
            self.authorization,
            payload.len()
        );
        let exchange = async {
            let mut stream = TcpStream::connect((self.host.as_str(), self.port)).await?;
            stream.write_all(request.as_bytes()).await?;
            let mut response = Vec::new();
            stream.read_to_end(&mut response).await?;
            Ok::<_, std::io::Error>(response)
        };
        let response = match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return Err(unreachable(e.to_string())),
            Err(_) => return Err(unreachable(format!("no answer within {} s", REQUEST_TIMEOUT.as_secs()))),
        };
        let text = String::from_utf8_lossy(&response);
        let status: u16 = text
            .strip_prefix("HTTP/1.")
            .and_then(|r| r.get(2..5))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| unreachable("the answer is not HTTP".into()))?;
        if (200..300).contains(&status) {
            return Ok(());
        }
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).chars().take(ERROR_BODY_CHARS).collect();
        Err(ManagementError::Refused { what: what.to_owned(), status, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        let api = ManagementApi::new("http://127.0.0.1", "guest", "guest").expect("ok");
        assert_eq!(api.url(), "http://127.0.0.1:15672");
        assert_eq!(api.authorization, "Basic Z3Vlc3Q6Z3Vlc3Q=");
        assert_eq!(ManagementApi::new("http://mq:8080/", "a", "b").expect("ok").url(), "http://mq:8080");
        for bad in ["https://mq", "mq:15672", "http://", "http://u:p@mq", "http://mq/api", "http://mq:port"] {
            assert!(matches!(ManagementApi::new(bad, "a", "b"), Err(ManagementError::BadUrl(_))), "{bad}");
        }
    }
}
