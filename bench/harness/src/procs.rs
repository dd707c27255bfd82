//! Child processes and what /proc says about them: CPU time (every thread's scheduler run time,
//! in nanoseconds) and peak resident memory.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;

/// A child whose stdout and stderr are drained (as Lambda's log pipe would) and whose last lines
/// are kept for error messages.
pub struct Process {
    pub child: Child,
    pub pid: u32,
    tail: Arc<Mutex<VecDeque<String>>>,
    lines: Arc<Mutex<u64>>,
}

impl Process {
    pub fn spawn(mut command: Command) -> std::io::Result<Process> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn()?;
        let pid = child.id();
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let lines = Arc::new(Mutex::new(0));
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let (tail, lines) = (tail.clone(), lines.clone());
            thread::spawn(move || {
                let reader = BufReader::with_capacity(64 * 1024, pipe);
                for line in reader.lines() {
                    let Ok(line) = line else { break };
                    *lines.lock().unwrap() += 1;
                    let mut tail = tail.lock().unwrap();
                    if tail.len() == 40 {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            });
        }
        Ok(Process {
            child,
            pid,
            tail,
            lines,
        })
    }

    pub fn tail(&self) -> String {
        self.tail
            .lock()
            .unwrap()
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn log_lines(&self) -> u64 {
        *self.lines.lock().unwrap()
    }

    /// Scheduler run time of every live thread, in nanoseconds.
    pub fn cpu_ns(&self) -> u64 {
        cpu_ns(self.pid)
    }

    /// User and system CPU time of the whole process (exited threads included), in clock
    /// ticks (1/100 s): coarse, but it splits the precise figure of [`Process::cpu_ns`].
    pub fn user_sys_ticks(&self) -> (u64, u64) {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        // The fields after the command name, which is in parentheses and may hold spaces.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let fields: Vec<u64> = rest
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        (
            fields.get(11).copied().unwrap_or(0),
            fields.get(12).copied().unwrap_or(0),
        )
    }

    /// Peak resident set (VmHWM), in kB.
    pub fn peak_rss_kb(&self) -> u64 {
        status_kb(self.pid, "VmHWM:")
    }

    pub fn threads(&self) -> u64 {
        status_kb(self.pid, "Threads:")
    }

    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// SIGINT first (a profiler wrapping the relay writes its data then; its child gets
    /// SIGTERM), SIGKILL after 5 s.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.pid.to_string()])
            .status();
        // A wrapper (perf stat, strace) waits for its child: end the child too.
        let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", self.pid))
            .unwrap_or_default();
        for child in children.split_whitespace() {
            let _ = Command::new("kill").args(["-TERM", child]).status();
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(std::time::Duration::from_millis(2));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|text| text.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l[key.len()..].split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// A running kintone emulator (`--demo --port 0`), stopped when dropped, so that an error
/// anywhere in a round leaves none behind.
pub struct Emulator {
    child: Child,
    pub addr: std::net::SocketAddr,
}

impl Emulator {
    pub fn start(binary: &Path) -> Result<Emulator, String> {
        let mut child = Command::new(binary)
            .args(["--demo", "--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or("the emulator's stdout is not piped")?;
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let addr = reader
            .read_line(&mut line)
            .map_err(|e| e.to_string())
            .and_then(|_| {
                line.trim()
                    .rsplit("http://")
                    .next()
                    .and_then(|a| a.parse().ok())
                    .ok_or_else(|| format!("unexpected emulator output: {line:?}"))
            });
        let addr = match addr {
            Ok(addr) => addr,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        // Keep draining, so the emulator never blocks on a full pipe.
        thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
        });
        Ok(Emulator { child, addr })
    }

    /// The emulator's CPU time so far, in nanoseconds.
    pub fn cpu_ns(&self) -> u64 {
        cpu_ns(self.child.id())
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
