//! `relay check` and `relay init` against the emulator's demo apps (12 seminar, 34 deals),
//! through `relay_cli::run` with their own arguments and environment. No Secrets Manager: the
//! CLI reads kintone with tokens from an environment variable and never reads a secret.
//!
//! Each mistake is the shipped relay.toml with exactly that mistake, and must be reported
//! exactly once, with the form or lookup, the key, the input and the field code.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use kintone_emulator::{Emulator, Permission};
use relay_cli::{Env, Outcome};
use relay_e2e::{CAREERS_ADD_TOKEN, DEALS_VIEW_TOKEN, SEMINAR_ADD_TOKEN, SEMINAR_VIEW_TOKEN};
use serde_json::Value;

const SHIPPED: &str = include_str!("../../../relay.toml");
const TOKEN_ENV: &str = "RELAY_CHECK_TOKENS";

/// The tokens the functions use: add-only for the forms, view-only for the lookup.
fn demo_tokens() -> String {
    format!("12={SEMINAR_ADD_TOKEN},34={DEALS_VIEW_TOKEN},56={CAREERS_ADD_TOKEN}")
}

/// A relay.toml in the temporary directory, removed when dropped.
struct ConfigFile(PathBuf);

impl ConfigFile {
    fn new(text: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("relay-cli-{}-{n}.toml", std::process::id()));
        std::fs::write(&path, text).expect("write the config");
        ConfigFile(path)
    }

    fn path(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn start(emulator: &Emulator) -> String {
    let addr = emulator
        .serve("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("emulator starts");
    format!("http://{addr}")
}

async fn relay(args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    relay_cli::run(&args, &Env::from_pairs(env.iter().copied())).await
}

/// `relay check --format json` of `config` against `base_url` with `tokens`.
async fn check(base_url: &str, config: &str, tokens: &str) -> (u8, Value) {
    let file = ConfigFile::new(config);
    let outcome = relay(
        &["check", "--config", &file.path(), "--format", "json"],
        &[("KINTONE_BASE_URL", base_url), (TOKEN_ENV, tokens)],
    )
    .await;
    let report = serde_json::from_str(&outcome.stdout)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {outcome:?}"));
    (outcome.status, report)
}

/// The shipped relay.toml with `from` replaced by `to` (which must be there, once).
fn shipped_with(from: &str, to: &str) -> String {
    assert_eq!(
        SHIPPED.matches(from).count(),
        1,
        "{from:?} is not in relay.toml once"
    );
    SHIPPED.replace(from, to)
}

struct Expected<'a> {
    severity: &'a str,
    subject: (&'a str, &'a str),
    key: &'a str,
    input: Option<&'a str>,
    field_code: Option<&'a str>,
}

fn error<'a>(subject: (&'a str, &'a str), key: &'a str) -> Expected<'a> {
    Expected {
        severity: "error",
        subject,
        key,
        input: None,
        field_code: None,
    }
}

fn warning<'a>(subject: (&'a str, &'a str), key: &'a str) -> Expected<'a> {
    Expected {
        severity: "warning",
        ..error(subject, key)
    }
}

impl<'a> Expected<'a> {
    fn input(self, input: &'a str) -> Self {
        Expected {
            input: Some(input),
            ..self
        }
    }

    fn field(self, code: &'a str) -> Self {
        Expected {
            field_code: Some(code),
            ..self
        }
    }
}

const SEMINAR: (&str, &str) = ("form", "seminar");
const DEALS: (&str, &str) = ("lookup", "deals");

/// Exactly one finding, this one, and the exit status that goes with it.
#[track_caller]
fn assert_one(status: u8, report: &Value, expected: &Expected<'_>) {
    let findings = report["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1, "{report:#}");
    let found = &findings[0];
    let wanted = serde_json::json!({
        "severity": expected.severity,
        "subject": {"kind": expected.subject.0, "name": expected.subject.1},
        "key": expected.key,
        "input": expected.input,
        "field_code": expected.field_code,
    });
    let mut got = found.clone();
    let message = got
        .as_object_mut()
        .and_then(|o| o.remove("message"))
        .expect("a message");
    assert!(message.as_str().is_some_and(|m| m.len() > 20), "{found}");
    assert_eq!(got, wanted, "{report:#}");
    assert_eq!(report["unchecked"], serde_json::json!([]), "{report:#}");
    let status_wanted = if expected.severity == "error" { 1 } else { 0 };
    assert_eq!(status, status_wanted, "{report:#}");
    assert_eq!(report["summary"]["exit"], status_wanted);
}

async fn one_mistake(config: &str, expected: Expected<'_>) {
    let emulator = Emulator::demo();
    let base_url = start(&emulator).await;
    let (status, report) = check(&base_url, config, &demo_tokens()).await;
    assert_one(status, &report, &expected);
}

#[tokio::test]
async fn the_shipped_relay_toml_matches_the_demo_apps() {
    let emulator = Emulator::demo();
    let base_url = start(&emulator).await;
    let (status, report) = check(&base_url, SHIPPED, &demo_tokens()).await;
    assert_eq!(report["findings"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["unchecked"], serde_json::json!([]), "{report:#}");
    assert_eq!(
        (status, &report["summary"]["apps_read"]),
        (0, &serde_json::json!(3))
    );
    assert_eq!(
        report["functions"]["submit"]["reads"],
        serde_json::json!([
            "kintone-relay/careers-add",
            "kintone-relay/limits-key",
            "kintone-relay/seminar-add"
        ])
    );
    // Read-only calls: the fields of each app and whether its token can view records.
    for request in emulator.requests() {
        assert!(
            request.path == "/k/v1/app/form/fields.json" || request.path == "/k/v1/records.json",
            "{}",
            request.path
        );
        assert!(request.method == "GET" || request.header("x-http-method-override") == Some("GET"));
    }
    assert!(emulator.records(12).is_empty(), "nothing was added");
    assert!(emulator.records(56).is_empty(), "nothing was added");

    // The text format ends with a one-line summary.
    let file = ConfigFile::new(SHIPPED);
    let outcome = relay(
        &["check", "--config", &file.path()],
        &[
            ("KINTONE_BASE_URL", base_url.as_str()),
            (TOKEN_ENV, demo_tokens().as_str()),
        ],
    )
    .await;
    assert_eq!(outcome.status, 0, "{outcome:?}");
    let last = outcome.stdout.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        "relay check: 0 errors, 0 warnings in 3 apps read from kintone"
    );
    assert!(outcome.stdout.contains(
        "submit: serves /forms/careers, /forms/seminar ; reads kintone-relay/careers-add, kintone-relay/limits-key, kintone-relay/seminar-add"
    ));
}

// ------------------------------------------------------------------------------ forms

#[tokio::test]
async fn a_field_code_that_does_not_exist() {
    let config = shipped_with("kintone = \"電話番号\"", "kintone = \"電話番号x\"");
    let expected = error(SEMINAR, "forms.seminar.fields.phone.kintone")
        .input("phone")
        .field("電話番号x");
    one_mistake(&config, expected).await;
}

#[tokio::test]
async fn a_type_that_does_not_fit_the_field() {
    let config = shipped_with(
        "kintone = \"希望日\"\ntype = \"date\"",
        "kintone = \"希望日\"\ntype = \"datetime\"",
    );
    let expected = error(SEMINAR, "forms.seminar.fields.preferred_date.type")
        .input("preferred_date")
        .field("希望日");
    one_mistake(&config, expected).await;
}

#[tokio::test]
async fn an_option_the_app_does_not_have() {
    let config = shipped_with("[\"午前の部\", \"午後の部\"]", "[\"午前の部\", \"夜の部\"]");
    let expected = error(SEMINAR, "forms.seminar.fields.session.options")
        .input("session")
        .field("参加セッション");
    one_mistake(&config, expected).await;
}

#[tokio::test]
async fn an_option_of_the_app_the_form_leaves_out() {
    let config = shipped_with("[\"午前の部\", \"午後の部\"]", "[\"午前の部\"]");
    let expected = warning(SEMINAR, "forms.seminar.fields.session.options")
        .input("session")
        .field("参加セッション");
    one_mistake(&config, expected).await;
}

#[tokio::test]
async fn a_max_length_longer_than_the_fields() {
    let config = shipped_with("max_length = 100", "max_length = 150");
    let expected = error(SEMINAR, "forms.seminar.fields.name.max_length")
        .input("name")
        .field("氏名");
    one_mistake(&config, expected).await;
}

#[tokio::test]
async fn a_max_length_shorter_than_the_fields() {
    let config = shipped_with("max_length = 100", "max_length = 50");
    let expected = warning(SEMINAR, "forms.seminar.fields.name.max_length")
        .input("name")
        .field("氏名");
    one_mistake(&config, expected).await;
}

#[tokio::test]
async fn a_number_range_wider_than_the_fields() {
    let config = shipped_with("max = 10", "max = 20");
    let expected = error(SEMINAR, "forms.seminar.fields.attendees.max")
        .input("attendees")
        .field("参加人数");
    one_mistake(&config, expected).await;
}

const EMAIL_INPUT: &str = "[forms.seminar.fields.email]
label = { ja = \"メールアドレス\", en = \"Email\" }
help = { ja = \"受付完了のお知らせをお送りします。\", en = \"We send the confirmation here.\" }
kintone = \"メールアドレス\"
type = \"email\"
required = true
";

#[tokio::test]
async fn a_required_field_no_input_fills() {
    let config = shipped_with(EMAIL_INPUT, "");
    let expected = error(SEMINAR, "forms.seminar.fields").field("メールアドレス");
    one_mistake(&config, expected).await;
}

#[tokio::test]
async fn an_optional_input_whose_field_is_required() {
    let config = shipped_with(EMAIL_INPUT, &EMAIL_INPUT.replace("required = true\n", ""));
    let expected = warning(SEMINAR, "forms.seminar.fields.email.required")
        .input("email")
        .field("メールアドレス");
    one_mistake(&config, expected).await;
}

const PHONE_INPUT: &str = "[forms.seminar.fields.phone]
label = { ja = \"電話番号\", en = \"Phone\" }
kintone = \"電話番号\"
type = \"tel\"
";

#[tokio::test]
async fn a_receipt_field_that_allows_duplicates() {
    let config = shipped_with(
        "receipt_field = \"受付番号\"",
        "receipt_field = \"電話番号\"",
    )
    .replace(PHONE_INPUT, "");
    let expected = error(SEMINAR, "forms.seminar.receipt_field").field("電話番号");
    one_mistake(&config, expected).await;
}

#[tokio::test]
async fn an_idempotency_field_that_allows_duplicates() {
    let config = shipped_with(
        "idempotency_field = \"送信ID\"",
        "idempotency_field = \"電話番号\"",
    )
    .replace(PHONE_INPUT, "");
    let expected = error(SEMINAR, "forms.seminar.idempotency_field").field("電話番号");
    one_mistake(&config, expected).await;
}

#[tokio::test]
async fn a_receipt_field_that_cannot_hold_a_receipt() {
    let attendees = "[forms.seminar.fields.attendees]
label = { ja = \"参加人数\", en = \"Number of attendees\" }
help = { ja = \"1〜10名\", en = \"1 to 10\" }
kintone = \"参加人数\"
type = \"number\"
min = 1
max = 10
";
    let config = shipped_with(
        "receipt_field = \"受付番号\"",
        "receipt_field = \"参加人数\"",
    )
    .replace(attendees, "");
    let expected = error(SEMINAR, "forms.seminar.receipt_field").field("参加人数");
    one_mistake(&config, expected).await;
}

#[tokio::test]
async fn a_fixed_value_for_a_field_that_does_not_exist() {
    let config = shipped_with(
        "fixed = { \"流入元\" = \"web\" }",
        "fixed = { \"流入もと\" = \"web\" }",
    );
    let expected = error(SEMINAR, "forms.seminar.fixed").field("流入もと");
    one_mistake(&config, expected).await;
}

#[tokio::test]
async fn a_form_token_that_can_also_view() {
    let emulator = Emulator::demo();
    let base_url = start(&emulator).await;
    let tokens = format!("12={SEMINAR_VIEW_TOKEN},34={DEALS_VIEW_TOKEN},56={CAREERS_ADD_TOKEN}");
    emulator.add_token(SEMINAR_VIEW_TOKEN, 12, &[Permission::View, Permission::Add]);
    let (status, report) = check(&base_url, SHIPPED, &tokens).await;
    assert_one(
        status,
        &report,
        &warning(SEMINAR, "forms.seminar.token_secret"),
    );
    let message = report["findings"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("untick View records"), "{message}");
}

// ------------------------------------------------------------------------------ lookups

#[tokio::test]
async fn a_lookup_key_that_does_not_exist() {
    let config = shipped_with("kintone = \"担当ID\"", "kintone = \"担当番号\"");
    let expected = error(DEALS, "lookups.deals.key.kintone")
        .input("partner_id")
        .field("担当番号");
    one_mistake(&config, expected).await;
}

#[tokio::test]
async fn a_verify_field_that_cannot_be_matched_exactly() {
    let config = shipped_with("kintone = \"担当名\"", "kintone = \"公開\"");
    let expected = error(DEALS, "lookups.deals.verify[0].type")
        .input("partner_name")
        .field("公開");
    one_mistake(&config, expected).await;
}

#[tokio::test]
async fn a_verify_field_of_another_type() {
    let config = shipped_with(
        "{ input = \"deal_id\",      kintone = \"取引ID\",",
        "{ input = \"deal_id\",      kintone = \"取引ID\", type = \"NUMBER\",",
    );
    let expected = error(DEALS, "lookups.deals.verify[1].type")
        .input("deal_id")
        .field("取引ID");
    one_mistake(&config, expected).await;
}

#[tokio::test]
async fn an_output_that_does_not_exist() {
    let config = shipped_with("kintone = \"ステータス\"", "kintone = \"状況\"");
    let expected = error(DEALS, "lookups.deals.outputs.status").field("状況");
    one_mistake(&config, expected).await;
}

#[tokio::test]
async fn an_output_shaped_unlike_its_field() {
    let config = shipped_with(
        "status = { kintone = \"ステータス\",",
        "public = \"公開\"\nstatus = { kintone = \"ステータス\",",
    );
    let expected = warning(DEALS, "lookups.deals.outputs.public.shape").field("公開");
    one_mistake(&config, expected).await;
}

#[tokio::test]
async fn an_expiry_field_that_is_not_a_date() {
    let config = shipped_with("expires_field = \"公開期限\"", "expires_field = \"件名\"");
    let expected = error(DEALS, "lookups.deals.expires_field").field("件名");
    one_mistake(&config, expected).await;
}

#[tokio::test]
async fn an_expiry_type_unlike_the_field() {
    let config = shipped_with(
        "expires_field = \"公開期限\"",
        "expires_field = \"公開期限\"\nexpires_type = \"DATETIME\"",
    );
    let expected = error(DEALS, "lookups.deals.expires_type").field("公開期限");
    one_mistake(&config, expected).await;
}

#[tokio::test]
async fn a_filter_naming_an_unknown_field() {
    let config = shipped_with("filter = '公開 in", "filter = '公開フラグ in");
    let expected = error(DEALS, "lookups.deals.filter").field("公開フラグ");
    one_mistake(&config, expected).await;
}

#[tokio::test]
async fn an_order_naming_an_unknown_field() {
    let config = shipped_with("order_by = \"取引ID asc\"", "order_by = \"取引番号 asc\"");
    let expected = error(DEALS, "lookups.deals.order_by").field("取引番号");
    one_mistake(&config, expected).await;
}

#[tokio::test]
async fn a_lookup_token_that_cannot_view() {
    let emulator = Emulator::demo();
    let base_url = start(&emulator).await;
    emulator.add_token("dealsAddOnly", 34, &[Permission::Add]);
    let tokens = format!("12={SEMINAR_ADD_TOKEN},34=dealsAddOnly,56={CAREERS_ADD_TOKEN}");
    let (status, report) = check(&base_url, SHIPPED, &tokens).await;
    assert_one(status, &report, &error(DEALS, "lookups.deals.token_secret"));
}

// ------------------------------------------------------------------------------ apps

#[tokio::test]
async fn an_app_that_does_not_exist() {
    let emulator = Emulator::demo();
    let base_url = start(&emulator).await;
    let config = shipped_with("app = 12", "app = 99");
    let tokens = format!("99={SEMINAR_ADD_TOKEN},34={DEALS_VIEW_TOKEN},56={CAREERS_ADD_TOKEN}");
    let (status, report) = check(&base_url, &config, &tokens).await;
    assert_one(status, &report, &error(SEMINAR, "forms.seminar.app"));
}

#[tokio::test]
async fn a_guest_space_the_apps_are_not_in() {
    let emulator = Emulator::demo();
    let base_url = start(&emulator).await;
    let config = shipped_with("# guest_space = 7 ", "guest_space = 7 #");
    let (status, report) = check(&base_url, &config, &demo_tokens()).await;
    let findings = report["findings"].as_array().expect("findings");
    let told: Vec<(&Value, &Value)> = findings
        .iter()
        .map(|f| (&f["subject"]["name"], &f["key"]))
        .collect();
    assert_eq!(
        told,
        [
            (&Value::from("careers"), &Value::from("kintone.guest_space")),
            (&Value::from("seminar"), &Value::from("kintone.guest_space")),
            (&Value::from("deals"), &Value::from("kintone.guest_space"))
        ],
        "{report:#}"
    );
    assert_eq!(status, 1);
    let requests = emulator.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.path.starts_with("/k/guest/7/v1/")),
        "the guest path"
    );
}

// ------------------------------------------------------------------------------ could not check

#[tokio::test]
async fn what_could_not_be_checked_exits_2() {
    let emulator = Emulator::demo();
    let base_url = start(&emulator).await;
    emulator.add_token("editOnly", 34, &[Permission::Edit]);
    for (tokens, reason) in [
        (
            format!("12={SEMINAR_ADD_TOKEN},56={CAREERS_ADD_TOKEN}"),
            "has no token for app 34",
        ),
        (
            format!("12={SEMINAR_ADD_TOKEN},34=unknownToken,56={CAREERS_ADD_TOKEN}"),
            "GAIA_IA02",
        ),
        (
            format!("12={SEMINAR_ADD_TOKEN},34=editOnly,56={CAREERS_ADD_TOKEN}"),
            "GAIA_NO01",
        ),
        (
            format!("12={SEMINAR_ADD_TOKEN},34={SEMINAR_ADD_TOKEN},56={CAREERS_ADD_TOKEN}"),
            "GAIA_AP15",
        ),
    ] {
        let (status, report) = check(&base_url, SHIPPED, &tokens).await;
        assert_eq!(status, 2, "{report:#}");
        let unchecked = report["unchecked"].as_array().expect("unchecked");
        assert_eq!(unchecked.len(), 1, "{report:#}");
        assert_eq!(unchecked[0]["app"], 34);
        assert_eq!(
            unchecked[0]["subjects"],
            serde_json::json!([{"kind": "lookup", "name": "deals"}])
        );
        let told = unchecked[0]["reason"].as_str().unwrap_or_default();
        assert!(told.contains(reason), "{told}");
        assert!(!told.contains(SEMINAR_ADD_TOKEN), "never a token: {told}");
    }

    // Nothing listens: every app is unchecked, and the text summary says so last.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        format!("http://127.0.0.1:{port}")
    };
    let (status, report) = check(&closed, SHIPPED, &demo_tokens()).await;
    assert_eq!(
        (status, report["unchecked"].as_array().map(Vec::len)),
        (2, Some(3))
    );

    let file = ConfigFile::new(SHIPPED);
    let outcome = relay(
        &["check", "--config", &file.path()],
        &[("KINTONE_BASE_URL", base_url.as_str())],
    )
    .await;
    assert_eq!(outcome.status, 2, "{outcome:?}");
    assert!(
        outcome.stdout.contains("RELAY_CHECK_TOKENS is not set"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome
            .stdout
            .lines()
            .last()
            .is_some_and(|l| l.ends_with("3 apps not checked")),
        "{}",
        outcome.stdout
    );
    let usage = relay(&["check", "--token", "abc"], &[]).await;
    assert_eq!(usage.status, 2);
    assert!(usage.stderr.contains("unknown argument"), "{usage:?}");
}

// ------------------------------------------------------------------------------ offline

#[tokio::test]
async fn offline_checks_what_start_up_checks() {
    let shipped = ConfigFile::new(SHIPPED);
    let outcome = relay(&["check", "--offline", "--config", &shipped.path()], &[]).await;
    assert_eq!(outcome.status, 0, "{outcome:?}");
    assert!(
        outcome
            .stdout
            .contains("lookup: serves /lookups/deals ; reads kintone-relay/deals-view")
    );
    assert!(
        outcome
            .stdout
            .ends_with("(offline: the kintone apps were not read)\n"),
        "{}",
        outcome.stdout
    );

    for broken in [
        shipped_with("app = 12", "app = 0"),
        shipped_with("app = 34", "app = -34"),
        shipped_with("app = 34", "app = \"deals\""),
    ] {
        let file = ConfigFile::new(&broken);
        let outcome = relay(
            &[
                "check",
                "--offline",
                "--config",
                &file.path(),
                "--format",
                "json",
            ],
            &[],
        )
        .await;
        assert_eq!(outcome.status, 1, "{outcome:?}");
        let report: Value = serde_json::from_str(&outcome.stdout).expect("JSON");
        assert_eq!(report["valid"], false);
        let error = report["error"].as_str().unwrap_or_default();
        assert!(error.contains("app"), "{error}");
    }
    let missing = relay(
        &["check", "--offline", "--config", "/nonexistent/relay.toml"],
        &[],
    )
    .await;
    assert_eq!(missing.status, 1, "{missing:?}");
    assert!(
        missing.stdout.contains("cannot read the file"),
        "{missing:?}"
    );
}

// ------------------------------------------------------------------------------ init

#[tokio::test]
async fn init_output_is_relay_toml_that_passes_check_against_its_app() {
    let emulator = Emulator::demo();
    let base_url = start(&emulator).await;
    let env = [("KINTONE_BASE_URL", base_url.as_str()), (TOKEN_ENV, "")];
    let kintone = format!("[kintone]\nbase_url = \"{base_url}\"\n\n");
    let base = ConfigFile::new(&kintone);
    let mut sections = String::new();
    for (kind, name, app, token) in [
        ("form", "contact", "12", SEMINAR_ADD_TOKEN),
        ("lookup", "deals2", "34", DEALS_VIEW_TOKEN),
    ] {
        let env = [env[0], (TOKEN_ENV, token)];
        let outcome = relay(
            &["init", kind, name, "--app", app, "--config", &base.path()],
            &env,
        )
        .await;
        assert_eq!(outcome.status, 0, "{outcome:?}");
        assert!(
            outcome.stdout.contains("label = { ja = "),
            "{}",
            outcome.stdout
        );
        sections.push_str(&outcome.stdout);
        sections.push('\n');
    }
    let config_text = format!("{kintone}{sections}");
    let config = relay_shared::config::Config::parse(&config_text, "init output")
        .unwrap_or_else(|err| panic!("{err}\n{config_text}"));
    let form = &config.forms["contact"];
    let name = form
        .fields
        .values()
        .find(|f| f.kintone.as_str() == "氏名")
        .expect("氏名");
    assert_eq!((name.label.ja.as_str(), name.required), ("お名前", true));
    assert_eq!(config.lookups["deals2"].key.kintone.as_str(), "取引ID");

    let (status, report) = check(&base_url, &config_text, &demo_tokens()).await;
    assert_eq!(
        report["findings"],
        serde_json::json!([]),
        "{report:#}\n{config_text}"
    );
    assert_eq!(status, 0, "{report:#}");

    let no_app = relay(
        &["init", "form", "x", "--app", "99", "--config", &base.path()],
        &[env[0], (TOKEN_ENV, SEMINAR_ADD_TOKEN)],
    )
    .await;
    assert_eq!(no_app.status, 2, "{no_app:?}");
    assert!(no_app.stderr.contains("GAIA_AP01"), "{no_app:?}");
}
