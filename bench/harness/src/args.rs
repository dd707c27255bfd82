//! The command line: what to run, how much of it, and where things are.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::instance::{Function, Variant};

pub struct Settings {
    pub quick: bool,
    pub starts: usize,
    pub rounds: usize,
    pub requests: usize,
    pub warmup: usize,
    pub rust_bin: PathBuf,
    pub emulator_bin: PathBuf,
    pub noop_bin: Option<PathBuf>,
    pub node: Option<String>,
    pub node_relay: PathBuf,
    pub config: PathBuf,
    pub moto: SocketAddr,
    pub out: PathBuf,
    pub zips: Vec<(String, PathBuf)>,
    pub command_line: String,
    /// Profiling: a command the Rust relay runs under (`perf record -g --`, `valgrind ...`).
    pub wrap: Vec<String>,
    pub only: Option<String>,
    pub variants: Option<Vec<String>>,
    pub trace: bool,
    /// The function's memory size: its `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, and the CPU share of
    /// the throttled cold starts (measured when this machine allows a cgroup).
    pub memory_mb: u32,
    /// Extra environment for every instance (`--env NAME=VALUE`), for experiments.
    pub env: Vec<(String, String)>,
    /// Queued submissions `deliver` drains per instance, after a warm-up batch.
    pub deliver_records: usize,
    /// Messages per SQS event: the template's `DeliverBatchSize` default.
    pub deliver_batch: usize,
}

impl Settings {
    /// Whether `--only` leaves this function in.
    pub fn runs(&self, function: Function) -> bool {
        self.only
            .as_deref()
            .is_none_or(|only| only == function.name())
    }

    /// Whether `--only` leaves the deliver drain in.
    pub fn runs_deliver(&self) -> bool {
        self.only.as_deref().is_none_or(|only| only == "deliver")
    }

    /// Whether `--variants` leaves this implementation in.
    pub fn wants(&self, variant: Variant) -> bool {
        self.wants_key(variant.key())
    }

    /// Whether `--variants` leaves the emulator called directly in.
    pub fn wants_direct(&self) -> bool {
        self.wants_key("direct")
    }

    fn wants_key(&self, key: &str) -> bool {
        self.variants
            .as_ref()
            .is_none_or(|list| list.iter().any(|k| k == key))
    }

    /// Warm requests per instance: `--requests` split over the rounds, rounded up.
    pub fn requests_per_round(&self) -> usize {
        self.requests.div_ceil(self.rounds)
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: relay-bench --rust-bin DIR --config relay.toml --node-relay DIR [--node node] [--noop-bin FILE]\n\
         \x20      [--quick] [--starts N] [--requests N] [--rounds N] [--zip NAME=PATH]... [--out results.json]\n\
         \x20      [--memory-mb MB]   the function's memory size (128): also sets the CPU share of the\n\
         \x20                         cold starts measured under a cgroup quota (root only)\n\
         \x20      [--command TEXT]   the command line to record in the results\n\
         \x20      [--deliver-records N] [--deliver-batch N]   queued submissions deliver drains per\n\
         \x20                         instance (1000) and messages per SQS event (100, the template's)\n\
         for profiling and experiments:\n\
         \x20      [--only submit|lookup|deliver] [--variants rust,rust_lazy,rust_noop,node,node_noop,direct]\n\
         \x20      [--wrap 'perf record -g --'] [--env NAME=VALUE]... [--trace]\n\
         AWS_ENDPOINT_URL_SECRETS_MANAGER must point at a Secrets Manager (moto) holding the demo tokens;\n\
         scripts/bench sets everything up."
    );
    std::process::exit(2)
}

/// Parses the process's arguments; prints the usage and exits with 2 on anything it does not
/// understand.
pub fn parse() -> Settings {
    let mut args = std::env::args().skip(1);
    let mut quick = false;
    let mut starts = None;
    let mut requests = None;
    let mut rounds = None;
    let mut rust_bin = None;
    let mut noop_bin = None;
    let mut node = None;
    let mut node_relay = None;
    let mut config = None;
    let mut out = PathBuf::from("bench/results.json");
    let mut zips = Vec::new();
    let mut command_line = String::from("scripts/bench");
    let mut wrap = Vec::new();
    let mut only = None;
    let mut variants = None;
    let mut trace = false;
    let mut memory_mb = 128;
    let mut env = Vec::new();
    let mut deliver_records = 1000;
    let mut deliver_batch = 100;
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--quick" => quick = true,
            "--starts" => starts = Some(value().parse().unwrap_or_else(|_| usage())),
            "--requests" => requests = Some(value().parse().unwrap_or_else(|_| usage())),
            "--rounds" => {
                rounds = Some(value().parse::<usize>().unwrap_or_else(|_| usage()).max(1))
            }
            "--rust-bin" => rust_bin = Some(PathBuf::from(value())),
            "--noop-bin" => noop_bin = Some(PathBuf::from(value())).filter(|p| p.is_file()),
            "--node" => node = Some(value()).filter(|v| !v.is_empty()),
            "--node-relay" => node_relay = Some(PathBuf::from(value())),
            "--config" => config = Some(PathBuf::from(value())),
            "--out" => out = PathBuf::from(value()),
            "--command" => command_line = value(),
            "--wrap" => wrap = value().split_whitespace().map(str::to_owned).collect(),
            "--only" => only = Some(value()),
            "--variants" => variants = Some(value().split(',').map(str::to_owned).collect()),
            "--trace" => trace = true,
            "--memory-mb" => {
                memory_mb = value()
                    .parse()
                    .ok()
                    .filter(|mb| *mb > 0)
                    .unwrap_or_else(|| usage())
            }
            "--deliver-records" => {
                deliver_records = value()
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .unwrap_or_else(|| usage())
            }
            // What template.yaml's DeliverBatchSize allows.
            "--deliver-batch" => {
                deliver_batch = value()
                    .parse()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .unwrap_or_else(|| usage())
            }
            "--env" => {
                let pair = value();
                let (name, val) = pair.split_once('=').unwrap_or_else(|| usage());
                env.push((name.to_owned(), val.to_owned()));
            }
            "--zip" => {
                let pair = value();
                let (name, path) = pair.split_once('=').unwrap_or_else(|| usage());
                zips.push((name.to_owned(), PathBuf::from(path)));
            }
            _ => usage(),
        }
    }
    let moto = std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER")
        .ok()
        .and_then(|url| {
            url.trim_start_matches("http://")
                .trim_end_matches('/')
                .parse()
                .ok()
        })
        .unwrap_or_else(|| usage());
    let rust_bin = rust_bin.unwrap_or_else(|| usage());
    Settings {
        quick,
        starts: starts.unwrap_or(if quick { 3 } else { 20 }),
        rounds: rounds.unwrap_or(if quick { 1 } else { 5 }),
        requests: requests.unwrap_or(if quick { 300 } else { 10_000 }),
        warmup: if quick { 30 } else { 200 },
        emulator_bin: rust_bin.join("kintone-emulator"),
        noop_bin,
        rust_bin,
        node,
        node_relay: node_relay.unwrap_or_else(|| usage()),
        config: config.unwrap_or_else(|| usage()),
        moto,
        out,
        zips,
        command_line,
        wrap,
        only,
        variants,
        trace,
        memory_mb,
        env,
        deliver_records,
        deliver_batch,
    }
}
