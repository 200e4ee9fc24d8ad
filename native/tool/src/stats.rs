//! `stats`: system CPU and memory and this process's resident size, read from /proc without
//! sleeping. CPU percent is the busy share since the previous call (since boot on the first).

use std::fs;
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;

use crate::error::{ErrorKind, IoResultExt, ToolError, ToolResult};

const PROC_STAT: &str = "/proc/stat";
const PROC_MEMINFO: &str = "/proc/meminfo";
const PROC_SELF_STATUS: &str = "/proc/self/status";
const KIB_PER_MIB: f64 = 1024.0;

/// The answer of [`stats`].
#[derive(Debug, Serialize, PartialEq)]
pub struct Stats {
    pub cpu_percent: f64,
    pub memory_used_mb: f64,
    pub memory_total_mb: f64,
    pub memory_percent: f64,
    pub rss_mb: f64,
}

/// CPU time counters (busy, total) from the previous call.
static PREVIOUS_CPU: Mutex<Option<(u64, u64)>> = Mutex::new(None);

/// Samples CPU and memory now. Never sleeps.
pub fn stats() -> ToolResult<Stats> {
    let (busy, total) = cpu_times()?;
    let cpu_percent = {
        let mut previous = PREVIOUS_CPU.lock().unwrap_or_else(|p| p.into_inner());
        let (busy0, total0) = previous.unwrap_or((0, 0));
        *previous = Some((busy, total));
        percent(busy.saturating_sub(busy0), total.saturating_sub(total0))
    };
    let meminfo = read_proc(PROC_MEMINFO)?;
    let total_kib = kib_field(&meminfo, "MemTotal:")?;
    let available_kib = kib_field(&meminfo, "MemAvailable:")?;
    let used_kib = total_kib.saturating_sub(available_kib);
    let rss_kib = kib_field(&read_proc(PROC_SELF_STATUS)?, "VmRSS:")?;
    Ok(Stats {
        cpu_percent,
        memory_used_mb: round2(used_kib as f64 / KIB_PER_MIB),
        memory_total_mb: round2(total_kib as f64 / KIB_PER_MIB),
        memory_percent: percent(used_kib, total_kib),
        rss_mb: round2(rss_kib as f64 / KIB_PER_MIB),
    })
}

fn read_proc(path: &str) -> ToolResult<String> {
    fs::read_to_string(path).at(Path::new(path))
}

/// (busy, total) jiffies of the "cpu" line; idle and iowait are the idle part.
fn cpu_times() -> ToolResult<(u64, u64)> {
    let stat = read_proc(PROC_STAT)?;
    let line = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .ok_or_else(|| malformed(PROC_STAT))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    if values.len() < 4 {
        return Err(malformed(PROC_STAT));
    }
    // user nice system idle iowait irq softirq steal; guest times are already inside user/nice.
    let total: u64 = values.iter().take(8).sum();
    let idle = values[3] + values.get(4).copied().unwrap_or(0);
    Ok((total - idle, total))
}

fn kib_field(text: &str, key: &str) -> ToolResult<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ToolError::new(ErrorKind::Io, format!("{key} missing from /proc")))
}

fn malformed(path: &str) -> ToolError {
    ToolError::new(ErrorKind::Io, format!("unexpected format of {path}"))
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        round2(part as f64 * 100.0 / whole as f64)
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_are_in_range() {
        let s = stats().unwrap();
        assert!((0.0..=100.0).contains(&s.cpu_percent));
        assert!(s.memory_total_mb > 0.0 && s.memory_used_mb <= s.memory_total_mb);
        assert!(s.rss_mb > 0.0);
    }
}
