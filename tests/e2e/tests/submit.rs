//! `submit` end to end: the handler against the kintone emulator and moto's Secrets Manager.

use kintone_emulator::{App, Emulator, Fault, Field, FieldType, Permission};
use relay_e2e::*;
use serde_json::{Value, json};

const PATH: &str = "/forms/seminar";

fn valid() -> Value {
    json!({
        "name": "山田 太郎",
        "email": "taro@example.jp",
        "session": "午前の部",
        "attendees": "２",
        "consent": true
    })
}

async fn seminar() -> Harness {
    harness(&seminar_config(""), &[("add", SEMINAR_ADD_TOKEN)]).await
}

fn kintone_calls(h: &Harness) -> usize {
    h.emulator.requests().len()
}

#[tokio::test]
async fn a_valid_submission_adds_exactly_the_declared_fields_with_the_add_token() {
    let h = seminar().await;
    let response = submit::handle(&h.relay, post_json(PATH, &valid()))
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body = body_json(&response);
    assert_eq!(body["status"], "created");
    let receipt = body["receipt"].as_str().unwrap();
    assert_eq!(receipt.len(), 24);
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "no record id or anything else: {body}"
    );
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some(ORIGIN)
    );

    let records = h.emulator.records(12);
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record["氏名"]["value"], "山田 太郎");
    assert_eq!(record["参加人数"]["value"], "2");
    assert_eq!(record["流入元"]["value"], "web");
    assert_eq!(record["受付番号"]["value"], receipt);

    let requests = h.emulator.requests();
    assert_eq!(requests.len(), 1, "exactly one kintone call");
    let sent = &requests[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/k/v1/record.json")
    );
    assert_eq!(sent.api_tokens, vec![SEMINAR_ADD_TOKEN.to_owned()]);
    let body = sent.body.as_ref().unwrap();
    assert_eq!(body["app"], 12);
    let codes: std::collections::BTreeSet<&str> = body["record"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let declared = [
        "氏名",
        "メールアドレス",
        "参加セッション",
        "参加人数",
        "同意",
        "流入元",
        "受付番号",
    ];
    assert_eq!(
        codes,
        declared.into_iter().collect(),
        "only declared fields, fixed values and the receipt"
    );
}

#[tokio::test]
async fn the_cached_token_is_reused_and_concurrent_cold_requests_fetch_it_once() {
    let h = seminar().await;
    let requests: Vec<_> = (0..8)
        .map(|_| submit::handle(&h.relay, post_json(PATH, &valid())))
        .collect();
    for response in futures_join_all(requests).await {
        assert_eq!(response.unwrap().status(), 201);
    }
    let response = submit::handle(&h.relay, post_json(PATH, &valid()))
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(h.relay.secrets.fetch_count(), 1);
    assert_eq!(h.emulator.records(12).len(), 9);
}

/// Joins futures on the current task, so they really do overlap at the cache.
async fn futures_join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    let pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut pending: Vec<Option<_>> = pinned.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for slot in pending.iter_mut() {
            if let Some(fut) = slot {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(out) => {
                        set.push(out);
                        *slot = None;
                    }
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    set
}

#[tokio::test]
async fn a_view_only_token_configured_by_mistake_is_misconfigured_and_changes_nothing() {
    let h = harness(&seminar_config(""), &[("add", SEMINAR_VIEW_TOKEN)]).await;
    let response = submit::handle(&h.relay, post_json(PATH, &valid()))
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let body = body_json(&response);
    assert_eq!(body["error"]["code"], "misconfigured");
    let text = body.to_string();
    assert!(
        !text.contains("GAIA") && !text.contains(SEMINAR_VIEW_TOKEN),
        "{text}"
    );
    assert!(h.emulator.records(12).is_empty());
    assert_eq!(
        h.emulator.requests()[0].error_code.as_deref(),
        Some("GAIA_NO01")
    );
}

#[tokio::test]
async fn a_rotated_token_is_picked_up_without_a_failed_submission() {
    let h = seminar().await;
    let first = submit::handle(&h.relay, post_json(PATH, &valid()))
        .await
        .unwrap();
    assert_eq!(first.status(), 201);

    // Rotate: a new add-only token in kintone, the secret updated, the old token revoked.
    let new_token = "rotatedSeminarAddToken000000000000000000";
    h.emulator.add_token(new_token, 12, &[Permission::Add]);
    let secret_name = h.relay.config.forms["seminar"]
        .access
        .token_secret
        .as_str()
        .to_owned();
    put_secret(
        &h.secrets,
        &secret_name,
        &format!("{{\"token\":\"{new_token}\"}}"),
    )
    .await;
    h.emulator.revoke_token(SEMINAR_ADD_TOKEN);

    let second = submit::handle(&h.relay, post_json(PATH, &valid()))
        .await
        .unwrap();
    assert_eq!(second.status(), 201);
    assert_eq!(h.emulator.records(12).len(), 2);
    assert_eq!(h.relay.secrets.fetch_count(), 2);
    let tokens: Vec<Vec<String>> = h
        .emulator
        .requests()
        .into_iter()
        .map(|r| r.api_tokens)
        .collect();
    assert_eq!(tokens[1], vec![SEMINAR_ADD_TOKEN.to_owned()]);
    assert_eq!(tokens[2], vec![new_token.to_owned()]);
}

#[tokio::test]
async fn an_idempotent_replay_answers_the_same_receipt_and_stores_one_record() {
    let h = seminar().await;
    let key = "7f2c9a60-1b7e-4c1f-9d7e-2a8f5b3c4d10";
    let send = || {
        let mut request = post_json(PATH, &valid());
        request
            .headers_mut()
            .insert("idempotency-key", key.parse().unwrap());
        submit::handle(&h.relay, request)
    };
    let first = send().await.unwrap();
    let second = send().await.unwrap();
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (201, 201)
    );
    assert_eq!(body_json(&first)["receipt"], body_json(&second)["receipt"]);
    let records = h.emulator.records(12);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["送信ID"]["value"], key);
    assert_eq!(kintone_calls(&h), 2);
}

#[tokio::test]
async fn a_duplicate_in_a_unique_input_is_reported_on_that_input() {
    let emulator = Emulator::new();
    emulator.add_app(App {
        id: 5,
        guest_space: None,
        fields: vec![
            Field::new("メール", FieldType::SingleLineText)
                .required()
                .unique(),
        ],
    });
    emulator.add_token("uniqueAppAddToken", 5, &[Permission::Add]);
    let config = r#"
[kintone]
base_url = "{base_url}"
[forms.once]
app = 5
token_secret = "{secret:add}"
allowed_origins = ["https://www.example.jp"]
[forms.once.fields.email]
kintone = "メール"
type = "email"
required = true
"#;
    let h = harness_with(emulator, config, &[("add", "uniqueAppAddToken")]).await;
    let body = json!({"email": "a@example.jp"});
    let first = submit::handle(&h.relay, post_json("/forms/once", &body))
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let mut request = post_json("/forms/once", &body);
    request
        .headers_mut()
        .insert("accept-language", "en".parse().unwrap());
    let second = submit::handle(&h.relay, request).await.unwrap();
    assert_eq!(second.status(), 400);
    let body = body_json(&second);
    assert_eq!(body["error"]["code"], "invalid_input");
    let message = body["error"]["fields"]["email"].as_str().unwrap();
    assert_eq!(message, "This value has already been registered.");
    assert!(
        !body.to_string().contains("already exists"),
        "kintone's own words stay out: {body}"
    );
}

#[tokio::test]
async fn a_guest_space_app_is_reached_through_the_guest_path() {
    let emulator = Emulator::new();
    emulator.add_app(App {
        id: 9,
        guest_space: Some(7),
        fields: vec![Field::new("氏名", FieldType::SingleLineText).required()],
    });
    emulator.add_token("guestAppAddToken", 9, &[Permission::Add]);
    let config = r#"
[kintone]
base_url = "{base_url}"
guest_space = 7
[forms.guest]
app = 9
token_secret = "{secret:add}"
allowed_origins = ["https://www.example.jp"]
[forms.guest.fields.name]
kintone = "氏名"
type = "text"
required = true
"#;
    let h = harness_with(emulator, config, &[("add", "guestAppAddToken")]).await;
    let response = submit::handle(
        &h.relay,
        post_json("/forms/guest", &json!({"name": "佐藤"})),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(h.emulator.requests()[0].path, "/k/guest/7/v1/record.json");
}

#[tokio::test]
async fn basic_authentication_of_the_domain_is_sent_when_configured() {
    let h = harness(
        &seminar_config("basic_auth_secret = \"{secret:basic}\""),
        &[
            ("add", SEMINAR_ADD_TOKEN),
            ("basic", r#"{"username":"relay","password":"pw"}"#),
        ],
    )
    .await;
    let response = submit::handle(&h.relay, post_json(PATH, &valid()))
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let sent = &h.emulator.requests()[0];
    // base64("relay:pw")
    assert_eq!(sent.header("authorization"), Some("Basic cmVsYXk6cHc="));
}

#[tokio::test]
async fn the_honeypot_answers_created_and_stores_nothing() {
    let h = seminar().await;
    let mut body = valid();
    body["website"] = json!("https://spam.example");
    let response = submit::handle(&h.relay, post_json(PATH, &body))
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(kintone_calls(&h), 0);
}

#[tokio::test]
async fn cors_preflight_and_origins() {
    let h = seminar().await;
    let preflight = request(
        "OPTIONS",
        PATH,
        &[
            ("origin", ORIGIN),
            ("access-control-request-method", "POST"),
        ],
    );
    let response = submit::handle(&h.relay, preflight).await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some(ORIGIN)
    );
    assert!(
        header(&response, "access-control-allow-headers")
            .unwrap()
            .contains("Idempotency-Key")
    );

    let evil = request("OPTIONS", PATH, &[("origin", "https://evil.example")]);
    let response = submit::handle(&h.relay, evil).await.unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(header(&response, "access-control-allow-origin"), None);

    let evil_post = post(
        PATH,
        valid().to_string(),
        &[
            ("content-type", "application/json"),
            ("origin", "https://evil.example"),
        ],
    );
    let response = submit::handle(&h.relay, evil_post).await.unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(body_json(&response)["error"]["code"], "origin_not_allowed");
    assert_eq!(kintone_calls(&h), 0);
}

#[tokio::test]
async fn no_origin_is_refused_unless_the_form_allows_it() {
    let h = seminar().await;
    let request = post(
        PATH,
        valid().to_string(),
        &[("content-type", "application/json")],
    );
    let response = submit::handle(&h.relay, request).await.unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(kintone_calls(&h), 0);

    let config = seminar_config("").replace("allow_no_origin = false", "allow_no_origin = true");
    let h = harness(&config, &[("add", SEMINAR_ADD_TOKEN)]).await;
    let request = post(
        PATH,
        valid().to_string(),
        &[("content-type", "application/json")],
    );
    let response = submit::handle(&h.relay, request).await.unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(header(&response, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn the_cargo_lambda_watch_path_reaches_the_form() {
    let h = seminar().await;
    let response = submit::handle(
        &h.relay,
        post_json("/lambda-url/submit/forms/seminar", &valid()),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 201);
}

async fn expect_unavailable(h: &Harness) {
    let response = submit::handle(&h.relay, post_json(PATH, &valid()))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let retry_after: u64 = header(&response, "retry-after").unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    assert_eq!(body_json(&response)["error"]["code"], "unavailable");
}

#[tokio::test]
async fn kintone_rate_limited_is_503_with_retry_after() {
    let h = seminar().await;
    h.emulator.set_fault(Fault::RateLimited);
    expect_unavailable(&h).await;
    assert_eq!(h.emulator.requests()[0].status, 429);
}

#[tokio::test]
async fn kintone_maintenance_is_503_with_retry_after() {
    let h = seminar().await;
    h.emulator.set_fault(Fault::Maintenance);
    expect_unavailable(&h).await;
}

#[tokio::test]
async fn kintone_hanging_is_503_after_the_configured_timeout() {
    let h = harness(
        &seminar_config("timeout_ms = 300\nconnect_timeout_ms = 300"),
        &[("add", SEMINAR_ADD_TOKEN)],
    )
    .await;
    h.emulator.set_fault(Fault::Hang);
    expect_unavailable(&h).await;
}

#[tokio::test]
async fn kintone_unreachable_is_503() {
    let config = seminar_config("").replace("{base_url}", "http://127.0.0.1:9");
    let h = harness(&config, &[("add", SEMINAR_ADD_TOKEN)]).await;
    expect_unavailable(&h).await;
}

#[tokio::test]
async fn a_missing_secret_is_misconfigured() {
    let config = seminar_config("").replace("{secret:add}", "e2e/no-such-secret");
    let h = harness(&config, &[]).await;
    let response = submit::handle(&h.relay, post_json(PATH, &valid()))
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(body_json(&response)["error"]["code"], "misconfigured");
    assert_eq!(kintone_calls(&h), 0);
}

/// One bad request: what is sent and what must come back.
struct Bad {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    extra_headers: Vec<(&'static str, &'static str)>,
    status: u16,
    code: &'static str,
    /// An input that must be named in `fields`, with a piece of its Japanese message.
    field: Option<(&'static str, &'static str)>,
    /// A piece of the Japanese top-level message.
    message: &'static str,
}

fn bad_json(name: &'static str, patch: Value, field: &'static str, message: &'static str) -> Bad {
    let mut body = valid();
    for (key, value) in patch.as_object().unwrap() {
        if value == &json!("<remove>") {
            body.as_object_mut().unwrap().remove(key);
        } else {
            body[key] = value.clone();
        }
    }
    Bad {
        name,
        method: "POST",
        path: PATH,
        content_type: Some("application/json"),
        body: body.to_string().into_bytes(),
        extra_headers: vec![],
        status: 400,
        code: "invalid_input",
        field: Some((field, message)),
        message: "入力内容を確認してください",
    }
}

fn bad_body(name: &'static str, body: &[u8], message: &'static str) -> Bad {
    Bad {
        name,
        method: "POST",
        path: PATH,
        content_type: Some("application/json"),
        body: body.to_vec(),
        extra_headers: vec![],
        status: 400,
        code: "invalid_json",
        field: None,
        message,
    }
}

fn bad_cases() -> Vec<Bad> {
    let long = "あ".repeat(101);
    let huge = "x".repeat(60_000);
    let mut cases = vec![
        bad_json(
            "name missing",
            json!({"name": "<remove>"}),
            "name",
            "入力してください",
        ),
        bad_json(
            "name blank",
            json!({"name": "   "}),
            "name",
            "入力してください",
        ),
        bad_json(
            "name null",
            json!({"name": null}),
            "name",
            "入力してください",
        ),
        bad_json("name is a number", json!({"name": 42}), "name", "文字列"),
        bad_json("name is an array", json!({"name": ["a"]}), "name", "文字列"),
        bad_json(
            "name is an object",
            json!({"name": {"value": "a"}}),
            "name",
            "文字列",
        ),
        bad_json("name is a boolean", json!({"name": true}), "name", "文字列"),
        bad_json(
            "name too long",
            json!({"name": long}),
            "name",
            "100文字以内",
        ),
        bad_json("name huge", json!({"name": huge}), "name", "100文字以内"),
        bad_json(
            "name has a newline",
            json!({"name": "山田\n太郎"}),
            "name",
            "制御文字",
        ),
        bad_json(
            "name has NUL",
            json!({"name": "山田\u{0}"}),
            "name",
            "制御文字",
        ),
        bad_json(
            "name has a tab",
            json!({"name": "山田\t太郎"}),
            "name",
            "制御文字",
        ),
        bad_json(
            "name has DEL",
            json!({"name": "山田\u{7f}"}),
            "name",
            "制御文字",
        ),
        bad_json(
            "email invalid",
            json!({"email": "taro.example.jp"}),
            "email",
            "メールアドレス",
        ),
        bad_json(
            "email two ats",
            json!({"email": "a@b@example.jp"}),
            "email",
            "メールアドレス",
        ),
        bad_json("email is a number", json!({"email": 1}), "email", "文字列"),
        bad_json(
            "phone with letters",
            json!({"phone": "03-1234-ABCD"}),
            "phone",
            "電話番号",
        ),
        bad_json(
            "phone without digits",
            json!({"phone": "+-()"}),
            "phone",
            "電話番号",
        ),
        bad_json(
            "session not an option",
            json!({"session": "夜の部"}),
            "session",
            "選択肢",
        ),
        bad_json(
            "session as an array",
            json!({"session": ["午前の部"]}),
            "session",
            "文字列",
        ),
        bad_json(
            "attendees above max",
            json!({"attendees": 11}),
            "attendees",
            "1以上10以下",
        ),
        bad_json(
            "attendees below min",
            json!({"attendees": "0"}),
            "attendees",
            "1以上10以下",
        ),
        bad_json(
            "attendees not a number",
            json!({"attendees": "two"}),
            "attendees",
            "数値",
        ),
        bad_json(
            "attendees exponent",
            json!({"attendees": "1e1"}),
            "attendees",
            "数値",
        ),
        bad_json(
            "attendees object",
            json!({"attendees": {}}),
            "attendees",
            "文字列",
        ),
        bad_json(
            "date that does not exist",
            json!({"preferred_date": "2026-02-30"}),
            "preferred_date",
            "存在する日付",
        ),
        bad_json(
            "date in another format",
            json!({"preferred_date": "2026/04/01"}),
            "preferred_date",
            "存在する日付",
        ),
        bad_json(
            "date month 13",
            json!({"preferred_date": "2026-13-01"}),
            "preferred_date",
            "存在する日付",
        ),
        bad_json(
            "consent false",
            json!({"consent": false}),
            "consent",
            "同意",
        ),
        bad_json(
            "consent missing",
            json!({"consent": "<remove>"}),
            "consent",
            "同意",
        ),
        bad_json(
            "consent as a string",
            json!({"consent": "true"}),
            "consent",
            "true か false",
        ),
        bad_json(
            "unknown input",
            json!({"is_admin": true}),
            "is_admin",
            "このフォームにない項目",
        ),
        bad_json(
            "kintone field code as input",
            json!({"氏名": "x"}),
            "氏名",
            "このフォームにない項目",
        ),
        bad_json(
            "question too long",
            json!({"question": "a".repeat(2001)}),
            "question",
            "2000文字以内",
        ),
        bad_json(
            "question with NUL",
            json!({"question": "a\u{0}b"}),
            "question",
            "制御文字",
        ),
        bad_body("empty body", b"", "JSON の形式"),
        bad_body("not JSON", b"name=taro&email=x", "JSON の形式"),
        bad_body("truncated JSON", b"{\"name\": \"taro\"", "JSON の形式"),
        bad_body(
            "trailing garbage",
            b"{\"name\": \"taro\"} {}",
            "JSON の形式",
        ),
        bad_body("invalid UTF-8", b"{\"name\": \"\xff\xfe\"}", "JSON の形式"),
        bad_body(
            "a JSON array",
            b"[{\"name\": \"taro\"}]",
            "JSON オブジェクト",
        ),
        bad_body("a JSON string", b"\"hello\"", "JSON オブジェクト"),
        bad_body("JSON null", b"null", "JSON オブジェクト"),
        bad_body(
            "duplicate keys",
            b"{\"name\": \"a\", \"name\": \"b\"}",
            "2回送信",
        ),
    ];
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(1024 * 1024));
    cases.push(Bad {
        name: "1 MiB body",
        method: "POST",
        path: PATH,
        content_type: Some("application/json"),
        body: big.into_bytes(),
        extra_headers: vec![],
        status: 413,
        code: "payload_too_large",
        field: None,
        message: "大きすぎます",
    });
    for (name, content_type) in [
        (
            "form-encoded body",
            Some("application/x-www-form-urlencoded"),
        ),
        ("text/plain body", Some("text/plain")),
        ("no content type", None),
    ] {
        cases.push(Bad {
            name,
            method: "POST",
            path: PATH,
            content_type,
            body: valid().to_string().into_bytes(),
            extra_headers: vec![],
            status: 415,
            code: "unsupported_media_type",
            field: None,
            message: "application/json",
        });
    }
    for (name, method, path, status, code, message) in [
        (
            "PATCH",
            "PATCH",
            PATH,
            405,
            "method_not_allowed",
            "メソッド",
        ),
        ("PUT", "PUT", PATH, 405, "method_not_allowed", "メソッド"),
        (
            "DELETE",
            "DELETE",
            PATH,
            405,
            "method_not_allowed",
            "メソッド",
        ),
        (
            "unknown form",
            "POST",
            "/forms/nosuchform",
            404,
            "not_found",
            "見つかりません",
        ),
        (
            "no form name",
            "POST",
            "/forms/",
            404,
            "not_found",
            "見つかりません",
        ),
        (
            "path traversal",
            "POST",
            "/forms/../lookups/deals",
            404,
            "not_found",
            "見つかりません",
        ),
    ] {
        cases.push(Bad {
            name,
            method,
            path,
            content_type: Some("application/json"),
            body: valid().to_string().into_bytes(),
            extra_headers: vec![],
            status,
            code,
            field: None,
            message,
        });
    }
    cases.push(Bad {
        name: "bad idempotency key",
        method: "POST",
        path: PATH,
        content_type: Some("application/json"),
        body: valid().to_string().into_bytes(),
        extra_headers: vec![("idempotency-key", "short")],
        status: 400,
        code: "invalid_idempotency_key",
        field: None,
        message: "Idempotency-Key",
    });
    cases
}

#[tokio::test]
async fn every_bad_input_gets_its_4xx_and_message_and_no_kintone_call() {
    let h = seminar().await;
    let cases = bad_cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let mut headers: Vec<(&str, &str)> = vec![("origin", ORIGIN)];
        if let Some(content_type) = case.content_type {
            headers.push(("content-type", content_type));
        }
        headers.extend(case.extra_headers.iter().copied());
        let mut request = post(case.path, case.body.clone(), &headers);
        *request.method_mut() = case.method.parse().unwrap();
        let response = submit::handle(&h.relay, request).await.unwrap();
        let body = body_json(&response);
        let error = &body["error"];
        let mut problems = Vec::new();
        if response.status().as_u16() != case.status {
            problems.push(format!("status {}", response.status()));
        }
        if error["code"] != case.code {
            problems.push(format!("code {}", error["code"]));
        }
        if !error["message"]
            .as_str()
            .unwrap_or("")
            .contains(case.message)
        {
            problems.push(format!("message {}", error["message"]));
        }
        if let Some((field, message)) = case.field {
            let got = error["fields"][field].as_str().unwrap_or("");
            if !got.contains(message) {
                problems.push(format!("fields.{field} = {:?} in {}", got, error["fields"]));
            }
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}", case.name, problems.join(", ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(kintone_calls(&h), 0, "a bad request reached kintone");
    assert!(h.emulator.records(12).is_empty());
}

#[tokio::test]
async fn every_invalid_field_is_listed_at_once_in_english_when_asked() {
    let h = seminar().await;
    let mut request = post_json(
        PATH,
        &json!({"name": "", "email": "x", "session": "夜", "extra": 1, "consent": false}),
    );
    request
        .headers_mut()
        .insert("accept-language", "en-US,en;q=0.9".parse().unwrap());
    let response = submit::handle(&h.relay, request).await.unwrap();
    assert_eq!(response.status(), 400);
    let body = body_json(&response);
    let fields = body["error"]["fields"].as_object().unwrap();
    let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["consent", "email", "extra", "name", "session"]);
    assert_eq!(fields["name"], "This field is required.");
    assert_eq!(
        body["error"]["message"],
        "Please check the highlighted fields."
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed_so_the_token_goes_nowhere_else() {
    // kintone answers with a redirect to another host (a misconfigured proxy, say).
    let h = seminar().await;
    let target = format!("{}/k/v1/record.json", h.base_url);
    let redirector = axum::Router::new().fallback(move || {
        let target = target.clone();
        async move {
            (
                axum::http::StatusCode::TEMPORARY_REDIRECT,
                [("location", target)],
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, redirector).await });

    let config = seminar_config("").replace("{base_url}", &format!("http://{addr}"));
    let relay = harness(&config, &[("add", SEMINAR_ADD_TOKEN)]).await;
    let response = submit::handle(&relay.relay, post_json(PATH, &valid()))
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(body_json(&response)["error"]["code"], "misconfigured");
    assert!(
        h.emulator.requests().is_empty(),
        "the token followed the redirect"
    );
}

#[tokio::test]
async fn get_describes_the_form_for_pages_without_calling_kintone() {
    let h = seminar().await;
    let response = submit::handle(&h.relay, request("GET", PATH, &[("origin", ORIGIN)]))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "cache-control"),
        Some("public, max-age=60")
    );
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some(ORIGIN)
    );
    let body = body_json(&response);
    assert_eq!(body["form"], "seminar");
    assert_eq!(body["fields"][0]["name"], "name");
    assert_eq!(body["fields"][0]["required"], true);
    assert!(!body.to_string().contains("氏名"), "no field code: {body}");
    let foreign = request("GET", PATH, &[("origin", "https://evil.example")]);
    assert_eq!(
        submit::handle(&h.relay, foreign).await.unwrap().status(),
        403
    );
    let put = request("PUT", PATH, &[("origin", ORIGIN)]);
    let response = submit::handle(&h.relay, put).await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(header(&response, "allow"), Some("GET, POST, OPTIONS"));
    assert_eq!(kintone_calls(&h), 0);
}
