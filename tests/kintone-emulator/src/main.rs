//! `kintone-emulator [--port 8081] [--demo]`: serves the emulator on 127.0.0.1 until killed.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use kintone_emulator::Emulator;

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
    match emulator.serve(addr).await {
        Ok(bound) => println!("kintone emulator listening on http://{bound}"),
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    }
    // The server runs on its own task; keep the runtime alive until the process is killed.
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}
