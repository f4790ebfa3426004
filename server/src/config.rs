//! [`ServerConfig`]: how `zkq serve` listens and issues sessions (read at the binary edge).

use std::net::SocketAddr;
use std::time::Duration;

/// Settings of the HTTP server. Every field has a documented default ([`Default`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Where to listen. Default `127.0.0.1:8480`: loopback only, since zkq serves plain HTTP
    /// (put a TLS proxy in front to reach it from elsewhere).
    pub listen: SocketAddr,
    /// How long a login lasts (no sliding renewal: the operator logs in again). Default 8 h,
    /// a working day.
    pub session_ttl: Duration,
    /// Mark cookies `Secure` (and name the session cookie `__Host-zkq_session`), so browsers
    /// send them only over HTTPS, and expect `https://` origins. Default false, because zkq
    /// itself speaks plain HTTP; set it true behind a TLS proxy.
    pub secure_cookies: bool,
}

/// `127.0.0.1:8480`, the default listen address.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8480);

/// 8 hours, the default session lifetime.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(8 * 3600);

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN,
            session_ttl: DEFAULT_SESSION_TTL,
            secure_cookies: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = ServerConfig::default();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8480");
        assert_eq!(c.session_ttl, Duration::from_secs(28_800));
        assert!(!c.secure_cookies);
    }
}
