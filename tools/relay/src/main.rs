//! `relay check ...` / `relay init ...`: see `relay --help` and the README ("Wire a new form in
//! five minutes"). Everything happens in the library's `run`; this only prints.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // One request at a time: a current-thread runtime is all the CLI needs.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("relay: cannot start: {err}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(relay_cli::run(&args, &relay_cli::Env::from_process()));
    // A closed pipe (`relay check | head`) is no reason to fail differently.
    let _ = std::io::stdout().write_all(outcome.stdout.as_bytes());
    let _ = std::io::stderr().write_all(outcome.stderr.as_bytes());
    ExitCode::from(outcome.status)
}
