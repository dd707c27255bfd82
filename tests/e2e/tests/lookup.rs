//! `lookup` end to end: the handler against the emulator's demo deals (55 records, 5 partners).

use kintone_emulator::query::{self, Expr, Op, Value as QValue};
use kintone_emulator::{Emulator, Permission};
use relay_e2e::*;
use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization;

const PATH: &str = "/lookups/deals";

async fn deals() -> Harness {
    harness(&deals_config(""), &[("view", DEALS_VIEW_TOKEN)]).await
}

fn ask(body: &Value) -> lambda_http::Request {
    post(
        PATH,
        body.to_string(),
        &[
            ("content-type", "application/json"),
            ("origin", PARTNER_ORIGIN),
        ],
    )
}

fn valid() -> Value {
    json!({"partner_id": "P-001", "partner_name": "山田商事", "deal_id": "D-1001"})
}

#[tokio::test]
async fn a_partner_finds_their_deal_with_only_the_declared_outputs() {
    let h = deals().await;
    let response = lookup::handle(&h.relay, ask(&valid())).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some(PARTNER_ORIGIN)
    );
    let body = body_json(&response);
    let records = body["records"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    let record = records[0].as_object().unwrap();
    let mut keys: Vec<&str> = record.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["amount", "deal", "status", "subject"]);
    assert_eq!(record["deal"], "D-1001");
    assert!(
        record["amount"].is_string(),
        "numbers as kintone sends them: {record:?}"
    );

    let requests = h.emulator.requests();
    assert_eq!(requests.len(), 1, "exactly one kintone request");
    let sent = &requests[0];
    assert_eq!(sent.path, "/k/v1/records.json");
    assert_eq!(sent.api_tokens, vec![DEALS_VIEW_TOKEN.to_owned()]);
    let sent_body = sent.body.as_ref().unwrap();
    assert!(
        sent_body.get("totalCount").is_none(),
        "never asks for totalCount"
    );
    assert!(
        sent.query_string.as_deref().unwrap_or("").is_empty(),
        "nothing typed goes into a URL"
    );
    let fields: Vec<&str> = sent_body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for needed in [
        "取引ID",
        "件名",
        "金額",
        "ステータス",
        "担当ID",
        "担当名",
        "公開期限",
        "$id",
    ] {
        assert!(fields.contains(&needed), "{needed} missing from {fields:?}");
    }
    assert_eq!(
        fields.len(),
        8,
        "only what the outputs and the check need: {fields:?}"
    );
}

#[tokio::test]
async fn surrounding_spaces_and_full_width_digits_still_find_the_record() {
    let h = deals().await;
    let body = json!({"partner_id": "  P-００１ ", "partner_name": "　山田商事　", "deal_id": "Ｄ-１００１"});
    let response = lookup::handle(&h.relay, ask(&body)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response)["records"][0]["deal"], "D-1001");
}

/// Status, headers and body of a response, the request id aside.
fn shape(
    response: &lambda_http::Response<lambda_http::Body>,
) -> (u16, Vec<(String, String)>, Value) {
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str() != "x-request-id")
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("").to_owned()))
        .collect();
    headers.sort();
    (response.status().as_u16(), headers, body_json(response))
}

#[tokio::test]
async fn every_kind_of_miss_looks_the_same() {
    let h = deals().await;
    let misses = [
        (
            "unknown id",
            json!({"partner_id": "P-999", "partner_name": "山田商事", "deal_id": "D-1001"}),
        ),
        (
            "wrong name",
            json!({"partner_id": "P-001", "partner_name": "佐藤工業", "deal_id": "D-1001"}),
        ),
        (
            "wrong deal",
            json!({"partner_id": "P-001", "partner_name": "山田商事", "deal_id": "D-1002"}),
        ),
        // i = 40: P-001, published, expired on 2020-01-01.
        (
            "expired",
            json!({"partner_id": "P-001", "partner_name": "山田商事", "deal_id": "D-1041"}),
        ),
        // i = 25: P-001, not published.
        (
            "filtered out",
            json!({"partner_id": "P-001", "partner_name": "山田商事", "deal_id": "D-1026"}),
        ),
    ];
    let mut shapes = Vec::new();
    for (name, body) in &misses {
        h.emulator.clear_requests();
        let response = lookup::handle(&h.relay, ask(body)).await.unwrap();
        assert_eq!(
            h.emulator.requests().len(),
            1,
            "{name}: one kintone call, no early return"
        );
        shapes.push((name, shape(&response)));
    }
    let (_, first) = &shapes[0];
    assert_eq!(first.0, 404);
    assert_eq!(first.2["error"]["code"], "not_found");
    for (name, other) in &shapes[1..] {
        assert_eq!(other, first, "{name} differs from an unknown id");
    }
    // The expired and unpublished deals exist: the relay hides them.
    let records = h.emulator.records(34);
    let deal = |id: &str| {
        records
            .iter()
            .find(|r| r["取引ID"]["value"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(deal("D-1041")["公開期限"]["value"], "2020-01-01");
    assert_eq!(deal("D-1026")["公開"]["value"], json!([]));
}

#[tokio::test]
async fn every_input_is_required_and_shaped() {
    let h = deals().await;
    let bad_values = [
        ("missing", json!("<remove>")),
        ("null", json!(null)),
        ("empty", json!("")),
        ("whitespace", json!("  \u{3000} ")),
        ("number", json!(1001)),
        ("array", json!(["P-001"])),
        ("object", json!({"value": "P-001"})),
        ("boolean", json!(true)),
        ("too long", json!("P".repeat(101))),
        ("10,000 characters", json!("P".repeat(10_000))),
        ("newline", json!("P-001\nor")),
        // Inside the value; around it, a tab is trimmed like a space (spreadsheet pastes).
        ("tab", json!("P-0\t01")),
        ("NUL", json!("P-001\u{0}")),
    ];
    for input in ["partner_id", "partner_name", "deal_id"] {
        for (label, value) in &bad_values {
            let mut body = valid();
            if value == &json!("<remove>") {
                body.as_object_mut().unwrap().remove(input);
            } else {
                body[input] = value.clone();
            }
            let response = lookup::handle(&h.relay, ask(&body)).await.unwrap();
            assert_eq!(response.status(), 400, "{input} {label}");
            let error = &body_json(&response)["error"];
            assert_eq!(error["code"], "invalid_input", "{input} {label}");
            assert!(
                error["fields"][input].is_string(),
                "{input} {label}: {error}"
            );
        }
    }
    let mut body = valid();
    body["limit"] = json!("500");
    let response = lookup::handle(&h.relay, ask(&body)).await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(body_json(&response)["error"]["fields"]["limit"].is_string());
    assert!(
        h.emulator.requests().is_empty(),
        "no malformed request reached kintone"
    );
}

fn injection_attempts() -> Vec<String> {
    let mut attempts: Vec<String> = [
        r#"x" or 担当ID != ""#,
        r#"P-001" or 担当ID != ""#,
        r#"P-001" or "1" = "1"#,
        r#"\" or 担当ID != \""#,
        r"\\",
        r"\",
        r"P-001\",
        r"P-001\\",
        r#"" or $id > "0"#,
        r#"") or (担当ID != ""#,
        r#"" order by $id desc limit 500 offset 0 ""#,
        r#"P-001" limit 500"#,
        r#"P-001" order by 金額 desc"#,
        "＂ or 担当ID != ＂",
        "“ or 担当ID != ”",
        "P-001” or “1” = “1",
        "＼\" or 担当ID != ＼\"",
        "*",
        "%",
        "P-00%",
        r#"like "P""#,
        r#"" like "P"#,
        r#"P-001" or 担当ID like "P"#,
        r#"in ("P-001","P-002")"#,
        r#"" in ("P-001"#,
        r#"P-001" or 担当ID in ("P-002"#,
        r#"" not in (""#,
        r#"" or 担当ID is not empty or 担当ID = ""#,
        r#"" or 公開期限 < TODAY() or ""#,
        r#"" or 公開 not in ("公開する") or ""#,
        r#"P-001" and 担当ID = "P-001"#,
        "()",
        "(",
        ")",
        r#"") or (""#,
        "' or '1'='1",
        "`担当ID`",
        "P-001 or 1=1",
        "P-001' --",
        "P-001\"; drop",
        "\u{3000}or\u{3000}担当ID != \"",
        "P-001\u{2028}or",
        "\u{feff}P-001",
        "P-001\u{200b}",
        "P‐001",
        "ｐ－００１",
        "p-001",
        "\"",
        "\"\"",
        "\\\"",
        "\"\\\\\"",
        "$id",
        "担当ID",
        "LOGINUSER()",
        "TODAY()",
        "<script>alert(1)</script>",
        "%22%20or%20担当ID%20!=%20%22",
        r#"\\" or 担当ID != \\""#,
        "P-001\" or 担当ID != \"P-001\" or \"",
        "D-1001\" or 取引ID != \"",
        "山田商事\" or 担当名 != \"",
        "P-001\u{a0}or\u{a0}1=1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    attempts.push(format!("{}\" or 担当ID != \"", "A".repeat(90)));
    attempts
}

/// The values of `field = a` or `(field = a or field = b ...)`, in order; anything else fails.
fn alternatives(expr: &Expr, field: &str) -> Vec<String> {
    match expr {
        Expr::Or(left, right) => {
            let mut values = alternatives(left, field);
            values.extend(alternatives(right, field));
            values
        }
        Expr::Cond {
            field: f,
            op: Op::Eq,
            value: QValue::Str(value),
        } if f == field => vec![value.clone()],
        other => panic!("not an exact equality on {field}: {other:?}"),
    }
}

/// A text input's condition compares the field with the value typed (trimmed) and at most two
/// other values that are the same text in another width: nothing that widens the match.
fn assert_width_variants_of(values: &[String], typed: &str, sent: &str) {
    let typed = typed.trim();
    let same_text = |value: &str| value.nfkc().eq(typed.nfkc());
    assert_eq!(values.first().map(String::as_str), Some(typed), "{sent}");
    assert!(values.len() <= 3, "{sent}");
    for (i, value) in values.iter().enumerate() {
        assert!(
            same_text(value),
            "{value:?} is not {typed:?} in another width: {sent}"
        );
        assert!(!values[..i].contains(value), "{value:?} twice: {sent}");
    }
}

/// The query kintone received must be exactly: the admin filter, an exact match of each input
/// (the typed value, or its widths), and the expiry; ordered and limited by the config alone.
fn assert_intended_query(sent: &str, expected: &Value) {
    let parsed =
        query::parse(sent).unwrap_or_else(|err| panic!("query {sent:?} does not parse: {err}"));
    assert_eq!(parsed.limit, Some(21), "{sent}");
    assert_eq!(parsed.offset, None, "{sent}");
    assert_eq!(parsed.order_by, vec![("取引ID".to_owned(), true)], "{sent}");
    let condition = parsed.condition.expect("conditions");
    let conditions = condition.conditions();
    let cond = |field: &str, op: Op, value: QValue| Expr::Cond {
        field: field.into(),
        op,
        value,
    };
    assert_eq!(conditions.len(), 5, "{sent}");
    assert_eq!(
        *conditions[0],
        cond("公開", Op::In, QValue::List(vec!["公開する".into()])),
        "{sent}"
    );
    for (condition, (field, input)) in conditions[1..4].iter().zip([
        ("担当ID", "partner_id"),
        ("担当名", "partner_name"),
        ("取引ID", "deal_id"),
    ]) {
        let values = alternatives(condition, field);
        assert_width_variants_of(&values, expected[input].as_str().unwrap(), sent);
    }
    assert_eq!(
        *conditions[4],
        cond(
            "公開期限",
            Op::Ge,
            QValue::Func {
                name: "TODAY".into(),
                args: vec![],
            },
        ),
        "{sent}"
    );
}

#[tokio::test]
async fn injection_and_widening_attempts_in_every_input_return_nothing() {
    let h = deals().await;
    let attempts = injection_attempts();
    assert!(attempts.len() >= 60, "{}", attempts.len());
    let mut reached_kintone = 0;
    for input in ["partner_id", "partner_name", "deal_id"] {
        for attempt in &attempts {
            let mut body = valid();
            body[input] = json!(attempt);
            h.emulator.clear_requests();
            let response = lookup::handle(&h.relay, ask(&body)).await.unwrap();
            let status = response.status().as_u16();
            let requests = h.emulator.requests();
            match status {
                404 => {
                    assert_eq!(requests.len(), 1, "{input} = {attempt:?}");
                    let sent = requests[0].body.as_ref().unwrap()["query"]
                        .as_str()
                        .unwrap()
                        .to_owned();
                    assert_eq!(requests[0].status, 200, "kintone accepted {sent:?}");
                    assert_intended_query(&sent, &body);
                    reached_kintone += 1;
                }
                400 => assert!(requests.is_empty(), "{input} = {attempt:?}"),
                other => panic!(
                    "{input} = {attempt:?} answered {other}: {}",
                    body_json(&response)
                ),
            }
        }
    }
    assert!(
        reached_kintone > 150,
        "most attempts are well-formed and must be escaped, not refused: {reached_kintone}"
    );
}

#[tokio::test]
async fn more_matches_than_max_records_are_cut_and_the_query_asks_for_one_more() {
    // Corroborate by name only, so a partner's eleven published deals all match.
    let config = deals_config("")
        .replace(
            "           { input = \"deal_id\",      kintone = \"取引ID\" } ]",
            "         ]",
        )
        .replace(
            "{ input = \"partner_name\", kintone = \"担当名\" },",
            "{ input = \"partner_name\", kintone = \"担当名\" }",
        )
        .replace("max_records = 20", "max_records = 3");
    let h = harness(&config, &[("view", DEALS_VIEW_TOKEN)]).await;
    let body = json!({"partner_id": "P-002", "partner_name": "佐藤工業"});
    let response = lookup::handle(&h.relay, ask(&body)).await.unwrap();
    assert_eq!(response.status(), 200, "{}", body_json(&response));
    assert_eq!(body_json(&response)["records"].as_array().unwrap().len(), 3);
    let sent = h.emulator.requests()[0].body.clone().unwrap();
    assert!(
        sent["query"].as_str().unwrap().ends_with("limit 4"),
        "{sent}"
    );
}

#[tokio::test]
async fn lookup_uses_only_the_view_token_and_never_a_submit_token() {
    // The seminar form's secret does not exist: a lookup that touched it would fail.
    let seminar = SEMINAR_FIXTURE.replace("{secret:add}", "e2e/never-created-submit-secret");
    let config = config_with("", &[DEALS_FIXTURE, &seminar]);
    let h = harness(&config, &[("view", DEALS_VIEW_TOKEN)]).await;
    let response = lookup::handle(&h.relay, ask(&valid())).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(h.relay.secrets.fetch_count(), 1);
    let tokens: Vec<String> = h
        .emulator
        .requests()
        .into_iter()
        .flat_map(|r| r.api_tokens)
        .collect();
    assert_eq!(tokens, vec![DEALS_VIEW_TOKEN.to_owned()]);
}

#[tokio::test]
async fn a_token_without_view_permission_is_misconfigured() {
    let emulator = Emulator::demo();
    emulator.add_token("dealsAddOnlyToken", 34, &[Permission::Add]);
    let h = harness_with(
        emulator,
        &deals_config(""),
        &[("view", "dealsAddOnlyToken")],
    )
    .await;
    let response = lookup::handle(&h.relay, ask(&valid())).await.unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(body_json(&response)["error"]["code"], "misconfigured");
    assert_eq!(
        h.emulator.requests()[0].error_code.as_deref(),
        Some("GAIA_NO01")
    );
}

#[tokio::test]
async fn cors_and_methods() {
    let h = deals().await;
    let preflight = request("OPTIONS", PATH, &[("origin", PARTNER_ORIGIN)]);
    let response = lookup::handle(&h.relay, preflight).await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some(PARTNER_ORIGIN)
    );

    let foreign = post(
        PATH,
        valid().to_string(),
        &[
            ("content-type", "application/json"),
            ("origin", "https://www.example.jp"),
        ],
    );
    let response = lookup::handle(&h.relay, foreign).await.unwrap();
    assert_eq!(response.status(), 403);

    let get = request(
        "GET",
        &format!("{PATH}?partner_id=P-001"),
        &[("origin", PARTNER_ORIGIN)],
    );
    // A GET is the lookup's description: inputs in a URL never run a lookup.
    let response = lookup::handle(&h.relay, get).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = body_json(&response);
    assert_eq!(body["lookup"], "deals");
    assert!(body.get("records").is_none(), "{body}");
    assert!(h.emulator.requests().is_empty());
}

#[tokio::test]
async fn kintone_unavailable_is_503() {
    let h = deals().await;
    h.emulator.set_fault(kintone_emulator::Fault::RateLimited);
    let response = lookup::handle(&h.relay, ask(&valid())).await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(header(&response, "retry-after").is_some());
}

#[tokio::test]
async fn a_filter_naming_a_missing_option_is_misconfigured_not_a_miss() {
    let config = deals_config("").replace(r#"公開 in ("公開する")"#, r#"公開 in ("公開済み")"#);
    let h = harness(&config, &[("view", DEALS_VIEW_TOKEN)]).await;
    let response = lookup::handle(&h.relay, ask(&valid())).await.unwrap();
    assert_eq!(
        h.emulator.requests()[0].error_code.as_deref(),
        Some("GAIA_IQ10")
    );
    assert_eq!(response.status(), 500);
    assert_eq!(body_json(&response)["error"]["code"], "misconfigured");
}
