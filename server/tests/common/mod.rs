//! Harness of zkq-server's integration tests: a private PostgreSQL schema per test (dropped
//! afterwards, also when the test panics), the admin router over [`MemoryBudgets`], and
//! requests through `tower::ServiceExt::oneshot` (no sockets) or a real listener.
//!
//! The database is the test suite's (`scripts/services.sh`: role zkq, database zkq_test);
//! `ZKQ_TEST_PG` overrides it with another libpq key=value string.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use tokio_postgres::NoTls;
use tower::ServiceExt;
use zkq_server::testing::MemoryBudgets;
use zkq_server::{operators, AppState, ServerConfig};
use zkq_store::{Db, StoreConfig};

const DEFAULT_PG: &str = "host=127.0.0.1 port=5432 user=zkq password=zkq dbname=zkq_test";
/// The Host the oneshot requests name, and so this server's own origin is `http://zkq.test`.
pub(crate) const HOST: &str = "zkq.test";
/// This server's origin for oneshot requests.
pub(crate) const OWN_ORIGIN: &str = "http://zkq.test";
/// The operator every test creates.
pub(crate) const OPERATOR: &str = "alice";
/// Her password.
pub(crate) const PASSWORD: &str = "correct horse battery staple";

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub(crate) fn pg_base() -> String {
    std::env::var("ZKQ_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.to_owned())
}

async fn pg_connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio::time::timeout(Duration::from_secs(10), tokio_postgres::connect(url, NoTls))
        .await
        .unwrap_or_else(|_| panic!("connecting to {url} timed out"))
        .unwrap_or_else(|e| {
            panic!(
                "cannot connect to the test database ({url}): {e}\nPostgreSQL must be running with role zkq and \
                 database zkq_test: run scripts/services.sh (or set ZKQ_TEST_PG)"
            )
        });
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// A private schema of the test database, migrated; dropped on drop.
pub(crate) struct TestDb {
    pub(crate) schema: String,
    pub(crate) url: String,
    pub(crate) db: Db,
}

impl TestDb {
    pub(crate) async fn new(test: &str) -> TestDb {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let salt = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let schema = format!("zkqs_{}_{n}_{salt}", std::process::id());
        let admin = pg_connect(&pg_base()).await;
        admin
            .batch_execute(&format!("create schema {schema}"))
            .await
            .expect("create the test schema");
        let url = format!("{} options=-csearch_path={schema}", pg_base());
        let config = StoreConfig {
            url: url.clone(),
            pool_size: 4,
            wait_timeout: Duration::from_secs(10),
        };
        let db = Db::connect(&config)
            .await
            .unwrap_or_else(|e| panic!("{test}: cannot migrate schema {schema}: {e}"));
        TestDb { schema, url, db }
    }

    /// A plain client on this schema.
    pub(crate) async fn pg(&self) -> tokio_postgres::Client {
        pg_connect(&self.url).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Async work cannot run in drop: a thread with its own runtime drops the schema.
        let schema = self.schema.clone();
        let result = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let admin = pg_connect(&pg_base()).await;
                admin
                    .batch_execute(&format!("drop schema if exists {schema} cascade"))
                    .await
            })
        })
        .join();
        if !matches!(result, Ok(Ok(()))) {
            eprintln!("warning: could not drop test schema {}", self.schema);
        }
    }
}

/// One answer, read whole.
pub(crate) struct Resp {
    pub(crate) status: StatusCode,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) body: String,
}

impl Resp {
    pub(crate) fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }

    pub(crate) fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The value this answer sets cookie `name` to (`Some("")` when it deletes it).
    pub(crate) fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().iter().find_map(|c| {
            let (k, rest) = c.split_once('=')?;
            (k == name).then(|| rest.split(';').next().unwrap_or_default().to_owned())
        })
    }

    /// The value of the first hidden `csrf` field on the page.
    pub(crate) fn csrf_field(&self) -> Option<String> {
        let at = self.body.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
        Some(self.body[at..].split('"').next()?.to_owned())
    }
}

/// `application/x-www-form-urlencoded` of `fields`.
pub(crate) fn form(fields: &[(&str, &str)]) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The admin router over a fresh schema and an in-memory budget backend.
pub(crate) struct App {
    pub(crate) db: TestDb,
    pub(crate) budgets: Arc<MemoryBudgets>,
    pub(crate) state: Arc<AppState<Arc<MemoryBudgets>>>,
    pub(crate) router: Router,
}

/// A logged-in client: its cookie header and its session's CSRF token.
#[derive(Debug, Clone)]
pub(crate) struct Login {
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

impl App {
    /// Operator alice exists; ledgers acme × ads (cap 2, spent 0.5) and beta × research.
    pub(crate) async fn new(test: &str) -> App {
        let db = TestDb::new(test).await;
        operators::add_operator(&db.db, OPERATOR, PASSWORD)
            .await
            .expect("add operator");
        let budgets = Arc::new(MemoryBudgets::new());
        budgets
            .add_ledger("acme", "ads", "calendar:day", "2.0", "0.5")
            .expect("ledger");
        budgets
            .add_ledger("beta", "research", "total", "10", "1.25")
            .expect("ledger");
        let state = Arc::new(AppState::new(db.db.clone(), budgets.clone(), ServerConfig::default()));
        let router = zkq_server::router(state.clone());
        App {
            db,
            budgets,
            state,
            router,
        }
    }

    pub(crate) async fn request(&self, req: Request<Body>) -> Resp {
        let res = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("the router is infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 10 << 20).await.expect("body");
        Resp {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).expect("UTF-8 body"),
        }
    }

    pub(crate) async fn get(&self, path: &str, cookie: &str) -> Resp {
        let mut req = Request::get(path).header("host", HOST);
        if !cookie.is_empty() {
            req = req.header("cookie", cookie);
        }
        self.request(req.body(Body::empty()).expect("request")).await
    }

    /// A form POST; `origin` is sent when given.
    pub(crate) async fn post(&self, path: &str, cookie: &str, origin: Option<&str>, fields: &[(&str, &str)]) -> Resp {
        let mut req = Request::post(path)
            .header("host", HOST)
            .header("content-type", "application/x-www-form-urlencoded");
        if !cookie.is_empty() {
            req = req.header("cookie", cookie);
        }
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        self.request(req.body(Body::from(form(fields))).expect("request")).await
    }

    /// The login form's token and the cookie that goes with it.
    pub(crate) async fn login_form(&self) -> (String, String) {
        let page = self.get("/admin/login", "").await;
        assert_eq!(page.status, StatusCode::OK);
        let token = page.csrf_field().expect("the login form has a csrf field");
        let cookie = page.cookie("zkq_login").expect("the login form sets zkq_login");
        assert_eq!(
            token, cookie,
            "double-submit: the same value in the cookie and the form"
        );
        (token, format!("zkq_login={cookie}"))
    }

    /// Logs `name` in through the form.
    pub(crate) async fn login_as(&self, name: &str, password: &str) -> Login {
        let (token, cookie) = self.login_form().await;
        let res = self
            .post(
                "/admin/login",
                &cookie,
                Some(OWN_ORIGIN),
                &[("csrf", &token), ("name", name), ("password", password)],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "login of {name}: {}", res.body);
        let session = res.cookie("zkq_session").expect("a session cookie");
        let cookie = format!("zkq_session={session}");
        let page = self.get("/admin/budgets", &cookie).await;
        assert_eq!(page.status, StatusCode::OK);
        Login {
            csrf: page.csrf_field().expect("the budgets page has forms"),
            cookie,
        }
    }

    pub(crate) async fn login(&self) -> Login {
        self.login_as(OPERATOR, PASSWORD).await
    }
}
