//! `relay-bench`: the measurements behind scripts/bench. See bench/README.md.
//!
//! For each function (submit, lookup) and each implementation (the Rust relay, the same with
//! init warming turned off, the Node.js reference relay):
//!   - cold starts: a fresh process under a fresh Runtime API; process start to the first
//!     `next` (ready) and to the first response read whole (first Secrets Manager fetch and
//!     first kintone call included), medians over `--starts` starts, interleaved;
//!   - warm: one instance, `--requests` invocations one after another (Lambda sends an instance
//!     one event at a time) after a warm-up; latency p50/p99, CPU per invocation, peak RSS,
//!     Secrets Manager and kintone calls counted by proxies;
//!   - the emulator called directly with the same kintone request through the same proxy, so
//!     the relay's own latency is the difference.

mod cgroup;
mod http;
mod procs;
mod proxy;
mod runtime;

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use procs::Process;
use proxy::Proxy;
use runtime::RuntimeApi;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Function {
    Submit,
    Lookup,
}

impl Function {
    fn name(self) -> &'static str {
        match self {
            Function::Submit => "submit",
            Function::Lookup => "lookup",
        }
    }

    fn expected_status(self) -> u16 {
        match self {
            Function::Submit => 201,
            Function::Lookup => 200,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    /// The Rust relay as shipped (connections warmed at init).
    Rust,
    /// The Rust relay with `RELAY_WARM_AT_INIT=0`.
    RustLazy,
    /// The Node.js reference relay.
    Node,
    /// The Node.js runtime loop with a handler that does nothing: its floor.
    NodeNoop,
    /// The same for Rust: lambda_http with a handler that does nothing (bench/noop-lambda).
    RustNoop,
}

impl Variant {
    fn key(self) -> &'static str {
        match self {
            Variant::Rust => "rust",
            Variant::RustLazy => "rust_lazy",
            Variant::Node => "node",
            Variant::NodeNoop => "node_noop",
            Variant::RustNoop => "rust_noop",
        }
    }
}

struct Settings {
    quick: bool,
    starts: usize,
    rounds: usize,
    requests: usize,
    warmup: usize,
    rust_bin: PathBuf,
    emulator_bin: PathBuf,
    noop_bin: Option<PathBuf>,
    node: Option<String>,
    node_relay: PathBuf,
    config: PathBuf,
    moto: SocketAddr,
    out: PathBuf,
    zips: Vec<(String, PathBuf)>,
    command_line: String,
    /// Profiling: a command the Rust relay runs under (`perf record -g --`, `valgrind ...`).
    wrap: Vec<String>,
    only: Option<String>,
    variants: Option<Vec<String>>,
    trace: bool,
    /// The function's memory size: its `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, and the CPU share of
    /// the throttled cold starts (measured when this machine allows a cgroup).
    memory_mb: u32,
    /// Extra environment for every instance (`--env NAME=VALUE`), for experiments.
    env: Vec<(String, String)>,
}

fn usage() -> ! {
    eprintln!(
        "usage: relay-bench --rust-bin DIR --config relay.toml --node-relay DIR [--node node] [--noop-bin FILE]\n\
         \x20      [--quick] [--starts N] [--requests N] [--rounds N] [--zip NAME=PATH]... [--out results.json]\n\
         \x20      [--memory-mb MB]   the function's memory size (128): also sets the CPU share of the\n\
         \x20                         cold starts measured under a cgroup quota (root only)\n\
         \x20      [--command TEXT]   the command line to record in the results\n\
         for profiling and experiments:\n\
         \x20      [--only submit|lookup] [--variants rust,rust_lazy,rust_noop,node,node_noop,direct]\n\
         \x20      [--wrap 'perf record -g --'] [--env NAME=VALUE]... [--trace]\n\
         AWS_ENDPOINT_URL_SECRETS_MANAGER must point at a Secrets Manager (moto) holding the demo tokens;\n\
         scripts/bench sets everything up."
    );
    std::process::exit(2)
}

fn parse_args() -> Settings {
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
            "--env" => {
                let v = value();
                let (name, val) = v.split_once('=').unwrap_or_else(|| usage());
                env.push((name.to_owned(), val.to_owned()));
            }
            "--zip" => {
                let v = value();
                let (name, path) = v.split_once('=').unwrap_or_else(|| usage());
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
    let requests = requests.unwrap_or(if quick { 300 } else { 10_000 });
    Settings {
        quick,
        starts: starts.unwrap_or(if quick { 3 } else { 20 }),
        rounds: rounds.unwrap_or(if quick { 1 } else { 5 }),
        requests,
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
    }
}

// ---- events ----------------------------------------------------------------------------------

const ORIGIN: &str = "http://localhost:8000";

fn submit_body() -> Value {
    json!({
        "name": "山田 太郎",
        "email": "taro.yamada@example.jp",
        "phone": "03-1234-5678",
        "session": "午前の部",
        "attendees": 2,
        "preferred_date": "2026-12-01",
        "question": "駐車場はありますか？\n車で伺う予定です。",
        "consent": true
    })
}

fn lookup_body() -> Value {
    json!({"partner_id": "P-001", "partner_name": "山田商事", "deal_id": "D-1001"})
}

/// An API Gateway HTTP API (payload 2.0) event, as the Lambda service hands it over.
fn event(function: Function) -> Vec<u8> {
    let (path, route, param, body) = match function {
        Function::Submit => (
            "/forms/seminar",
            "POST /forms/{form}",
            json!({"form": "seminar"}),
            submit_body(),
        ),
        Function::Lookup => (
            "/lookups/deals",
            "POST /lookups/{lookup}",
            json!({"lookup": "deals"}),
            lookup_body(),
        ),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    json!({
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "accept-encoding": "gzip, deflate, br",
            "accept-language": "ja,en-US;q=0.9,en;q=0.8",
            "content-length": body.to_string().len().to_string(),
            "content-type": "application/json",
            "host": "abcdef1234.execute-api.ap-northeast-1.amazonaws.com",
            "origin": ORIGIN,
            "referer": format!("{ORIGIN}/"),
            "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
            "x-amzn-trace-id": "Root=1-67890abc-0123456789abcdef01234567",
            "x-forwarded-for": "203.0.113.10",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "domainName": "abcdef1234.execute-api.ap-northeast-1.amazonaws.com",
            "domainPrefix": "abcdef1234",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
            },
            "requestId": "bench-request",
            "routeKey": route,
            "stage": "$default",
            "time": "24/Nov/2026:12:00:00 +0000",
            "timeEpoch": now
        },
        "pathParameters": param,
        "body": body.to_string(),
        "isBase64Encoded": false
    })
    .to_string()
    .into_bytes()
}

/// The kintone request the relay makes for one event, for calling the emulator directly.
/// `n` makes each submission's receipt unique, as the relay's random receipts are.
fn direct_request(function: Function, host: &str, n: usize) -> Vec<u8> {
    match function {
        Function::Submit => {
            let body = json!({
                "app": 12,
                "record": {
                    "メールアドレス": {"value": "taro.yamada@example.jp"},
                    "参加セッション": {"value": "午前の部"},
                    "参加人数": {"value": "2"},
                    "受付番号": {"value": format!("BNCH-{:04}-{:04}-{:04}-{:04}", n / 1_000_000_000_000 % 10_000, n / 100_000_000 % 10_000, n / 10_000 % 10_000, n % 10_000)},
                    "同意": {"value": ["同意する"]},
                    "希望日": {"value": "2026-12-01"},
                    "氏名": {"value": "山田 太郎"},
                    "流入元": {"value": "web"},
                    "質問": {"value": "駐車場はありますか？\n車で伺う予定です。"},
                    "電話番号": {"value": "03-1234-5678"}
                }
            });
            http::request(
                "POST",
                "/k/v1/record.json",
                host,
                &[
                    (
                        "x-cybozu-api-token",
                        "demoSeminarAddToken000000000000000000000",
                    ),
                    ("content-type", "application/json"),
                    ("accept", "*/*"),
                ],
                body.to_string().as_bytes(),
            )
        }
        Function::Lookup => {
            let body = json!({
                "app": 34,
                "query": "(公開 in (\"公開する\")) and 担当ID = \"P-001\" and 担当名 = \"山田商事\" and 取引ID = \"D-1001\" and 公開期限 >= TODAY() order by 取引ID asc limit 21",
                "fields": ["金額", "取引ID", "ステータス", "件名", "担当ID", "担当名", "公開期限", "$id"]
            });
            http::request(
                "POST",
                "/k/v1/records.json",
                host,
                &[
                    (
                        "x-cybozu-api-token",
                        "demoDealsViewToken0000000000000000000000",
                    ),
                    ("x-http-method-override", "GET"),
                    ("content-type", "application/json"),
                    ("accept", "*/*"),
                ],
                body.to_string().as_bytes(),
            )
        }
    }
}

fn status_of(response: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(response);
    text.split("\"statusCode\":")
        .nth(1)
        .and_then(|rest| rest.trim_start().get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

// ---- running an instance ---------------------------------------------------------------------

struct Instance {
    process: Process,
    api: RuntimeApi,
    started: Instant,
}

fn command(
    s: &Settings,
    variant: Variant,
    function: Function,
    api: &RuntimeApi,
    kintone: &Proxy,
    moto: &Proxy,
) -> Command {
    let mut command = match variant {
        Variant::Rust | Variant::RustLazy if !s.wrap.is_empty() => {
            let mut c = Command::new(&s.wrap[0]);
            c.args(&s.wrap[1..]).arg(s.rust_bin.join(function.name()));
            c
        }
        Variant::Rust | Variant::RustLazy => Command::new(s.rust_bin.join(function.name())),
        Variant::RustNoop if !s.wrap.is_empty() => {
            let mut c = Command::new(&s.wrap[0]);
            c.args(&s.wrap[1..])
                .arg(s.noop_bin.as_ref().expect("--noop-bin"));
            c
        }
        Variant::RustNoop => Command::new(s.noop_bin.as_ref().expect("--noop-bin")),
        Variant::Node | Variant::NodeNoop => {
            let mut c = Command::new(s.node.as_deref().unwrap_or("node"));
            c.arg(s.node_relay.join("runtime.mjs"))
                .current_dir(&s.node_relay);
            c
        }
    };
    command.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    let handler = match variant {
        Variant::NodeNoop => "noop",
        _ => function.name(),
    };
    command
        .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", function.name())
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", s.memory_mb.to_string())
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", function.name()),
        )
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/24/[$LATEST]0123456789abcdef0123456789abcdef",
        )
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
        .env("AWS_EXECUTION_ENV", "AWS_Lambda_bench")
        .env("LAMBDA_TASK_ROOT", &s.node_relay)
        .env("_HANDLER", handler)
        .env("TZ", ":UTC")
        .env("LANG", "en_US.UTF-8")
        .env("AWS_REGION", "ap-northeast-1")
        .env("AWS_DEFAULT_REGION", "ap-northeast-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_SESSION_TOKEN", "testing")
        .env(
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            format!("http://{}", moto.addr),
        )
        .env("RELAY_CONFIG", &s.config)
        // The official kintone client accepts http:// only for "localhost".
        .env(
            "KINTONE_BASE_URL",
            format!("http://localhost:{}", kintone.addr.port()),
        );
    for (name, value) in &s.env {
        command.env(name, value);
    }
    if variant == Variant::RustLazy {
        command.env("RELAY_WARM_AT_INIT", "0");
    }
    command
}

fn start(
    s: &Settings,
    variant: Variant,
    function: Function,
    kintone: &Proxy,
    moto: &Proxy,
) -> Result<(Instance, Instant), String> {
    let api = RuntimeApi::start().map_err(|e| e.to_string())?;
    let command = command(s, variant, function, &api, kintone, moto);
    let started = Instant::now();
    let mut process = Process::spawn(command)
        .map_err(|e| format!("cannot start {variant:?} {}: {e}", function.name()))?;
    let deadline = started + Duration::from_secs(30);
    let ready = loop {
        match api.wait_ready(Duration::from_millis(20)) {
            Ok(ready) => break ready,
            Err(e)
                if e.starts_with("init error") || Instant::now() > deadline || process.exited() =>
            {
                std::thread::sleep(Duration::from_millis(50));
                let tail = process.tail();
                process.stop();
                return Err(format!("{variant:?} {}: {e}\n{tail}", function.name()));
            }
            Err(_) => {}
        }
    };
    Ok((
        Instance {
            process,
            api,
            started,
        },
        ready,
    ))
}

impl Instance {
    fn invoke(
        &mut self,
        event: &[u8],
        function: Function,
        expected: u16,
    ) -> Result<runtime::Outcome, String> {
        let outcome = self
            .api
            .invoke(event, Duration::from_secs(30))
            .map_err(|e| format!("{e}\n{}", self.process.tail()))?;
        match &outcome.result {
            Ok(body) if status_of(body) == expected => Ok(outcome),
            Ok(body) => Err(format!(
                "{} answered {}: {}\n{}",
                function.name(),
                status_of(body),
                String::from_utf8_lossy(body),
                self.process.tail()
            )),
            Err(body) => Err(format!(
                "{} failed: {}\n{}",
                function.name(),
                String::from_utf8_lossy(body),
                self.process.tail()
            )),
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---- statistics ------------------------------------------------------------------------------

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn summary(values: &[f64]) -> Value {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    json!({
        "n": v.len(),
        "min": v.first().copied().unwrap_or(f64::NAN),
        "p50": median(&v),
        "p90": percentile(&v, 0.90),
        "p99": percentile(&v, 0.99),
        "max": v.last().copied().unwrap_or(f64::NAN),
        "mean": v.iter().sum::<f64>() / v.len().max(1) as f64,
    })
}

// ---- cold starts -----------------------------------------------------------------------------

#[derive(Default)]
struct Cold {
    ready_ms: Vec<f64>,
    first_ms: Vec<f64>,
    event_to_response_ms: Vec<f64>,
    cpu_ms: Vec<f64>,
    rss_kb: Vec<f64>,
    sm_calls: Vec<f64>,
    kintone_api_calls: Vec<f64>,
    other_kintone_requests: Vec<f64>,
}

impl Cold {
    fn json(&self) -> Value {
        json!({
            "starts": self.ready_ms.len(),
            "ready_ms": summary(&self.ready_ms),
            "first_response_ms": summary(&self.first_ms),
            "first_event_to_response_ms": summary(&self.event_to_response_ms),
            "cpu_to_first_response_ms": summary(&self.cpu_ms),
            "peak_rss_after_first_response_kb": summary(&self.rss_kb),
            "secrets_manager_calls_per_start": summary(&self.sm_calls),
            "kintone_api_calls_per_start": summary(&self.kintone_api_calls),
            "other_kintone_requests_per_start": summary(&self.other_kintone_requests),
        })
    }
}

fn cold_start(
    s: &Settings,
    variant: Variant,
    function: Function,
    emulator: SocketAddr,
    cold: &mut Cold,
    throttle_mb: Option<u32>,
) -> Result<(), String> {
    let kintone = Proxy::start(emulator).map_err(|e| e.to_string())?;
    let moto = Proxy::start(s.moto).map_err(|e| e.to_string())?;
    let (mut instance, ready) = start(s, variant, function, &kintone, &moto)?;
    // A fresh group per start (removed when dropped, after the instance has stopped).
    let share = throttle_mb.map(cgroup::CpuShare::create).transpose()?;
    if let Some(share) = &share {
        share.enter(instance.process.pid)?;
    }
    let outcome = instance.invoke(&event(function), function, function.expected_status());
    let cpu = instance.process.cpu_ns();
    let rss = instance.process.peak_rss_kb();
    let started = instance.started;
    if s.trace {
        std::thread::sleep(Duration::from_millis(20));
        eprintln!(
            "--- cold {variant:?} {}:\n{}",
            function.name(),
            instance.process.tail()
        );
    }
    instance.process.stop();
    let outcome = outcome?;
    cold.ready_ms.push(ms(ready - started));
    cold.first_ms.push(ms(outcome.done - started));
    cold.event_to_response_ms
        .push(ms(outcome.done - outcome.delivered));
    cold.cpu_ms.push(cpu as f64 / 1e6);
    cold.rss_kb.push(rss as f64);
    cold.sm_calls
        .push(moto.count_matching("GetSecretValue") as f64);
    let api = kintone.count_matching("/k/");
    cold.kintone_api_calls.push(api as f64);
    let all: u64 = kintone.counts().values().sum();
    cold.other_kintone_requests.push((all - api) as f64);
    Ok(())
}

// ---- warm ------------------------------------------------------------------------------------

/// What one warm instance measured.
#[derive(Default)]
struct WarmRound {
    latencies: Vec<f64>,
    cpu_ns: u64,
    user_ticks: u64,
    sys_ticks: u64,
    emulator_cpu_ns: u64,
    peak_rss_kb: u64,
    threads: u64,
    log_lines: u64,
    invocations: u64,
    sm_calls: u64,
    kintone_api_calls: u64,
    other_kintone_requests: u64,
    kintone_connections: u64,
    wall: Duration,
}

/// One instance: started, one invocation (its cold start), `warmup` more, then `requests`
/// measured ones.
fn warm_round(
    s: &Settings,
    variant: Variant,
    function: Function,
    requests: usize,
) -> Result<WarmRound, String> {
    let (mut emulator, emulator_addr) = procs::start_emulator(s.emulator_bin.to_str().unwrap())?;
    let result = (|| {
        let kintone = Proxy::start(emulator_addr).map_err(|e| e.to_string())?;
        let moto = Proxy::start(s.moto).map_err(|e| e.to_string())?;
        let (mut instance, _) = start(s, variant, function, &kintone, &moto)?;
        let event = event(function);
        let expected = if matches!(variant, Variant::NodeNoop | Variant::RustNoop) {
            200
        } else {
            function.expected_status()
        };
        let run = (|| {
            instance.invoke(&event, function, expected)?;
            for _ in 0..s.warmup {
                instance.invoke(&event, function, expected)?;
            }
            let cpu0 = instance.process.cpu_ns();
            let ticks0 = instance.process.user_sys_ticks();
            let emu_cpu0 = procs::cpu_ns(emulator.id());
            let lines0 = instance.process.log_lines();
            let mut latencies = Vec::with_capacity(requests);
            let wall = Instant::now();
            for _ in 0..requests {
                let outcome = instance.invoke(&event, function, expected)?;
                latencies.push(ms(outcome.done - outcome.delivered));
            }
            let wall = wall.elapsed();
            let cpu_ns = instance.process.cpu_ns() - cpu0;
            let ticks1 = instance.process.user_sys_ticks();
            let emulator_cpu_ns = procs::cpu_ns(emulator.id()) - emu_cpu0;
            std::thread::sleep(Duration::from_millis(20));
            let api = kintone.count_matching("/k/");
            let all: u64 = kintone.counts().values().sum();
            Ok(WarmRound {
                latencies,
                cpu_ns,
                user_ticks: ticks1.0 - ticks0.0,
                sys_ticks: ticks1.1 - ticks0.1,
                emulator_cpu_ns,
                peak_rss_kb: instance.process.peak_rss_kb(),
                threads: instance.process.threads(),
                log_lines: instance.process.log_lines() - lines0,
                invocations: (1 + s.warmup + requests) as u64,
                sm_calls: moto.count_matching("GetSecretValue"),
                kintone_api_calls: api,
                other_kintone_requests: all - api,
                kintone_connections: kintone.connections(),
                wall,
            })
        })();
        if s.trace {
            eprintln!(
                "--- {variant:?} {} log tail:\n{}",
                function.name(),
                instance.process.tail()
            );
        }
        instance.process.stop();
        run
    })();
    let _ = emulator.kill();
    let _ = emulator.wait();
    result
}

fn warm_summary(rounds: &[WarmRound]) -> Value {
    let requests: usize = rounds.iter().map(|r| r.latencies.len()).sum();
    let latencies: Vec<f64> = rounds
        .iter()
        .flat_map(|r| r.latencies.iter().copied())
        .collect();
    let sum = |f: &dyn Fn(&WarmRound) -> u64| rounds.iter().map(f).sum::<u64>();
    let max = |f: &dyn Fn(&WarmRound) -> u64| rounds.iter().map(f).max().unwrap_or(0);
    let invocations = sum(&|r| r.invocations) as f64;
    let (sm, api) = (
        sum(&|r| r.sm_calls) as f64,
        sum(&|r| r.kintone_api_calls) as f64,
    );
    let per_round_cpu: Vec<f64> = rounds
        .iter()
        .map(|r| r.cpu_ns as f64 / 1e3 / r.latencies.len().max(1) as f64)
        .collect();
    let wall: f64 = rounds.iter().map(|r| r.wall.as_secs_f64()).sum();
    let (user, sys) = (sum(&|r| r.user_ticks), sum(&|r| r.sys_ticks));
    json!({
        "instances": rounds.len(),
        "requests": requests,
        "invocations": invocations,
        "latency_ms": summary(&latencies),
        "cpu_us_per_request": sum(&|r| r.cpu_ns) as f64 / 1e3 / requests.max(1) as f64,
        "cpu_us_per_request_by_instance": per_round_cpu,
        "cpu_system_share": sys as f64 / (user + sys).max(1) as f64,
        "emulator_cpu_us_per_request": sum(&|r| r.emulator_cpu_ns) as f64 / 1e3 / requests.max(1) as f64,
        "requests_per_second": requests as f64 / wall.max(1e-9),
        "peak_rss_kb": max(&|r| r.peak_rss_kb),
        "threads": max(&|r| r.threads),
        "log_lines_per_request": sum(&|r| r.log_lines) as f64 / requests.max(1) as f64,
        "secrets_manager_calls": sm,
        "secrets_manager_calls_per_instance_max": max(&|r| r.sm_calls),
        "secrets_manager_calls_per_1000": sm * 1000.0 / invocations,
        "kintone_api_calls": api,
        "kintone_api_calls_per_1000": api * 1000.0 / invocations,
        "other_kintone_requests": sum(&|r| r.other_kintone_requests),
        "kintone_connections": sum(&|r| r.kintone_connections),
    })
}

/// The emulator called directly, through the same kind of proxy, one request at a time.
fn direct_round(
    s: &Settings,
    function: Function,
    requests: usize,
) -> Result<(Vec<f64>, u64), String> {
    let (mut emulator, emulator_addr) = procs::start_emulator(s.emulator_bin.to_str().unwrap())?;
    let result = (|| {
        let proxy = Proxy::start(emulator_addr).map_err(|e| e.to_string())?;
        let host = format!("localhost:{}", proxy.addr.port());
        let mut conn = http::Conn::new(TcpStream::connect(proxy.addr).map_err(|e| e.to_string())?);
        let mut call = |n: usize| -> Result<f64, String> {
            let request = direct_request(function, &host, n);
            let t0 = Instant::now();
            conn.write_all(&request).map_err(|e| e.to_string())?;
            let response = conn
                .read_message(true, false)
                .map_err(|e| e.to_string())?
                .ok_or("closed")?;
            let t1 = Instant::now();
            if response.status() != 200 {
                return Err(format!(
                    "emulator answered {}: {}",
                    response.status(),
                    String::from_utf8_lossy(&response.body)
                ));
            }
            Ok(ms(t1 - t0))
        };
        // The relay's instance makes 1 + warmup calls before the measured ones: the same here.
        for n in 0..=s.warmup {
            call(n)?;
        }
        let cpu0 = procs::cpu_ns(emulator.id());
        let mut latencies = Vec::with_capacity(requests);
        for n in 0..requests {
            latencies.push(call(s.warmup + 1 + n)?);
        }
        Ok((latencies, procs::cpu_ns(emulator.id()) - cpu0))
    })();
    let _ = emulator.kill();
    let _ = emulator.wait();
    result
}

fn direct_summary(rounds: &[(Vec<f64>, u64)]) -> Value {
    let latencies: Vec<f64> = rounds.iter().flat_map(|r| r.0.iter().copied()).collect();
    let cpu: u64 = rounds.iter().map(|r| r.1).sum();
    json!({
        "requests": latencies.len(),
        "latency_ms": summary(&latencies),
        "emulator_cpu_us_per_request": cpu as f64 / 1e3 / latencies.len().max(1) as f64,
    })
}

// ---- the report ------------------------------------------------------------------------------

fn load_average() -> Vec<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .filter_map(|v| v.parse().ok())
        .collect()
}

/// The share of all cores busy over one second, from /proc/stat: whether something else runs.
fn busy_share() -> f64 {
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
        let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
        (fields.iter().sum(), idle)
    };
    let (total0, idle0) = sample();
    std::thread::sleep(Duration::from_secs(1));
    let (total1, idle1) = sample();
    let total = total1.saturating_sub(total0).max(1);
    1.0 - idle1.saturating_sub(idle0) as f64 / total as f64
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

fn get(v: &Value, path: &str) -> f64 {
    let mut at = v;
    for key in path.split('.') {
        at = &at[key];
    }
    at.as_f64().unwrap_or(f64::NAN)
}

fn fmt(v: f64, digits: usize) -> String {
    if v.is_nan() {
        "-".into()
    } else {
        format!("{v:.digits$}")
    }
}

fn ratio(node: f64, rust: f64) -> String {
    if node.is_nan() || rust.is_nan() || rust <= 0.0 {
        "-".into()
    } else {
        format!("{:.1}x", node / rust)
    }
}

struct Check {
    name: String,
    value: String,
    target: String,
    met: Option<bool>,
}

fn main() {
    let s = parse_args();
    let busy_before = busy_share();
    let load_before = load_average();
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
    let functions = [Function::Submit, Function::Lookup];
    let mut results = serde_json::Map::new();
    let wanted = |v: Variant| {
        s.variants
            .as_ref()
            .is_none_or(|list| list.iter().any(|k| k == v.key()))
    };
    for function in functions {
        if s.only
            .as_deref()
            .is_some_and(|only| only != function.name())
        {
            continue;
        }
        let mut f = serde_json::Map::new();
        // Cold starts, interleaved so that a busy moment hits every variant alike.
        let mut variants = vec![Variant::Rust, Variant::RustLazy];
        if node_ok {
            variants.push(Variant::Node);
        }
        variants.retain(|v| wanted(*v));
        let (mut emulator, emulator_addr) =
            procs::start_emulator(s.emulator_bin.to_str().unwrap()).unwrap_or_else(|e| fail(&e));
        let mut colds: Vec<Cold> = variants.iter().map(|_| Cold::default()).collect();
        eprintln!(
            "relay-bench: {}: {} cold starts of {:?}",
            function.name(),
            s.starts,
            variants
        );
        for _ in 0..s.starts {
            for (variant, cold) in variants.iter().zip(colds.iter_mut()) {
                if let Err(e) = cold_start(&s, *variant, function, emulator_addr, cold, None) {
                    let _ = emulator.kill();
                    fail(&e);
                }
            }
        }
        for (variant, cold) in variants.iter().zip(colds.iter()) {
            f.insert(format!("cold_{}", variant.key()), cold.json());
        }
        // The same at the CPU share of a Lambda function after its init.
        if let Some(share) = &throttle {
            let mut colds: Vec<Cold> = variants.iter().map(|_| Cold::default()).collect();
            eprintln!(
                "relay-bench: {}: {} cold starts of {:?} at the CPU share of {} MB ({:.1}% of a core) after init",
                function.name(),
                s.starts,
                variants,
                share.memory_mb,
                share.share * 100.0
            );
            for _ in 0..s.starts {
                for (variant, cold) in variants.iter().zip(colds.iter_mut()) {
                    if let Err(e) = cold_start(
                        &s,
                        *variant,
                        function,
                        emulator_addr,
                        cold,
                        Some(share.memory_mb),
                    ) {
                        let _ = emulator.kill();
                        fail(&e);
                    }
                }
            }
            for (variant, cold) in variants.iter().zip(colds.iter()) {
                f.insert(format!("cold_throttled_{}", variant.key()), cold.json());
            }
        }
        let _ = emulator.kill();
        let _ = emulator.wait();
        // Warm: `rounds` instances per implementation, interleaved, each measuring its share of
        // the requests, so that drift in the machine's speed hits every implementation alike.
        let mut warm_variants = vec![Variant::Rust];
        if s.noop_bin.is_some() && function == Function::Submit {
            warm_variants.push(Variant::RustNoop);
        }
        if node_ok {
            warm_variants.push(Variant::Node);
            if function == Function::Submit {
                warm_variants.push(Variant::NodeNoop); // the loop's floor does not depend on the function
            }
        }
        warm_variants.retain(|v| wanted(*v));
        let per_round = s.requests.div_ceil(s.rounds);
        let mut warm_rounds: Vec<Vec<WarmRound>> =
            warm_variants.iter().map(|_| Vec::new()).collect();
        let mut direct_rounds = Vec::new();
        eprintln!(
            "relay-bench: {}: {} warm requests to each of {:?} and the emulator directly, in {} rounds",
            function.name(),
            per_round * s.rounds,
            warm_variants,
            s.rounds
        );
        for _ in 0..s.rounds {
            for (variant, rounds) in warm_variants.iter().zip(warm_rounds.iter_mut()) {
                rounds.push(
                    warm_round(&s, *variant, function, per_round).unwrap_or_else(|e| fail(&e)),
                );
            }
            if wanted_direct(&s) {
                direct_rounds
                    .push(direct_round(&s, function, per_round).unwrap_or_else(|e| fail(&e)));
            }
        }
        for (variant, rounds) in warm_variants.iter().zip(warm_rounds.iter()) {
            f.insert(format!("warm_{}", variant.key()), warm_summary(rounds));
        }
        if !direct_rounds.is_empty() {
            f.insert("direct".into(), direct_summary(&direct_rounds));
        }
        results.insert(function.name().into(), Value::Object(f));
    }

    let mut sizes = serde_json::Map::new();
    for (name, path) in &s.zips {
        let size = std::fs::metadata(path).map(|m| m.len()).ok();
        sizes.insert(name.clone(), json!(size));
    }

    let load_after = load_average();
    let results = Value::Object(results);
    let sizes = Value::Object(sizes);
    let (table, checks) = table(&s, &results, &sizes, node_ok);
    let table = format!(
        "{table}\n{} on {} x {}; before the run {:.0}% of the cores were busy (load average {:?}, after {:?}).\n\
         {} cold starts per function and implementation; {} warm requests each, in {} instance{}{}.\n",
        s.command_line,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        cpu_model(),
        busy_before * 100.0,
        load_before,
        load_after,
        s.starts,
        s.rounds * s.requests.div_ceil(s.rounds),
        s.rounds,
        if s.rounds == 1 { "" } else { "s" },
        if s.quick {
            " (--quick: indicative only)"
        } else {
            ""
        },
    );
    let report = json!({
        "command": s.command_line,
        "quick": s.quick,
        "generated_at_unix": SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs(),
        "duration_s": started.elapsed().as_secs_f64(),
        "machine": {
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "cpu_model": cpu_model(),
            "busy_share_before": busy_before,
            "load_average_before": load_before,
            "load_average_after": load_after,
        },
        "settings": {
            "starts": s.starts,
            "requests": s.requests,
            "rounds": s.rounds,
            "warmup_requests": s.warmup,
            "memory_mb": s.memory_mb,
            "throttled_cpu_share": throttle.as_ref().map(|t| t.share),
            "throttled_memory_mb": throttle.as_ref().map(|t| t.memory_mb),
            "node_relay": node_ok,
        },
        "functions": results,
        "zip_bytes": sizes,
        "targets": checks.iter().map(|c| json!({"name": c.name, "value": c.value, "target": c.target, "met": c.met})).collect::<Vec<_>>(),
        "table": table,
    });
    if let Some(dir) = s.out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(
        &s.out,
        serde_json::to_string_pretty(&report).unwrap() + "\n",
    )
    .unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", s.out.display())));
    println!("{table}");
    drop(throttle);
}

fn wanted_direct(s: &Settings) -> bool {
    s.variants
        .as_ref()
        .is_none_or(|list| list.iter().any(|k| k == "direct"))
}

fn fail(message: &str) -> ! {
    eprintln!("relay-bench: {message}");
    std::process::exit(1)
}

fn table(s: &Settings, r: &Value, sizes: &Value, node_ok: bool) -> (String, Vec<Check>) {
    let sub = &r["submit"];
    let look = &r["lookup"];
    let mut rows: Vec<[String; 8]> = Vec::new();
    let mut checks: Vec<Check> = Vec::new();
    let row = |label: &str,
               rust_path: &str,
               node_path: &str,
               digits: usize,
               target: &str|
     -> [String; 8] {
        let cell = |f: &Value, path: &str| {
            if path.is_empty() {
                f64::NAN
            } else {
                get(f, path)
            }
        };
        let (sr, sn, lr, ln) = (
            cell(sub, rust_path),
            cell(sub, node_path),
            cell(look, rust_path),
            cell(look, node_path),
        );
        [
            label.to_owned(),
            fmt(sr, digits),
            fmt(sn, digits),
            if node_path.is_empty() {
                String::new()
            } else {
                ratio(sn, sr)
            },
            fmt(lr, digits),
            fmt(ln, digits),
            if node_path.is_empty() {
                String::new()
            } else {
                ratio(ln, lr)
            },
            target.to_owned(),
        ]
    };
    let both = |path: &str| (get(sub, path), get(look, path));
    let mut check =
        |name: &str, values: (f64, f64), target: &str, ok: &dyn Fn(f64) -> bool, digits: usize| {
            let met = if values.0.is_nan() || values.1.is_nan() {
                None
            } else {
                Some(ok(values.0) && ok(values.1))
            };
            checks.push(Check {
                name: name.to_owned(),
                value: format!(
                    "submit {} / lookup {}",
                    fmt(values.0, digits),
                    fmt(values.1, digits)
                ),
                target: target.to_owned(),
                met,
            });
        };

    rows.push(row(
        "ready for the first event, ms (median)",
        "cold_rust.ready_ms.p50",
        "cold_node.ready_ms.p50",
        1,
        "<= 15; >= 10x",
    ));
    rows.push(row(
        "  without init warming, ms",
        "cold_rust_lazy.ready_ms.p50",
        "",
        1,
        "",
    ));
    rows.push(row(
        "first response done, ms (median)",
        "cold_rust.first_response_ms.p50",
        "cold_node.first_response_ms.p50",
        1,
        "",
    ));
    rows.push(row(
        "  without init warming, ms",
        "cold_rust_lazy.first_response_ms.p50",
        "",
        1,
        "",
    ));
    rows.push(row(
        "first event to its response, ms (median)",
        "cold_rust.first_event_to_response_ms.p50",
        "cold_node.first_event_to_response_ms.p50",
        1,
        "",
    ));
    rows.push(row(
        "  without init warming, ms",
        "cold_rust_lazy.first_event_to_response_ms.p50",
        "",
        1,
        "",
    ));
    if let (mb, true) = (s.memory_mb, sub["cold_throttled_rust"].is_object()) {
        let label = format!("  at the CPU share of {mb} MB, ms");
        rows.push(row(
            &label,
            "cold_throttled_rust.first_event_to_response_ms.p50",
            "cold_throttled_node.first_event_to_response_ms.p50",
            1,
            "",
        ));
        rows.push(row(
            "    without init warming, ms",
            "cold_throttled_rust_lazy.first_event_to_response_ms.p50",
            "",
            1,
            "",
        ));
    }
    rows.push(row(
        "CPU to first response, ms (median)",
        "cold_rust.cpu_to_first_response_ms.p50",
        "cold_node.cpu_to_first_response_ms.p50",
        1,
        "",
    ));
    rows.push(row(
        "warm latency p50, ms",
        "warm_rust.latency_ms.p50",
        "warm_node.latency_ms.p50",
        3,
        "",
    ));
    rows.push(row(
        "warm latency p99, ms",
        "warm_rust.latency_ms.p99",
        "warm_node.latency_ms.p99",
        3,
        "",
    ));
    rows.push(row(
        "emulator called directly p50, ms",
        "direct.latency_ms.p50",
        "",
        3,
        "",
    ));
    rows.push(row(
        "emulator called directly p99, ms",
        "direct.latency_ms.p99",
        "",
        3,
        "",
    ));
    // Added latency: relay minus the emulator called directly.
    let added = |f: &Value, variant: &str, q: &str| {
        get(f, &format!("warm_{variant}.latency_ms.{q}"))
            - get(f, &format!("direct.latency_ms.{q}"))
    };
    let mut added_row = |label: &str, q: &str, target: &str| {
        let (sr, sn, lr, ln) = (
            added(sub, "rust", q),
            added(sub, "node", q),
            added(look, "rust", q),
            added(look, "node", q),
        );
        rows.push([
            label.to_owned(),
            fmt(sr, 3),
            fmt(sn, 3),
            ratio(sn, sr),
            fmt(lr, 3),
            fmt(ln, 3),
            ratio(ln, lr),
            target.to_owned(),
        ]);
        (sr, lr)
    };
    added_row("added latency p50, ms", "p50", "");
    let added_p99 = added_row("added latency p99, ms", "p99", "<= 1");
    rows.push(row(
        "CPU per request, us",
        "warm_rust.cpu_us_per_request",
        "warm_node.cpu_us_per_request",
        0,
        "<= 150; >= 5x",
    ));
    rows.push(row(
        "  runtime loop alone (no-op handler), us",
        "warm_rust_noop.cpu_us_per_request",
        "warm_node_noop.cpu_us_per_request",
        0,
        "",
    ));
    rows.push(row(
        "emulator CPU per request, us",
        "direct.emulator_cpu_us_per_request",
        "",
        0,
        "",
    ));
    let mb = |kb: f64| kb / 1024.0;
    {
        let (sr, sn, lr, ln) = (
            mb(get(sub, "warm_rust.peak_rss_kb")),
            mb(get(sub, "warm_node.peak_rss_kb")),
            mb(get(look, "warm_rust.peak_rss_kb")),
            mb(get(look, "warm_node.peak_rss_kb")),
        );
        rows.push([
            "peak RSS, MB".into(),
            fmt(sr, 1),
            fmt(sn, 1),
            ratio(sn, sr),
            fmt(lr, 1),
            fmt(ln, 1),
            ratio(ln, lr),
            "<= 25".into(),
        ]);
    }
    let zip = |name: &str| {
        sizes[name]
            .as_f64()
            .map(|b| b / 1_048_576.0)
            .unwrap_or(f64::NAN)
    };
    let (zs, zl, zn) = (zip("submit"), zip("lookup"), zip("node"));
    rows.push([
        "deployment zip, MB".into(),
        fmt(zs, 2),
        fmt(zn, 2),
        ratio(zn, zs),
        fmt(zl, 2),
        fmt(zn, 2),
        ratio(zn, zl),
        "<= 6 (arm64)".into(),
    ]);
    rows.push(row(
        "Secrets Manager calls / 1,000 invocations",
        "warm_rust.secrets_manager_calls_per_1000",
        "warm_node.secrets_manager_calls_per_1000",
        2,
        "",
    ));
    rows.push(row(
        "Secrets Manager calls per instance",
        "warm_rust.secrets_manager_calls_per_instance_max",
        "warm_node.secrets_manager_calls_per_instance_max",
        0,
        "<= 1 per TTL",
    ));
    rows.push(row(
        "kintone calls / 1,000 invocations",
        "warm_rust.kintone_api_calls_per_1000",
        "warm_node.kintone_api_calls_per_1000",
        0,
        "= 1000",
    ));
    rows.push(row(
        "kintone calls in the first response",
        "cold_rust.kintone_api_calls_per_start.p50",
        "cold_node.kintone_api_calls_per_start.p50",
        0,
        "= 1",
    ));
    rows.push(row(
        "  connection warm-up requests per start",
        "cold_rust.other_kintone_requests_per_start.p50",
        "cold_node.other_kintone_requests_per_start.p50",
        0,
        "",
    ));

    check(
        "ready for the first event (median, ms)",
        both("cold_rust.ready_ms.p50"),
        "<= 15",
        &|v| v <= 15.0,
        1,
    );
    check(
        "added warm latency p99 (ms)",
        added_p99,
        "<= 1",
        &|v| v <= 1.0,
        3,
    );
    check(
        "CPU per request (us)",
        both("warm_rust.cpu_us_per_request"),
        "<= 150",
        &|v| v <= 150.0,
        0,
    );
    check(
        "peak RSS (MB)",
        (
            mb(get(sub, "warm_rust.peak_rss_kb")),
            mb(get(look, "warm_rust.peak_rss_kb")),
        ),
        "<= 25",
        &|v| v <= 25.0,
        1,
    );
    let arm = |name: &str| {
        sizes[name]
            .as_f64()
            .map(|b| b / 1_048_576.0)
            .unwrap_or(f64::NAN)
    };
    check(
        "bootstrap zip, arm64 (MB)",
        (arm("submit"), arm("lookup")),
        "<= 6",
        &|v| v <= 6.0,
        2,
    );
    if node_ok {
        let r = |path: &str, f: &Value| {
            get(f, &path.replace("{}", "node")) / get(f, &path.replace("{}", "rust"))
        };
        check(
            "ready: Node.js / Rust",
            (
                r("cold_{}.ready_ms.p50", sub),
                r("cold_{}.ready_ms.p50", look),
            ),
            ">= 10x",
            &|v| v >= 10.0,
            1,
        );
        check(
            "CPU per request: Node.js / Rust",
            (
                r("warm_{}.cpu_us_per_request", sub),
                r("warm_{}.cpu_us_per_request", look),
            ),
            ">= 5x",
            &|v| v >= 5.0,
            1,
        );
    }
    check(
        "kintone calls per invocation",
        (
            get(sub, "warm_rust.kintone_api_calls") / get(sub, "warm_rust.invocations"),
            get(look, "warm_rust.kintone_api_calls") / get(look, "warm_rust.invocations"),
        ),
        "= 1",
        &|v| (v - 1.0).abs() < 1e-9,
        3,
    );
    check(
        "Secrets Manager calls per instance (within one TTL)",
        both("warm_rust.secrets_manager_calls_per_instance_max"),
        "<= 1",
        &|v| v <= 1.0,
        0,
    );

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
    all.extend(rows);
    let widths: Vec<usize> = (0..8)
        .map(|i| all.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, r) in all.iter().enumerate() {
        let mut line = String::new();
        for (j, cell) in r.iter().enumerate() {
            let pad = widths[j] - cell.chars().count();
            if j == 0 || j == 7 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str(&" ".repeat(pad));
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
    for c in &checks {
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
    (out, checks)
}
