//! The admin pages in a real headless Chromium, driven over WebDriver (chromedriver, with the
//! `fantoccini` client): an operator logs in (after a wrong password), reads a tenant's
//! remaining budget, changes its cap, sees the change, resets the spent ε, logs out.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/test.sh` installs them; paths
//! `ZKQ_CHROMIUM`, default `/usr/bin/chromium`, and `ZKQ_CHROMEDRIVER`, default
//! `/usr/bin/chromedriver`). Without them the test fails saying so, unless
//! `ZKQ_BROWSER_TESTS=skip`. Operators and sessions live in a private PostgreSQL schema. The
//! scenario runs twice: on the in-memory backend, and on the real ledger (`PgBudgets` over
//! zkq-budget, in the same schema, with signed receipts) — the backend `zkq serve` runs. Each
//! run reads the backend to check the real effects.

mod common;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use zkq_server::testing::MemoryBudgets;
use zkq_server::{operators, AppState, BudgetAdmin, LedgerRow, PgBudgets, ServerConfig};

use common::{TestDb, OPERATOR, PASSWORD};

const EVIL_TENANT: &str = "<script>alert(1)</script>";

/// A chromedriver on a free port, in its own process group; killed (with its browsers) on drop.
struct ChromeDriver {
    child: Child,
    port: u16,
    scratch: tempfile::TempDir,
    chromium: PathBuf,
}

impl ChromeDriver {
    /// Starts chromedriver, or returns `None` when the browser is missing and
    /// `ZKQ_BROWSER_TESTS=skip`.
    fn start() -> Option<ChromeDriver> {
        use std::os::unix::process::CommandExt;
        let driver =
            PathBuf::from(std::env::var("ZKQ_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into()));
        let chromium = PathBuf::from(std::env::var("ZKQ_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
        if !driver.exists() || !chromium.exists() {
            let what = format!(
                "the browser test needs {} and {} (Debian: apt install chromium chromium-driver; scripts/test.sh does)",
                chromium.display(),
                driver.display()
            );
            if std::env::var("ZKQ_BROWSER_TESTS").as_deref() == Ok("skip") {
                eprintln!("skipped (ZKQ_BROWSER_TESTS=skip): {what}");
                return None;
            }
            panic!("{what}; set ZKQ_BROWSER_TESTS=skip to skip it");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let scratch = tempfile::tempdir().expect("tempdir");
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .arg(format!(
                "--log-path={}",
                scratch.path().join("chromedriver.log").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
        let me = ChromeDriver {
            child,
            port,
            scratch,
            chromium,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(me)
    }

    /// A new headless browser session.
    async fn connect(&self) -> Client {
        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", self.scratch.path().join("profile").display()),
                ],
            }
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!("an object literal")
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot open a Chromium session through chromedriver: {e}\n{}",
                    self.log_tail()
                )
            })
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.scratch.path().join("chromedriver.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The whole process group: chromedriver and the browsers it started.
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with a negative pid signals the process group we created; no memory is involved.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// Polls `probe` every 100 ms until it gives `Some`, for at most 10 s.
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn path(client: &Client) -> String {
    client.current_url().await.expect("current URL").path().to_owned()
}

async fn wait_for_path(client: &Client, want: &str) {
    eventually(&format!("the browser is at {want}"), || async {
        (path(client).await == want).then_some(())
    })
    .await;
}

/// The text of `#flash`, once it contains `want`.
async fn wait_for_flash(client: &Client, want: &str) -> String {
    eventually(&format!("the page says {want:?}"), || async {
        let text = client.find(Locator::Css("#flash")).await.ok()?.text().await.ok()?;
        text.contains(want).then_some(text)
    })
    .await
}

async fn text(el: &Element, css: &str) -> String {
    el.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .expect("text")
}

/// The ledger row of `tenant` × `purpose`, found by the cells' visible text.
async fn row(client: &Client, tenant: &str, purpose: &str) -> Element {
    for tr in client.find_all(Locator::Css("tr.ledger")).await.expect("ledger rows") {
        if text(&tr, "td.tenant").await == tenant && text(&tr, "td.purpose").await == purpose {
            return tr;
        }
    }
    panic!("no ledger row for {tenant} × {purpose}");
}

async fn type_into(el: &Element, css: &str, value: &str) {
    let input = el
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    input.clear().await.expect("clear");
    input.send_keys(value).await.expect("type");
}

async fn log_in(client: &Client, password: &str) {
    let form = client.find(Locator::Css("form.login")).await.expect("the login form");
    type_into(&form, "#name", OPERATOR).await;
    type_into(&form, "#password", password).await;
    form.find(Locator::Css("#login"))
        .await
        .expect("the login button")
        .click()
        .await
        .expect("click");
}

/// The operator's session in the browser.
async fn ledger(budgets: &impl BudgetAdmin, tenant: &str, purpose: &str) -> LedgerRow {
    let all = budgets.ledgers().await.expect("the backend lists ledgers");
    all.into_iter().find(|l| l.tenant == tenant && l.purpose == purpose).expect("the ledger")
}

async fn receipts(budgets: &impl BudgetAdmin) -> usize {
    budgets.recent_receipts(10_000).await.expect("the backend lists receipts").len()
}

async fn scenario(client: &Client, base: &str, budgets: &impl BudgetAdmin) {
    let receipts_before = receipts(budgets).await;
    // Logged out: the budgets page sends the browser to the login form.
    client.goto(&format!("{base}/admin/budgets")).await.expect("goto");
    wait_for_path(client, "/admin/login").await;

    // A wrong password: an error, and still logged out.
    log_in(client, "not the right password").await;
    wait_for_flash(client, "Wrong name or password.").await;
    assert_eq!(path(client).await, "/admin/login");
    client.goto(&format!("{base}/admin/budgets")).await.expect("goto");
    wait_for_path(client, "/admin/login").await;

    // The right one.
    log_in(client, PASSWORD).await;
    wait_for_path(client, "/admin/budgets").await;
    wait_for_flash(client, &format!("Logged in as {OPERATOR}.")).await;
    assert_eq!(
        client
            .find(Locator::Css("#operator"))
            .await
            .expect("#operator")
            .text()
            .await
            .expect("text"),
        OPERATOR
    );

    // Read acme × ads: cap 2, spent 0.5, remaining 1.5.
    let acme = row(client, "acme", "ads").await;
    assert_eq!(text(&acme, "td.cap").await, "2.0");
    assert_eq!(text(&acme, "td.spent").await, "0.5");
    assert_eq!(text(&acme, "td.remaining").await, "1.5");
    assert_eq!(text(&acme, "td.window").await, "calendar:day");
    // A hostile tenant name is shown as text, and no script ran.
    let evil = row(client, EVIL_TENANT, "ads").await;
    assert_eq!(text(&evil, "td.tenant").await, EVIL_TENANT);
    assert!(
        client.get_alert_text().await.is_err(),
        "no alert: the tenant name was not executed"
    );

    // A cap the backend refuses: its reason in plain words, nothing changed.
    type_into(&acme, "form.set-cap input.cap", "-1").await;
    type_into(&acme, "form.set-cap input.reason", "typo").await;
    acme.find(Locator::Css("form.set-cap button"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    wait_for_flash(client, "Nothing was changed: the cap must be a positive decimal number").await;
    assert_eq!(ledger(budgets, "acme", "ads").await.cap, "2.0");

    // Change the cap with a reason; after the redirect the new cap and remaining show.
    let acme = row(client, "acme", "ads").await;
    type_into(&acme, "form.set-cap input.cap", "5").await;
    type_into(&acme, "form.set-cap input.reason", "quarterly review").await;
    acme.find(Locator::Css("form.set-cap button"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    wait_for_flash(client, "The cap of acme × ads is now 5 ε.").await;
    assert_eq!(path(client).await, "/admin/budgets");
    let acme = row(client, "acme", "ads").await;
    assert_eq!(text(&acme, "td.cap").await, "5.0");
    assert_eq!(text(&acme, "td.remaining").await, "4.5");
    let receipt = client
        .find(Locator::Css("#receipts tr.receipt"))
        .await
        .expect("the newest receipt");
    assert_eq!(text(&receipt, "td.kind").await, "cap");
    assert_eq!(text(&receipt, "td.actor").await, OPERATOR);
    assert_eq!(text(&receipt, "td.reason").await, "quarterly review");
    assert_eq!(
        ledger(budgets, "acme", "ads").await.cap,
        "5.0",
        "the backend has the new cap"
    );

    // Reset with a reason: spent 0.
    type_into(&acme, "form.reset input.reason", "new quarter").await;
    acme.find(Locator::Css("form.reset button"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    wait_for_flash(client, "The spent ε of acme × ads was reset to 0.").await;
    let acme = row(client, "acme", "ads").await;
    let shown = text(&acme, "td.spent").await;
    assert!(shown == "0.0" || shown == "0", "spent shown after the reset: {shown}");
    assert_eq!(text(&acme, "td.remaining").await, "5.0");
    let spent = ledger(budgets, "acme", "ads").await.spent;
    assert!(spent == "0.0" || spent == "0", "spent after the reset: {spent}");
    assert_eq!(
        receipts(budgets).await - receipts_before,
        2,
        "one receipt per change, none for the refused cap"
    );

    // Log out: back to the login form, and the budgets are out of reach.
    client
        .find(Locator::Css("#logout"))
        .await
        .expect("the logout button")
        .click()
        .await
        .expect("click");
    wait_for_path(client, "/admin/login").await;
    wait_for_flash(client, "Logged out.").await;
    client.goto(&format!("{base}/admin/budgets")).await.expect("goto");
    wait_for_path(client, "/admin/login").await;
}

/// Serves the admin pages on `budgets` and runs the browser scenario against them.
async fn run_in_chromium<B: BudgetAdmin + Clone>(driver: &ChromeDriver, db: &TestDb, budgets: B) {
    let started = Instant::now();
    operators::add_operator(&db.db, OPERATOR, PASSWORD)
        .await
        .expect("add operator");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = ServerConfig {
        listen: addr,
        ..ServerConfig::default()
    };
    let admin = zkq_server::router(std::sync::Arc::new(AppState::new(db.db.clone(), budgets.clone(), config)));
    let server = tokio::spawn(zkq_server::serve(
        listener,
        zkq_server::app(admin, axum::Router::new(), db.db.clone()),
        async {
            let _ = stopped.await;
        },
    ));

    let client = driver.connect().await;
    let outcome = AssertUnwindSafe(scenario(&client, &format!("http://{addr}"), &budgets))
        .catch_unwind()
        .await;
    let _ = client.close().await;
    let _ = stop.send(());
    let served = server.await;
    if let Err(panic) = outcome {
        eprintln!("chromedriver log (last lines):\n{}", driver.log_tail());
        std::panic::resume_unwind(panic);
    }
    served.expect("the server task").expect("the server stops cleanly");
    eprintln!(
        "browser scenario: {:.1} s (browser start included)",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_logs_in_reads_a_budget_changes_its_cap_and_resets_it_in_chromium() {
    let Some(driver) = ChromeDriver::start() else { return };
    let db = TestDb::new("browser").await;
    let budgets = Arc::new(MemoryBudgets::new());
    budgets
        .add_ledger("acme", "ads", "calendar:day", "2.0", "0.5")
        .expect("ledger");
    budgets
        .add_ledger("beta", "research", "total", "10", "1.25")
        .expect("ledger");
    budgets
        .add_ledger(EVIL_TENANT, "ads", "sliding:24h", "1", "0")
        .expect("ledger");
    budgets.add_block(EVIL_TENANT, "ads", "job-1", "0.5", "budget \"exhausted\"");
    run_in_chromium(&driver, &db, budgets).await;
}

/// The same scenario on the real ledger: budgets made with zkq-budget in the test's schema,
/// spend charged through a real hold and settlement, a real block; the page's changes become
/// signed receipts naming the operator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_in_chromium_on_the_postgresql_ledger() {
    use zkq_budget::pg::{self, Admission, BudgetSpec, JobCharge, Settlement};
    let Some(driver) = ChromeDriver::start() else { return };
    let db = TestDb::new("browser-pg").await;
    let key = Arc::new(zkq_audit::SigningKey::generate().expect("a key"));
    let budgets = Arc::new(PgBudgets::new(db.db.clone(), key.clone()).await.expect("the backend"));
    let pgc = db.pg().await;
    for t in ["acme", "beta", EVIL_TENANT] {
        pgc.execute("insert into tenants (name) values ($1)", &[&t]).await.expect("tenant");
    }
    let eps = |s: &str| s.parse::<zkq_budget::Epsilon>().expect("ε");
    let mut client = db.db.client().await.expect("client");
    let tx = client.transaction().await.expect("tx");
    for (tenant, purpose, window, cap) in [("acme", "ads", "calendar:day", "2.0"), ("beta", "research", "total", "10"), (EVIL_TENANT, "ads", "sliding:24h", "1")] {
        let spec = BudgetSpec { tenant: tenant.into(), purpose: purpose.into(), cap: eps(cap), window: Some(window.parse().expect("window")), per_job_max: None };
        pg::set_budget(&tx, &spec, "test", "set up", &key).await.expect("set_budget");
    }
    for (tenant, purpose, job, amount) in [("acme", "ads", "j-acme", "0.5"), ("beta", "research", "j-beta", "1.25")] {
        let charge = JobCharge { tenant: tenant.into(), job_id: job.into(), purpose: purpose.into(), epsilon: eps(amount) };
        assert!(matches!(pg::reserve(&tx, &charge, "test", chrono::Duration::minutes(5)).await.expect("reserve"), Admission::Reserved(_)));
        pg::settle(&tx, &[Settlement { job: charge, proof_sha256: Some("ab".repeat(32)), reason: String::new() }], &key).await.expect("settle");
    }
    let too_much = JobCharge { tenant: EVIL_TENANT.into(), job_id: "job-1".into(), purpose: "ads".into(), epsilon: eps("1.5") };
    assert!(matches!(pg::reserve(&tx, &too_much, "test", chrono::Duration::minutes(5)).await.expect("reserve"), Admission::Blocked(_)));
    tx.commit().await.expect("commit");
    drop(client);
    run_in_chromium(&driver, &db, budgets.clone()).await;
    // The page's two changes are signed receipts naming the operator and the reasons.
    let rows = pgc
        .query("select kind from budget_receipts where tenant = 'acme' order by seq", &[])
        .await
        .expect("receipts");
    let kinds: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(kinds, ["cap", "charge", "cap", "reset"], "creation, the charge, the page's cap change and reset");
    let recent = budgets.recent_receipts(2).await.expect("receipts");
    assert!(recent.iter().all(|r| r.actor.as_deref() == Some(OPERATOR)), "{recent:?}");
}
