//! One function instance: a fresh process with the environment Lambda gives it, under its own
//! Runtime API, invoked one event at a time.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::args::Settings;
use crate::procs::Process;
use crate::proxy::Proxy;
use crate::runtime::{self, RuntimeApi};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Function {
    Submit,
    Lookup,
}

impl Function {
    pub const ALL: [Function; 2] = [Function::Submit, Function::Lookup];

    pub fn name(self) -> &'static str {
        match self {
            Function::Submit => "submit",
            Function::Lookup => "lookup",
        }
    }

    /// What the relay answers to the function's fixture event.
    pub fn expected_status(self) -> u16 {
        match self {
            Function::Submit => 201,
            Function::Lookup => 200,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Variant {
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
    /// Its name in `--variants` and, after `cold_`/`warm_`, in results.json.
    pub fn key(self) -> &'static str {
        match self {
            Variant::Rust => "rust",
            Variant::RustLazy => "rust_lazy",
            Variant::Node => "node",
            Variant::NodeNoop => "node_noop",
            Variant::RustNoop => "rust_noop",
        }
    }

    /// The no-op handlers answer 200 to any event.
    pub fn expected_status(self, function: Function) -> u16 {
        match self {
            Variant::NodeNoop | Variant::RustNoop => 200,
            _ => function.expected_status(),
        }
    }
}

pub struct Instance {
    pub process: Process,
    api: RuntimeApi,
    pub started: Instant,
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The process of one instance of the function `name` (its binary's name), with a cleared
/// environment plus what Lambda sets, then `extra`.
fn command(
    s: &Settings,
    variant: Variant,
    name: &str,
    extra: &[(&str, String)],
    api: &RuntimeApi,
    kintone: &Proxy,
    moto: &Proxy,
) -> Result<Command, String> {
    let program = match variant {
        Variant::Rust | Variant::RustLazy => Some(s.rust_bin.join(name)),
        Variant::RustNoop => Some(
            s.noop_bin
                .clone()
                .ok_or("the no-op Lambda needs --noop-bin")?,
        ),
        Variant::Node | Variant::NodeNoop => None,
    };
    let mut command = match program {
        Some(binary) if !s.wrap.is_empty() => {
            let mut c = Command::new(&s.wrap[0]);
            c.args(&s.wrap[1..]).arg(binary);
            c
        }
        Some(binary) => Command::new(binary),
        None => {
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
        _ => name,
    };
    command
        .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", s.memory_mb.to_string())
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
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
    for (variable, value) in extra {
        command.env(variable, value);
    }
    for (variable, value) in &s.env {
        command.env(variable, value);
    }
    if variant == Variant::RustLazy {
        command.env("RELAY_WARM_AT_INIT", "0");
    }
    Ok(command)
}

/// Starts an instance and waits until it asks for its first event; returns that moment too.
pub fn start(
    s: &Settings,
    variant: Variant,
    function: Function,
    kintone: &Proxy,
    moto: &Proxy,
) -> Result<(Instance, Instant), String> {
    start_named(s, variant, function.name(), &[], kintone, moto)
}

/// [`start`] for any of the relay's binaries (`deliver` answers no HTTP event), with `extra`
/// environment on top of Lambda's.
pub fn start_named(
    s: &Settings,
    variant: Variant,
    name: &str,
    extra: &[(&str, String)],
    kintone: &Proxy,
    moto: &Proxy,
) -> Result<(Instance, Instant), String> {
    let api = RuntimeApi::start().map_err(|e| e.to_string())?;
    let command = command(s, variant, name, extra, &api, kintone, moto)?;
    let started = Instant::now();
    let mut process =
        Process::spawn(command).map_err(|e| format!("cannot start {variant:?} {name}: {e}"))?;
    let deadline = started + Duration::from_secs(30);
    let ready = loop {
        match api.wait_ready(Duration::from_millis(20)) {
            Ok(ready) => break ready,
            Err(e)
                if e.starts_with("init error") || Instant::now() > deadline || process.exited() =>
            {
                // Give the pipes a moment, so the error carries the instance's last lines.
                std::thread::sleep(Duration::from_millis(50));
                let tail = process.tail();
                process.stop();
                return Err(format!("{variant:?} {name}: {e}\n{tail}"));
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
    /// One invocation; any answer but `expected` is an error carrying the instance's log tail.
    pub fn invoke(
        &mut self,
        event: &[u8],
        function: Function,
        expected: u16,
    ) -> Result<runtime::Outcome, String> {
        let outcome = self.invoke_raw(event)?;
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

    /// One invocation, whatever the function answers (an SQS batch response has no status).
    pub fn invoke_raw(&mut self, event: &[u8]) -> Result<runtime::Outcome, String> {
        self.api
            .invoke(event, Duration::from_secs(30))
            .map_err(|e| format!("{e}\n{}", self.process.tail()))
    }
}

/// The `statusCode` of a Lambda proxy response, read without parsing the whole body.
fn status_of(response: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(response);
    text.split("\"statusCode\":")
        .nth(1)
        .and_then(|rest| rest.trim_start().get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}
