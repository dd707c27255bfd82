//! What the machine was like around the run, from /proc: whether something else was busy,
//! since every figure here moves with it.

use std::time::Duration;

use serde::Serialize;

#[derive(Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub busy_share_before: f64,
    pub load_average_before: Vec<f64>,
    pub load_average_after: Vec<f64>,
}

/// Taken before the run starts.
pub struct Before {
    pub busy_share: f64,
    pub load_average: Vec<f64>,
}

impl Before {
    /// Takes a second: the busy share is measured over one.
    pub fn probe() -> Before {
        Before {
            busy_share: busy_share(),
            load_average: load_average(),
        }
    }

    /// Completes the picture after the run.
    pub fn and_after(self) -> Machine {
        Machine {
            cpus: cpus(),
            cpu_model: cpu_model(),
            busy_share_before: self.busy_share,
            load_average_before: self.load_average,
            load_average_after: load_average(),
        }
    }
}

pub fn cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0)
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> Vec<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .filter_map(|v| v.parse().ok())
        .collect()
}

/// The share of all cores busy over one second, from /proc/stat: whether something else runs.
pub fn busy_share() -> f64 {
    let sample = || -> (u64, u64) {
        let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let fields: Vec<u64> = text
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        // idle + iowait
        let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
        (fields.iter().sum(), idle)
    };
    let (total0, idle0) = sample();
    std::thread::sleep(Duration::from_secs(1));
    let (total1, idle1) = sample();
    let total = total1.saturating_sub(total0).max(1);
    1.0 - idle1.saturating_sub(idle0) as f64 / total as f64
}

pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}
