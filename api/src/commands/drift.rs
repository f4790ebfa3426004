//! `zkq drift evaluate|detect` (zkq-drift, docs/drift.md): the detectors' reproducible
//! evaluation on synthetic streams with known change points, and the detectors over an
//! analyst's own `time,value` CSV, and the detectors over the recorded series (`watch`).

use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};
use serde_json::json;
use zkq_drift::{csv, detector, DetectorConfig};

use super::invalid;
use crate::cli::{Format, FormatArgs};
use crate::exit::ExitCode;

/// `zkq drift …`.
#[derive(Debug, Subcommand)]
pub(crate) enum DriftCommand {
    /// Run every detector at its defaults over synthetic streams with known change points (mean
    /// shifts, variance changes, slow ramps, seasonality, stationary stretches) and report
    /// precision, recall, mean detection delay and false alarms per 10,000 points.
    Evaluate {
        /// The generators' seed (the report is a function of it).
        #[arg(long, default_value_t = 2021)]
        seed: u64,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Run each recorded series' default detectors over its values in PostgreSQL (cost per
    /// proof per tenant and circuit, queue wait per tenant, prove time per circuit and device,
    /// failures per tenant, circuit and device) and print the changes found.
    Watch {
        /// How far back to read, hours.
        #[arg(long, default_value_t = 24.0)]
        since_hours: f64,
        /// Read again every this many seconds until Ctrl-C, printing new changes (0: once).
        #[arg(long, default_value_t = 0)]
        interval_secs: u64,
        /// Record each new alert in PostgreSQL (`drift_alerts`; one already recorded is not
        /// raised again) and publish it to the AMQP topic exchange `<queue prefix>.alerts`
        /// (routing key `drift.<series>`), so that other systems can route it.
        #[arg(long)]
        record: bool,
        #[command(flatten)]
        services: crate::cli::ServiceArgs,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Run the detectors over a CSV of `time,value` rows (a header line is allowed).
    Detect {
        /// The CSV file.
        #[arg(long)]
        series: PathBuf,
        /// Which detector [default: every one].
        #[arg(long, value_enum)]
        detector: Option<Which>,
        #[command(flatten)]
        format: FormatArgs,
    },
}

/// A detector, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Which {
    /// Two-sided tabular CUSUM.
    Cusum,
    /// Page-Hinkley.
    PageHinkley,
    /// EWMA control chart.
    Ewma,
    /// ADWIN adaptive windowing.
    Adwin,
}

/// Runs a `zkq drift` command.
pub(crate) fn run(command: DriftCommand) -> anyhow::Result<ExitCode> {
    match command {
        DriftCommand::Evaluate { seed, format } => {
            let report = zkq_drift::evaluate(seed);
            match format.format {
                Format::Json => println!("{}", serde_json::to_string(&report)?),
                Format::Text => print!("{}", report.table()),
            }
            Ok(ExitCode::Ok)
        }
        DriftCommand::Detect { series, detector: which, format } => detect(&series, which, format.format),
        DriftCommand::Watch { since_hours, interval_secs, record, services, format } => {
            if !(since_hours.is_finite() && since_hours > 0.0 && since_hours <= 24.0 * 366.0) {
                return Err(invalid(format!("--since-hours {since_hours}: give a number of hours above 0, at most a year")));
            }
            super::services::runtime()?.block_on(watch(since_hours, interval_secs, record, &services, format.format))
        }
    }
}

/// The AMQP exchange drift alerts are published to.
fn alerts_exchange(amqp: &zkq_scheduler::AmqpConfig) -> String {
    format!("{}.alerts", amqp.prefix)
}

/// Publishes `alerts` (with their ids) to the alerts exchange, each confirmed by the broker.
async fn publish(amqp: &zkq_scheduler::AmqpConfig, alerts: &[(i64, zkq_drift::pg::Alert)]) -> anyhow::Result<()> {
    use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
    use lapin::{BasicProperties, Connection, ConnectionProperties, ExchangeKind};
    let map = |e: lapin::Error| anyhow::Error::from(zkq_scheduler::SchedulerError::from(e));
    let conn = Connection::connect(&amqp.uri, ConnectionProperties::default()).await.map_err(map)?;
    let channel = conn.create_channel().await.map_err(map)?;
    channel.confirm_select(ConfirmSelectOptions::default()).await.map_err(map)?;
    let exchange = alerts_exchange(amqp);
    let durable = ExchangeDeclareOptions { durable: true, ..Default::default() };
    channel.exchange_declare(exchange.as_str().into(), ExchangeKind::Topic, durable, Default::default()).await.map_err(map)?;
    for (id, a) in alerts {
        let body = serde_json::to_vec(&json!({"id": id, "kind": "drift", "alert": a}))?;
        let key = format!("drift.{}", a.series);
        let props = BasicProperties::default().with_content_type("application/json".into()).with_delivery_mode(2);
        let confirm = channel
            .basic_publish(exchange.as_str().into(), key.as_str().into(), BasicPublishOptions::default(), &body, props)
            .await
            .map_err(map)?
            .await
            .map_err(map)?;
        if !confirm.is_ack() {
            anyhow::bail!(zkq_scheduler::SchedulerError::Invalid(format!("the broker refused drift alert {id} on {exchange}")));
        }
    }
    let _ = conn.close(200, "bye".into()).await;
    Ok(())
}

async fn watch(since_hours: f64, interval_secs: u64, record: bool, services: &crate::cli::ServiceArgs, format: Format) -> anyhow::Result<ExitCode> {
    let amqp = services.amqp()?;
    let store = services.store().await?;
    let mut seen: std::collections::HashSet<(&'static str, String, String)> = std::collections::HashSet::new();
    loop {
        let client = store.db().client().await?;
        let db_err = |e: zkq_drift::pg::WatchError| match e {
            zkq_drift::pg::WatchError::Db(e) => anyhow::Error::from(zkq_store::StoreError::from(e)),
            other => invalid(other),
        };
        let changes = zkq_drift::pg::watch(&**client, since_hours * 3600.0).await.map_err(db_err)?;
        let found = zkq_drift::pg::alerts(&changes);
        // Recorded: what the table did not have yet; otherwise what this run has not printed.
        let fresh: Vec<(Option<i64>, zkq_drift::pg::Alert)> = if record {
            let written = zkq_drift::pg::record(&**client, &found).await.map_err(db_err)?;
            publish(&amqp, &written).await?;
            written.into_iter().map(|(id, a)| (Some(id), a)).collect()
        } else {
            found.into_iter().filter(|a| seen.insert((a.series, a.scope.clone(), a.time.clone()))).map(|a| (None, a)).collect()
        };
        drop(client);
        match format {
            Format::Json => println!("{}", serde_json::Value::Array(fresh.iter().map(|(id, a)| json!({"id": id, "alert": a})).collect())),
            Format::Text => {
                for (_, a) in &fresh {
                    let dir = serde_json::to_value(a.direction).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
                    println!(
                        "{} {} {}: {dir} at #{} (value {}, {}); playbook {}",
                        a.time,
                        a.alert,
                        a.scope,
                        a.index,
                        a.value,
                        a.detectors.join(" + "),
                        a.playbook
                    );
                }
                if fresh.is_empty() && interval_secs == 0 {
                    println!("(no new drift alert in the last {since_hours} h)");
                }
            }
        }
        if interval_secs == 0 {
            return Ok(ExitCode::Ok);
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(interval_secs)) => {}
            _ = super::services::shutdown_signal() => return Ok(ExitCode::Ok),
        }
    }
}

fn detect(path: &Path, which: Option<Which>, format: Format) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::Error::new(e).context(format!("cannot read {}", path.display())))?;
    let points = csv::parse(&text).map_err(|e| invalid(format!("{}: {e}", path.display())))?;
    let values: Vec<f64> = points.iter().map(|p| p.value).collect();
    let chosen: Vec<DetectorConfig> = DetectorConfig::defaults()
        .into_iter()
        // The flag's values are the detectors' names (`page-hinkley`, …).
        .filter(|d| which.is_none_or(|w| w.to_possible_value().is_some_and(|v| v.get_name() == d.name())))
        .collect();
    let mut rows = Vec::new();
    for d in &chosen {
        for (i, alarm) in detector::run(d, &values).map_err(|e| invalid(format!("{}: {e}", d.name())))? {
            rows.push((d.name(), i, alarm));
        }
    }
    rows.sort_by_key(|(name, i, _)| (*i, *name));
    match format {
        Format::Json => println!(
            "{}",
            json!({
                "file": path.display().to_string(), "points": values.len(),
                "detectors": chosen.iter().map(|d| serde_json::to_value(d).unwrap_or_default()).collect::<Vec<_>>(),
                "alarms": rows.iter().map(|(name, i, a)| json!({
                    "detector": name, "index": i, "time": points[*i].time, "value": points[*i].value,
                    "direction": a.direction, "statistic": a.statistic,
                })).collect::<Vec<_>>(),
            })
        ),
        Format::Text => {
            println!("{}: {} points, detectors {}", path.display(), values.len(), chosen.iter().map(|d| d.name()).collect::<Vec<_>>().join(", "));
            println!("{:<14} {:>8}  {:<28} {:>14}  {:<5} {:>10}", "DETECTOR", "INDEX", "TIME", "VALUE", "DIR", "STATISTIC");
            for (name, i, a) in &rows {
                let dir = serde_json::to_value(a.direction).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
                println!("{:<14} {:>8}  {:<28} {:>14.6}  {:<5} {:>10.3}", name, i, points[*i].time, points[*i].value, dir, a.statistic);
            }
            if rows.is_empty() {
                println!("(no change detected)");
            }
        }
    }
    Ok(ExitCode::Ok)
}
