//! bench/results.json, as typed structs, and the table printed from them.
//!
//! Every figure the table shows is read from a field of [`Report`], so a renamed or missing
//! figure is a compile error rather than a "-" in the table.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::instance::Function;
use crate::probes::Machine;
use crate::stats::Summary;

#[derive(Serialize)]
pub struct Report {
    pub command: String,
    pub quick: bool,
    pub generated_at_unix: u64,
    pub duration_s: f64,
    pub machine: Machine,
    pub settings: RunSettings,
    pub functions: Functions,
    /// The deliver drain (absent when `--only` left it out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliver: Option<DeliverSummary>,
    /// Bytes of each `--zip NAME=PATH` (null when the file is missing).
    pub zip_bytes: BTreeMap<String, Option<u64>>,
    pub targets: Vec<Check>,
    pub table: String,
}

#[derive(Serialize)]
pub struct RunSettings {
    pub starts: usize,
    pub requests: usize,
    pub rounds: usize,
    pub warmup_requests: usize,
    pub memory_mb: u32,
    pub throttled_cpu_share: Option<f64>,
    pub throttled_memory_mb: Option<u32>,
    pub node_relay: bool,
    pub deliver_records_per_instance: usize,
    pub deliver_batch_size: usize,
}

/// The functions measured (`--only` leaves one out).
#[derive(Serialize, Default)]
pub struct Functions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submit: Option<FunctionReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lookup: Option<FunctionReport>,
}

impl Functions {
    pub fn get(&self, function: Function) -> Option<&FunctionReport> {
        match function {
            Function::Submit => self.submit.as_ref(),
            Function::Lookup => self.lookup.as_ref(),
        }
    }

    pub fn set(&mut self, function: Function, report: FunctionReport) {
        match function {
            Function::Submit => self.submit = Some(report),
            Function::Lookup => self.lookup = Some(report),
        }
    }
}

/// One function's figures per implementation; what `--variants`, `--noop-bin`, node or the
/// cgroup left out is absent.
#[derive(Serialize, Default)]
pub struct FunctionReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cold_rust: Option<ColdSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cold_rust_lazy: Option<ColdSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cold_node: Option<ColdSummary>,
    /// The same cold starts with the first invocation at Lambda's CPU share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cold_throttled_rust: Option<ColdSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cold_throttled_rust_lazy: Option<ColdSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cold_throttled_node: Option<ColdSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_rust: Option<WarmSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_rust_noop: Option<WarmSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_node: Option<WarmSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_node_noop: Option<WarmSummary>,
    /// The emulator called directly with the request the relay makes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct: Option<DirectSummary>,
}

/// Which implementation a column of the table shows.
#[derive(Clone, Copy)]
enum Side {
    Rust,
    Node,
}

impl FunctionReport {
    fn cold(&self, side: Side) -> Option<&ColdSummary> {
        match side {
            Side::Rust => self.cold_rust.as_ref(),
            Side::Node => self.cold_node.as_ref(),
        }
    }

    fn cold_throttled(&self, side: Side) -> Option<&ColdSummary> {
        match side {
            Side::Rust => self.cold_throttled_rust.as_ref(),
            Side::Node => self.cold_throttled_node.as_ref(),
        }
    }

    fn warm(&self, side: Side) -> Option<&WarmSummary> {
        match side {
            Side::Rust => self.warm_rust.as_ref(),
            Side::Node => self.warm_node.as_ref(),
        }
    }

    fn warm_noop(&self, side: Side) -> Option<&WarmSummary> {
        match side {
            Side::Rust => self.warm_rust_noop.as_ref(),
            Side::Node => self.warm_node_noop.as_ref(),
        }
    }
}

/// Cold starts of one implementation: each figure over the starts.
#[derive(Serialize)]
pub struct ColdSummary {
    pub starts: usize,
    pub ready_ms: Summary,
    pub first_response_ms: Summary,
    pub first_event_to_response_ms: Summary,
    pub cpu_to_first_response_ms: Summary,
    pub peak_rss_after_first_response_kb: Summary,
    pub secrets_manager_calls_per_start: Summary,
    pub kintone_api_calls_per_start: Summary,
    pub other_kintone_requests_per_start: Summary,
}

/// Warm requests to one implementation, over all its instances.
#[derive(Serialize)]
pub struct WarmSummary {
    pub instances: usize,
    pub requests: usize,
    /// Every invocation, the unmeasured first and warm-up ones included.
    pub invocations: u64,
    pub latency_ms: Summary,
    pub cpu_us_per_request: f64,
    pub cpu_us_per_request_by_instance: Vec<f64>,
    pub cpu_system_share: f64,
    pub emulator_cpu_us_per_request: f64,
    pub requests_per_second: f64,
    pub peak_rss_kb: u64,
    pub threads: u64,
    pub log_lines_per_request: f64,
    pub secrets_manager_calls: u64,
    pub secrets_manager_calls_per_instance_max: u64,
    pub secrets_manager_calls_per_1000: f64,
    pub kintone_api_calls: u64,
    pub kintone_api_calls_per_1000: f64,
    pub other_kintone_requests: u64,
    pub kintone_connections: u64,
}

#[derive(Serialize)]
pub struct DirectSummary {
    pub requests: usize,
    pub latency_ms: Summary,
    pub emulator_cpu_us_per_request: f64,
}

/// `deliver` draining queued submissions, over all its instances; each instance's first batch
/// (its cold start) is not counted.
#[derive(Serialize)]
pub struct DeliverSummary {
    pub instances: usize,
    /// Messages per SQS event.
    pub batch_size: usize,
    /// Records added in the measured invocations.
    pub records: usize,
    pub invocations: usize,
    pub kintone_api_calls: u64,
    pub kintone_record_adds: u64,
    pub records_per_kintone_call: f64,
    pub cpu_us_per_record: f64,
    pub cpu_us_per_invocation: f64,
    pub emulator_cpu_us_per_record: f64,
    /// From the event written to the instance to its batch response read.
    pub batch_latency_ms: Summary,
    pub records_per_second: f64,
    pub peak_rss_kb: u64,
    /// First batch included: the token is read once per instance.
    pub secrets_manager_calls_per_instance_max: u64,
    /// Messages moved to the dead-letter queue; 0 unless kintone refused records.
    pub dead_letter_sends: u64,
}

/// A target and whether this run met it (null when a figure is missing).
#[derive(Serialize)]
pub struct Check {
    pub name: String,
    pub value: String,
    pub target: String,
    pub met: Option<bool>,
}

impl Report {
    pub fn write(&self, path: &Path) -> Result<(), String> {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| format!("cannot serialise the results: {e}"))?;
        std::fs::write(path, json + "\n")
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

// ---- the table -------------------------------------------------------------------------------

// The project's targets (issue 13).
const READY_MS_MAX: f64 = 8.0;
const ADDED_P99_MS_MAX: f64 = 0.5;
const CPU_OVER_NOOP_MAX: f64 = 1.25;
const PEAK_RSS_MB_MAX: f64 = 16.0;
const NODE_READY_RATIO_MIN: f64 = 20.0;
// The team guide's: a deliver drain adds at least this many records per kintone call (issue 16).
const DELIVER_RECORDS_PER_CALL_MIN: f64 = 80.0;

/// One figure for each of the table's four figure columns.
#[derive(Clone, Copy)]
struct Columns {
    submit_rust: Option<f64>,
    submit_node: Option<f64>,
    lookup_rust: Option<f64>,
    lookup_node: Option<f64>,
}

impl Columns {
    /// `figure` of each function and implementation that was measured.
    fn of(functions: &Functions, figure: impl Fn(&FunctionReport, Side) -> Option<f64>) -> Columns {
        let at = |function, side| functions.get(function).and_then(|f| figure(f, side));
        Columns {
            submit_rust: at(Function::Submit, Side::Rust),
            submit_node: at(Function::Submit, Side::Node),
            lookup_rust: at(Function::Lookup, Side::Rust),
            lookup_node: at(Function::Lookup, Side::Node),
        }
    }

    /// A figure only the Rust relay has: the Node.js columns stay "-".
    fn rust_only(
        functions: &Functions,
        figure: impl Fn(&FunctionReport) -> Option<f64>,
    ) -> Columns {
        Columns::of(functions, |f, side| match side {
            Side::Rust => figure(f),
            Side::Node => None,
        })
    }

    fn rust(&self) -> (Option<f64>, Option<f64>) {
        (self.submit_rust, self.lookup_rust)
    }
}

/// A figure, or "-" when it was not measured.
fn fmt(value: Option<f64>, digits: usize) -> String {
    match value.filter(|v| !v.is_nan()) {
        Some(v) => format!("{v:.digits$}"),
        None => "-".into(),
    }
}

/// How many times the Node.js figure is the Rust one.
fn ratio(node: Option<f64>, rust: Option<f64>) -> String {
    match (node, rust) {
        (Some(node), Some(rust)) if !node.is_nan() && !rust.is_nan() && rust > 0.0 => {
            format!("{:.1}x", node / rust)
        }
        _ => "-".into(),
    }
}

fn difference(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? - b?)
}

fn quotient(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? / b?)
}

struct Table {
    rows: Vec<[String; 8]>,
    /// The deliver block under the main table: label, figure, target.
    deliver_title: String,
    deliver_rows: Vec<[String; 3]>,
    checks: Vec<Check>,
}

impl Table {
    /// A row comparing Rust and Node.js, with a ratio for each function.
    fn compared(&mut self, label: &str, digits: usize, target: &str, c: Columns) {
        self.rows.push([
            label.to_owned(),
            fmt(c.submit_rust, digits),
            fmt(c.submit_node, digits),
            ratio(c.submit_node, c.submit_rust),
            fmt(c.lookup_rust, digits),
            fmt(c.lookup_node, digits),
            ratio(c.lookup_node, c.lookup_rust),
            target.to_owned(),
        ]);
    }

    /// A row with no ratio columns (Rust figures only, or figures not to compare).
    fn plain(&mut self, label: &str, digits: usize, target: &str, c: Columns) {
        self.rows.push([
            label.to_owned(),
            fmt(c.submit_rust, digits),
            fmt(c.submit_node, digits),
            String::new(),
            fmt(c.lookup_rust, digits),
            fmt(c.lookup_node, digits),
            String::new(),
            target.to_owned(),
        ]);
    }

    /// A target both functions must meet; not applicable when either figure is missing.
    fn check(
        &mut self,
        name: &str,
        (submit, lookup): (Option<f64>, Option<f64>),
        target: &str,
        digits: usize,
        ok: impl Fn(f64) -> bool,
    ) {
        let met = match (
            submit.filter(|v| !v.is_nan()),
            lookup.filter(|v| !v.is_nan()),
        ) {
            (Some(s), Some(l)) => Some(ok(s) && ok(l)),
            _ => None,
        };
        self.checks.push(Check {
            name: name.to_owned(),
            value: format!(
                "submit {} / lookup {}",
                fmt(submit, digits),
                fmt(lookup, digits)
            ),
            target: target.to_owned(),
            met,
        });
    }

    /// A row of the deliver block.
    fn deliver(&mut self, label: &str, digits: usize, target: &str, value: Option<f64>) {
        self.deliver_rows
            .push([label.to_owned(), fmt(value, digits), target.to_owned()]);
    }

    /// The deliver block: its own columns, since it has no Node.js counterpart.
    fn render_deliver(&self) -> String {
        let header = [self.deliver_title.clone(), "Rust".into(), "target".into()];
        let mut all = vec![header];
        all.extend(self.deliver_rows.iter().cloned());
        let widths: Vec<usize> = (0..3)
            .map(|i| all.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for (i, row) in all.iter().enumerate() {
            let pad = |j: usize| " ".repeat(widths[j] - row[j].chars().count());
            let line = format!("{}{}  {}{}  {}", row[0], pad(0), pad(1), row[1], row[2]);
            out.push_str(line.trim_end());
            out.push('\n');
            if i == 0 {
                out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 4));
                out.push('\n');
            }
        }
        out
    }

    fn render(&self) -> String {
        let header = [
            "",
            "submit Rust",
            "Node.js",
            "ratio",
            "lookup Rust",
            "Node.js",
            "ratio",
            "target",
        ];
        let mut all = vec![header.map(str::to_owned)];
        all.extend(self.rows.iter().cloned());
        let widths: Vec<usize> = (0..8)
            .map(|i| all.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for (i, row) in all.iter().enumerate() {
            let mut line = String::new();
            for (j, cell) in row.iter().enumerate() {
                let pad = " ".repeat(widths[j] - cell.chars().count());
                // Labels and targets to the left, figures to the right.
                if j == 0 || j == 7 {
                    line.push_str(cell);
                    line.push_str(&pad);
                } else {
                    line.push_str(&pad);
                    line.push_str(cell);
                }
                line.push_str("  ");
            }
            out.push_str(line.trim_end());
            out.push('\n');
            if i == 0 {
                out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 14));
                out.push('\n');
            }
        }
        out.push('\n');
        out.push_str(&self.render_deliver());
        out.push('\n');
        for c in &self.checks {
            let mark = match c.met {
                Some(true) => "met   ",
                Some(false) => "MISSED",
                None => "n/a   ",
            };
            out.push_str(&format!(
                "{mark} {:<50} {:<32} target {}\n",
                c.name, c.value, c.target
            ));
        }
        out
    }
}

/// The figures table and the targets checked, from the typed results.
pub fn table(
    functions: &Functions,
    deliver: Option<&DeliverSummary>,
    zip_bytes: &BTreeMap<String, Option<u64>>,
    memory_mb: u32,
    node_ok: bool,
) -> (String, Vec<Check>) {
    let mut t = Table {
        rows: Vec::new(),
        deliver_title: String::new(),
        deliver_rows: Vec::new(),
        checks: Vec::new(),
    };
    let f = functions;

    let ready = Columns::of(f, |f, side| Some(f.cold(side)?.ready_ms.p50));
    t.compared(
        "ready for the first event, ms (median)",
        1,
        &format!("<= {READY_MS_MAX}; >= {NODE_READY_RATIO_MIN}x"),
        ready,
    );
    t.plain(
        "  without init warming, ms",
        1,
        "",
        Columns::rust_only(f, |f| Some(f.cold_rust_lazy.as_ref()?.ready_ms.p50)),
    );
    t.compared(
        "first response done, ms (median)",
        1,
        "",
        Columns::of(f, |f, side| Some(f.cold(side)?.first_response_ms.p50)),
    );
    t.plain(
        "  without init warming, ms",
        1,
        "",
        Columns::rust_only(f, |f| {
            Some(f.cold_rust_lazy.as_ref()?.first_response_ms.p50)
        }),
    );
    t.compared(
        "first event to its response, ms (median)",
        1,
        "",
        Columns::of(f, |f, side| {
            Some(f.cold(side)?.first_event_to_response_ms.p50)
        }),
    );
    t.plain(
        "  without init warming, ms",
        1,
        "",
        Columns::rust_only(f, |f| {
            Some(f.cold_rust_lazy.as_ref()?.first_event_to_response_ms.p50)
        }),
    );
    if f.submit
        .as_ref()
        .is_some_and(|s| s.cold_throttled_rust.is_some())
    {
        t.compared(
            &format!("  at the CPU share of {memory_mb} MB, ms"),
            1,
            "",
            Columns::of(f, |f, side| {
                Some(f.cold_throttled(side)?.first_event_to_response_ms.p50)
            }),
        );
        t.plain(
            "    without init warming, ms",
            1,
            "",
            Columns::rust_only(f, |f| {
                Some(
                    f.cold_throttled_rust_lazy
                        .as_ref()?
                        .first_event_to_response_ms
                        .p50,
                )
            }),
        );
    }
    t.compared(
        "CPU to first response, ms (median)",
        1,
        "",
        Columns::of(f, |f, side| {
            Some(f.cold(side)?.cpu_to_first_response_ms.p50)
        }),
    );
    t.compared(
        "warm latency p50, ms",
        3,
        "",
        Columns::of(f, |f, side| Some(f.warm(side)?.latency_ms.p50)),
    );
    t.compared(
        "warm latency p99, ms",
        3,
        "",
        Columns::of(f, |f, side| Some(f.warm(side)?.latency_ms.p99)),
    );
    t.plain(
        "emulator called directly p50, ms",
        3,
        "",
        Columns::rust_only(f, |f| Some(f.direct.as_ref()?.latency_ms.p50)),
    );
    t.plain(
        "emulator called directly p99, ms",
        3,
        "",
        Columns::rust_only(f, |f| Some(f.direct.as_ref()?.latency_ms.p99)),
    );
    // Added latency: the relay's minus the emulator's called directly.
    let added = |quantile: fn(&Summary) -> f64| {
        Columns::of(f, move |f, side| {
            difference(
                Some(quantile(&f.warm(side)?.latency_ms)),
                Some(quantile(&f.direct.as_ref()?.latency_ms)),
            )
        })
    };
    t.compared("added latency p50, ms", 3, "", added(|s| s.p50));
    let added_p99 = added(|s| s.p99);
    t.compared(
        "added latency p99, ms",
        3,
        &format!("<= {ADDED_P99_MS_MAX}"),
        added_p99,
    );
    let cpu = Columns::of(f, |f, side| Some(f.warm(side)?.cpu_us_per_request));
    t.compared(
        "CPU per request, us",
        0,
        &format!("<= {CPU_OVER_NOOP_MAX}x no-op"),
        cpu,
    );
    // The runtime loop's floor does not depend on the function, so it is measured with submit
    // only; lookup's columns stay "-".
    t.compared(
        "  runtime loop alone (no-op handler), us",
        0,
        "",
        Columns::of(f, |f, side| Some(f.warm_noop(side)?.cpu_us_per_request)),
    );
    t.plain(
        "emulator CPU per request, us",
        0,
        "",
        Columns::rust_only(f, |f| Some(f.direct.as_ref()?.emulator_cpu_us_per_request)),
    );
    let peak_rss_mb = Columns::of(f, |f, side| Some(f.warm(side)?.peak_rss_kb as f64 / 1024.0));
    t.compared(
        "peak RSS, MB",
        1,
        &format!("<= {PEAK_RSS_MB_MAX}"),
        peak_rss_mb,
    );
    let zip_mb = |name: &str| {
        zip_bytes
            .get(name)
            .copied()
            .flatten()
            .map(|bytes| bytes as f64 / 1_048_576.0)
    };
    // One Node.js relay serves both functions: its zip is in both Node.js columns.
    t.compared(
        "deployment zip, MB",
        2,
        "(arm64)",
        Columns {
            submit_rust: zip_mb(Function::Submit.name()),
            submit_node: zip_mb("node"),
            lookup_rust: zip_mb(Function::Lookup.name()),
            lookup_node: zip_mb("node"),
        },
    );
    t.compared(
        "Secrets Manager calls / 1,000 invocations",
        2,
        "",
        Columns::of(f, |f, side| {
            Some(f.warm(side)?.secrets_manager_calls_per_1000)
        }),
    );
    let secrets_per_instance = Columns::of(f, |f, side| {
        Some(f.warm(side)?.secrets_manager_calls_per_instance_max as f64)
    });
    t.compared(
        "Secrets Manager calls per instance",
        0,
        "<= 1 per TTL",
        secrets_per_instance,
    );
    t.compared(
        "kintone calls / 1,000 invocations",
        0,
        "= 1000",
        Columns::of(f, |f, side| Some(f.warm(side)?.kintone_api_calls_per_1000)),
    );
    t.compared(
        "kintone calls in the first response",
        0,
        "= 1",
        Columns::of(f, |f, side| {
            Some(f.cold(side)?.kintone_api_calls_per_start.p50)
        }),
    );
    t.compared(
        "  connection warm-up requests per start",
        0,
        "",
        Columns::of(f, |f, side| {
            Some(f.cold(side)?.other_kintone_requests_per_start.p50)
        }),
    );

    t.check(
        "ready for the first event (median, ms)",
        ready.rust(),
        &format!("<= {READY_MS_MAX}"),
        1,
        |v| v <= READY_MS_MAX,
    );
    t.check(
        "added warm latency p99 (ms)",
        added_p99.rust(),
        &format!("<= {ADDED_P99_MS_MAX}"),
        3,
        |v| v <= ADDED_P99_MS_MAX,
    );
    // Against the no-op Lambda of the same run, so the VM's speed of the day cancels out; the
    // no-op is measured with submit and is the floor of both functions.
    let noop_cpu = f
        .submit
        .as_ref()
        .and_then(|s| Some(s.warm_rust_noop.as_ref()?.cpu_us_per_request));
    t.check(
        "CPU per request: Rust / no-op Lambda",
        (
            quotient(cpu.submit_rust, noop_cpu),
            quotient(cpu.lookup_rust, noop_cpu),
        ),
        &format!("<= {CPU_OVER_NOOP_MAX}x"),
        2,
        |v| v <= CPU_OVER_NOOP_MAX,
    );
    t.check(
        "peak RSS (MB)",
        peak_rss_mb.rust(),
        &format!("<= {PEAK_RSS_MB_MAX}"),
        1,
        |v| v <= PEAK_RSS_MB_MAX,
    );
    if node_ok {
        t.check(
            "ready: Node.js / Rust",
            (
                quotient(ready.submit_node, ready.submit_rust),
                quotient(ready.lookup_node, ready.lookup_rust),
            ),
            &format!(">= {NODE_READY_RATIO_MIN}x"),
            1,
            |v| v >= NODE_READY_RATIO_MIN,
        );
    }
    let kintone_per_invocation = Columns::rust_only(f, |f| {
        let warm = f.warm_rust.as_ref()?;
        Some(warm.kintone_api_calls as f64 / warm.invocations as f64)
    });
    t.check(
        "kintone calls per invocation",
        kintone_per_invocation.rust(),
        "= 1",
        3,
        |v| (v - 1.0).abs() < 1e-9,
    );
    t.check(
        "Secrets Manager calls per instance (within one TTL)",
        secrets_per_instance.rust(),
        "<= 1",
        0,
        |v| v <= 1.0,
    );

    deliver_block(&mut t, deliver, cpu.submit_rust);

    (t.render(), t.checks)
}

/// The deliver drain's rows and its target, next to submit's CPU for one record per call.
fn deliver_block(t: &mut Table, deliver: Option<&DeliverSummary>, submit_cpu_us: Option<f64>) {
    t.deliver_title = match deliver {
        Some(d) => format!(
            "deliver: {} queued submissions, SQS batches of {}",
            d.records, d.batch_size
        ),
        None => "deliver (not measured)".into(),
    };
    let per_call = deliver.map(|d| d.records_per_kintone_call);
    let cpu_per_record = deliver.map(|d| d.cpu_us_per_record);
    let target = format!(">= {DELIVER_RECORDS_PER_CALL_MIN}");
    t.deliver("records per kintone call", 1, &target, per_call);
    t.deliver("CPU per record, us", 1, "", cpu_per_record);
    t.deliver(
        "  submit, one record per call (CPU per request), us",
        0,
        "",
        submit_cpu_us,
    );
    t.deliver(
        "  submit / deliver, x",
        1,
        "",
        quotient(submit_cpu_us, cpu_per_record),
    );
    t.deliver(
        "CPU per invocation (batch), us",
        0,
        "",
        deliver.map(|d| d.cpu_us_per_invocation),
    );
    t.deliver(
        "batch latency p50, ms",
        2,
        "",
        deliver.map(|d| d.batch_latency_ms.p50),
    );
    t.deliver(
        "batch latency p99, ms",
        2,
        "",
        deliver.map(|d| d.batch_latency_ms.p99),
    );
    t.deliver(
        "emulator CPU per record, us",
        1,
        "",
        deliver.map(|d| d.emulator_cpu_us_per_record),
    );
    t.deliver(
        "peak RSS, MB",
        1,
        "",
        deliver.map(|d| d.peak_rss_kb as f64 / 1024.0),
    );
    t.deliver(
        "Secrets Manager calls per instance",
        0,
        "",
        deliver.map(|d| d.secrets_manager_calls_per_instance_max as f64),
    );
    t.checks.push(Check {
        name: "deliver drain: records per kintone call".into(),
        value: format!("deliver {}", fmt(per_call, 1)),
        target,
        met: per_call
            .filter(|v| !v.is_nan())
            .map(|v| v >= DELIVER_RECORDS_PER_CALL_MIN),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_figures_show_as_a_dash() {
        assert_eq!(fmt(None, 1), "-");
        assert_eq!(fmt(Some(f64::NAN), 1), "-");
        assert_eq!(fmt(Some(10.25), 1), "10.2");
        assert_eq!(ratio(Some(246.6), Some(11.9)), "20.7x");
        assert_eq!(ratio(Some(1.0), Some(0.0)), "-");
        assert_eq!(ratio(None, Some(1.0)), "-");
    }

    #[test]
    fn a_table_of_nothing_has_every_row_and_no_verdict() {
        let (table, checks) = table(&Functions::default(), None, &BTreeMap::new(), 128, true);
        assert!(table.contains("ready for the first event, ms (median)"));
        assert!(table.contains("<= 8; >= 20x"));
        assert!(table.contains("records per kintone call"));
        assert_eq!(checks.len(), 8);
        assert!(checks.iter().all(|c| c.met.is_none()));
    }

    fn drain(records: usize, kintone_api_calls: u64) -> DeliverSummary {
        DeliverSummary {
            instances: 1,
            batch_size: 100,
            records,
            invocations: records.div_ceil(100),
            kintone_api_calls,
            kintone_record_adds: kintone_api_calls,
            records_per_kintone_call: records as f64 / kintone_api_calls as f64,
            cpu_us_per_record: 20.0,
            cpu_us_per_invocation: 2000.0,
            emulator_cpu_us_per_record: 30.0,
            batch_latency_ms: Summary::of(&[5.0]),
            records_per_second: 10_000.0,
            peak_rss_kb: 11_000,
            secrets_manager_calls_per_instance_max: 1,
            dead_letter_sends: 0,
        }
    }

    #[test]
    fn the_deliver_target_is_records_per_kintone_call() {
        let verdict = |summary: &DeliverSummary| {
            let (_, checks) = table(
                &Functions::default(),
                Some(summary),
                &BTreeMap::new(),
                128,
                false,
            );
            let check = checks
                .into_iter()
                .find(|c| c.name.starts_with("deliver drain"))
                .expect("the deliver check");
            (check.value, check.met)
        };
        assert_eq!(
            verdict(&drain(1000, 10)),
            ("deliver 100.0".into(), Some(true))
        );
        assert_eq!(
            verdict(&drain(800, 10)),
            ("deliver 80.0".into(), Some(true))
        );
        assert_eq!(
            verdict(&drain(1000, 13)),
            ("deliver 76.9".into(), Some(false))
        );
        let (table, _) = table(
            &Functions::default(),
            Some(&drain(1000, 10)),
            &BTreeMap::new(),
            128,
            false,
        );
        assert!(
            table.contains("deliver: 1000 queued submissions, SQS batches of 100"),
            "{table}"
        );
    }
}
