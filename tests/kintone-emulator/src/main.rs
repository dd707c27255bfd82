//! `kintone-emulator [--port 8081] [--demo]`: serves the emulator on 127.0.0.1 until killed.
//!
//! Besides kintone's paths, the binary answers a few of its own under `/_emulator/`, a prefix
//! kintone does not use, for the dev stack and the browser tests (scripts/check-browser), which
//! drive the emulator from another process. They are not logged as kintone requests and no fault
//! applies to them:
//!
//! - `PUT /_emulator/fault` with `{"fault":"none"|"rate_limited"|"maintenance"|"hang"}`: the
//!   failure mode every kintone request gets from now on (`Emulator::set_fault`);
//! - `GET /_emulator/apps/{app}/records`: `{"records":[…]}`, the app's stored records in read
//!   shape, oldest first (`Emulator::records`).

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use kintone_emulator::{Emulator, Fault};
use serde_json::{Value, json};

const USAGE: &str = "usage: kintone-emulator [--port 8081] [--demo]";

struct Args {
    port: u16,
    demo: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 8081,
        demo: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--demo" => args.demo = true,
            "--port" => {
                let value = it.next().ok_or("--port needs a value")?;
                args.port = value
                    .parse()
                    .map_err(|_| format!("invalid port: {value}"))?;
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument: {other}\n{USAGE}")),
        }
    }
    Ok(args)
}

/// The emulator's own controls, outside kintone's API.
fn admin(emulator: Emulator) -> Router {
    Router::new()
        .route("/_emulator/fault", put(set_fault))
        .route("/_emulator/apps/{app}/records", get(records))
        .with_state(emulator)
}

async fn set_fault(State(emulator): State<Emulator>, body: String) -> Response {
    let name = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v.get("fault").and_then(Value::as_str).map(str::to_owned));
    let fault = match name.as_deref() {
        Some("none") => Fault::None,
        Some("rate_limited") => Fault::RateLimited,
        Some("maintenance") => Fault::Maintenance,
        Some("hang") => Fault::Hang,
        _ => {
            let hint = r#"send {"fault":"none"|"rate_limited"|"maintenance"|"hang"}"#;
            return (StatusCode::BAD_REQUEST, hint).into_response();
        }
    };
    emulator.set_fault(fault);
    axum::Json(json!({ "fault": name })).into_response()
}

async fn records(State(emulator): State<Emulator>, Path(app): Path<u64>) -> Response {
    axum::Json(json!({ "records": emulator.records(app) })).into_response()
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let emulator = if args.demo {
        Emulator::demo()
    } else {
        Emulator::new()
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Ok(bound) = listener.local_addr() {
        println!("kintone emulator listening on http://{bound}");
    }
    // kintone's paths are the emulator's fallback; /_emulator/ is matched first.
    let router = admin(emulator.clone()).merge(emulator.router());
    if let Err(e) = axum::serve(listener, router).await {
        eprintln!("kintone emulator stopped: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
