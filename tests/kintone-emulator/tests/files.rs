//! Files (fact sheet §1.5): upload to temporary storage, attach on record add, download by the
//! record's own key, with the permissions and error codes of the fact sheet.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use kintone_emulator::{App, Emulator, Field, FieldType, Permission};
use serde_json::{Value, json};
use tower::ServiceExt;

const ADD: &str = "addToken";
const VIEW: &str = "viewToken";
const OTHER_APP: &str = "otherAppToken";
const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n%%EOF\n";

struct Answer {
    status: u16,
    content_type: String,
    bytes: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.bytes)))
    }

    #[track_caller]
    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (
                self.status,
                self.json()["code"].as_str().unwrap_or_default()
            ),
            (status, code),
            "{}",
            String::from_utf8_lossy(&self.bytes)
        );
    }
}

async fn send(emu: &Emulator, req: Request<Body>) -> Answer {
    let response = emu.router().oneshot(req).await.expect("infallible");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Answer {
        status,
        content_type,
        bytes: bytes.to_vec(),
    }
}

fn emulator() -> Emulator {
    let emu = Emulator::new();
    emu.add_app(App {
        id: 1,
        guest_space: None,
        fields: vec![
            Field::new("name", FieldType::SingleLineText),
            Field::new("cv", FieldType::File),
        ],
    });
    emu.add_app(App {
        id: 2,
        guest_space: None,
        fields: vec![Field::new("t", FieldType::SingleLineText)],
    });
    emu.add_token(ADD, 1, &[Permission::Add]);
    emu.add_token(VIEW, 1, &[Permission::View]);
    emu.add_token(OTHER_APP, 2, &[Permission::View, Permission::Add]);
    emu
}

fn multipart(name: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----relayBoundary7MA4YWxkTrZu0gW";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(emu: &Emulator, token: &str, name: &str, bytes: &[u8]) -> Answer {
    let (content_type, body) = multipart(name, "application/pdf", bytes);
    let req = Request::builder()
        .method("POST")
        .uri("/k/v1/file.json")
        .header("X-Cybozu-API-Token", token)
        .header("Content-Type", content_type)
        .body(Body::from(body))
        .expect("request");
    send(emu, req).await
}

async fn add(emu: &Emulator, record: Value) -> Answer {
    let body = json!({ "app": 1, "record": record });
    let req = Request::builder()
        .method("POST")
        .uri("/k/v1/record.json")
        .header("X-Cybozu-API-Token", ADD)
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    send(emu, req).await
}

async fn download(emu: &Emulator, token: &str, key: &str) -> Answer {
    let req = Request::builder()
        .method("GET")
        .uri(format!("/k/v1/file.json?fileKey={key}"))
        .header("X-Cybozu-API-Token", token)
        .body(Body::empty())
        .expect("request");
    send(emu, req).await
}

#[tokio::test]
async fn upload_attach_and_download_keep_the_bytes_and_the_japanese_name() {
    let emu = emulator();
    // Upload needs no permission beyond a valid token (fact sheet §1.5).
    let uploaded = upload(&emu, ADD, "履歴書.pdf", PDF).await;
    assert_eq!(uploaded.status, 200);
    let upload_key = uploaded.json()["fileKey"].as_str().unwrap().to_owned();
    assert_eq!(upload_key.len(), 36, "UUID-like: {upload_key}");
    assert_eq!(emu.uploads().len(), 1);

    // An upload key downloads nothing: the two kinds of key differ.
    download(&emu, VIEW, &upload_key)
        .await
        .assert_error(404, "GAIA_BL01");

    let added = add(
        &emu,
        json!({"name": {"value": "山田"}, "cv": {"value": [{"fileKey": upload_key}]}}),
    )
    .await;
    assert_eq!(added.status, 200, "{:?}", added.json());
    assert!(emu.uploads().is_empty(), "the upload was attached");
    let record = &emu.records(1)[0];
    let files = record["cv"]["value"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(record["cv"]["type"], "FILE");
    assert_eq!(files[0]["name"], "履歴書.pdf");
    assert_eq!(files[0]["size"], PDF.len().to_string());
    assert_eq!(files[0]["contentType"], "application/pdf");
    let record_key = files[0]["fileKey"].as_str().unwrap().to_owned();
    assert_ne!(record_key, upload_key);

    let got = download(&emu, VIEW, &record_key).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.content_type, "application/pdf");
    assert_eq!(got.bytes, PDF);

    // The same upload key cannot be attached again.
    add(&emu, json!({"cv": {"value": [{"fileKey": upload_key}]}}))
        .await
        .assert_error(404, "GAIA_BL01");
}

#[tokio::test]
async fn downloads_need_view_on_the_files_app() {
    let emu = emulator();
    let key = emu.insert_file(1, "q.pdf", "application/pdf", PDF);
    download(&emu, ADD, &key)
        .await
        .assert_error(403, "GAIA_NO01");
    download(&emu, OTHER_APP, &key)
        .await
        .assert_error(403, "GAIA_NO01");
    download(&emu, "unknownToken", &key)
        .await
        .assert_error(400, "GAIA_IA02");
    download(&emu, VIEW, "20120206115558NOPE")
        .await
        .assert_error(404, "GAIA_BL01");
    assert_eq!(download(&emu, VIEW, &key).await.bytes, PDF);
    // Without a token: 401 CB_AU01.
    let req = Request::builder()
        .method("GET")
        .uri(format!("/k/v1/file.json?fileKey={key}"))
        .body(Body::empty())
        .expect("request");
    send(&emu, req).await.assert_error(401, "CB_AU01");
}

#[tokio::test]
async fn unknown_expired_or_malformed_uploads_are_refused() {
    let emu = emulator();
    add(
        &emu,
        json!({"cv": {"value": [{"fileKey": "c15b3870-0000-0000-0000-000000000000"}]}}),
    )
    .await
    .assert_error(404, "GAIA_BL01");
    let key = upload(&emu, ADD, "a.pdf", PDF).await.json()["fileKey"]
        .as_str()
        .unwrap()
        .to_owned();
    emu.expire_uploads();
    add(&emu, json!({"cv": {"value": [{"fileKey": key}]}}))
        .await
        .assert_error(404, "GAIA_BL01");
    assert!(emu.records(1).is_empty(), "a refused add stores nothing");

    // Not multipart, or no part named "file": CB_VA01.
    let req = Request::builder()
        .method("POST")
        .uri("/k/v1/file.json")
        .header("X-Cybozu-API-Token", ADD)
        .header("Content-Type", "application/pdf")
        .body(Body::from(PDF))
        .expect("request");
    send(&emu, req).await.assert_error(400, "CB_VA01");
    // Upload without any token: 401.
    let (content_type, body) = multipart("a.pdf", "application/pdf", PDF);
    let req = Request::builder()
        .method("POST")
        .uri("/k/v1/file.json")
        .header("Content-Type", content_type)
        .body(Body::from(body))
        .expect("request");
    send(&emu, req).await.assert_error(401, "CB_AU01");
}

#[tokio::test]
async fn a_batch_with_one_unknown_upload_attaches_nothing() {
    let emu = emulator();
    let key = upload(&emu, ADD, "a.pdf", PDF).await.json()["fileKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({"app": 1, "records": [
        {"cv": {"value": [{"fileKey": key}]}},
        {"cv": {"value": [{"fileKey": "nope"}]}},
    ]});
    let req = Request::builder()
        .method("POST")
        .uri("/k/v1/records.json")
        .header("X-Cybozu-API-Token", ADD)
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    send(&emu, req).await.assert_error(404, "GAIA_BL01");
    assert_eq!(emu.uploads().len(), 1, "the good upload is still there");
    assert!(emu.records(1).is_empty());
}
