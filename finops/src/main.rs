//! `zkq-finops` (also run as `zkq finops …`): FinOps reports, FOCUS exports, charts, and the
//! versioned price and shared-cost tables.
//!
//! Exit codes (as `zkq`'s): 0 ok · 2 bad input (dates, flags, CSV rows) · 3 a file cannot be
//! read or written · 8 PostgreSQL unreachable or refused the operation.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use zkq_finops::allocate::ShareMode;
use zkq_finops::charts::{self, SplitChart, TrendChart};
use zkq_finops::output::{self, Format};
use zkq_finops::period::Period;
use zkq_finops::prices::{parse_price_csv, parse_valid_from, NewPrice, NewSharedCost};
use zkq_finops::report::{self, By};
use zkq_finops::{db, files, focus, html, FinopsError};

/// What a proof cost, per tenant, circuit, device and region, and why it changed.
#[derive(Debug, Parser)]
#[command(name = "zkq-finops", version, about, bin_name = "zkq finops")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Cost report: proofs, device-seconds, cost, cost per proof and per 1k proofs, p95 prove
    /// time and key-cache hit rate per group, beside the previous equal-length period, with
    /// idle and shared cost allocated and the change in cost per 1k proofs attributed to price
    /// mix, device-seconds per proof and utilisation.
    Report(ReportArgs),
    /// Exports.
    #[command(subcommand)]
    Export(ExportCommand),
    /// The versioned price table (provider, region, instance, pricing category, valid from).
    #[command(subcommand)]
    Prices(PricesCommand),
    /// Shared costs (broker, database, …), versioned like prices.
    #[command(subcommand)]
    Shared(SharedCommand),
}

#[derive(Debug, Args)]
struct DbArgs {
    /// PostgreSQL connection string.
    #[arg(long, env = "ZKQ_PG_URL", hide_env_values = true, default_value = db::DEFAULT_PG)]
    pg: String,
}

#[derive(Debug, Args)]
struct PeriodArgs {
    /// First day (YYYY-MM-DD, UTC) or RFC 3339 instant.
    #[arg(long)]
    from: String,
    /// Last day, inclusive (YYYY-MM-DD), or an RFC 3339 instant (exclusive).
    #[arg(long)]
    to: String,
}

#[derive(Debug, Args)]
struct ReportArgs {
    #[command(flatten)]
    period: PeriodArgs,
    /// Rows: tenant, circuit, device, region, day or week.
    #[arg(long, default_value = "tenant")]
    by: String,
    /// table, csv, parquet (needs --out) or json.
    #[arg(long, default_value = "table")]
    format: String,
    /// Directory for report.<format>, the charts (PNG and SVG) and report.html.
    #[arg(long)]
    out: Option<PathBuf>,
    /// How shared cost (broker, database, idle) is spread across rows: weighted (by workload
    /// cost), even, or none (idle and shared stay on their own rows).
    #[arg(long, default_value = "weighted")]
    share: String,
    /// Target cost per 1k proofs for the trend chart, USD [default: the previous period's,
    /// changed by --target-change-pct].
    #[arg(long)]
    target_usd_per_1k: Option<f64>,
    /// The target as a change against the previous period's cost per 1k proofs, percent.
    #[arg(long, default_value_t = -10.0, allow_hyphen_values = true)]
    target_change_pct: f64,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Debug, Subcommand)]
enum ExportCommand {
    /// FOCUS-shaped charge rows (one per day and tenant/circuit/device/region/pricing
    /// category, plus idle and shared charges), with zkq's own columns prefixed x_.
    Focus {
        #[command(flatten)]
        period: PeriodArgs,
        /// csv, parquet or both.
        #[arg(long, default_value = "both")]
        format: String,
        /// Directory for focus.csv / focus.parquet.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum PricesCommand {
    /// Every price version.
    List {
        /// table, csv or json.
        #[arg(long, default_value = "table")]
        format: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Adds a price version (prices are never edited: a change is a new row).
    Add {
        /// Provider (aws, gcp, …).
        #[arg(long)]
        provider: String,
        /// Region (us-east-1, …).
        #[arg(long)]
        region: String,
        /// Instance type (p5.48xlarge, …).
        #[arg(long)]
        instance_type: String,
        /// Device type workers report (nvidia-h100, cpu-2core, …).
        #[arg(long)]
        device_type: String,
        /// Devices per instance.
        #[arg(long, default_value_t = 1)]
        devices_per_instance: i32,
        /// on-demand, spot, reserved or savings-plan.
        #[arg(long, default_value = "on-demand")]
        pricing_category: String,
        /// USD per instance-hour.
        #[arg(long)]
        usd_per_hour: f64,
        /// First day (YYYY-MM-DD) or instant it applies.
        #[arg(long)]
        valid_from: String,
        /// Where the figure comes from.
        #[arg(long)]
        source: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Imports prices from a CSV file, all rows or none (header: provider, region,
    /// instance_type, device_type, devices_per_instance, pricing_category, usd_per_hour,
    /// valid_from[, source]).
    Import {
        /// The CSV file.
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum SharedCommand {
    /// Every shared-cost version.
    List {
        /// table or json.
        #[arg(long, default_value = "table")]
        format: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Adds a shared-cost version.
    Add {
        /// Component (broker, database, monitoring, …).
        #[arg(long)]
        component: String,
        /// USD per hour.
        #[arg(long)]
        usd_per_hour: f64,
        /// First day (YYYY-MM-DD) or instant it applies.
        #[arg(long)]
        valid_from: String,
        /// Region, if regional.
        #[arg(long)]
        region: Option<String>,
        /// Where the figure comes from.
        #[arg(long)]
        source: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

fn say(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).context("writing to stdout")?;
    if !text.ends_with('\n') {
        out.write_all(b"\n").context("writing to stdout")?;
    }
    Ok(())
}

fn bad(msg: String) -> anyhow::Error {
    FinopsError::BadInput(msg).into()
}

fn run_report(a: ReportArgs) -> anyhow::Result<()> {
    let period = Period::parse(&a.period.from, &a.period.to)?;
    let by: By = a.by.parse()?;
    let format: Format = a.format.parse()?;
    let share: ShareMode = a.share.parse()?;
    if format == Format::Parquet && a.out.is_none() {
        return Err(bad("--format parquet needs --out DIR (Parquet is binary)".into()));
    }
    if a.target_usd_per_1k.is_some_and(|t| !t.is_finite() || t < 0.0) || !a.target_change_pct.is_finite() {
        return Err(bad("--target-usd-per-1k must be a non-negative number and --target-change-pct a number".into()));
    }
    if let Some(out) = &a.out {
        files::ensure_dir(out)?;
    }
    let mut client = db::connect(&a.db.pg)?;
    let window = Period::new(period.previous().start, period.end)?;
    eprintln!("zkq-finops: reading jobs, costs and uptime for {} and {} from PostgreSQL", period.label(), period.previous().label());
    let ds = db::load(&mut client, &window)?;
    eprintln!("zkq-finops: {} costed jobs, {} uptime rows, {} prices, {} shared costs", ds.jobs.len(), ds.uptime.len(), ds.prices.len(), ds.shared.len());
    let r = report::build(&ds, &period, by, share)?;
    if r.empty && format != Format::Table {
        eprintln!("zkq-finops: {}", r.empty_message());
    }
    let Some(out) = &a.out else {
        return match format {
            Format::Table => say(&output::table(&r)),
            Format::Csv => say(&String::from_utf8_lossy(&output::csv_bytes(&mut output::frame(&r)?)?)),
            Format::Json => say(&serde_json::to_string_pretty(&output::json(&r))?),
            Format::Parquet => Err(bad("--format parquet needs --out DIR".into())),
        };
    };
    let mut written = Vec::new();
    let mut write = |name: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let path = out.join(name);
        files::write_atomic(&path, bytes)?;
        written.push(path);
        Ok(())
    };
    match format {
        Format::Table => write("report.txt", output::table(&r).as_bytes())?,
        Format::Csv => write("report.csv", &output::csv_bytes(&mut output::frame(&r)?)?)?,
        Format::Parquet => write("report.parquet", &output::parquet_bytes(&mut output::frame(&r)?)?)?,
        Format::Json => write("report.json", serde_json::to_string_pretty(&output::json(&r))?.as_bytes())?,
    }
    // Charts: the trend by day (by week beyond 62 days) and the split by tenant.
    let trend_by = if by == By::Week || period.seconds() > 62.0 * 86_400.0 { By::Week } else { By::Day };
    let trend_report = if by == trend_by { r.clone() } else { report::build(&ds, &period, trend_by, share)? };
    let target = match a.target_usd_per_1k {
        Some(t) => Some((t, "target".to_owned())),
        None => r.total.previous.as_ref().and_then(|p| p.usd_per_1k()).map(|k| (k * (1.0 + a.target_change_pct / 100.0), format!("previous period {:+}%", a.target_change_pct))),
    };
    let trend = TrendChart::from_report(&trend_report, target);
    let split_report = if by == By::Tenant { r.clone() } else { report::build(&ds, &period, By::Tenant, share)? };
    let split = SplitChart::from_report(&split_report);
    let trend_svg = charts::trend_svg(&trend)?;
    let split_svg = charts::split_svg(&split)?;
    write("cost_per_1k_proofs.svg", trend_svg.as_bytes())?;
    write("cost_by_tenant.svg", split_svg.as_bytes())?;
    charts::trend_png(&trend, &out.join("cost_per_1k_proofs.png"))?;
    charts::split_png(&split, &out.join("cost_by_tenant.png"))?;
    written.push(out.join("cost_per_1k_proofs.png"));
    written.push(out.join("cost_by_tenant.png"));
    let page = html::page(&r, &[(trend.title.clone(), trend_svg), (split.title.clone(), split_svg)]);
    files::write_atomic(&out.join("report.html"), page.as_bytes())?;
    written.push(out.join("report.html"));
    if r.empty {
        say(&r.empty_message())?;
    }
    say(&format!("wrote {}", written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")))
}

fn run_focus(period: PeriodArgs, format: &str, out: &Path, db_args: DbArgs) -> anyhow::Result<()> {
    let period = Period::parse(&period.from, &period.to)?;
    let (csv, parquet) = match format {
        "csv" => (true, false),
        "parquet" => (false, true),
        "both" => (true, true),
        other => return Err(bad(format!("--format {other:?} is not one of csv, parquet, both"))),
    };
    files::ensure_dir(out)?;
    let mut client = db::connect(&db_args.pg)?;
    let ds = db::load(&mut client, &period)?;
    let rows = focus::rows(&ds, &period);
    if ds.jobs.is_empty() {
        eprintln!("zkq-finops: no proofs in {} (idle and shared charges only)", period.label());
    }
    let mut df = focus::frame(&rows, &period)?;
    let mut written = Vec::new();
    if csv {
        let p = out.join("focus.csv");
        files::write_atomic(&p, &output::csv_bytes(&mut df)?)?;
        written.push(p);
    }
    if parquet {
        let p = out.join("focus.parquet");
        files::write_atomic(&p, &output::parquet_bytes(&mut df)?)?;
        written.push(p);
    }
    say(&format!("wrote {} FOCUS rows for {} to {}", rows.len(), period.label(), written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")))
}

fn run_prices(cmd: PricesCommand) -> anyhow::Result<()> {
    match cmd {
        PricesCommand::List { format, db: d } => {
            if !["table", "csv", "json"].contains(&format.as_str()) {
                return Err(bad(format!("--format {format:?} is not one of table, csv, json")));
            }
            let prices = db::list_prices(&mut db::connect(&d.pg)?)?;
            match format.as_str() {
                "json" => say(&serde_json::to_string_pretty(&prices)?),
                "csv" => {
                    let mut s = String::from("id,provider,region,instance_type,device_type,devices_per_instance,pricing_category,usd_per_hour,valid_from,source\n");
                    for p in &prices {
                        let source = p.source.clone().unwrap_or_default().replace('"', "\"\"");
                        s.push_str(&format!(
                            "{},{},{},{},{},{},{},{},{},\"{}\"\n",
                            p.id, p.provider, p.region, p.instance_type, p.device_type, p.devices_per_instance, p.pricing_category, p.usd_per_hour, p.valid_from.to_rfc3339(), source
                        ));
                    }
                    say(&s)
                }
                _ => {
                    let mut s = format!("{:>4}  {:<8} {:<12} {:<14} {:<12} {:>4}  {:<12} {:>12}  {}\n", "id", "provider", "region", "instance", "device", "devs", "category", "usd/hour", "valid from");
                    for p in &prices {
                        s.push_str(&format!(
                            "{:>4}  {:<8} {:<12} {:<14} {:<12} {:>4}  {:<12} {:>12}  {}\n",
                            p.id, p.provider, p.region, p.instance_type, p.device_type, p.devices_per_instance, p.pricing_category, p.usd_per_hour, p.valid_from.to_rfc3339()
                        ));
                    }
                    say(&s)
                }
            }
        }
        PricesCommand::Add { provider, region, instance_type, device_type, devices_per_instance, pricing_category, usd_per_hour, valid_from, source, db: d } => {
            let valid_from = parse_valid_from(&valid_from).map_err(|e| bad(format!("--valid-from: {e}")))?;
            let price = NewPrice { provider, region, instance_type, device_type, devices_per_instance, pricing_category, usd_per_hour, valid_from, source };
            price.validate().map_err(|e| bad(format!("--{}", e.replacen('_', "-", 2))))?;
            let ids = db::add_prices(&mut db::connect(&d.pg)?, &[price])?;
            say(&format!("added price {}", ids.first().copied().unwrap_or_default()))
        }
        PricesCommand::Import { file, db: d } => {
            let text = std::fs::read_to_string(&file).map_err(|e| FinopsError::io(format!("cannot read {}", file.display()), e))?;
            let prices = parse_price_csv(&file.display().to_string(), &text)?;
            let ids = db::add_prices(&mut db::connect(&d.pg)?, &prices)?;
            say(&format!("imported {} prices from {} (ids {}–{})", ids.len(), file.display(), ids.first().copied().unwrap_or_default(), ids.last().copied().unwrap_or_default()))
        }
    }
}

fn run_shared(cmd: SharedCommand) -> anyhow::Result<()> {
    match cmd {
        SharedCommand::List { format, db: d } => {
            let rows = db::list_shared(&mut db::connect(&d.pg)?)?;
            match format.as_str() {
                "json" => say(&serde_json::to_string_pretty(&rows)?),
                "table" => {
                    let mut s = format!("{:>4}  {:<12} {:<12} {:>10}  {}\n", "id", "component", "region", "usd/hour", "valid from");
                    for r in &rows {
                        s.push_str(&format!("{:>4}  {:<12} {:<12} {:>10}  {}\n", r.id, r.component, r.region.as_deref().unwrap_or("-"), r.usd_per_hour, r.valid_from.to_rfc3339()));
                    }
                    say(&s)
                }
                other => Err(bad(format!("--format {other:?} is not one of table, json"))),
            }
        }
        SharedCommand::Add { component, usd_per_hour, valid_from, region, source, db: d } => {
            let valid_from = parse_valid_from(&valid_from).map_err(|e| bad(format!("--valid-from: {e}")))?;
            let s = NewSharedCost { component, region, usd_per_hour, valid_from, source };
            s.validate().map_err(|e| bad(format!("--{}", e.replacen('_', "-", 2))))?;
            let id = db::add_shared(&mut db::connect(&d.pg)?, &s)?;
            say(&format!("added shared cost {id}"))
        }
    }
}

/// The exit code for an error (see the crate docs).
fn exit_code(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(f) = cause.downcast_ref::<FinopsError>() {
            return match f {
                FinopsError::BadInput(_) => 2,
                FinopsError::Io { .. } | FinopsError::Frame { .. } | FinopsError::Chart { .. } => 3,
                FinopsError::Database { .. } => 8,
            };
        }
        if cause.downcast_ref::<std::io::Error>().is_some() {
            return 3;
        }
    }
    3
}

/// The error and its causes on one line (a database error's own message included).
fn one_line(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let mut part = cause.to_string();
        if let Some(pg) = cause.downcast_ref::<postgres::Error>() {
            if let Some(db) = pg.as_db_error() {
                part = db.message().to_owned();
            }
        }
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text.split('\n').map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let first = e.to_string().lines().next().unwrap_or("invalid arguments").trim().to_owned();
            eprintln!("zkq finops: {} (see --help)", first.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Report(a) => run_report(a),
        Command::Export(ExportCommand::Focus { period, format, out, db }) => run_focus(period, &format, &out, db),
        Command::Prices(p) => run_prices(p),
        Command::Shared(s) => run_shared(s),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zkq finops: {}", one_line(&e));
            ExitCode::from(exit_code(&e))
        }
    }
}
