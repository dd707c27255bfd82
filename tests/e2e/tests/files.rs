//! Attachments end to end (issue 18): uploads on a form, sealed handles on submit, and
//! downloads on a lookup authorised by running the lookup again, against the emulator's file
//! API and moto's Secrets Manager.

use std::time::{Duration, SystemTime};

use kintone_emulator::{App, Emulator, Field, FieldType, Permission};
use relay_e2e::*;
use relay_shared::files::handle::{self, HandleKey, UploadKey};
use relay_shared::secrets::HashKey;
use serde_json::{Value, json};

const JOBS_APP: u64 = 56;
const QUOTES_APP: u64 = 78;
const JOBS_ADD_TOKEN: &str = "jobsAddToken0000000000000000000000000000";
const QUOTES_VIEW_TOKEN: &str = "quotesViewToken0000000000000000000000000";
const LIMITS_KEY: &str = "files-e2e-limits-key-0123456789abcdef";

const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
/// The start of a Windows executable.
const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0\0\0\0\0\0\0@\0\0\0This program cannot be run in DOS mode.";

const CONFIG: &str = r#"
[limits]
key_secret = "{secret:limits}"

[forms.jobs]
app = 56
token_secret = "{secret:jobs}"
allowed_origins = ["https://www.example.jp"]

[forms.jobs.fields.name]
kintone = "氏名"
type = "text"
required = true

[forms.jobs.fields.cv]
kintone = "履歴書"
type = "file"
required = true
max_files = 2

[forms.jobs.fields.photo]
kintone = "写真"
type = "file"
accept = ["image/png"]

[forms.other]
app = 56
token_secret = "{secret:jobs}"
allowed_origins = ["https://www.example.jp"]

[forms.other.fields.cv]
kintone = "履歴書"
type = "file"

[lookups.quotes]
app = 78
token_secret = "{secret:quotes}"
allowed_origins = ["https://partner.example.jp"]
key    = { input = "partner_id", kintone = "担当ID" }
verify = [ { input = "partner_name", kintone = "担当名" } ]
expires_field = "公開期限"
order_by = "取引ID asc"

[lookups.quotes.outputs]
deal = "取引ID"
quote = { kintone = "見積書", shape = "files" }
"#;

struct Files {
    h: Harness,
    /// The record file keys of the seeded quotes: D-1 (P-001), D-2 (P-001, expired),
    /// D-3 (P-002).
    quote_keys: [String; 3],
}

async fn files() -> Files {
    let emu = Emulator::new();
    emu.add_app(App {
        id: JOBS_APP,
        guest_space: None,
        fields: vec![
            Field::new("氏名", FieldType::SingleLineText).required(),
            Field::new("履歴書", FieldType::File).required(),
            Field::new("写真", FieldType::File),
        ],
    });
    emu.add_token(JOBS_ADD_TOKEN, JOBS_APP, &[Permission::Add]);
    emu.add_app(App {
        id: QUOTES_APP,
        guest_space: None,
        fields: vec![
            Field::new("担当ID", FieldType::SingleLineText),
            Field::new("担当名", FieldType::SingleLineText),
            Field::new("取引ID", FieldType::SingleLineText).unique(),
            Field::new("見積書", FieldType::File),
            Field::new("公開期限", FieldType::Date),
        ],
    });
    emu.add_token(QUOTES_VIEW_TOKEN, QUOTES_APP, &[Permission::View]);
    let seeds = [
        ("P-001", "山田商事", "D-1", "2099-12-31", "見積書 第1版.pdf"),
        ("P-001", "山田商事", "D-2", "2020-01-01", "expired.pdf"),
        ("P-002", "佐藤工業", "D-3", "2099-12-31", "sato.pdf"),
    ];
    let quote_keys = seeds.map(|(partner, name, deal, until, file)| {
        let key = emu.insert_file(QUOTES_APP, file, "application/pdf", PDF);
        emu.insert_record(
            QUOTES_APP,
            json!({
                "担当ID": {"value": partner},
                "担当名": {"value": name},
                "取引ID": {"value": deal},
                "公開期限": {"value": until},
                "見積書": {"value": [{
                    "fileKey": key, "name": file, "contentType": "application/pdf",
                    "size": PDF.len().to_string()
                }]},
            }),
        );
        key
    });
    let h = harness_with(
        emu,
        &config_with("", &[CONFIG]),
        &[
            ("jobs", JOBS_ADD_TOKEN),
            ("quotes", QUOTES_VIEW_TOKEN),
            ("limits", LIMITS_KEY),
        ],
    )
    .await;
    Files { h, quote_keys }
}

/// `encodeURIComponent`, as the page sends the name.
fn encode_uri_component(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn upload_request(
    path: &str,
    name: &str,
    content_type: &str,
    bytes: &[u8],
) -> lambda_http::Request {
    let encoded = encode_uri_component(name);
    post(
        path,
        bytes.to_vec(),
        &[
            ("content-type", content_type),
            ("origin", ORIGIN),
            ("x-file-name", &encoded),
        ],
    )
}

async fn upload(
    h: &Harness,
    path: &str,
    name: &str,
    bytes: &[u8],
) -> lambda_http::Response<lambda_http::Body> {
    submit::handle(
        &h.relay,
        upload_request(path, name, "application/pdf", bytes),
    )
    .await
    .unwrap()
}

async fn handle_of(h: &Harness, path: &str, name: &str, bytes: &[u8]) -> String {
    let response = upload(h, path, name, bytes).await;
    assert_eq!(response.status(), 201, "{}", body_json(&response));
    body_json(&response)["file"]
        .as_str()
        .expect("a handle")
        .to_owned()
}

async fn submit_jobs(h: &Harness, body: &Value) -> lambda_http::Response<lambda_http::Body> {
    submit::handle(&h.relay, post_json("/forms/jobs", body))
        .await
        .unwrap()
}

#[tokio::test]
async fn an_uploaded_pdf_lands_in_the_record_and_its_key_never_reaches_the_browser() {
    let Files { h, .. } = files().await;
    let response = upload(&h, "/forms/jobs/files/cv", "履歴書 山田.pdf", PDF).await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some(ORIGIN)
    );
    let body = body_json(&response);
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    let handle = body["file"].as_str().unwrap().to_owned();

    let uploads = h.emulator.uploads();
    assert_eq!(uploads.len(), 1);
    let (upload_key, stored) = &uploads[0];
    assert_eq!(
        stored.name, "履歴書 山田.pdf",
        "the Japanese name reaches kintone"
    );
    assert_eq!(stored.content_type, "application/pdf");
    assert_eq!(stored.bytes, PDF);
    assert!(!handle.contains(upload_key.as_str()), "{handle}");
    let upload_call = &h.emulator.requests()[0];
    assert_eq!(upload_call.path, "/k/v1/file.json");
    assert_eq!(upload_call.api_tokens, vec![JOBS_ADD_TOKEN.to_owned()]);

    let response = submit_jobs(&h, &json!({"name": "山田 太郎", "cv": [handle]})).await;
    assert_eq!(response.status(), 201, "{}", body_json(&response));
    let records = h.emulator.records(JOBS_APP);
    assert_eq!(records.len(), 1);
    let files = records[0]["履歴書"]["value"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["name"], "履歴書 山田.pdf");
    assert_eq!(files[0]["contentType"], "application/pdf");
    assert_eq!(files[0]["size"], PDF.len().to_string());
    let record_key = files[0]["fileKey"].as_str().unwrap();
    assert_eq!(h.emulator.file(record_key).unwrap().bytes, PDF);
    let add = h.emulator.requests().pop().unwrap();
    assert_eq!(
        add.body.unwrap()["record"]["履歴書"],
        json!({"value": [{"fileKey": upload_key}]})
    );
}

#[tokio::test]
async fn an_executable_labelled_pdf_is_refused_without_reaching_kintone() {
    let Files { h, .. } = files().await;
    let response = upload(&h, "/forms/jobs/files/cv", "cv.pdf", EXE).await;
    assert_eq!(response.status(), 400);
    let body = body_json(&response);
    assert_eq!(body["error"]["code"], "invalid_input");
    assert!(body["error"]["fields"]["cv"].is_string(), "{body}");
    // A PNG is a real image, but this input takes PDF, PNG and JPEG; photo takes PNG only.
    let response = upload(&h, "/forms/jobs/files/photo", "photo.png", PDF).await;
    assert_eq!(response.status(), 400);
    assert!(body_json(&response)["error"]["fields"]["photo"].is_string());
    assert!(h.emulator.requests().is_empty(), "no kintone call");
    assert!(h.emulator.uploads().is_empty());

    // No name, a bad name, an empty file, a file over max_bytes, an input that is not a file.
    let no_name = post(
        "/forms/jobs/files/cv",
        PDF.to_vec(),
        &[("content-type", "application/pdf"), ("origin", ORIGIN)],
    );
    let response = submit::handle(&h.relay, no_name).await.unwrap();
    assert_eq!(response.status(), 400);
    let response = upload(&h, "/forms/jobs/files/cv", "../etc/passwd", PDF).await;
    assert_eq!(response.status(), 400);
    let response = upload(&h, "/forms/jobs/files/cv", "empty.pdf", b"").await;
    assert_eq!(response.status(), 400);
    let big = [PDF, &vec![b' '; 4 * 1024 * 1024]].concat();
    let response = upload(&h, "/forms/jobs/files/cv", "big.pdf", &big).await;
    assert_eq!(response.status(), 413);
    let response = upload(&h, "/forms/jobs/files/name", "cv.pdf", PDF).await;
    assert_eq!(response.status(), 404);
    // Another origin.
    let mut request = upload_request("/forms/jobs/files/cv", "cv.pdf", "application/pdf", PDF);
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    let response = submit::handle(&h.relay, request).await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(h.emulator.requests().is_empty(), "no kintone call");
}

#[tokio::test]
async fn handles_from_another_form_or_input_expired_or_changed_are_refused() {
    let Files { h, .. } = files().await;
    let other_form = handle_of(&h, "/forms/other/files/cv", "a.pdf", PDF).await;
    let other_input = handle_of(&h, "/forms/jobs/files/photo", "p.png", PNG).await;
    let good = handle_of(&h, "/forms/jobs/files/cv", "cv.pdf", PDF).await;
    let key = HandleKey::derive(&HashKey::new(LIMITS_KEY.as_bytes()));
    let expired = handle::seal(
        &key,
        "jobs",
        "cv",
        UploadKey(h.emulator.uploads()[0].0.clone()),
        PDF.len() as u64,
        SystemTime::now() - handle::HANDLE_LIFE - Duration::from_secs(60),
    )
    .unwrap();
    let mut changed = good.clone().into_bytes();
    let last = changed.len() - 5;
    changed[last] = if changed[last] == b'A' { b'B' } else { b'A' };
    let changed = String::from_utf8(changed).unwrap();
    let calls_before = h.emulator.requests().len();

    for (what, handle) in [
        ("another form", other_form.as_str()),
        ("another input", other_input.as_str()),
        ("expired", expired.as_str()),
        ("one byte changed", changed.as_str()),
        (
            "made up",
            "f1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ),
    ] {
        let response = submit_jobs(&h, &json!({"name": "山田", "cv": [handle]})).await;
        assert_eq!(response.status(), 400, "{what}");
        let body = body_json(&response);
        assert_eq!(body["error"]["code"], "invalid_input", "{what}");
        let fields = body["error"]["fields"].as_object().unwrap();
        assert_eq!(fields.keys().collect::<Vec<_>>(), ["cv"], "{what}: {body}");
    }
    // The same file twice, more files than max_files, not a list.
    for cv in [json!([good, good]), json!([good, good, good]), json!(good)] {
        let response = submit_jobs(&h, &json!({"name": "山田", "cv": cv})).await;
        assert_eq!(response.status(), 400, "{cv}");
    }
    assert_eq!(h.emulator.requests().len(), calls_before, "no record add");
    assert!(h.emulator.records(JOBS_APP).is_empty());

    // The genuine handle still works, once kintone has the upload.
    let response = submit_jobs(&h, &json!({"name": "山田", "cv": [good]})).await;
    assert_eq!(response.status(), 201, "{}", body_json(&response));
}

#[tokio::test]
async fn an_upload_kintone_no_longer_keeps_asks_for_the_file_again() {
    let Files { h, .. } = files().await;
    let good = handle_of(&h, "/forms/jobs/files/cv", "cv.pdf", PDF).await;
    h.emulator.expire_uploads();
    let response = submit_jobs(&h, &json!({"name": "山田", "cv": [good]})).await;
    assert_eq!(response.status(), 400, "{}", body_json(&response));
    assert!(body_json(&response)["error"]["fields"]["cv"].is_string());
}

fn ask(path: &str, body: &Value) -> lambda_http::Request {
    post(
        path,
        body.to_string(),
        &[
            ("content-type", "application/json"),
            ("origin", PARTNER_ORIGIN),
        ],
    )
}

fn choice(mut inputs: Value, record: usize, output: &str, file: usize) -> Value {
    inputs["record"] = json!(record);
    inputs["output"] = json!(output);
    inputs["file"] = json!(file);
    inputs
}

fn yamada() -> Value {
    json!({"partner_id": "P-001", "partner_name": "山田商事"})
}

fn file_calls(h: &Harness) -> usize {
    h.emulator
        .requests()
        .iter()
        .filter(|r| r.path == "/k/v1/file.json")
        .count()
}

#[tokio::test]
async fn a_download_with_the_right_inputs_returns_the_exact_bytes_and_safe_headers() {
    let Files { h, quote_keys } = files().await;
    // The lookup lists the file without its key.
    let response = lookup::handle(&h.relay, ask("/lookups/quotes", &yamada()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let listed = body_json(&response);
    assert_eq!(
        listed["records"],
        json!([{"deal": "D-1", "quote": [{"name": "見積書 第1版.pdf", "size": PDF.len().to_string(), "contentType": "application/pdf"}]}])
    );
    assert!(!listed.to_string().contains(&quote_keys[0]));

    let response = lookup::handle(
        &h.relay,
        ask("/lookups/quotes/files", &choice(yamada(), 0, "quote", 0)),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let bytes: &[u8] = response.body().as_ref();
    assert_eq!(bytes, PDF);
    assert!(matches!(response.body(), lambda_http::Body::Binary(_)));
    assert_eq!(header(&response, "content-type"), Some("application/pdf"));
    assert_eq!(
        header(&response, "content-disposition"),
        Some(
            "attachment; filename=\"___ _1_.pdf\"; filename*=UTF-8''%E8%A6%8B%E7%A9%8D%E6%9B%B8%20%E7%AC%AC1%E7%89%88.pdf"
        )
    );
    assert_eq!(header(&response, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    assert_eq!(
        header(&response, "content-security-policy"),
        Some("sandbox; default-src 'none'")
    );
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some(PARTNER_ORIGIN)
    );
    assert!(
        header(&response, "access-control-expose-headers")
            .is_some_and(|h| h.contains("Content-Disposition"))
    );
    // The lookup ran again, then the file came with the record's own key and the view token.
    let requests = h.emulator.requests();
    let (query, download) = (&requests[requests.len() - 2], &requests[requests.len() - 1]);
    assert_eq!(query.path, "/k/v1/records.json");
    assert_eq!(download.path, "/k/v1/file.json");
    assert_eq!(download.body.as_ref().unwrap()["fileKey"], quote_keys[0]);
    assert_eq!(download.api_tokens, vec![QUOTES_VIEW_TOKEN.to_owned()]);
}

#[tokio::test]
async fn every_miss_is_the_lookups_404_and_no_file_is_fetched() {
    let Files { h, quote_keys } = files().await;
    let wrong = json!({"partner_id": "P-001", "partner_name": "佐藤工業"});
    let miss = lookup::handle(&h.relay, ask("/lookups/quotes", &wrong))
        .await
        .unwrap();
    assert_eq!(miss.status(), 404);
    let miss_body = body_json(&miss);

    for (what, body) in [
        (
            "wrong corroborating field",
            choice(wrong.clone(), 0, "quote", 0),
        ),
        // D-2 is P-001's, but expired: the answer has only D-1 at index 0.
        ("expired record", choice(yamada(), 1, "quote", 0)),
        (
            "another partner's record",
            choice(
                json!({"partner_id": "P-002", "partner_name": "山田商事"}),
                0,
                "quote",
                0,
            ),
        ),
        // P-002's own inputs find only D-3: no index names P-001's D-1.
        (
            "another partner's record index",
            choice(
                json!({"partner_id": "P-002", "partner_name": "佐藤工業"}),
                1,
                "quote",
                0,
            ),
        ),
        ("record index out of range", choice(yamada(), 7, "quote", 0)),
        ("file index out of range", choice(yamada(), 0, "quote", 1)),
        (
            "an output that is not a file",
            choice(yamada(), 0, "deal", 0),
        ),
    ] {
        let response = lookup::handle(&h.relay, ask("/lookups/quotes/files", &body))
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{what}");
        assert_eq!(body_json(&response), miss_body, "{what}");
    }
    assert_eq!(file_calls(&h), 0, "no file call to kintone");

    // Malformed choices say nothing about records.
    for body in [
        yamada(),
        choice(yamada(), 0, "nope", 0),
        json!({"partner_id": "P-001", "partner_name": "山田商事", "record": "0", "output": "quote", "file": 0}),
        json!({"partner_id": "P-001", "partner_name": "山田商事", "record": -1, "output": "quote", "file": 0}),
    ] {
        let response = lookup::handle(&h.relay, ask("/lookups/quotes/files", &body))
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
    }
    // A lookup input missing: the lookup's own 400.
    let response = lookup::handle(
        &h.relay,
        ask(
            "/lookups/quotes/files",
            &choice(json!({"partner_id": "P-001"}), 0, "quote", 0),
        ),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(file_calls(&h), 0);

    // The file was removed from the record after the lookup listed it: the same 404, not a 500.
    h.emulator.remove_file(&quote_keys[0]);
    let response = lookup::handle(
        &h.relay,
        ask("/lookups/quotes/files", &choice(yamada(), 0, "quote", 0)),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(body_json(&response), miss_body);
    assert_eq!(file_calls(&h), 1);
}

#[tokio::test]
async fn a_file_too_large_for_a_lambda_response_is_a_413_without_a_download() {
    let Files { h, .. } = files().await;
    let big = [PDF, &vec![b' '; relay_shared::files::MAX_FILE_BYTES]].concat();
    let key = h
        .emulator
        .insert_file(QUOTES_APP, "big.pdf", "application/pdf", &big);
    h.emulator.insert_record(
        QUOTES_APP,
        json!({
            "担当ID": {"value": "P-009"}, "担当名": {"value": "大型商事"}, "取引ID": {"value": "D-9"},
            "公開期限": {"value": "2099-12-31"},
            "見積書": {"value": [{"fileKey": key, "name": "big.pdf", "contentType": "application/pdf", "size": big.len().to_string()}]},
        }),
    );
    let inputs = json!({"partner_id": "P-009", "partner_name": "大型商事"});
    let response = lookup::handle(
        &h.relay,
        ask("/lookups/quotes/files", &choice(inputs, 0, "quote", 0)),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(body_json(&response)["error"]["code"], "file_too_large");
    assert_eq!(file_calls(&h), 0);
}

#[tokio::test]
async fn the_file_routes_answer_post_and_their_preflights_only() {
    let Files { h, .. } = files().await;
    let preflight = request(
        "OPTIONS",
        "/forms/jobs/files/cv",
        &[
            ("origin", ORIGIN),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "content-type, x-file-name",
            ),
        ],
    );
    let response = submit::handle(&h.relay, preflight).await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        header(&response, "access-control-allow-methods"),
        Some("POST, OPTIONS")
    );
    assert_eq!(
        header(&response, "access-control-allow-headers"),
        Some("Content-Type, Accept-Language, X-File-Name")
    );
    let get = request("GET", "/forms/jobs/files/cv", &[("origin", ORIGIN)]);
    let response = submit::handle(&h.relay, get).await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(header(&response, "allow"), Some("POST, OPTIONS"));
    let get = request(
        "GET",
        "/lookups/quotes/files",
        &[("origin", PARTNER_ORIGIN)],
    );
    let response = lookup::handle(&h.relay, get).await.unwrap();
    assert_eq!(response.status(), 405);
    // The form's own routes are unchanged.
    let describe = request("GET", "/forms/jobs", &[("origin", ORIGIN)]);
    let response = submit::handle(&h.relay, describe).await.unwrap();
    assert_eq!(response.status(), 200);
    let cv = &body_json(&response)["fields"][1];
    assert_eq!(cv["type"], "file");
    assert_eq!(cv["max_bytes"], 4 * 1024 * 1024);
    assert_eq!(cv["max_files"], 2);
    assert_eq!(
        cv["accept"],
        json!(["application/pdf", "image/png", "image/jpeg"])
    );
    assert!(h.emulator.requests().is_empty());
}

#[tokio::test]
async fn uploads_count_toward_the_forms_per_address_limit() {
    use relay_shared::limits::Limiter;
    let emu = Emulator::new();
    emu.add_app(App {
        id: JOBS_APP,
        guest_space: None,
        fields: vec![Field::new("履歴書", FieldType::File)],
    });
    emu.add_token(JOBS_ADD_TOKEN, JOBS_APP, &[Permission::Add]);
    let mut key = [0u8; 24];
    getrandom::fill(&mut key).unwrap();
    let key: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let config = r#"
[limits]
key_secret = "{secret:limits}"

[forms.jobs]
app = 56
token_secret = "{secret:jobs}"
allowed_origins = ["https://www.example.jp"]
limits = { submissions_per_ip = 2 }

[forms.jobs.fields.cv]
kintone = "履歴書"
type = "file"
"#;
    let h = harness_with(
        emu,
        &config_with("", &[config]),
        &[("jobs", JOBS_ADD_TOKEN), ("limits", &key)],
    )
    .await;
    let (client, table) = limits_store().await;
    let relay = h.another_relay().with_limits(Limiter::new(client, table));
    let send = || {
        from_address(
            upload_request("/forms/jobs/files/cv", "cv.pdf", "application/pdf", PDF),
            "198.51.100.77",
        )
    };
    for _ in 0..2 {
        let response = submit::handle(&relay, send()).await.unwrap();
        assert_eq!(response.status(), 201);
    }
    let response = submit::handle(&relay, send()).await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(body_json(&response)["error"]["code"], "too_many_attempts");
    assert!(header(&response, "retry-after").is_some());
    assert_eq!(
        h.emulator.uploads().len(),
        2,
        "the third never reached kintone"
    );
}

#[tokio::test]
async fn downloads_count_toward_the_lookups_limits() {
    use relay_shared::limits::Limiter;
    let Files { h, .. } = files().await;
    let (client, table) = limits_store().await;
    let relay = h.another_relay().with_limits(Limiter::new(client, table));
    let download = |body: &Value| from_address(ask("/lookups/quotes/files", body), "198.51.100.78");
    // The default: 5 misses against one key value in 15 minutes.
    let wrong = choice(
        json!({"partner_id": "P-001", "partner_name": "佐藤工業"}),
        0,
        "quote",
        0,
    );
    for _ in 0..5 {
        let response = lookup::handle(&relay, download(&wrong)).await.unwrap();
        assert_eq!(response.status(), 404);
    }
    // Past the limit even the right inputs are refused, and kintone is not asked.
    let before = h.emulator.requests().len();
    let right = choice(yamada(), 0, "quote", 0);
    let response = lookup::handle(&relay, download(&right)).await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(body_json(&response)["error"]["code"], "too_many_attempts");
    assert_eq!(h.emulator.requests().len(), before);
    assert_eq!(file_calls(&h), 0);
}
