//! Issue 14's findings from outside review, each against the emulator: a datetime that crashed
//! the instance, names typed in another width, spreadsheet pastes, exact numbers, numbers too
//! large for a float, invisible characters, lookup-field refusals; then requests of any shape
//! at both handlers, which must always get an answer and never a 5xx.

use kintone_emulator::{App, Emulator, Field, FieldType, Permission};
use proptest::prelude::*;
use relay_e2e::*;
use serde_json::{Value, json};

const WIDTHS_APP: u64 = 40;
const WIDTHS_TOKEN: &str = "widthsViewToken";

/// Partners whose names are stored in one width or the other.
fn widths_emulator() -> Emulator {
    let emulator = Emulator::new();
    emulator.add_app(App {
        id: WIDTHS_APP,
        guest_space: None,
        fields: vec![
            Field::new("担当ID", FieldType::SingleLineText),
            Field::new("担当名", FieldType::SingleLineText),
            Field::new("件名", FieldType::SingleLineText),
            Field::new("金額", FieldType::Number),
        ],
    });
    emulator.add_token(WIDTHS_TOKEN, WIDTHS_APP, &[Permission::View]);
    for (id, name, amount) in [
        ("W-1", "（株）山田商事", "100"),
        ("W-2", "山田　商事", "200"),
        ("W-3", "ﾔﾏﾀﾞｼｮｳｼﾞ", "300"),
        ("W-4", "(株)山田商事", "9007199254740992"),
        ("W-5", "ABC商事（株）", "500"),
    ] {
        emulator.insert_record(
            WIDTHS_APP,
            json!({
                "担当ID": { "value": id },
                "担当名": { "value": name },
                "件名": { "value": format!("{id} の取引") },
                "金額": { "value": amount },
            }),
        );
    }
    emulator
}

const WIDTHS_CONFIG: &str = r#"
[kintone]
base_url = "{base_url}"
[lookups.partner]
app = 40
token_secret = "{secret:view}"
allowed_origins = ["https://partner.example.jp"]
key = { input = "id", kintone = "担当ID" }
verify = [ { input = "name", kintone = "担当名" } ]
[lookups.partner.outputs]
subject = "件名"
[lookups.amount]
app = 40
token_secret = "{secret:view}"
allowed_origins = ["https://partner.example.jp"]
key = { input = "amount", kintone = "金額", type = "NUMBER" }
verify = [ { input = "id", kintone = "担当ID" } ]
[lookups.amount.outputs]
subject = "件名"
"#;

async fn widths() -> Harness {
    harness_with(widths_emulator(), WIDTHS_CONFIG, &[("view", WIDTHS_TOKEN)]).await
}

fn ask(lookup: &str, body: &Value) -> lambda_http::Request {
    post(
        &format!("/lookups/{lookup}"),
        body.to_string(),
        &[
            ("content-type", "application/json"),
            ("origin", PARTNER_ORIGIN),
        ],
    )
}

async fn subject_found(h: &Harness, id: &str, name: &str) -> Option<String> {
    let body = json!({ "id": id, "name": name });
    let response = lookup::handle(&h.relay, ask("partner", &body))
        .await
        .unwrap();
    match response.status().as_u16() {
        200 => Some(
            body_json(&response)["records"][0]["subject"]
                .as_str()?
                .to_owned(),
        ),
        404 => None,
        other => panic!("{id} / {name}: {other} {}", body_json(&response)),
    }
}

#[tokio::test]
async fn names_match_as_typed_and_in_the_other_width_of_the_same_text() {
    let h = widths().await;
    let found = |id: &str| Some(format!("{id} の取引"));
    // Typed exactly as stored.
    for (id, name) in [
        ("W-1", "（株）山田商事"),
        ("W-2", "山田　商事"),
        ("W-3", "ﾔﾏﾀﾞｼｮｳｼﾞ"),
        ("W-4", "(株)山田商事"),
        ("W-5", "ABC商事（株）"),
    ] {
        assert_eq!(subject_found(&h, id, name).await, found(id), "{name}");
    }
    // The same text in the other width, against a value stored in one consistent width.
    for (id, name) in [
        ("W-1", "(株)山田商事"),
        ("W-2", "山田 商事"),
        ("W-3", "ヤマダショウジ"),
        ("W-4", "（株）山田商事"),
        ("Ｗ－１", "（株）山田商事"),
    ] {
        assert_eq!(
            subject_found(&h, id, name).await,
            found(&id.replace('Ｗ', "W").replace('－', "-").replace('１', "1")),
            "{id} {name}"
        );
    }
    // Anything else is a miss, including the limits the README states.
    for (id, name) in [
        ("W-1", "㈱山田商事"),
        ("W-2", "山田商事"),
        ("W-3", "やまだしょうじ"),
        ("W-5", "ABC商事(株)"),
        ("W-5", "ＡＢＣ商事（株）"),
        ("W-2", "（株）山田商事"),
    ] {
        assert_eq!(subject_found(&h, id, name).await, None, "{id} {name}");
    }
}

#[tokio::test]
async fn numbers_are_matched_exactly_not_as_floats() {
    let h = widths().await;
    let amount = |amount: &str| {
        let body = json!({ "amount": amount, "id": "W-4" });
        lookup::handle(&h.relay, ask("amount", &body))
    };
    assert_eq!(amount("9007199254740992").await.unwrap().status(), 200);
    assert_eq!(
        amount("９００７１９９２５４７４０９９２")
            .await
            .unwrap()
            .status(),
        200
    );
    // A float cannot tell these from the stored 9007199254740992; the relay's re-check does.
    for other in ["9007199254740993", "9007199254740992.0000001"] {
        let response = amount(other).await.unwrap();
        assert_eq!(response.status(), 404, "{other}");
    }
    let response = amount(&"9".repeat(40)).await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(body_json(&response)["error"]["fields"]["amount"].is_string());
}

#[tokio::test]
async fn spreadsheet_pastes_huge_numbers_and_invisible_characters() {
    let h = widths().await;
    // A tab or newline pasted with the cell.
    assert_eq!(
        subject_found(&h, "W-2\n", "山田　商事\t").await,
        Some("W-2 の取引".to_owned())
    );
    // Valid JSON with a value of the wrong type: invalid_input on that input.
    let body = r#"{"id": 1e400, "name": "山田　商事"}"#;
    let request = post(
        "/lookups/partner",
        body,
        &[
            ("content-type", "application/json"),
            ("origin", PARTNER_ORIGIN),
        ],
    );
    let response = lookup::handle(&h.relay, request).await.unwrap();
    assert_eq!(response.status(), 400);
    let answer = body_json(&response);
    assert_eq!(answer["error"]["code"], "invalid_input");
    assert!(answer["error"]["fields"]["id"].is_string(), "{answer}");
    // Separators and invisible characters: refused on the input, never a 500.
    for name in [
        "山田\u{2028}商事",
        "山\u{2029}田",
        "\u{feff}山田",
        "山田\u{200b}",
        "山\u{202e}田",
    ] {
        let response = lookup::handle(
            &h.relay,
            ask("partner", &json!({"id": "W-2", "name": name})),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), 400, "{name:?}");
        assert!(body_json(&response)["error"]["fields"]["name"].is_string());
    }
    assert!(h.emulator.requests().iter().all(|r| r.status == 200));
}

const EVENTS_CONFIG: &str = r#"
[kintone]
base_url = "{base_url}"
[forms.event]
app = 41
token_secret = "{secret:add}"
allowed_origins = ["https://www.example.jp"]
[forms.event.fields.at]
kintone = "日時"
type = "datetime"
[forms.event.fields.customer]
kintone = "顧客"
type = "text"
"#;

async fn events() -> Harness {
    let emulator = Emulator::new();
    emulator.add_app(App {
        id: 41,
        guest_space: None,
        fields: vec![
            Field::new("日時", FieldType::Datetime),
            Field::new("顧客", FieldType::SingleLineText).lookup(&["C-1", "C-2"]),
        ],
    });
    emulator.add_token("eventsAddToken", 41, &[Permission::Add]);
    harness_with(emulator, EVENTS_CONFIG, &[("add", "eventsAddToken")]).await
}

#[tokio::test]
async fn a_datetime_beyond_year_9999_in_utc_is_a_400_on_that_field() {
    let h = events().await;
    let send = |at: &str| submit::handle(&h.relay, post_json("/forms/event", &json!({ "at": at })));
    let response = send("9999-12-31T12:00:00-12:00").await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(body_json(&response)["error"]["fields"]["at"].is_string());
    assert_eq!(
        send("9999-12-31T12:00:00+09:00").await.unwrap().status(),
        201
    );
}

#[tokio::test]
async fn a_lookup_field_refusing_a_value_is_a_400_on_that_input_and_the_value_stays_out_of_the_log()
{
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = events().await;
    let secret = "秘密の顧客番号-42";
    let response = submit::handle(
        &h.relay,
        post_json("/forms/event", &json!({ "customer": secret })),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 400, "{}", body_json(&response));
    let body = body_json(&response);
    assert_eq!(body["error"]["code"], "invalid_input");
    assert!(body["error"]["fields"]["customer"].is_string(), "{body}");
    assert!(!body.to_string().contains(secret));
    assert_eq!(
        h.emulator.requests()[0].status,
        400,
        "kintone answered GAIA_LO04"
    );
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("GAIA_LO04"), "{logs}");
    assert!(!logs.contains(secret), "{logs}");
    assert_eq!(
        submit::handle(
            &h.relay,
            post_json("/forms/event", &json!({ "customer": "C-2" }))
        )
        .await
        .unwrap()
        .status(),
        201
    );
}

// ---- any request, any shape ---------------------------------------------------------------

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::String),
        "[0-9０-９ａ-ｚA-Zｱ-ﾝア-ン\\-\\.:T+\\s\u{2028}\u{3000}]{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A valid body with some inputs replaced by anything, so that cases reach deep into the
/// pipelines (and kintone), or a body of any JSON, or any bytes at all.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let form_inputs = [
        "name",
        "email",
        "phone",
        "session",
        "attendees",
        "preferred_date",
        "question",
        "consent",
        "website",
    ];
    let lookup_inputs = ["partner_id", "partner_name", "deal_id"];
    let valid_form = json!({"name": "山田 太郎", "email": "taro@example.jp", "session": "午前の部", "consent": true});
    let valid_lookup =
        json!({"partner_id": "P-001", "partner_name": "山田商事", "deal_id": "D-1001"});
    let mutated = |valid: Value, names: &'static [&'static str]| {
        prop::collection::vec((prop::sample::select(names), json_value()), 1..4).prop_map(
            move |changes| {
                let mut body = valid.clone();
                for (name, value) in changes {
                    body[name] = value;
                }
                body.to_string().into_bytes()
            },
        )
    };
    prop_oneof![
        mutated(valid_form, Box::leak(Box::new(form_inputs))),
        mutated(valid_lookup, Box::leak(Box::new(lookup_inputs))),
        json_value().prop_map(|value| value.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..200),
        Just(br#"{"attendees": 1e400, "name": "x"}"#.to_vec()),
    ]
}

fn path() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec![
        "",
        "/prod",
        "/lambda-url/submit",
        "/lambda-url/lookup",
    ]);
    let route = prop_oneof![
        Just("/forms/seminar".to_owned()),
        Just("/lookups/deals".to_owned()),
        Just("/forms/".to_owned()),
        Just("/lookups/seminar/".to_owned()),
        "/[a-z%./]{0,12}/[^?#\\s]{0,12}",
    ];
    (prefix, route).prop_map(|(prefix, route)| format!("{prefix}{route}"))
}

fn header_value() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("application/json".to_owned())),
        Just(Some(ORIGIN.to_owned())),
        Just(Some(PARTNER_ORIGIN.to_owned())),
        Just(Some("7f2c9a60-1b7e-4c1f-9d7e-2a8f5b3c4d10".to_owned())),
        "[ -~]{0,70}".prop_map(Some),
    ]
}

#[test]
fn any_request_gets_an_answer_and_never_a_5xx() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = config_with("", &[SEMINAR_FIXTURE, DEALS_FIXTURE]);
    let h = runtime.block_on(harness(
        &config,
        &[("add", SEMINAR_ADD_TOKEN), ("view", DEALS_VIEW_TOKEN)],
    ));
    let methods = vec![
        "GET", "POST", "POST", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD",
    ];
    let request = (
        prop::sample::select(methods),
        path(),
        [
            header_value(),
            header_value(),
            header_value(),
            header_value(),
        ],
        body(),
        any::<bool>(),
    );
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(600));
    runner
        .run(&request, |(method, path, headers, body, to_submit)| {
            let mut builder = lambda_http::http::Request::builder()
                .method(method)
                .uri(format!(
                    "https://relay.example.com{}",
                    path.replace(' ', "%20")
                ));
            for (name, value) in [
                "content-type",
                "origin",
                "idempotency-key",
                "accept-language",
            ]
            .into_iter()
            .zip(headers)
            {
                if let Some(value) = value {
                    builder = builder.header(name, value);
                }
            }
            let Ok(request) = builder.body(lambda_http::Body::from(body)) else {
                // Not a request API Gateway could hand over (an invalid URI or header).
                return Ok(());
            };
            let response = runtime.block_on(async {
                if to_submit {
                    submit::handle(&h.relay, request).await
                } else {
                    lookup::handle(&h.relay, request).await
                }
            });
            let response = response.map_err(|err| TestCaseError::fail(format!("error: {err}")))?;
            let status = response.status().as_u16();
            prop_assert!(status < 500, "{status}: {}", body_json_or_text(&response));
            Ok(())
        })
        .unwrap();
}

fn body_json_or_text(response: &lambda_http::Response<lambda_http::Body>) -> String {
    String::from_utf8_lossy(response.body().as_ref()).into_owned()
}
