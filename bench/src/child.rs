//! Run one child process to completion and measure it: wall time and peak resident set size.
//!
//! Peak RSS comes from the kernel's own accounting of the reaped child (`wait4(2)`'s
//! `rusage.ru_maxrss`), not from sampling, so short peaks are not missed. On Linux that figure
//! is the larger of the child's peak and that of any descendant it waited for (e.g. a shell
//! wrapper), which is what a user would see as the tool's footprint. Off Unix, RSS is not
//! measured and reported as absent.

use std::fs::File;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// What one child run cost.
#[derive(Debug, Clone, Copy)]
pub struct Measurement {
    /// From just before `spawn` to the moment the child was reaped: process start-up, file
    /// reading and writing included ("cold", one process per proof).
    pub wall: Duration,
    /// Peak resident set size of the child, in bytes (`None` where not measurable).
    pub peak_rss_bytes: Option<u64>,
    /// CPU time the child used (user + system, all threads), where the OS reports it.
    pub cpu: Option<Duration>,
    /// How it exited.
    pub status: ExitStatus,
}

/// Runs `cmd` to completion with stdin closed and stdout and stderr both written to `log`
/// (a file, not a pipe: a chatty child can never block on a full pipe while we wait for it).
pub fn run_measured(cmd: &mut Command, log: &Path) -> Result<Measurement> {
    let out =
        File::create(log).with_context(|| format!("cannot create log file {}", log.display()))?;
    let err = out
        .try_clone()
        .with_context(|| format!("cannot reopen log file {}", log.display()))?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    let start = Instant::now();
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    let (status, peak_rss_bytes, cpu) = wait_with_rusage(child)?;
    Ok(Measurement {
        wall: start.elapsed(),
        peak_rss_bytes,
        cpu,
        status,
    })
}

/// Reaps `child` with `wait4`, returning its exit status and `ru_maxrss` in bytes.
#[cfg(unix)]
fn wait_with_rusage(child: std::process::Child) -> Result<(ExitStatus, Option<u64>, Option<Duration>)> {
    use std::os::unix::process::ExitStatusExt;

    let pid = libc::pid_t::try_from(child.id()).context("child pid does not fit pid_t")?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is a plain C struct of integers (and `timeval`s of integers), for
    // which all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, spawned above and not yet reaped: the `Child`
        // handle is moved in here and never waited on by std (dropping a `Child` neither waits
        // nor kills). `status` and `usage` are live, exclusively borrowed locals of the types
        // `wait4` writes, valid for the whole call.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e).with_context(|| format!("wait4 on child {pid} failed"));
        }
    }
    drop(child);
    let maxrss = u64::try_from(usage.ru_maxrss).unwrap_or(0);
    // Linux and the BSDs report kibibytes; macOS reports bytes.
    let bytes = if cfg!(target_os = "macos") {
        maxrss
    } else {
        maxrss * 1024
    };
    let seconds = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0)) + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    let cpu = seconds(usage.ru_utime) + seconds(usage.ru_stime);
    Ok((ExitStatus::from_raw(status), Some(bytes), Some(cpu)))
}

/// Off Unix: plain wait, no RSS.
#[cfg(not(unix))]
fn wait_with_rusage(mut child: std::process::Child) -> Result<(ExitStatus, Option<u64>, Option<Duration>)> {
    Ok((child.wait().context("waiting for child failed")?, None, None))
}

/// The last `max_lines` lines of a log file, for error messages (empty if unreadable).
pub fn log_tail(log: &Path, max_lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(max_lines)..].join("\n")
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn measures_exit_code_rss_and_output() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("log");
        let m =
            run_measured(Command::new("sh").args(["-c", "echo hello; exit 3"]), &log).expect("run");
        assert_eq!(m.status.code(), Some(3));
        assert!(m.peak_rss_bytes.is_some_and(|b| b > 0));
        assert_eq!(log_tail(&log, 5), "hello");
    }
}
