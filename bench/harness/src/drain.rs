//! The deliver drain: `deliver`, the SQS consumer, adding a backlog of queued submissions to
//! kintone. The release binary runs under the harness's Runtime API as the HTTP functions do;
//! each invocation is an SQS event of `--deliver-batch` messages, as the event source mapping
//! hands them over, each message the `Submission` JSON `submit` queues. Measured per instance,
//! after its first batch (its cold start, token read and first connection): kintone calls
//! (counted by the proxy), CPU time, each batch's latency and peak RSS.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::args::Settings;
use crate::fixtures::{Fixtures, SEMINAR_FORM};
use crate::instance::{self, Instance, Variant, ms};
use crate::procs::Emulator;
use crate::proxy::Proxy;
use crate::report::DeliverSummary;
use crate::runtime::Outcome;
use crate::stats::Summary;

const QUEUE_ARN: &str =
    "arn:aws:sqs:ap-northeast-1:123456789012:kintone-relay-SubmissionQueue-bench";

/// `s.rounds` instances, each on a fresh emulator, each draining `s.deliver_records`.
pub fn measure(s: &Settings, fixtures: &Fixtures) -> Result<DeliverSummary, String> {
    let config = queued_config(&s.config)?;
    eprintln!(
        "relay-bench: deliver: {} queued submissions in SQS batches of {}, in {} instance{}",
        s.deliver_records * s.rounds,
        s.deliver_batch,
        s.rounds,
        if s.rounds == 1 { "" } else { "s" }
    );
    let mut rounds = Vec::with_capacity(s.rounds);
    for _ in 0..s.rounds {
        rounds.push(drain_round(s, fixtures, &config)?);
    }
    Ok(summary(s, &rounds))
}

/// The benchmark's relay.toml with its forms queueing. `deliver` takes any declared form's
/// messages, but reads at init only the tokens of forms with `queue = true`, as deployed; the
/// shared file keeps the seminar form direct for `submit` (which would otherwise need a queue).
fn queued_config(config: &Path) -> Result<PathBuf, String> {
    let text = std::fs::read_to_string(config)
        .map_err(|e| format!("cannot read {}: {e}", config.display()))?;
    let path = config.with_file_name("relay-deliver.toml");
    std::fs::write(&path, text.replace("queue = false", "queue = true"))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// What one instance measured over its drain.
struct DrainRound {
    records: usize,
    latencies: Vec<f64>,
    cpu_ns: u64,
    emulator_cpu_ns: u64,
    kintone_api_calls: u64,
    record_adds: u64,
    secrets_manager_calls: u64,
    dead_letter_sends: u64,
    peak_rss_kb: u64,
    wall: Duration,
}

fn drain_round(s: &Settings, fixtures: &Fixtures, config: &Path) -> Result<DrainRound, String> {
    let emulator = Emulator::start(&s.emulator_bin)?;
    let kintone = Proxy::start(emulator.addr).map_err(|e| e.to_string())?;
    let moto = Proxy::start(s.moto).map_err(|e| e.to_string())?;
    // The dead-letter queue is never created: a record kintone refused would fail its send and
    // come back as a batch item failure, which ends the run (the drain must add every record).
    let extra = [
        ("RELAY_CONFIG", config.to_string_lossy().into_owned()),
        (
            "RELAY_DEAD_LETTER_QUEUE_URL",
            format!("http://{}/123456789012/bench-dead-letters", moto.addr),
        ),
        ("AWS_ENDPOINT_URL_SQS", format!("http://{}", moto.addr)),
    ];
    let (mut instance, _) =
        instance::start_named(s, Variant::Rust, "deliver", &extra, &kintone, &moto)?;
    // Every event is built before the instance gets the first, so building them costs the
    // measured span nothing; receipts run on across batches, each distinct.
    let warmup = sqs_event(fixtures, 0..s.deliver_batch);
    let first = s.deliver_batch;
    let end = first + s.deliver_records;
    let batches: Vec<(usize, Vec<u8>)> = (first..end)
        .step_by(s.deliver_batch)
        .map(|start| {
            let numbers = start..(start + s.deliver_batch).min(end);
            (numbers.len(), sqs_event(fixtures, numbers))
        })
        .collect();
    let run = (|| {
        deliver(&mut instance, &warmup, s.deliver_batch)?;
        let api0 = kintone.count_matching("/k/");
        let adds0 = kintone.count_matching("POST /k/v1/records.json");
        let cpu0 = instance.process.cpu_ns();
        let emulator_cpu0 = emulator.cpu_ns();
        let mut latencies = Vec::with_capacity(batches.len());
        let wall = Instant::now();
        for (records, event) in &batches {
            let outcome = deliver(&mut instance, event, *records)?;
            latencies.push(ms(outcome.done - outcome.delivered));
        }
        let wall = wall.elapsed();
        let cpu_ns = instance.process.cpu_ns() - cpu0;
        let emulator_cpu_ns = emulator.cpu_ns() - emulator_cpu0;
        // Let the last proxied requests be counted.
        std::thread::sleep(Duration::from_millis(20));
        Ok(DrainRound {
            records: s.deliver_records,
            latencies,
            cpu_ns,
            emulator_cpu_ns,
            kintone_api_calls: kintone.count_matching("/k/") - api0,
            record_adds: kintone.count_matching("POST /k/v1/records.json") - adds0,
            secrets_manager_calls: moto.count_matching("GetSecretValue"),
            dead_letter_sends: moto.count_matching("AmazonSQS."),
            peak_rss_kb: instance.process.peak_rss_kb(),
            wall,
        })
    })();
    if s.trace {
        eprintln!("--- deliver log tail:\n{}", instance.process.tail());
    }
    instance.process.stop();
    run
}

/// One SQS event, as the event source mapping sends it, holding the queued submissions
/// numbered `numbers`.
fn sqs_event(fixtures: &Fixtures, numbers: Range<usize>) -> Vec<u8> {
    let records: Vec<Value> = numbers
        .map(|n| {
            json!({
                "messageId": format!("00000000-0000-4000-8000-{n:012}"),
                "receiptHandle": format!("bench-receipt-handle-{n}"),
                "body": fixtures.queued_submission(n),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1764547200000",
                    "SenderId": "AROAEXAMPLEROLEID:submit",
                    "ApproximateFirstReceiveTimestamp": "1764547200005"
                },
                "messageAttributes": {
                    "form": {
                        "stringValue": SEMINAR_FORM,
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": "String"
                    }
                },
                "eventSource": "aws:sqs",
                "eventSourceARN": QUEUE_ARN,
                "awsRegion": "ap-northeast-1"
            })
        })
        .collect();
    json!({ "Records": records }).to_string().into_bytes()
}

/// One invocation; an error unless `deliver` answered and reported no message as failed.
fn deliver(instance: &mut Instance, event: &[u8], records: usize) -> Result<Outcome, String> {
    let outcome = instance.invoke_raw(event)?;
    let failed = match &outcome.result {
        Ok(body) => failures_of(body),
        Err(body) => Err(format!("failed: {}", String::from_utf8_lossy(body))),
    };
    match failed {
        Ok(0) => Ok(outcome),
        Ok(failed) => Err(format!(
            "deliver reported {failed} of {records} messages as failed\n{}",
            instance.process.tail()
        )),
        Err(e) => Err(format!("deliver {e}\n{}", instance.process.tail())),
    }
}

/// How many messages an SQS batch response (`{"batchItemFailures": [...]}`) reports as failed.
fn failures_of(body: &[u8]) -> Result<usize, String> {
    let response: Value =
        serde_json::from_slice(body).map_err(|e| format!("answered something not JSON ({e})"))?;
    response
        .get("batchItemFailures")
        .and_then(Value::as_array)
        .map(Vec::len)
        .ok_or_else(|| format!("answered no batchItemFailures: {response}"))
}

fn summary(s: &Settings, rounds: &[DrainRound]) -> DeliverSummary {
    let sum = |figure: fn(&DrainRound) -> u64| rounds.iter().map(figure).sum::<u64>();
    let records = rounds.iter().map(|r| r.records).sum::<usize>();
    let latencies: Vec<f64> = rounds
        .iter()
        .flat_map(|r| r.latencies.iter().copied())
        .collect();
    let invocations = latencies.len();
    let kintone_api_calls = sum(|r| r.kintone_api_calls);
    let cpu_us = sum(|r| r.cpu_ns) as f64 / 1e3;
    let wall: f64 = rounds.iter().map(|r| r.wall.as_secs_f64()).sum();
    DeliverSummary {
        instances: rounds.len(),
        batch_size: s.deliver_batch,
        records,
        invocations,
        kintone_api_calls,
        kintone_record_adds: sum(|r| r.record_adds),
        records_per_kintone_call: records as f64 / kintone_api_calls.max(1) as f64,
        cpu_us_per_record: cpu_us / records.max(1) as f64,
        cpu_us_per_invocation: cpu_us / invocations.max(1) as f64,
        emulator_cpu_us_per_record: sum(|r| r.emulator_cpu_ns) as f64 / 1e3 / records.max(1) as f64,
        batch_latency_ms: Summary::of(&latencies),
        records_per_second: records as f64 / wall.max(1e-9),
        peak_rss_kb: rounds.iter().map(|r| r.peak_rss_kb).max().unwrap_or(0),
        secrets_manager_calls_per_instance_max: rounds
            .iter()
            .map(|r| r.secrets_manager_calls)
            .max()
            .unwrap_or(0),
        dead_letter_sends: sum(|r| r.dead_letter_sends),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_sqs_event_holds_one_message_per_submission() {
        let fixtures = Fixtures::load().unwrap();
        let event: Value = serde_json::from_slice(&sqs_event(&fixtures, 5..8)).unwrap();
        let records = event["Records"].as_array().unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0]["eventSource"], "aws:sqs");
        assert_ne!(records[0]["messageId"], records[1]["messageId"]);
        let body: Value = serde_json::from_str(records[2]["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["receipt"], "BNCH-0000-0000-0000-0007");
    }

    #[test]
    fn batch_responses_are_read_and_odd_ones_refused() {
        assert_eq!(failures_of(br#"{"batchItemFailures":[]}"#), Ok(0));
        assert_eq!(
            failures_of(br#"{"batchItemFailures":[{"itemIdentifier":"a"}]}"#),
            Ok(1)
        );
        assert!(failures_of(b"{}").is_err());
        assert!(failures_of(b"null").is_err());
        assert!(failures_of(b"not json").is_err());
    }

    #[test]
    fn the_queued_config_turns_queueing_on() {
        let dir = std::env::temp_dir().join(format!("relay-bench-queued-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("relay.toml");
        std::fs::write(&config, "[forms.a]\nqueue = false\n").unwrap();
        let queued = queued_config(&config).unwrap();
        assert_eq!(
            std::fs::read_to_string(queued).unwrap(),
            "[forms.a]\nqueue = true\n"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
