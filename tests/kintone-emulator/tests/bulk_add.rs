//! `POST /k/v1/records.json` (batch add) and lookup fields, as the fact sheet (§1.2, §7)
//! describes them: at most 100 records, all or nothing, error keys `records[<i>].<code>.value`,
//! unique values refused within the batch and against stored records; a lookup value missing
//! from its datasource refused with `GAIA_LO04`, quoting the value.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use kintone_emulator::{App, Emulator, Field, FieldType, Permission};
use serde_json::{Value, json};
use tower::ServiceExt;

const ADD: &str = "bulkAddToken";

fn emulator() -> Emulator {
    let emu = Emulator::new();
    emu.add_app(App {
        id: 1,
        guest_space: None,
        fields: vec![
            Field::new("name", FieldType::SingleLineText)
                .required()
                .max_length(5),
            Field::new("receipt", FieldType::SingleLineText).unique(),
            Field::new("customer", FieldType::SingleLineText).lookup(&["C-1"]),
        ],
    });
    emu.add_token(ADD, 1, &[Permission::Add]);
    emu
}

async fn add_records(emu: &Emulator, records: Vec<Value>) -> (u16, Value) {
    let body = json!({ "app": 1, "records": records });
    let request = Request::builder()
        .method("POST")
        .uri("/k/v1/records.json")
        .header("X-Cybozu-API-Token", ADD)
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let response = emu.router().oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn record(name: &str, receipt: &str) -> Value {
    json!({ "name": { "value": name }, "receipt": { "value": receipt } })
}

#[tokio::test]
async fn a_batch_is_added_in_order_and_returns_ids_and_revisions() {
    let emu = emulator();
    let (status, body) = add_records(&emu, vec![record("a", "R1"), record("b", "R2")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ids"], json!(["1", "2"]));
    assert_eq!(body["revisions"], json!(["1", "1"]));
    assert_eq!(emu.records(1).len(), 2);
}

#[tokio::test]
async fn one_bad_record_refuses_the_whole_batch_naming_its_index() {
    let emu = emulator();
    let (status, body) = add_records(
        &emu,
        vec![record("a", "R1"), record("toolong", "R2"), record("", "R3")],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "CB_VA01");
    let keys: Vec<&String> = body["errors"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["records[1].name.value", "records[2].name.value"]);
    assert!(emu.records(1).is_empty(), "all or nothing");
}

#[tokio::test]
async fn unique_values_are_refused_within_the_batch_and_against_stored_records() {
    let emu = emulator();
    assert_eq!(add_records(&emu, vec![record("a", "R1")]).await.0, 200);
    let (status, body) = add_records(
        &emu,
        vec![record("b", "R2"), record("c", "R1"), record("d", "R2")],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let keys: Vec<&String> = body["errors"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["records[1].receipt.value", "records[2].receipt.value"]
    );
    assert_eq!(emu.records(1).len(), 1);
}

#[tokio::test]
async fn more_than_a_hundred_records_are_refused() {
    let emu = emulator();
    let records = (0..101).map(|i| record("a", &format!("R{i}"))).collect();
    let (status, body) = add_records(&emu, records).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["errors"]["records"]["messages"][0]
            .as_str()
            .unwrap()
            .contains("100")
    );
    let records = (0..100).map(|i| record("a", &format!("R{i}"))).collect();
    assert_eq!(add_records(&emu, records).await.0, 200);
}

#[tokio::test]
async fn a_lookup_value_missing_from_its_datasource_is_gaia_lo04() {
    let emu = emulator();
    let mut missing = record("a", "R1");
    missing["customer"] = json!({ "value": "C-9" });
    let (status, body) = add_records(&emu, vec![missing]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "GAIA_LO04");
    assert!(body.get("errors").is_none());
    assert!(body["message"].as_str().unwrap().contains("C-9"));
    let mut present = record("a", "R1");
    present["customer"] = json!({ "value": "C-1" });
    assert_eq!(add_records(&emu, vec![present]).await.0, 200);
}
