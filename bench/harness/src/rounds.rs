//! The measurements of one function: cold starts (at full speed, then at Lambda's CPU share),
//! warm rounds per implementation, and the emulator called directly. Implementations are
//! interleaved throughout, so that a busy moment or drift in the machine's speed hits every
//! implementation alike.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::args::Settings;
use crate::cgroup::CpuShare;
use crate::fixtures::Fixture;
use crate::http;
use crate::instance::{self, Function, Variant, ms};
use crate::procs::Emulator;
use crate::proxy::Proxy;
use crate::report::{ColdSummary, DirectSummary, FunctionReport, WarmSummary};
use crate::stats::Summary;

/// Measures one function with every implementation `s` asks for.
pub fn measure(
    s: &Settings,
    function: Function,
    fixture: &Fixture,
    throttle: Option<&CpuShare>,
    node_ok: bool,
) -> Result<FunctionReport, String> {
    let mut cold_variants = vec![Variant::Rust, Variant::RustLazy];
    if node_ok {
        cold_variants.push(Variant::Node);
    }
    cold_variants.retain(|v| s.wants(*v));

    // One emulator for all cold starts: they add a record each, far fewer than a warm round.
    let emulator = Emulator::start(&s.emulator_bin)?;
    eprintln!(
        "relay-bench: {}: {} cold starts of {:?}",
        function.name(),
        s.starts,
        cold_variants
    );
    let mut cold = cold_starts(s, function, fixture, &cold_variants, emulator.addr, None)?;
    // The same at the CPU share of a Lambda function after its init.
    let mut cold_throttled = match throttle {
        Some(share) => {
            eprintln!(
                "relay-bench: {}: {} cold starts of {:?} at the CPU share of {} MB ({:.1}% of a core) after init",
                function.name(),
                s.starts,
                cold_variants,
                share.memory_mb,
                share.share * 100.0
            );
            let at_share = Some(share.memory_mb);
            cold_starts(
                s,
                function,
                fixture,
                &cold_variants,
                emulator.addr,
                at_share,
            )?
        }
        None => Vec::new(),
    };
    drop(emulator);

    let mut warm_variants = vec![Variant::Rust];
    // The runtime loops' floors do not depend on the function: measured with submit only.
    if s.noop_bin.is_some() && function == Function::Submit {
        warm_variants.push(Variant::RustNoop);
    }
    if node_ok {
        warm_variants.push(Variant::Node);
        if function == Function::Submit {
            warm_variants.push(Variant::NodeNoop);
        }
    }
    warm_variants.retain(|v| s.wants(*v));
    let per_round = s.requests_per_round();
    let mut warm: Vec<(Variant, Vec<WarmRound>)> =
        warm_variants.iter().map(|v| (*v, Vec::new())).collect();
    let mut direct = Vec::new();
    eprintln!(
        "relay-bench: {}: {} warm requests to each of {:?} and the emulator directly, in {} rounds",
        function.name(),
        per_round * s.rounds,
        warm_variants,
        s.rounds
    );
    // `rounds` instances per implementation, interleaved, each measuring its share.
    for _ in 0..s.rounds {
        for (variant, rounds) in warm.iter_mut() {
            rounds.push(warm_round(s, *variant, function, fixture, per_round)?);
        }
        if s.wants_direct() {
            direct.push(direct_round(s, function, fixture, per_round)?);
        }
    }
    let mut warm: Vec<(Variant, WarmSummary)> = warm
        .into_iter()
        .map(|(variant, rounds)| (variant, warm_summary(&rounds)))
        .collect();

    Ok(FunctionReport {
        cold_rust: take(&mut cold, Variant::Rust),
        cold_rust_lazy: take(&mut cold, Variant::RustLazy),
        cold_node: take(&mut cold, Variant::Node),
        cold_throttled_rust: take(&mut cold_throttled, Variant::Rust),
        cold_throttled_rust_lazy: take(&mut cold_throttled, Variant::RustLazy),
        cold_throttled_node: take(&mut cold_throttled, Variant::Node),
        warm_rust: take(&mut warm, Variant::Rust),
        warm_rust_noop: take(&mut warm, Variant::RustNoop),
        warm_node: take(&mut warm, Variant::Node),
        warm_node_noop: take(&mut warm, Variant::NodeNoop),
        direct: (!direct.is_empty()).then(|| direct_summary(&direct)),
    })
}

/// The figures of `variant`, if it was measured.
fn take<T>(measured: &mut Vec<(Variant, T)>, variant: Variant) -> Option<T> {
    let at = measured.iter().position(|(v, _)| *v == variant)?;
    Some(measured.swap_remove(at).1)
}

// ---- cold starts -----------------------------------------------------------------------------

/// Each start's figures of one implementation.
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
    fn summary(&self) -> ColdSummary {
        ColdSummary {
            starts: self.ready_ms.len(),
            ready_ms: Summary::of(&self.ready_ms),
            first_response_ms: Summary::of(&self.first_ms),
            first_event_to_response_ms: Summary::of(&self.event_to_response_ms),
            cpu_to_first_response_ms: Summary::of(&self.cpu_ms),
            peak_rss_after_first_response_kb: Summary::of(&self.rss_kb),
            secrets_manager_calls_per_start: Summary::of(&self.sm_calls),
            kintone_api_calls_per_start: Summary::of(&self.kintone_api_calls),
            other_kintone_requests_per_start: Summary::of(&self.other_kintone_requests),
        }
    }
}

/// `s.starts` starts of each variant, interleaved; at the CPU share of `throttle_mb` after
/// init when given.
fn cold_starts(
    s: &Settings,
    function: Function,
    fixture: &Fixture,
    variants: &[Variant],
    emulator: SocketAddr,
    throttle_mb: Option<u32>,
) -> Result<Vec<(Variant, ColdSummary)>, String> {
    let mut colds: Vec<Cold> = variants.iter().map(|_| Cold::default()).collect();
    for _ in 0..s.starts {
        for (variant, cold) in variants.iter().zip(colds.iter_mut()) {
            cold_start(s, *variant, function, fixture, emulator, cold, throttle_mb)?;
        }
    }
    Ok(variants
        .iter()
        .zip(colds.iter())
        .map(|(variant, cold)| (*variant, cold.summary()))
        .collect())
}

fn cold_start(
    s: &Settings,
    variant: Variant,
    function: Function,
    fixture: &Fixture,
    emulator: SocketAddr,
    cold: &mut Cold,
    throttle_mb: Option<u32>,
) -> Result<(), String> {
    let kintone = Proxy::start(emulator).map_err(|e| e.to_string())?;
    let moto = Proxy::start(s.moto).map_err(|e| e.to_string())?;
    let (mut instance, ready) = instance::start(s, variant, function, &kintone, &moto)?;
    // A fresh group per start (removed when dropped, after the instance has stopped).
    let share = throttle_mb.map(CpuShare::create).transpose()?;
    if let Some(share) = &share {
        share.enter(instance.process.pid)?;
    }
    let outcome = instance.invoke(&fixture.event, function, function.expected_status());
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

/// One instance with a fresh emulator: started, one invocation (its cold start), `warmup` more,
/// then `requests` measured ones.
fn warm_round(
    s: &Settings,
    variant: Variant,
    function: Function,
    fixture: &Fixture,
    requests: usize,
) -> Result<WarmRound, String> {
    let emulator = Emulator::start(&s.emulator_bin)?;
    let kintone = Proxy::start(emulator.addr).map_err(|e| e.to_string())?;
    let moto = Proxy::start(s.moto).map_err(|e| e.to_string())?;
    let (mut instance, _) = instance::start(s, variant, function, &kintone, &moto)?;
    let event = &fixture.event;
    let expected = variant.expected_status(function);
    let run = (|| {
        instance.invoke(event, function, expected)?;
        for _ in 0..s.warmup {
            instance.invoke(event, function, expected)?;
        }
        let cpu0 = instance.process.cpu_ns();
        let ticks0 = instance.process.user_sys_ticks();
        let emulator_cpu0 = emulator.cpu_ns();
        let lines0 = instance.process.log_lines();
        let mut latencies = Vec::with_capacity(requests);
        let wall = Instant::now();
        for _ in 0..requests {
            let outcome = instance.invoke(event, function, expected)?;
            latencies.push(ms(outcome.done - outcome.delivered));
        }
        let wall = wall.elapsed();
        let cpu_ns = instance.process.cpu_ns() - cpu0;
        let ticks1 = instance.process.user_sys_ticks();
        let emulator_cpu_ns = emulator.cpu_ns() - emulator_cpu0;
        // Let the last log lines and proxied requests arrive before counting them.
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
}

fn warm_summary(rounds: &[WarmRound]) -> WarmSummary {
    let requests: usize = rounds.iter().map(|r| r.latencies.len()).sum();
    let per_request = |total: f64| total / requests.max(1) as f64;
    let latencies: Vec<f64> = rounds
        .iter()
        .flat_map(|r| r.latencies.iter().copied())
        .collect();
    let sum = |figure: fn(&WarmRound) -> u64| rounds.iter().map(figure).sum::<u64>();
    let max = |figure: fn(&WarmRound) -> u64| rounds.iter().map(figure).max().unwrap_or(0);
    let invocations = sum(|r| r.invocations);
    let secrets_manager_calls = sum(|r| r.sm_calls);
    let kintone_api_calls = sum(|r| r.kintone_api_calls);
    let (user, sys) = (sum(|r| r.user_ticks), sum(|r| r.sys_ticks));
    let wall: f64 = rounds.iter().map(|r| r.wall.as_secs_f64()).sum();
    WarmSummary {
        instances: rounds.len(),
        requests,
        invocations,
        latency_ms: Summary::of(&latencies),
        cpu_us_per_request: per_request(sum(|r| r.cpu_ns) as f64 / 1e3),
        cpu_us_per_request_by_instance: rounds
            .iter()
            .map(|r| r.cpu_ns as f64 / 1e3 / r.latencies.len().max(1) as f64)
            .collect(),
        cpu_system_share: sys as f64 / (user + sys).max(1) as f64,
        emulator_cpu_us_per_request: per_request(sum(|r| r.emulator_cpu_ns) as f64 / 1e3),
        requests_per_second: requests as f64 / wall.max(1e-9),
        peak_rss_kb: max(|r| r.peak_rss_kb),
        threads: max(|r| r.threads),
        log_lines_per_request: per_request(sum(|r| r.log_lines) as f64),
        secrets_manager_calls,
        secrets_manager_calls_per_instance_max: max(|r| r.sm_calls),
        secrets_manager_calls_per_1000: secrets_manager_calls as f64 * 1000.0 / invocations as f64,
        kintone_api_calls,
        kintone_api_calls_per_1000: kintone_api_calls as f64 * 1000.0 / invocations as f64,
        other_kintone_requests: sum(|r| r.other_kintone_requests),
        kintone_connections: sum(|r| r.kintone_connections),
    }
}

// ---- the emulator called directly ------------------------------------------------------------

struct DirectRound {
    latencies: Vec<f64>,
    emulator_cpu_ns: u64,
}

/// The relay's kintone request sent straight to a fresh emulator, through the same kind of
/// proxy, one at a time: what the relay's latency is compared with.
fn direct_round(
    s: &Settings,
    function: Function,
    fixture: &Fixture,
    requests: usize,
) -> Result<DirectRound, String> {
    let emulator = Emulator::start(&s.emulator_bin)?;
    let proxy = Proxy::start(emulator.addr).map_err(|e| e.to_string())?;
    let host = format!("localhost:{}", proxy.addr.port());
    let mut conn = http::Conn::new(TcpStream::connect(proxy.addr).map_err(|e| e.to_string())?);
    let mut call = |n: usize| -> Result<f64, String> {
        let request = fixture.direct_request(function, &host, n);
        let t0 = Instant::now();
        conn.write_all(&request).map_err(|e| e.to_string())?;
        let response = conn
            .read_message(true, false)
            .map_err(|e| e.to_string())?
            .ok_or("the emulator closed the connection")?;
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
    let cpu0 = emulator.cpu_ns();
    let mut latencies = Vec::with_capacity(requests);
    for n in 0..requests {
        latencies.push(call(s.warmup + 1 + n)?);
    }
    Ok(DirectRound {
        latencies,
        emulator_cpu_ns: emulator.cpu_ns() - cpu0,
    })
}

fn direct_summary(rounds: &[DirectRound]) -> DirectSummary {
    let latencies: Vec<f64> = rounds
        .iter()
        .flat_map(|r| r.latencies.iter().copied())
        .collect();
    let cpu_ns: u64 = rounds.iter().map(|r| r.emulator_cpu_ns).sum();
    DirectSummary {
        requests: latencies.len(),
        latency_ms: Summary::of(&latencies),
        emulator_cpu_us_per_request: cpu_ns as f64 / 1e3 / latencies.len().max(1) as f64,
    }
}
