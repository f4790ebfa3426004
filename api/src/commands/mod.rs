//! One module per subcommand.

pub(crate) mod access_log;
pub(crate) mod auth;
mod backends;
mod budgets;
mod dev;
pub(crate) mod drift;
mod finops;
mod jobs;
pub(crate) mod operators;
pub(crate) mod policy;
mod prove;
mod registry;
mod sched;
pub(crate) mod serve;
mod services;
mod submit;
mod tenants;
mod verify;
mod worker;
mod zkey;

use crate::cli::{AuditCommand, BackendArgs, BudgetCommand, CircuitCommand, ReceiptsCommand, Cli, Command, DevCommand, SchedCommand, TenantCommand, ZkeyCommand};
use crate::exit::ExitCode;
use std::sync::Arc;
use zkq_kernels::Backend;

/// Runs the parsed command; errors carry typed causes that `exit::code_for` maps.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Prove(args) => prove::prove(args),
        Command::ProveBatch(args) => prove::prove_batch(args),
        Command::Verify(args) => verify::verify(args),
        Command::Zkey(ZkeyCommand::Info { zkey, format }) => zkey::info(&zkey, format.format),
        Command::Zkey(ZkeyCommand::ExportVk { zkey, verification_key }) => zkey::export_vk(&zkey, &verification_key),
        Command::Backends(format) => backends::list(format.format),
        Command::Dev(DevCommand::Setup(args)) => dev::setup(args),
        Command::Worker(args) => worker::run(args),
        Command::Tenant(TenantCommand::Add { name, weight, tier, services, format }) => tenants::add(&name, weight, tier.as_deref(), &services, format.format),
        Command::Tenant(TenantCommand::List { services, format }) => tenants::list(&services, format.format),
        Command::Tenant(TenantCommand::RotateCredentials { name, services, format }) => tenants::rotate_credentials(&name, &services, format.format),
        Command::Tenant(TenantCommand::Remove { name, services, format }) => tenants::remove(&name, &services, format.format),
        Command::Circuit(CircuitCommand::Add { zkey, name, epsilon, services, format }) => registry::circuit_add(&zkey, &name, epsilon.as_deref(), &services, format.format),
        Command::Budget(BudgetCommand::Set { tenant, purpose, cap, window, per_job_max, reason, services, format }) => {
            budgets::set(&tenant, &purpose, &cap, window.as_deref(), per_job_max.as_deref(), &reason, &services, format.format)
        }
        Command::Budget(BudgetCommand::Show { tenant, services, format }) => budgets::show(tenant.as_deref(), &services, format.format),
        Command::Budget(BudgetCommand::List { services, format }) => budgets::list(&services, format.format),
        Command::Budget(BudgetCommand::Reset { tenant, purpose, reason, services, format }) => budgets::reset(&tenant, &purpose, &reason, &services, format.format),
        Command::Budget(BudgetCommand::Receipts(ReceiptsCommand::Export { tenant, from, to, out, services, format })) => {
            budgets::export(&tenant, from.as_deref(), to.as_deref(), &out, &services, format.format)
        }
        Command::Budget(BudgetCommand::Receipts(ReceiptsCommand::Verify { dir, keys, format })) => budgets::verify(&dir, keys.as_deref(), format.format),
        Command::Circuit(CircuitCommand::List { services, format }) => registry::circuit_list(&services, format.format),
        Command::Submit(args) => submit::submit(args),
        Command::Job(args) => jobs::job(args),
        Command::Jobs(args) => jobs::jobs(args),
        Command::Sched(SchedCommand::Simulate(args)) => sched::simulate(args),
        Command::Sched(SchedCommand::Trace(args)) => sched::trace(args),
        Command::Sched(SchedCommand::Synth(args)) => sched::synth(args),
        Command::Operator(command) => operators::run(command),
        Command::Serve(args) => serve::run(args),
        Command::Auth(command) => auth::run(command),
        Command::Policy(command) => policy::run(command),
        Command::Drift(command) => drift::run(command),
        Command::Audit(AuditCommand::AccessLog(args)) => access_log::run(args),
        Command::Finops { args } => finops::forward(&args),
    }
}

/// Builds the backend the flags ask for, saying so when it had to fall back.
fn open_backend(args: &BackendArgs) -> anyhow::Result<Arc<dyn Backend>> {
    let backend = zkq_kernels::open_backend(&args.config())?;
    if backend.kind() != args.backend {
        eprintln!("zkq: backend `{}` is not usable here; falling back to `{}` ({})", args.backend, backend.kind(), backend.device_name());
    }
    Ok(backend)
}

/// A bad-input error (exit code 2) with this one-line message.
fn invalid(what: impl std::fmt::Display) -> anyhow::Error {
    zkq_scheduler::SchedulerError::Invalid(what.to_string()).into()
}

/// Who is acting (recorded as the actor of budget and policy changes): the operating-system user.
fn actor() -> String {
    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into())
}

/// Seconds with millisecond precision, for JSON.
fn secs(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e6
}
