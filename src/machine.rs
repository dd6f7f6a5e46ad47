//! What the machine has, for size checks made before anything is allocated:
//! its memory (`MemTotal` of `/proc/meminfo`, or a smaller cgroup limit
//! `memory.max`). Elsewhere than Linux nothing is known and only the
//! documented fixed limits apply.

/// Bytes of memory this process may use, where the system says:
/// `min(MemTotal, cgroup v2 memory.max)`; `None` where neither is readable.
pub fn memory_bytes() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| parse_meminfo(&t));
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok());
    match (total, cgroup) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `MemTotal: N kB` of a `/proc/meminfo` text, in bytes.
fn parse_meminfo(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// `bytes` in words for a message: `12.3 GiB`.
pub fn gib(bytes: f64) -> String {
    format!("{:.1} GiB", bytes / (1u64 << 30) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_total_is_read_in_bytes() {
        let text = "MemTotal:       16384 kB\nMemFree:  100 kB\n";
        assert_eq!(parse_meminfo(text), Some(16384 * 1024));
        assert_eq!(parse_meminfo("MemFree: 1 kB\n"), None);
    }
}
