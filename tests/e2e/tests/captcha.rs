//! Captchas on forms: the widget's token in `X-Captcha-Token`, checked at the provider's
//! siteverify endpoint, here a fake provider on loopback (`RELAY_CAPTCHA_VERIFY_URL` in a
//! deployment; the verifier's override in these tests).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, State};
use axum::routing::post as route_post;
use axum::{Json, Router};
use relay_e2e::*;
use relay_shared::captcha::CaptchaVerifier;
use relay_shared::relay::Relay;
use serde_json::{Value, json};

const FORM: &str = "/forms/seminar";
const PROVIDER_SECRET: &str = "0x4AAAAAAAprovider-secret-key";
const GOOD: &str = "a-token-the-provider-accepts";

type Seen = Arc<Mutex<Vec<HashMap<String, String>>>>;

/// A provider that accepts GOOD once (its tokens are single-use), says the relay's secret is
/// wrong for "ours-is-wrong", answers 500 for "provider-down", and refuses anything else.
async fn fake_provider() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let used = Arc::new(Mutex::new(false));
    let app = Router::new()
        .route(
            "/siteverify",
            route_post(
                |State((seen, used)): State<(Seen, Arc<Mutex<bool>>)>,
                 Form(fields): Form<HashMap<String, String>>| async move {
                    let token = fields.get("response").cloned().unwrap_or_default();
                    let secret_ok =
                        fields.get("secret").map(String::as_str) == Some(PROVIDER_SECRET);
                    seen.lock().unwrap().push(fields);
                    let verdict = match token.as_str() {
                        "provider-down" => {
                            return Err(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
                        }
                        "ours-is-wrong" => {
                            json!({"success": false, "error-codes": ["invalid-input-secret"]})
                        }
                        GOOD if secret_ok
                            && !std::mem::replace(&mut *used.lock().unwrap(), true) =>
                        {
                            json!({"success": true})
                        }
                        GOOD => json!({"success": false, "error-codes": ["timeout-or-duplicate"]}),
                        _ => json!({"success": false, "error-codes": ["invalid-input-response"]}),
                    };
                    Ok(Json(verdict))
                },
            ),
        )
        .with_state((seen.clone(), used));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/siteverify"), seen)
}

async fn seminar_with_captcha(verify_url: &str) -> (Harness, Relay) {
    let form = SEMINAR_FIXTURE.replace(
        "max_body_bytes = 65536",
        "max_body_bytes = 65536\ncaptcha = { provider = \"turnstile\", secret = \"{secret:captcha}\", site_key = \"0x4AAAAAAAsite-key\" }",
    );
    assert_ne!(
        form, SEMINAR_FIXTURE,
        "the fixture still has max_body_bytes"
    );
    let config = config_with("", &[&form]);
    let h = harness(
        &config,
        &[("add", SEMINAR_ADD_TOKEN), ("captcha", PROVIDER_SECRET)],
    )
    .await;
    let relay = h
        .another_relay()
        .with_captcha(CaptchaVerifier::new(Some(verify_url.to_owned())).unwrap());
    (h, relay)
}

fn application(name: &str) -> Value {
    json!({"name": name, "email": "a@example.jp", "session": "午前の部", "consent": true})
}

fn send(body: &Value, token: Option<&str>) -> lambda_http::Request {
    let mut request = from_address(post_json(FORM, body), "198.51.100.61");
    if let Some(token) = token {
        request
            .headers_mut()
            .insert("x-captcha-token", token.parse().unwrap());
    }
    request
}

#[tokio::test]
async fn the_description_names_the_provider_and_the_public_site_key_only() {
    let (url, _) = fake_provider().await;
    let (_h, relay) = seminar_with_captcha(&url).await;
    let described = submit::handle(&relay, request("GET", FORM, &[("origin", ORIGIN)]))
        .await
        .unwrap();
    assert_eq!(described.status(), 200);
    let body = body_json(&described);
    assert_eq!(
        body["captcha"],
        json!({"provider": "turnstile", "site_key": "0x4AAAAAAAsite-key"})
    );
    assert!(!body.to_string().contains(PROVIDER_SECRET));
}

#[tokio::test]
async fn a_verified_token_stores_the_record_and_the_provider_gets_secret_token_and_address() {
    let (url, seen) = fake_provider().await;
    let (h, relay) = seminar_with_captcha(&url).await;
    let response = submit::handle(&relay, send(&application("確認 一郎"), Some(GOOD)))
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", body_json(&response));
    assert_eq!(h.emulator.records(12).len(), 1);
    let asked = seen.lock().unwrap().clone();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0]["secret"], PROVIDER_SECRET);
    assert_eq!(asked[0]["response"], GOOD);
    assert_eq!(asked[0]["remoteip"], "198.51.100.61");
}

#[tokio::test]
async fn a_missing_refused_or_reused_token_is_400_captcha_failed_and_stores_nothing() {
    let (url, seen) = fake_provider().await;
    let (h, relay) = seminar_with_captcha(&url).await;
    assert_eq!(
        submit::handle(&relay, send(&application("一度目"), Some(GOOD)))
            .await
            .unwrap()
            .status(),
        201
    );
    for (label, token) in [
        ("missing", None),
        ("empty", Some(" ")),
        ("refused", Some("made-up")),
        ("reused", Some(GOOD)),
    ] {
        let response = submit::handle(&relay, send(&application("ボット"), token))
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{label}");
        let body = body_json(&response);
        assert_eq!(body["error"]["code"], "captcha_failed", "{label}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("確認"),
            "{label}"
        );
    }
    assert_eq!(h.emulator.records(12).len(), 1, "only the first is stored");
    assert_eq!(
        seen.lock().unwrap().len(),
        3,
        "a missing token never reaches the provider"
    );
}

#[tokio::test]
async fn invalid_inputs_are_answered_before_the_single_use_token_is_spent() {
    let (url, seen) = fake_provider().await;
    let (h, relay) = seminar_with_captcha(&url).await;
    let typo =
        json!({"name": "山田", "email": "not an address", "session": "午前の部", "consent": true});
    let response = submit::handle(&relay, send(&typo, Some(GOOD)))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(body_json(&response)["error"]["code"], "invalid_input");
    assert!(seen.lock().unwrap().is_empty());
    let fixed = submit::handle(&relay, send(&application("山田"), Some(GOOD)))
        .await
        .unwrap();
    assert_eq!(fixed.status(), 201);
    assert_eq!(h.emulator.records(12).len(), 1);
}

#[tokio::test]
async fn a_provider_that_cannot_answer_is_503_and_a_refused_secret_is_500() {
    let (url, _) = fake_provider().await;
    let (h, relay) = seminar_with_captcha(&url).await;
    let down = submit::handle(&relay, send(&application("障害"), Some("provider-down")))
        .await
        .unwrap();
    assert_eq!(down.status(), 503);
    assert!(header(&down, "retry-after").is_some());
    let ours = submit::handle(&relay, send(&application("設定"), Some("ours-is-wrong")))
        .await
        .unwrap();
    assert_eq!(ours.status(), 500);
    assert_eq!(body_json(&ours)["error"]["code"], "misconfigured");
    // Nothing listens on port 9 of loopback (discard): the provider cannot be reached.
    let (_h2, unreachable) = seminar_with_captcha("http://127.0.0.1:9/siteverify").await;
    let response = submit::handle(&unreachable, send(&application("不通"), Some(GOOD)))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(h.emulator.records(12).is_empty());
}

#[tokio::test]
async fn the_honeypot_still_answers_bots_without_asking_the_provider() {
    let (url, seen) = fake_provider().await;
    let (h, relay) = seminar_with_captcha(&url).await;
    let mut bot = application("bot");
    bot["website"] = json!("https://spam.example");
    let response = submit::handle(&relay, send(&bot, None)).await.unwrap();
    assert_eq!(response.status(), 201);
    assert!(seen.lock().unwrap().is_empty());
    assert!(h.emulator.records(12).is_empty());
}
