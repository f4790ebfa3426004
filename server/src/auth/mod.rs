//! Authentication, authorization and access logging of the JSON API (`/oauth/token`, `/v1/…`;
//! docs/auditor-api.md).
//!
//! Auditors' programs are OAuth 2.0 clients (RFC 6749 §4.4, client credentials): an operator
//! creates a client with `zkq auth client add` and hands over its secret; the client trades id
//! and secret at `POST /oauth/token` for a short-lived access token (an RFC 9068 JWT signed with
//! ed25519) and sends it as `Authorization: Bearer`. Each route demands a [`Scope`] of the
//! [`Principal`] it extracts; a tenant-bound client sees only its tenant. Operators logged in to
//! the admin pages may read the API with their session (scope `admin`). Every request to the
//! server, whatever its route or outcome, is written to the access log first.
//!
//! ## Module map
//! - [`scopes`] — [`Scope`]: `audit:read`, `budget:read`, `costs:read`, `admin`; strict parsing.
//! - [`clients`] — the `oauth_clients` table: add (secret shown once), list, revoke,
//!   constant-time [`clients::authenticate`].
//! - [`tokens`] — [`TokenIssuer`]: issue and verify access tokens (EdDSA pinned, `typ: at+jwt`,
//!   issuer, audience, revocation).
//! - [`principal`] — [`Principal`], the extractor (bearer token or operator session).
//! - [`access_log`] — the `access_events` table and [`access_log::layer`], which records every
//!   request.
//! - [`routes`] — [`auth_router`]: the token endpoint and `GET /v1/access-log`.

pub mod access_log;
pub mod clients;
pub mod principal;
pub mod routes;
pub mod scopes;
pub mod tokens;

pub use principal::Principal;
pub use routes::auth_router;
pub use scopes::{parse_scopes, Scope};
pub use tokens::TokenIssuer;
