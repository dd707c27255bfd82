//! `relay-bench`: the measurements behind scripts/bench. See bench/README.md.
//!
//! For each function (submit, lookup) and each implementation (the Rust relay, the same with
//! init warming turned off, the Node.js reference relay, and the no-op floors):
//!   - cold starts: a fresh process under a fresh Runtime API; process start to the first
//!     `next` (ready) and to the first response read whole (first Secrets Manager fetch and
//!     first kintone call included), medians over `--starts` starts, interleaved;
//!   - warm: instances of `--requests` invocations one after another (Lambda sends an instance
//!     one event at a time) after a warm-up; latency p50/p99, CPU per invocation, peak RSS,
//!     Secrets Manager and kintone calls counted by proxies;
//!   - the emulator called directly with the same kintone request through the same proxy, so
//!     the relay's own latency is the difference.
//!
//! And `deliver` draining queued submissions in SQS batches: records per kintone call, CPU per
//! record.
//!
//! Modules:
//!   - `args`: the settings and their command line;
//!   - `fixtures`: the events sent (the repository's events/) and the direct kintone requests;
//!   - `instance`: one function instance under the Runtime API, with Lambda's environment;
//!   - `rounds`: cold starts, warm rounds and direct rounds of one function;
//!   - `drain`: the deliver drain;
//!   - `stats`: percentiles, medians, summaries;
//!   - `probes`: load average, busy share, CPU model; `procs`: child processes and /proc;
//!     `cgroup`: Lambda's CPU share;
//!   - `runtime`, `proxy`, `http`: the Lambda Runtime API, the counting proxies, HTTP/1.1;
//!   - `report`: results.json as typed structs, and the table and targets printed from them.
//!
//! A missed target is reported, never an error: the exit status is 0 once the results are
//! written, 1 when the run itself fails, 2 on a bad command line.

mod args;
mod cgroup;
mod drain;
mod fixtures;
mod http;
mod instance;
mod probes;
mod procs;
mod proxy;
mod report;
mod rounds;
mod runtime;
mod stats;

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use args::Settings;
use fixtures::Fixtures;
use instance::Function;
use report::{Functions, Report, RunSettings};

fn main() {
    let s = args::parse();
    let fixtures = Fixtures::load().unwrap_or_else(|e| fail(&e));
    let before = probes::Before::probe();
    let started = Instant::now();
    let node_ok = s.node_relay.join("node_modules").is_dir() && s.node.is_some();
    if !node_ok {
        eprintln!(
            "relay-bench: the Node.js relay is not installed (bench/node-relay/node_modules); its columns stay empty"
        );
    }
    let throttle = match cgroup::CpuShare::create(s.memory_mb) {
        Ok(share) => Some(share),
        Err(e) => {
            eprintln!("relay-bench: no cold starts at Lambda's CPU share ({e})");
            None
        }
    };

    let mut functions = Functions::default();
    for function in Function::ALL.into_iter().filter(|f| s.runs(*f)) {
        let measured = rounds::measure(
            &s,
            function,
            fixtures.get(function),
            throttle.as_ref(),
            node_ok,
        )
        .unwrap_or_else(|e| fail(&e));
        functions.set(function, measured);
    }
    let deliver = if s.runs_deliver() {
        Some(drain::measure(&s, &fixtures).unwrap_or_else(|e| fail(&e)))
    } else {
        None
    };
    let zip_bytes: BTreeMap<String, Option<u64>> = s
        .zips
        .iter()
        .map(|(name, path)| (name.clone(), std::fs::metadata(path).map(|m| m.len()).ok()))
        .collect();

    let machine = before.and_after();
    let (table, targets) = report::table(
        &functions,
        deliver.as_ref(),
        &zip_bytes,
        s.memory_mb,
        node_ok,
    );
    let table = format!("{table}\n{}", footer(&s, &machine));
    let report = Report {
        command: s.command_line.clone(),
        quick: s.quick,
        generated_at_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
        duration_s: started.elapsed().as_secs_f64(),
        machine,
        settings: RunSettings {
            starts: s.starts,
            requests: s.requests,
            rounds: s.rounds,
            warmup_requests: s.warmup,
            memory_mb: s.memory_mb,
            throttled_cpu_share: throttle.as_ref().map(|t| t.share),
            throttled_memory_mb: throttle.as_ref().map(|t| t.memory_mb),
            node_relay: node_ok,
            deliver_records_per_instance: s.deliver_records,
            deliver_batch_size: s.deliver_batch,
        },
        functions,
        deliver,
        zip_bytes,
        targets,
        table,
    };
    report.write(&s.out).unwrap_or_else(|e| fail(&e));
    println!("{}", report.table);
}

/// Where and how the run was made, under the table.
fn footer(s: &Settings, machine: &probes::Machine) -> String {
    format!(
        "{} on {} x {}; before the run {:.0}% of the cores were busy (load average {:?}, after {:?}).\n\
         {} cold starts per function and implementation; {} warm requests each, in {} instance{}{}.\n",
        s.command_line,
        machine.cpus,
        machine.cpu_model,
        machine.busy_share_before * 100.0,
        machine.load_average_before,
        machine.load_average_after,
        s.starts,
        s.rounds * s.requests_per_round(),
        s.rounds,
        if s.rounds == 1 { "" } else { "s" },
        if s.quick {
            " (--quick: indicative only)"
        } else {
            ""
        },
    )
}

fn fail(message: &str) -> ! {
    eprintln!("relay-bench: {message}");
    std::process::exit(1)
}
