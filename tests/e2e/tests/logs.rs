//! No log line carries a token or a value someone typed; the lines still say what happened.

use std::io::Write;
use std::sync::{Arc, Mutex};

use relay_e2e::*;
use serde_json::json;

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

#[tokio::test]
async fn logs_name_forms_and_outcomes_but_never_tokens_or_typed_values() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let typed = [
        "秘密太郎",
        "secret.person@example.jp",
        "090-9999-8888",
        "内緒の質問です",
        "秘密商事",
        "P-00X",
        "D-4242",
        "leaked.as.a.key@example.jp",
    ];
    let submit = harness(&seminar_config(""), &[("add", SEMINAR_ADD_TOKEN)]).await;
    let form = json!({"name": typed[0], "email": typed[1], "phone": typed[2], "question": typed[3],
                      "session": "午後の部", "consent": true});
    let created = submit::handle(&submit.relay, post_json("/forms/seminar", &form))
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let receipt = body_json(&created)["receipt"].as_str().unwrap().to_owned();
    let mut invalid = form.clone();
    invalid["email"] = json!(format!("{} at home", typed[1]));
    invalid[typed[7]] = json!("x");
    let refused = submit::handle(&submit.relay, post_json("/forms/seminar", &invalid))
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);

    let lookup = harness(&deals_config(""), &[("view", DEALS_VIEW_TOKEN)]).await;
    let ask = |body: serde_json::Value| {
        post(
            "/lookups/deals",
            body.to_string(),
            &[
                ("content-type", "application/json"),
                ("origin", PARTNER_ORIGIN),
            ],
        )
    };
    let miss = lookup::handle(
        &lookup.relay,
        ask(json!({"partner_id": typed[5], "partner_name": typed[4], "deal_id": typed[6]})),
    )
    .await
    .unwrap();
    assert_eq!(miss.status(), 404);
    let hit = lookup::handle(
        &lookup.relay,
        ask(json!({"partner_id": "P-001", "partner_name": "山田商事", "deal_id": "D-1001"})),
    )
    .await
    .unwrap();
    assert_eq!(hit.status(), 200);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for needle in [
        "\"endpoint\":\"form\"",
        "\"name\":\"seminar\"",
        "\"outcome\":\"created\"",
        "\"outcome\":\"invalid_input\"",
        "\"endpoint\":\"lookup\"",
        "\"name\":\"deals\"",
        "\"outcome\":\"not_found\"",
        "\"outcome\":\"found\"",
    ] {
        assert!(
            logs.contains(needle),
            "{needle} missing from the logs:\n{logs}"
        );
    }
    let secrets = [
        SEMINAR_ADD_TOKEN,
        DEALS_VIEW_TOKEN,
        receipt.as_str(),
        "山田商事",
        "D-1001",
    ];
    for value in typed.iter().chain(secrets.iter()) {
        assert!(
            !logs.contains(value),
            "{value:?} leaked into the logs:\n{logs}"
        );
    }
}
