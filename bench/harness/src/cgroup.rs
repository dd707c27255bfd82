//! The CPU share Lambda gives a function after init: a CFS quota of memory / 1,769 MB of one
//! core (1,769 MB buys a full vCPU), applied from the moment the instance is ready, so that init
//! runs at full speed as it does on Lambda. Needs root and the cgroup v1 `cpu` controller (or
//! cgroup v2 with `cpu` enabled); without them the throttled figures are left out.

use std::path::PathBuf;

/// Lambda's CPU share grows with memory: 1,769 MB is one vCPU.
const MB_PER_VCPU: f64 = 1769.0;
/// The quota's period: short bursts (under period x share) still run at full speed.
pub const PERIOD_US: u64 = 20_000;

pub struct CpuShare {
    dir: PathBuf,
    pub memory_mb: u32,
    pub share: f64,
}

impl CpuShare {
    /// A new group, so that no earlier instance's use of the quota carries over.
    pub fn create(memory_mb: u32) -> Result<CpuShare, String> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let share = (memory_mb as f64 / MB_PER_VCPU).min(1.0);
        let quota = ((PERIOD_US as f64) * share).round() as u64;
        let name = format!("relay-bench-{}-{n}", std::process::id());
        let v1 = PathBuf::from("/sys/fs/cgroup/cpu");
        let v2 = PathBuf::from("/sys/fs/cgroup");
        let write = |path: PathBuf, text: String| {
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
        };
        if v1.join("cpu.cfs_quota_us").is_file() {
            let dir = v1.join(name);
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            write(dir.join("cpu.cfs_period_us"), PERIOD_US.to_string())?;
            write(dir.join("cpu.cfs_quota_us"), quota.to_string())?;
            Ok(CpuShare {
                dir,
                memory_mb,
                share,
            })
        } else if std::fs::read_to_string(v2.join("cgroup.subtree_control"))
            .is_ok_and(|c| c.contains("cpu"))
        {
            let dir = v2.join(name);
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            write(dir.join("cpu.max"), format!("{quota} {PERIOD_US}"))?;
            Ok(CpuShare {
                dir,
                memory_mb,
                share,
            })
        } else {
            Err("no writable cgroup cpu controller".into())
        }
    }

    /// Moves a process, with all its threads, under the quota.
    pub fn enter(&self, pid: u32) -> Result<(), String> {
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string())
            .map_err(|e| format!("cannot throttle {pid}: {e}"))
    }
}

impl Drop for CpuShare {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}
