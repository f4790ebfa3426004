//! The protocol document is enough for an outsider (issue 17, point 7): the example client in
//! `examples/python/zkq_client.py` — Python, pika, written from `docs/job-protocol.md` alone —
//! runs against the REAL broker with a tenant's own credentials (`zkq tenant add --format
//! json`): it publishes jobs through the tenant's inbound exchange, validates every result
//! against `docs/schemas/job-result.schema.json` and checks every proof with `snarkjs groth16
//! verify`. The test then reads the jobs' rows in PostgreSQL: all the tenant's, all proved.
//!
//! The Python interpreter is `$ZKQ_PYTHON` (scripts/test.sh makes a virtual environment with
//! `examples/python/requirements.txt`), else `python3`; without pika and jsonschema the test
//! fails and says how to install them.

#[allow(dead_code)]
mod common;

use std::process::Command;

use zkq_engine::fixtures::{repo_root, MULTI_PUBLIC};
use zkq_scheduler::topology;

use common::{run_pipeline_test, Worker};

/// The tenant the example client submits as.
const CLIENT_TENANT: &str = "pyclient";
/// Jobs it publishes.
const JOBS: usize = 4;

fn python() -> String {
    std::env::var("ZKQ_PYTHON").unwrap_or_else(|_| "python3".into())
}

#[test]
fn the_python_example_client_proves_and_verifies_with_a_tenants_own_credentials() {
    let probe = Command::new(python()).args(["-c", "import pika, jsonschema"]).output();
    assert!(
        probe.as_ref().is_ok_and(|o| o.status.success()),
        "{} cannot import pika and jsonschema: run scripts/test.sh (it makes the virtual environment and sets ZKQ_PYTHON), or \
         pip install -r examples/python/requirements.txt ({probe:?})",
        python()
    );
    run_pipeline_test("python-client", |env| async move {
        let (admin, ch) = common::amqp_channel(&env).await;
        topology::declare(&ch, &env.amqp).await.expect("declare the topology");
        let _ = admin.close(200, "bye".into()).await;
        let o = env.zkq().args(["tenant", "add", CLIENT_TENANT, "--format", "json"]).output().expect("run zkq tenant add");
        assert!(o.status.success(), "zkq tenant add: {}", String::from_utf8_lossy(&o.stderr));
        let creds: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
        let url = creds["amqp_url"].as_str().expect("amqp_url").to_owned();
        // The example names its purpose: the tenant needs a budget for it (purpose binding).
        let o = env
            .zkq()
            .args(["budget", "set", "--tenant", CLIENT_TENANT, "--purpose", "python-example", "--cap", "1", "--window", "total", "--reason", "test"])
            .output()
            .expect("run zkq budget set");
        assert!(o.status.success(), "zkq budget set: {}", String::from_utf8_lossy(&o.stderr));
        let worker = Worker::start(&env, "python-client", &["--max-batch", "4", "--max-wait-ms", "50", "--metrics-addr", "off"]);
        common::wait_consuming_tenant(&env, &worker, CLIENT_TENANT).await;

        let root = repo_root();
        let out = tokio::task::block_in_place(|| {
            Command::new(python())
                .arg(root.join("examples/python/zkq_client.py"))
                .args(["--amqp-url", &url, "--tenant", CLIENT_TENANT, "--prefix", &env.amqp.prefix])
                .args(["--circuit", &format!("sha256:{}", env.circuit_id), "--jobs", &JOBS.to_string(), "--timeout", "120"])
                .arg("--witness")
                .arg(MULTI_PUBLIC.wtns())
                .arg("--vk")
                .arg(MULTI_PUBLIC.vk_json())
                .arg("--schema")
                .arg(root.join("docs/schemas/job-result.schema.json"))
                .arg("--snarkjs")
                .arg(root.join("tools/node/node_modules/.bin/snarkjs"))
                .output()
                .expect("run the Python example client")
        });
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "the example client failed\nstdout: {stdout}\nstderr: {stderr}\n{}", worker.log_tail(30));
        assert!(stdout.contains(&format!("{JOBS} results, {JOBS} proved and verified by snarkjs, 0 problems")), "{stdout}");
        let pg = env.pg().await;
        let row = pg
            .query_one(
                "select count(*), count(*) filter (where r.status = 'proved') from jobs j join job_results r using (job_id) \
                 where j.tenant = $1 and j.purpose = 'python-example'",
                &[&CLIENT_TENANT],
            )
            .await
            .expect("rows");
        let (jobs, proved): (i64, i64) = (row.get(0), row.get(1));
        assert_eq!((jobs, proved), (JOBS as i64, JOBS as i64), "every job recorded as {CLIENT_TENANT}'s and proved");
    });
}
