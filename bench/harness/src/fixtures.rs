//! What the instances are sent: the repository's sample API Gateway HTTP API (payload 2.0)
//! events in `events/`, the same files scripts/check-events invokes, so the benchmark measures
//! requests the project already checks. Also the kintone request the relay makes for each
//! event, built from the event's own body, to call the emulator directly.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::http;
use crate::instance::Function;

/// The repository's events/ folder, found from the harness's own source folder
/// (bench/harness), since scripts/bench builds the harness from the checkout it runs in.
pub fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

/// The event each function is measured with.
fn event_file(function: Function) -> &'static str {
    match function {
        Function::Submit => "submit-post-valid.json",
        Function::Lookup => "lookup-post-match.json",
    }
}

// The apps, tokens and form of the shipped relay.toml and of the emulator's --demo data.
pub const SEMINAR_FORM: &str = "seminar";
const SEMINAR_APP: u64 = 12;
const SEMINAR_ADD_TOKEN: &str = "demoSeminarAddToken000000000000000000000";
const DEALS_APP: u64 = 34;
const DEALS_VIEW_TOKEN: &str = "demoDealsViewToken0000000000000000000000";
/// relay.toml's `[forms.seminar.fields]`: input -> kintone field code.
const SEMINAR_FIELDS: &[(&str, &str)] = &[
    ("name", "氏名"),
    ("email", "メールアドレス"),
    ("phone", "電話番号"),
    ("session", "参加セッション"),
    ("attendees", "参加人数"),
    ("preferred_date", "希望日"),
    ("question", "質問"),
    ("consent", "同意"),
];
const SEMINAR_CONSENT_LABEL: &str = "同意する";
const SEMINAR_RECEIPT_FIELD: &str = "受付番号";
const SEMINAR_FIXED: (&str, &str) = ("流入元", "web");

/// One function's event, ready to hand to an instance.
pub struct Fixture {
    /// The event as the Lambda service delivers it: compact JSON.
    pub event: Vec<u8>,
    /// The kintone request body the relay sends for it (a submission's receipt aside).
    direct_body: Map<String, Value>,
}

pub struct Fixtures {
    submit: Fixture,
    lookup: Fixture,
}

impl Fixtures {
    /// Reads both events from the repository's events/ folder.
    pub fn load() -> Result<Fixtures, String> {
        Fixtures::load_from(&events_dir())
    }

    pub fn load_from(dir: &Path) -> Result<Fixtures, String> {
        Ok(Fixtures {
            submit: Fixture::load(dir, Function::Submit)?,
            lookup: Fixture::load(dir, Function::Lookup)?,
        })
    }

    pub fn get(&self, function: Function) -> &Fixture {
        match function {
            Function::Submit => &self.submit,
            Function::Lookup => &self.lookup,
        }
    }

    /// The SQS message body `submit` would queue for its event: the relay's `Submission` as
    /// JSON (form, app, the record with its receipt, the receipt, no idempotency key), the
    /// receipt distinct for each `n`. What `deliver` reads off the queue.
    pub fn queued_submission(&self, n: usize) -> String {
        let receipt = bench_receipt(n);
        let mut record = match self.submit.direct_body.get("record") {
            Some(Value::Object(record)) => record.clone(),
            _ => Map::new(),
        };
        record.insert(SEMINAR_RECEIPT_FIELD.into(), json!({ "value": receipt }));
        json!({
            "form": SEMINAR_FORM,
            "app": SEMINAR_APP,
            "record": record,
            "receipt": receipt,
            "idempotency_key": null,
        })
        .to_string()
    }
}

impl Fixture {
    fn load(dir: &Path, function: Function) -> Result<Fixture, String> {
        let path = dir.join(event_file(function));
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "cannot read the {} event {}: {e} (the benchmark sends the repository's sample events)",
                function.name(),
                path.display()
            )
        })?;
        let event: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
        let body = event
            .get("body")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{}: no \"body\" string", path.display()))?;
        let body: Map<String, Value> = serde_json::from_str(body)
            .map_err(|e| format!("{}: the body is not a JSON object: {e}", path.display()))?;
        let direct_body = match function {
            Function::Submit => submit_record(&body),
            Function::Lookup => lookup_query(&body),
        }
        .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Fixture {
            event: event.to_string().into_bytes(),
            direct_body,
        })
    }

    /// The kintone request the relay makes for this event, to send to the emulator directly.
    /// `n` makes each submission's receipt unique, as the relay's random receipts are.
    pub fn direct_request(&self, function: Function, host: &str, n: usize) -> Vec<u8> {
        let mut body = self.direct_body.clone();
        match function {
            Function::Submit => {
                if let Some(Value::Object(record)) = body.get_mut("record") {
                    record.insert(
                        SEMINAR_RECEIPT_FIELD.into(),
                        json!({ "value": bench_receipt(n) }),
                    );
                }
                http::request(
                    "POST",
                    "/k/v1/record.json",
                    host,
                    &[
                        ("x-cybozu-api-token", SEMINAR_ADD_TOKEN),
                        ("content-type", "application/json"),
                        ("accept", "*/*"),
                    ],
                    Value::Object(body).to_string().as_bytes(),
                )
            }
            Function::Lookup => http::request(
                "POST",
                "/k/v1/records.json",
                host,
                &[
                    ("x-cybozu-api-token", DEALS_VIEW_TOKEN),
                    ("x-http-method-override", "GET"),
                    ("content-type", "application/json"),
                    ("accept", "*/*"),
                ],
                Value::Object(body).to_string().as_bytes(),
            ),
        }
    }
}

/// A receipt of the relay's shape (5 groups of 4), distinct for each `n`.
fn bench_receipt(n: usize) -> String {
    format!(
        "BNCH-{:04}-{:04}-{:04}-{:04}",
        n / 1_000_000_000_000 % 10_000,
        n / 100_000_000 % 10_000,
        n / 10_000 % 10_000,
        n % 10_000
    )
}

/// The record the relay adds for a seminar submission: each input under its kintone field code,
/// numbers as strings, consent as its one option, plus the form's fixed value.
fn submit_record(body: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    let mut record = Map::new();
    for (input, value) in body {
        let code = SEMINAR_FIELDS
            .iter()
            .find(|(name, _)| name == input)
            .map(|(_, code)| *code)
            .ok_or_else(|| {
                format!("input \"{input}\" is not in the seminar form the benchmark knows")
            })?;
        let written = match value {
            Value::String(text) => json!(text.trim()),
            Value::Number(number) => json!(number.to_string()),
            Value::Bool(true) => json!([SEMINAR_CONSENT_LABEL]),
            other => return Err(format!("input \"{input}\" has an unexpected value {other}")),
        };
        record.insert(code.into(), json!({ "value": written }));
    }
    record.insert(SEMINAR_FIXED.0.into(), json!({ "value": SEMINAR_FIXED.1 }));
    let mut body = Map::new();
    body.insert("app".into(), json!(SEMINAR_APP));
    body.insert("record".into(), Value::Object(record));
    Ok(body)
}

/// The query the relay builds for the deals lookup (relay.toml's `[lookups.deals]`): the
/// admin's filter, the key and both verify fields, the expiry, the order and max_records + 1.
fn lookup_query(body: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    let input = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .map(|value| value.replace('\\', "\\\\").replace('"', "\\\""))
            .ok_or_else(|| format!("the deals lookup needs the string input \"{name}\""))
    };
    let query = format!(
        "(公開 in (\"公開する\")) and 担当ID = \"{}\" and 担当名 = \"{}\" and 取引ID = \"{}\" and 公開期限 >= TODAY() order by 取引ID asc limit 21",
        input("partner_id")?,
        input("partner_name")?,
        input("deal_id")?
    );
    let mut request = Map::new();
    request.insert("app".into(), json!(DEALS_APP));
    request.insert("query".into(), json!(query));
    request.insert(
        "fields".into(),
        json!([
            "金額",
            "取引ID",
            "ステータス",
            "件名",
            "担当ID",
            "担当名",
            "公開期限",
            "$id"
        ]),
    );
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(request: &[u8]) -> Value {
        let text = String::from_utf8_lossy(request);
        let (_, body) = text.split_once("\r\n\r\n").expect("a request with a body");
        serde_json::from_str(body).expect("a JSON body")
    }

    #[test]
    fn loads_the_repositorys_events() {
        let fixtures = Fixtures::load().expect("events/ of this checkout");
        for function in Function::ALL {
            let event: Value = serde_json::from_slice(&fixtures.get(function).event).unwrap();
            assert_eq!(event["version"], "2.0");
            assert_eq!(event["requestContext"]["http"]["method"], "POST");
            assert!(event["body"].is_string());
        }
    }

    #[test]
    fn direct_requests_carry_the_events_values() {
        let fixtures = Fixtures::load().unwrap();
        let submit = body_of(&fixtures.get(Function::Submit).direct_request(
            Function::Submit,
            "localhost:1",
            7,
        ));
        assert_eq!(submit["app"], 12);
        assert_eq!(submit["record"]["氏名"]["value"], "山田 太郎");
        assert_eq!(submit["record"]["同意"]["value"], json!(["同意する"]));
        assert_eq!(submit["record"]["流入元"]["value"], "web");
        assert_eq!(
            submit["record"]["受付番号"]["value"],
            "BNCH-0000-0000-0000-0007"
        );
        let lookup = body_of(&fixtures.get(Function::Lookup).direct_request(
            Function::Lookup,
            "localhost:1",
            0,
        ));
        assert_eq!(lookup["app"], 34);
        let query = lookup["query"].as_str().unwrap();
        assert!(query.contains("担当ID = \"P-001\""), "{query}");
        assert!(query.contains("担当名 = \"山田商事\""), "{query}");
        assert!(query.contains("取引ID = \"D-1001\""), "{query}");
    }

    #[test]
    fn queued_submissions_carry_the_record_and_distinct_receipts() {
        let fixtures = Fixtures::load().unwrap();
        let first: Value = serde_json::from_str(&fixtures.queued_submission(1)).unwrap();
        let second: Value = serde_json::from_str(&fixtures.queued_submission(2)).unwrap();
        assert_eq!(first["form"], "seminar");
        assert_eq!(first["app"], 12);
        assert_eq!(first["record"]["氏名"]["value"], "山田 太郎");
        assert_eq!(first["receipt"], "BNCH-0000-0000-0000-0001");
        assert_eq!(first["record"]["受付番号"]["value"], first["receipt"]);
        assert!(first["idempotency_key"].is_null());
        assert_ne!(first["receipt"], second["receipt"]);
    }

    #[test]
    fn a_missing_event_file_is_named() {
        let dir =
            std::env::temp_dir().join(format!("relay-bench-no-events-{}", std::process::id()));
        let Err(message) = Fixtures::load_from(&dir) else {
            panic!("loaded events from a folder that does not exist");
        };
        assert!(message.contains("submit-post-valid.json"), "{message}");
        assert!(
            message.contains("cannot read the submit event"),
            "{message}"
        );
    }

    #[test]
    fn an_input_outside_the_form_is_refused() {
        let body = json!({"name": "x", "shoe_size": 42});
        let Value::Object(body) = body else {
            unreachable!()
        };
        let message = submit_record(&body).unwrap_err();
        assert!(message.contains("shoe_size"), "{message}");
    }
}
