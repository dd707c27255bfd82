//! HTTP behaviour of the emulator, driven through `router()` with `tower::ServiceExt::oneshot`.

use axum::body::Body;
use axum::http::{HeaderMap, Request};
use http_body_util::BodyExt;
use kintone_emulator::{App, Emulator, Fault, Field, FieldType, Permission};
use serde_json::{Value, json};
use tower::ServiceExt;

const ADD: &str = "addToken";
const VIEW: &str = "viewToken";
const ALL: &str = "allToken";
const OTHER_APP: &str = "otherAppToken";
const GUEST: &str = "guestToken";

struct Answer {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    #[track_caller]
    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.code().as_str()),
            (status, code),
            "{}",
            self.text
        );
        let body = self.json();
        let id = body["id"].as_str().expect("error id");
        assert_eq!(id.chars().count(), 20);
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(
            self.header("content-type"),
            "application/json;charset=utf-8"
        );
    }

    #[track_caller]
    fn messages(&self, key: &str) -> Vec<String> {
        serde_json::from_value(self.json()["errors"][key]["messages"].clone())
            .unwrap_or_else(|_| panic!("no errors[{key}] in {}", self.text))
    }
}

async fn send(emu: &Emulator, req: Request<Body>) -> Answer {
    let response = emu.router().oneshot(req).await.expect("infallible");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Answer {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn request(method: &str, uri: &str, tokens: &[&str], body: Option<&Value>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if !tokens.is_empty() {
        b = b.header("X-Cybozu-API-Token", tokens.join(","));
    }
    match body {
        Some(v) => b
            .header("Content-Type", "application/json")
            .body(Body::from(v.to_string()))
            .expect("request"),
        None => b.body(Body::empty()).expect("request"),
    }
}

async fn add(emu: &Emulator, record: Value) -> Answer {
    let body = json!({ "app": 1, "record": record });
    send(
        emu,
        request("POST", "/k/v1/record.json", &[ADD], Some(&body)),
    )
    .await
}

async fn add_ja(emu: &Emulator, record: Value) -> Answer {
    let body = json!({ "app": 1, "record": record });
    let mut req = request("POST", "/k/v1/record.json", &[ADD], Some(&body));
    req.headers_mut()
        .insert("accept-language", "ja,en;q=0.8".parse().expect("header"));
    send(emu, req).await
}

/// GET records with a JSON body.
async fn query(emu: &Emulator, q: &str) -> Answer {
    let body = json!({ "app": 1, "query": q, "totalCount": true });
    send(
        emu,
        request("GET", "/k/v1/records.json", &[VIEW], Some(&body)),
    )
    .await
}

fn ids(a: &Answer) -> Vec<String> {
    a.json()["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["$id"]["value"].as_str().expect("$id").to_owned())
        .collect()
}

/// App 1 with one field of most kinds; app 2 plain; app 3 in guest space 9.
fn emulator() -> Emulator {
    use FieldType::*;
    let emu = Emulator::new();
    emu.add_app(App {
        id: 1,
        guest_space: None,
        fields: vec![
            Field::new("name", SingleLineText).required().max_length(5),
            Field::new("code", SingleLineText).unique(),
            Field::new("memo", MultiLineText),
            Field::new("count", Number).range(Some(1.0), Some(10.0)),
            Field::new("serial", Number).unique(),
            Field::new("radio", RadioButton).options(&["A", "B"]),
            Field::new("drop", DropDown).options(&["X", "Y"]),
            Field::new("check", CheckBox).options(&["c1", "c2"]),
            Field::new("day", Date),
            Field::new("at", Datetime),
            Field::new("src", SingleLineText).default_value(json!("web")),
        ],
    });
    emu.add_app(App {
        id: 2,
        guest_space: None,
        fields: vec![Field::new("t", SingleLineText)],
    });
    emu.add_app(App {
        id: 3,
        guest_space: Some(9),
        fields: vec![Field::new("t", SingleLineText)],
    });
    emu.add_token(ADD, 1, &[Permission::Add]);
    emu.add_token(VIEW, 1, &[Permission::View]);
    emu.add_token(
        ALL,
        1,
        &[
            Permission::View,
            Permission::Add,
            Permission::Edit,
            Permission::Delete,
        ],
    );
    emu.add_token(OTHER_APP, 2, &[Permission::View, Permission::Add]);
    emu.add_token(GUEST, 3, &[Permission::View, Permission::Add]);
    emu
}

// ---------------------------------------------------------------- Add Record

#[tokio::test]
async fn add_record_succeeds_and_stores_read_shape() {
    let emu = emulator();
    let a = add(
        &emu,
        json!({
            "name": {"value": "山田"},
            "count": {"value": "1.5e0"},
            "check": {"value": ["c2"]},
            "day": {"value": "2024-2-9"},
            "at": {"value": "2024-02-09T10:30:59+09:00"},
            "nosuchfield": {"value": "ignored"}
        }),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json(), json!({"id": "1", "revision": "1"}));
    assert_eq!(a.header("content-type"), "application/json;charset=utf-8");
    assert_eq!(a.header("x-concurrencylimit-limit"), "100");
    assert!(
        a.header("x-concurrencylimit-running")
            .parse::<usize>()
            .is_ok()
    );

    let recs = emu.records(1);
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r["$id"], json!({"type": "__ID__", "value": "1"}));
    assert_eq!(
        r["$revision"],
        json!({"type": "__REVISION__", "value": "1"})
    );
    assert_eq!(
        r["name"],
        json!({"type": "SINGLE_LINE_TEXT", "value": "山田"})
    );
    assert_eq!(r["count"], json!({"type": "NUMBER", "value": "1.5"}));
    assert_eq!(r["check"], json!({"type": "CHECK_BOX", "value": ["c2"]}));
    assert_eq!(r["drop"], json!({"type": "DROP_DOWN", "value": null}));
    assert_eq!(r["radio"]["value"], Value::Null);
    assert_eq!(r["day"]["value"], "2024-02-09");
    assert_eq!(r["at"]["value"], "2024-02-09T01:30:00Z");
    assert_eq!(r["src"]["value"], "web", "absent key gets the default");
    assert!(r.get("nosuchfield").is_none());

    let b = add(&emu, json!({"name": {"value": "b"}, "src": {"value": ""}})).await;
    assert_eq!(b.json()["id"], "2");
    assert_eq!(
        emu.records(1)[1]["src"]["value"],
        "",
        "explicit empty is not defaulted"
    );
}

#[tokio::test]
async fn add_record_accepts_string_app_and_missing_record_is_defaults() {
    let emu = emulator();
    emu.add_app(App {
        id: 5,
        guest_space: None,
        fields: vec![Field::new("t", FieldType::SingleLineText)],
    });
    emu.add_token("t5", 5, &[Permission::Add]);
    let a = send(
        &emu,
        request(
            "POST",
            "/k/v1/record.json",
            &["t5"],
            Some(&json!({"app": "5"})),
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
}

#[tokio::test]
async fn required_counts_absent_null_empty_and_empty_array() {
    let emu = emulator();
    emu.add_app(App {
        id: 6,
        guest_space: None,
        fields: vec![
            Field::new("t", FieldType::SingleLineText).required(),
            Field::new("c", FieldType::CheckBox)
                .options(&["x"])
                .required(),
            Field::new("r", FieldType::RadioButton)
                .options(&["x"])
                .required(),
        ],
    });
    emu.add_token("t6", 6, &[Permission::Add]);
    for record in [
        json!({"t": {"value": null}, "c": {"value": []}}),
        json!({"t": {"value": ""}, "c": {"value": null}}),
        json!({"r": {"value": ""}}),
    ] {
        let body = json!({"app": 6, "record": record});
        let a = send(
            &emu,
            request("POST", "/k/v1/record.json", &["t6"], Some(&body)),
        )
        .await;
        a.assert_error(400, "CB_VA01");
        assert_eq!(a.json()["message"], "Missing or invalid input.");
        assert_eq!(a.messages("record.t.value"), ["Required."]);
        assert_eq!(a.messages("record.c.values"), ["Required."]);
        // RADIO_BUTTON's required is not enforced.
        assert!(a.json()["errors"].get("record.r.value").is_none());
    }
    let body = json!({"app": 6});
    let a = send(
        &emu,
        request("POST", "/k/v1/record.json", &["t6"], Some(&body)),
    )
    .await;
    assert_eq!(a.messages("record.t.value"), ["Required."]);
}

#[tokio::test]
async fn validation_reports_every_problem_at_once() {
    let emu = emulator();
    let a = add(
        &emu,
        json!({
            "name": {"value": "123456"},
            "count": {"value": "11"},
            "serial": {"value": "abc"},
            "radio": {"value": "Z"},
            "drop": {"value": "Q"},
            "check": {"value": ["c1", "nope"]},
            "day": {"value": "2024-02-30"}
        }),
    )
    .await;
    a.assert_error(400, "CB_VA01");
    assert_eq!(
        a.messages("record.name.value"),
        ["Enter less than 6 characters."]
    );
    assert_eq!(
        a.messages("record.count.value"),
        ["The value must be 10 or less."]
    );
    assert_eq!(
        a.messages("record[serial].value"),
        ["Only numbers are allowed."]
    );
    assert_eq!(a.messages("record.serial.value"), ["Required."]);
    assert_eq!(
        a.messages("record.radio.value"),
        ["The value, \"Z\", is not in options."]
    );
    assert_eq!(
        a.messages("record.drop.value"),
        ["The value, \"Q\", is not in options."]
    );
    assert_eq!(
        a.messages("record.check.values[1].value"),
        ["The value, \"nope\", is not in options."]
    );
    assert_eq!(a.messages("record.day.value").len(), 1);
    assert_eq!(a.json()["errors"].as_object().map(|o| o.len()), Some(8));
    assert!(emu.records(1).is_empty(), "nothing stored on failure");

    let low = add(
        &emu,
        json!({"name": {"value": "x"}, "count": {"value": "0"}}),
    )
    .await;
    assert_eq!(
        low.messages("record.count.value"),
        ["The value must be 1 or more."]
    );
}

#[tokio::test]
async fn length_is_counted_in_characters() {
    let emu = emulator();
    let a = add(&emu, json!({"name": {"value": "あいうえお"}})).await;
    assert_eq!(a.status, 200, "{}", a.text);
}

#[tokio::test]
async fn japanese_messages_follow_accept_language() {
    let emu = emulator();
    let a = add_ja(
        &emu,
        json!({"name": {"value": "123456"}, "count": {"value": "x"}, "radio": {"value": "Z"}}),
    )
    .await;
    a.assert_error(400, "CB_VA01");
    assert_eq!(a.json()["message"], "入力内容が正しくありません。");
    assert_eq!(
        a.messages("record.name.value"),
        ["6文字より短くなければなりません。"]
    );
    assert_eq!(
        a.messages("record[count].value"),
        ["数字でなければなりません。"]
    );
    assert_eq!(a.messages("record.count.value"), ["必須です。"]);
    assert_eq!(
        a.messages("record.radio.value"),
        ["\"Z\"は選択肢にありません。"]
    );
    let dup_seed = add(
        &emu,
        json!({"name": {"value": "a"}, "code": {"value": "K1"}}),
    )
    .await;
    assert_eq!(dup_seed.status, 200);
    let dup = add_ja(
        &emu,
        json!({"name": {"value": "a"}, "code": {"value": "K1"}}),
    )
    .await;
    assert_eq!(
        dup.messages("record.code.value"),
        ["値がほかのレコードと重複しています。"]
    );
    let big = add_ja(
        &emu,
        json!({"name": {"value": "a"}, "count": {"value": "99"}}),
    )
    .await;
    assert_eq!(
        big.messages("record.count.value"),
        ["10以下である必要があります。"]
    );
}

#[tokio::test]
async fn unique_fields_refuse_duplicates_but_not_empty() {
    let emu = emulator();
    let first = add(
        &emu,
        json!({"name": {"value": "a"}, "code": {"value": "K-1"}, "serial": {"value": "7"}}),
    )
    .await;
    assert_eq!(first.status, 200);
    let dup = add(
        &emu,
        json!({"name": {"value": "b"}, "code": {"value": "K-1"}}),
    )
    .await;
    dup.assert_error(400, "CB_VA01");
    assert_eq!(
        dup.messages("record.code.value"),
        ["This value already exists in another record."]
    );
    // Numbers compare numerically.
    let dup_num = add(
        &emu,
        json!({"name": {"value": "b"}, "serial": {"value": "7.0"}}),
    )
    .await;
    assert_eq!(
        dup_num.messages("record.serial.value"),
        ["This value already exists in another record."]
    );
    // Case matters, and "" never collides.
    for rec in [
        json!({"name": {"value": "c"}, "code": {"value": "k-1"}}),
        json!({"name": {"value": "d"}, "code": {"value": ""}}),
        json!({"name": {"value": "e"}, "code": {"value": ""}}),
        json!({"name": {"value": "f"}}),
    ] {
        let a = add(&emu, rec).await;
        assert_eq!(a.status, 200, "{}", a.text);
    }
    // Seeded records count too.
    emu.insert_record(1, json!({"code": {"value": "SEEDED"}}));
    let a = add(
        &emu,
        json!({"name": {"value": "g"}, "code": {"value": "SEEDED"}}),
    )
    .await;
    assert_eq!(a.status, 400);
}

#[tokio::test]
async fn invalid_json_is_cb_ij01() {
    let emu = emulator();
    for bad in [
        "{\"app\": 1,}",
        "{'app': 1}",
        "{\"app\": \"a\nb\"}",
        "not json",
        "[1]",
    ] {
        let req = Request::builder()
            .method("POST")
            .uri("/k/v1/record.json")
            .header("X-Cybozu-API-Token", ADD)
            .header("Content-Type", "application/json")
            .body(Body::from(bad))
            .expect("request");
        send(&emu, req).await.assert_error(400, "CB_IJ01");
    }
}

#[tokio::test]
async fn missing_or_bad_app_parameter() {
    let emu = emulator();
    let a = send(
        &emu,
        request(
            "POST",
            "/k/v1/record.json",
            &[ADD],
            Some(&json!({"record": {}})),
        ),
    )
    .await;
    a.assert_error(400, "CB_VA01");
    assert_eq!(a.messages("app"), ["Required field."]);
    let a = send(
        &emu,
        request("GET", "/k/v1/records.json?app=-1", &[VIEW], None),
    )
    .await;
    a.assert_error(400, "CB_VA01");
    assert_eq!(a.messages("app"), ["must be greater than or equal to 1"]);
}

// ---------------------------------------------------------------- authentication

#[tokio::test]
async fn token_errors() {
    let emu = emulator();
    let body = json!({"app": 1, "record": {"name": {"value": "x"}}});
    let post = |tokens: &[&str]| request("POST", "/k/v1/record.json", tokens, Some(&body));

    send(&emu, post(&[])).await.assert_error(401, "CB_AU01");
    send(&emu, post(&["nope"]))
        .await
        .assert_error(400, "GAIA_IA02");
    send(&emu, post(&[ADD, "nope"]))
        .await
        .assert_error(400, "GAIA_IA02");
    send(&emu, post(&[VIEW]))
        .await
        .assert_error(403, "GAIA_NO01");
    send(&emu, post(&[OTHER_APP]))
        .await
        .assert_error(403, "GAIA_AP15");
    send(&emu, post(&[ADD, VIEW]))
        .await
        .assert_error(400, "GAIA_DA03");
    send(&emu, post(&[ADD, ADD]))
        .await
        .assert_error(400, "GAIA_DA03");
    // A token of another app alongside this app's token is fine.
    let ok = send(&emu, post(&[OTHER_APP, ADD])).await;
    assert_eq!(ok.status, 200, "{}", ok.text);

    let get = send(
        &emu,
        request("GET", "/k/v1/records.json?app=1", &[ADD], None),
    )
    .await;
    get.assert_error(403, "GAIA_NO01");

    let missing_app = json!({"app": 999, "record": {}});
    send(
        &emu,
        request("POST", "/k/v1/record.json", &[ADD], Some(&missing_app)),
    )
    .await
    .assert_error(404, "GAIA_AP01");

    // Password auth is not emulated and wins over a token.
    let mut req = post(&[ADD]);
    req.headers_mut().insert(
        "x-cybozu-authorization",
        "dXNlcjpwYXNz".parse().expect("header"),
    );
    send(&emu, req).await.assert_error(401, "CB_WA01");
}

#[tokio::test]
async fn basic_authentication_of_the_domain() {
    let emu = emulator();
    let body = json!({"app": 1, "record": {"name": {"value": "x"}}});
    let post = |authorization: Option<&str>| {
        let mut req = request("POST", "/k/v1/record.json", &[ADD], Some(&body));
        if let Some(value) = authorization {
            req.headers_mut()
                .insert("authorization", value.parse().expect("header"));
        }
        req
    };
    // Off by default: a token alone is enough.
    assert_eq!(send(&emu, post(None)).await.status, 200);

    emu.set_basic_auth(Some(("relay", "pw")));
    send(&emu, post(None)).await.assert_error(401, "CB_AU01");
    // base64("relay:wrong")
    send(&emu, post(Some("Basic cmVsYXk6d3Jvbmc=")))
        .await
        .assert_error(401, "CB_WA01");
    // Checked before the token: an unknown token behind wrong Basic credentials is still 401.
    let mut unknown = request("POST", "/k/v1/record.json", &["nope"], Some(&body));
    unknown.headers_mut().insert(
        "authorization",
        "Basic cmVsYXk6d3Jvbmc=".parse().expect("header"),
    );
    send(&emu, unknown).await.assert_error(401, "CB_WA01");
    // base64("relay:pw")
    assert_eq!(
        send(&emu, post(Some("Basic cmVsYXk6cHc="))).await.status,
        200
    );

    emu.set_basic_auth(Some(("relay", "pw2")));
    send(&emu, post(Some("Basic cmVsYXk6cHc=")))
        .await
        .assert_error(401, "CB_WA01");
    emu.set_basic_auth(None);
    assert_eq!(send(&emu, post(None)).await.status, 200);
}

#[tokio::test]
async fn tokens_in_several_headers_and_with_spaces() {
    let emu = emulator();
    let body = json!({"app": 1, "record": {"name": {"value": "x"}}});
    let req = Request::builder()
        .method("POST")
        .uri("/k/v1/record.json")
        .header("X-Cybozu-API-Token", OTHER_APP)
        .header("X-Cybozu-API-Token", format!(" {ADD} "))
        .body(Body::from(body.to_string()))
        .expect("request");
    assert_eq!(send(&emu, req).await.status, 200);

    let req = Request::builder()
        .method("POST")
        .uri("/k/v1/record.json")
        .header("X-Cybozu-API-Token", ADD)
        .header("X-Cybozu-API-Token", VIEW)
        .body(Body::from(body.to_string()))
        .expect("request");
    send(&emu, req).await.assert_error(400, "GAIA_DA03");

    let log = emu.requests();
    assert_eq!(log[0].api_tokens, [OTHER_APP, ADD]);
}

#[tokio::test]
async fn at_most_nine_tokens() {
    let emu = emulator();
    let mut tokens = vec![ADD.to_owned()];
    for i in 0..8 {
        let t = format!("extra{i}");
        emu.add_app(App {
            id: 100 + i,
            guest_space: None,
            fields: vec![],
        });
        emu.add_token(&t, 100 + i, &[Permission::View]);
        tokens.push(t);
    }
    let body = json!({"app": 1, "record": {"name": {"value": "x"}}});
    let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let nine = send(
        &emu,
        request("POST", "/k/v1/record.json", &refs, Some(&body)),
    )
    .await;
    assert_eq!(nine.status, 200, "{}", nine.text);
    let mut ten = refs.clone();
    ten.push(VIEW);
    let a = send(
        &emu,
        request("POST", "/k/v1/record.json", &ten, Some(&body)),
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.text);
}

#[tokio::test]
async fn revoked_token_is_unknown() {
    let emu = emulator();
    let body = json!({"app": 1, "record": {"name": {"value": "x"}}});
    assert_eq!(
        send(
            &emu,
            request("POST", "/k/v1/record.json", &[ADD], Some(&body))
        )
        .await
        .status,
        200
    );
    emu.revoke_token(ADD);
    send(
        &emu,
        request("POST", "/k/v1/record.json", &[ADD], Some(&body)),
    )
    .await
    .assert_error(400, "GAIA_IA02");
}

#[tokio::test]
async fn guest_space_paths() {
    let emu = emulator();
    let body = json!({"app": 3, "record": {"t": {"value": "x"}}});
    send(
        &emu,
        request("POST", "/k/v1/record.json", &[GUEST], Some(&body)),
    )
    .await
    .assert_error(400, "GAIA_IL23");
    send(
        &emu,
        request("POST", "/k/guest/8/v1/record.json", &[GUEST], Some(&body)),
    )
    .await
    .assert_error(403, "CB_NO02");
    let ok = send(
        &emu,
        request("POST", "/k/guest/9/v1/record.json", &[GUEST], Some(&body)),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    // A non-guest app through a guest path.
    let body1 = json!({"app": 1, "record": {"name": {"value": "x"}}});
    send(
        &emu,
        request("POST", "/k/guest/9/v1/record.json", &[ADD], Some(&body1)),
    )
    .await
    .assert_error(403, "CB_NO02");
    let got = send(
        &emu,
        request("GET", "/k/guest/9/v1/records.json?app=3", &[GUEST], None),
    )
    .await;
    assert_eq!(got.json()["records"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn paths_are_lower_case_only() {
    let emu = emulator();
    for path in [
        "/k/v1/Record.json",
        "/k/v1/record.JSON",
        "/K/v1/records.json",
        "/k/v1/nothing.json",
    ] {
        let a = send(
            &emu,
            request("GET", &format!("{path}?app=1"), &[VIEW], None),
        )
        .await;
        assert_eq!(a.status, 404, "{path}");
        assert_eq!(a.header("x-concurrencylimit-limit"), "100");
    }
}

// ---------------------------------------------------------------- Get Records

fn seed_deals(emu: &Emulator) {
    let rows = [
        (
            "alpha",
            "9",
            "A",
            &["c1"][..],
            "2020-01-01",
            "line one\nKeyword here",
        ),
        ("Beta", "10", "B", &["c1", "c2"][..], "2099-12-31", ""),
        ("gamma", "", "", &[][..], "", "  \t\n "),
        ("alpha", "100", "A", &["c2"][..], "2024-06-15", "other"),
    ];
    for (name, count, radio, check, day, memo) in rows {
        emu.insert_record(
            1,
            json!({
                "name": {"value": name}, "count": {"value": count}, "radio": {"value": radio},
                "drop": {"value": if radio == "A" { Value::from("X") } else { Value::Null }},
                "check": {"value": check}, "day": {"value": day}, "memo": {"value": memo}
            }),
        );
    }
}

#[tokio::test]
async fn get_records_shapes_and_total_count() {
    let emu = emulator();
    seed_deals(&emu);
    let a = send(
        &emu,
        request("GET", "/k/v1/records.json?app=1", &[VIEW], None),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let body = a.json();
    assert_eq!(body["totalCount"], Value::Null);
    assert_eq!(ids(&a), ["4", "3", "2", "1"], "default order is $id desc");
    let r = &body["records"][3];
    assert_eq!(r["count"], json!({"type": "NUMBER", "value": "9"}));
    assert_eq!(r["check"], json!({"type": "CHECK_BOX", "value": ["c1"]}));
    assert_eq!(
        body["records"][1]["drop"],
        json!({"type": "DROP_DOWN", "value": null})
    );
    assert!(r.get("$revision").is_some());

    let a = send(
        &emu,
        request(
            "GET",
            "/k/v1/records.json?app=1&fields%5B0%5D=name&fields%5B1%5D=count&totalCount=true&query=name%20%3D%20%22alpha%22",
            &[VIEW],
            None,
        ),
    )
    .await;
    let body = a.json();
    assert_eq!(body["totalCount"], "2");
    let first = body["records"][0].as_object().expect("record");
    let mut keys: Vec<&String> = first.keys().collect();
    keys.sort();
    assert_eq!(keys, ["count", "name"], "only requested fields, no $id");

    let a = send(
        &emu,
        request(
            "GET",
            "/k/v1/records.json?app=1&fields[]=$id&fields[]=name",
            &[VIEW],
            None,
        ),
    )
    .await;
    assert_eq!(a.json()["records"][0]["$id"]["value"], "4");
}

#[tokio::test]
async fn get_records_with_body_and_method_override() {
    let emu = emulator();
    seed_deals(&emu);
    let body = json!({"app": "1", "query": "name = \"Beta\"", "fields": ["name"]});

    let a = send(
        &emu,
        request("GET", "/k/v1/records.json", &[VIEW], Some(&body)),
    )
    .await;
    assert_eq!(
        a.json()["records"],
        json!([{"name": {"type": "SINGLE_LINE_TEXT", "value": "Beta"}}])
    );

    let mut req = request("POST", "/k/v1/records.json", &[VIEW], Some(&body));
    req.headers_mut()
        .insert("x-http-method-override", "GET".parse().expect("header"));
    let a = send(&emu, req).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json()["records"].as_array().map(Vec::len), Some(1));

    // Lower-case override is not honoured: it stays a POST (bulk add, not emulated).
    let mut req = request("POST", "/k/v1/records.json", &[VIEW], Some(&body));
    req.headers_mut()
        .insert("x-http-method-override", "get".parse().expect("header"));
    assert_ne!(send(&emu, req).await.status, 200);

    // Only POST honours it: a GET with override POST stays a GET.
    let mut req = request("GET", "/k/v1/record.json?app=1&id=1", &[VIEW], None);
    req.headers_mut()
        .insert("x-http-method-override", "POST".parse().expect("header"));
    let a = send(&emu, req).await;
    assert_eq!(a.json()["record"]["$id"]["value"], "1");

    // POST record.json overridden to GET is Get Record.
    let mut req = request(
        "POST",
        "/k/v1/record.json",
        &[VIEW],
        Some(&json!({"app": 1, "id": 2})),
    );
    req.headers_mut()
        .insert("x-http-method-override", "GET".parse().expect("header"));
    let a = send(&emu, req).await;
    assert_eq!(a.json()["record"]["name"]["value"], "Beta");
}

#[tokio::test]
async fn get_record_single() {
    let emu = emulator();
    seed_deals(&emu);
    let a = send(
        &emu,
        request("GET", "/k/v1/record.json?app=1&id=3", &[VIEW], None),
    )
    .await;
    assert_eq!(a.json()["record"]["name"]["value"], "gamma");
    send(
        &emu,
        request("GET", "/k/v1/record.json?app=1&id=99", &[VIEW], None),
    )
    .await
    .assert_error(404, "GAIA_RE01");
    let a = send(
        &emu,
        request("GET", "/k/v1/record.json?app=1", &[VIEW], None),
    )
    .await;
    a.assert_error(400, "CB_VA01");
    assert_eq!(a.messages("id"), ["Required field."]);
}

#[tokio::test]
async fn limits_and_paging() {
    let emu = emulator();
    for i in 0..120 {
        emu.insert_record(
            1,
            json!({"name": {"value": format!("n{i}")}, "count": {"value": i}}),
        );
    }
    let a = query(&emu, "").await;
    assert_eq!(
        a.json()["records"].as_array().map(Vec::len),
        Some(100),
        "default limit"
    );
    assert_eq!(a.json()["totalCount"], "120");
    let a = query(&emu, "order by count asc limit 5 offset 10").await;
    assert_eq!(ids(&a), ["11", "12", "13", "14", "15"]);
    assert_eq!(a.json()["totalCount"], "120");
    let a = query(&emu, "limit 500 offset 10000").await;
    assert_eq!(a.status, 200);
    query(&emu, "limit 501")
        .await
        .assert_error(400, "GAIA_QU01");
    query(&emu, "offset 10001")
        .await
        .assert_error(400, "GAIA_QU02");
    query(&emu, "limit -1").await.assert_error(400, "CB_VA01");
    // Numbers sort numerically, not as text.
    let a = query(&emu, "count >= 98 order by count desc").await;
    assert_eq!(ids(&a)[..3], ["120", "119", "118"]);
}

#[tokio::test]
async fn query_errors() {
    let emu = emulator();
    seed_deals(&emu);
    for bad in [
        "name = 'alpha'",
        "name = \"a\tb\"",
        "name = \"a\nb\"",
        "name = \"alpha\" limit 1 order by name",
        "name = \"alpha\" garbage",
        "name in ()",
        "`name` = \"x\"",
    ] {
        let a = query(&emu, bad).await;
        a.assert_error(400, "CB_VA01");
        assert_eq!(
            a.messages("query"),
            ["クエリ記法が間違っています。"],
            "{bad:?}"
        );
    }
    query(&emu, "nosuch = \"x\"")
        .await
        .assert_error(400, "GAIA_IQ11");
    query(&emu, "order by nosuch")
        .await
        .assert_error(400, "GAIA_IQ11");
    query(&emu, "memo = \"x\"")
        .await
        .assert_error(400, "GAIA_IQ03");
    query(&emu, "drop = \"X\"")
        .await
        .assert_error(400, "GAIA_IQ03");
    query(&emu, "name > \"a\"")
        .await
        .assert_error(400, "GAIA_IQ03");
    query(&emu, "name is empty")
        .await
        .assert_error(400, "GAIA_IQ03");
    query(&emu, "check like \"c\"")
        .await
        .assert_error(400, "GAIA_IQ03");
    query(&emu, "check in (\"c3\")")
        .await
        .assert_error(400, "GAIA_IQ10");
    query(&emu, "radio not in (\"A\", \"Q\")")
        .await
        .assert_error(400, "GAIA_IQ10");
    query(&emu, "day = FROM_TODAY(1, HOURS)")
        .await
        .assert_error(400, "GAIA_IQ25");
    query(&emu, "day = FROM_TODAY(1)")
        .await
        .assert_error(400, "GAIA_IL08");
    query(&emu, "day = THIS_MONTH(32)")
        .await
        .assert_error(400, "GAIA_IQ23");

    let mut req = request(
        "GET",
        "/k/v1/records.json?app=1&query=memo%20%3D%20%22x%22",
        &[VIEW],
        None,
    );
    req.headers_mut()
        .insert("accept-language", "ja".parse().expect("header"));
    let a = send(&emu, req).await;
    assert_eq!(
        a.json()["message"],
        "memoフィールドのフィールドタイプには演算子=を使用できません。"
    );
}

#[tokio::test]
async fn query_semantics() {
    let emu = emulator();
    seed_deals(&emu);
    let cases: &[(&str, &[&str])] = &[
        ("name = \"alpha\"", &["4", "1"]),
        ("name = \"Alpha\"", &[]),
        ("name != \"alpha\"", &["3", "2"]),
        ("name in (\"Beta\", \"gamma\")", &["3", "2"]),
        ("name not in (\"Beta\")", &["4", "3", "1"]),
        ("name like \"ALP\"", &["4", "1"]),
        ("name not like \"a\"", &[]),
        ("count > 9", &["4", "2"]),
        ("count = \"10\"", &["2"]),
        ("count in (9, 100)", &["4", "1"]),
        ("count = \"\"", &["3"]),
        ("count != 9", &["4", "3", "2"]),
        ("radio in (\"A\")", &["4", "1"]),
        ("radio in (\"\")", &["3"]),
        ("drop in (\"\")", &["3", "2"]),
        ("drop not in (\"X\")", &["3", "2"]),
        ("check in (\"c2\")", &["4", "2"]),
        ("check not in (\"c2\")", &["3", "1"]),
        ("check in (\"\")", &["3"]),
        ("day < \"2024-06-15\"", &["1"]),
        ("day >= \"2024-06-15\"", &["4", "2"]),
        ("day > TODAY()", &["2"]),
        ("day <= TODAY()", &["4", "1"]),
        ("day = \"\"", &["3"]),
        ("memo like \"keyword\"", &["1"]),
        ("memo is empty", &["3", "2"]),
        ("memo is not empty", &["4", "1"]),
        ("$id > 2", &["4", "3"]),
        ("$id in (1, 3)", &["3", "1"]),
        // `and` binds tighter than `or`.
        (
            "name = \"Beta\" or name = \"alpha\" and count > 50",
            &["4", "2"],
        ),
        (
            "(name = \"Beta\" or name = \"alpha\") and count > 50",
            &["4"],
        ),
        ("name\u{3000}=\u{3000}\"gamma\"", &["3"]),
        ("order by name asc, $id asc", &["2", "1", "4", "3"]),
    ];
    for (q, expected) in cases {
        let a = query(&emu, q).await;
        assert_eq!(a.status, 200, "{q}: {}", a.text);
        assert_eq!(ids(&a), *expected, "{q}");
    }
}

#[tokio::test]
async fn datetime_queries() {
    let emu = emulator();
    emu.insert_record(1, json!({"at": {"value": "2024-01-01T10:00:00Z"}}));
    emu.insert_record(1, json!({"at": {"value": "2024-01-02T00:00:00Z"}}));
    let cases: &[(&str, &[&str])] = &[
        ("at = \"2024-01-01\"", &["1"]),
        ("at > \"2024-01-01T10:00:00Z\"", &["2"]),
        ("at >= \"2024-01-01T19:00:00+09:00\"", &["2", "1"]),
        ("at < NOW()", &["2", "1"]),
        ("at > FROM_TODAY(-100, YEARS)", &["2", "1"]),
        ("at < FROM_TODAY(-100, YEARS)", &[]),
    ];
    for (q, expected) in cases {
        let a = query(&emu, q).await;
        assert_eq!(ids(&a), *expected, "{q}: {}", a.text);
    }
}

// ---------------------------------------------------------------- faults and the log

#[tokio::test]
async fn faults() {
    let emu = emulator();
    let body = json!({"app": 1, "record": {"name": {"value": "x"}}});

    emu.set_fault(Fault::RateLimited);
    let a = send(
        &emu,
        request("POST", "/k/v1/record.json", &[ADD], Some(&body)),
    )
    .await;
    a.assert_error(429, "GAIA_TO04");
    assert_eq!(
        a.json()["message"],
        "The number of concurrent API requests exceeds the limit."
    );
    assert_eq!(a.header("x-cybozu-error"), "GAIA_TO04");
    assert_eq!(a.header("x-concurrencylimit-limit"), "100");
    assert!(!a.header("x-concurrencylimit-running").is_empty());

    emu.set_fault(Fault::Maintenance);
    let a = send(
        &emu,
        request("GET", "/k/v1/records.json?app=1", &[VIEW], None),
    )
    .await;
    assert_eq!(a.status, 503);
    assert!(a.header("content-type").starts_with("text/html"));
    assert!(serde_json::from_str::<Value>(&a.text).is_err());

    emu.set_fault(Fault::Hang);
    let pending = send(
        &emu,
        request("GET", "/k/v1/records.json?app=1", &[VIEW], None),
    );
    let timed_out = tokio::time::timeout(std::time::Duration::from_millis(200), pending).await;
    assert!(timed_out.is_err(), "Hang must not answer");

    emu.set_fault(Fault::None);
    let a = send(
        &emu,
        request("POST", "/k/v1/record.json", &[ADD], Some(&body)),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(emu.records(1).len(), 1, "nothing was stored during faults");

    let log = emu.requests();
    let statuses: Vec<(u16, Option<&str>)> = log
        .iter()
        .map(|r| (r.status, r.error_code.as_deref()))
        .collect();
    assert_eq!(
        statuses,
        [
            (429, Some("GAIA_TO04")),
            (503, None),
            (0, None),
            (200, None)
        ]
    );
}

#[tokio::test]
async fn request_log_records_everything() {
    let emu = emulator();
    let body = json!({"app": 1, "record": {"name": {"value": "x"}}});
    let mut req = request("POST", "/k/v1/record.json", &[], Some(&body));
    req.headers_mut().insert(
        "X-Cybozu-API-Token",
        format!("{ADD} , {OTHER_APP}").parse().expect("header"),
    );
    send(&emu, req).await;
    send(
        &emu,
        request(
            "GET",
            "/k/v1/records.json?app=1&query=name%20%3D%20%22x%22",
            &[VIEW],
            None,
        ),
    )
    .await;
    send(
        &emu,
        request("GET", "/k/v1/records.json?app=1", &["bogus"], None),
    )
    .await;

    let log = emu.requests();
    assert_eq!(log.len(), 3);
    let first = &log[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.path, "/k/v1/record.json");
    assert_eq!(first.query_string, None);
    assert_eq!(first.api_tokens, [ADD, OTHER_APP]);
    assert_eq!(first.body.as_ref(), Some(&body));
    assert_eq!((first.status, first.error_code.as_deref()), (200, None));
    assert!(
        first
            .headers
            .iter()
            .any(|(n, v)| n == "content-type" && v == "application/json")
    );
    assert!(first.headers.iter().all(|(n, _)| *n == n.to_lowercase()));
    assert_eq!(
        first.header("X-Cybozu-API-Token"),
        Some(format!("{ADD} , {OTHER_APP}").as_str())
    );

    assert_eq!(
        log[1].query_string.as_deref(),
        Some("app=1&query=name%20%3D%20%22x%22")
    );
    assert_eq!(log[1].body, None);
    assert_eq!(
        (log[2].status, log[2].error_code.as_deref()),
        (400, Some("GAIA_IA02"))
    );

    emu.clear_requests();
    assert!(emu.requests().is_empty());
}

// ---------------------------------------------------------------- Get Form Fields

#[tokio::test]
async fn form_fields_in_kintone_shape() {
    let emu = emulator();
    let a = send(
        &emu,
        request("GET", "/k/v1/app/form/fields.json?app=1", &[VIEW], None),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.header("content-type"), "application/json;charset=utf-8");
    let body = a.json();
    assert_eq!(body["revision"], "1");
    let properties = body["properties"].as_object().expect("properties");
    assert_eq!(properties.len(), 11, "every field of app 1");
    assert_eq!(
        properties["name"],
        json!({
            "type": "SINGLE_LINE_TEXT", "code": "name", "label": "name", "noLabel": false,
            "required": true, "defaultValue": "", "unique": false, "minLength": "",
            "maxLength": "5", "expression": "", "hideExpression": false
        })
    );
    assert_eq!(properties["code"]["unique"], true);
    assert_eq!(properties["src"]["defaultValue"], "web");
    assert_eq!(
        properties["drop"]["options"],
        json!({"X": {"label": "X", "index": "0"}, "Y": {"label": "Y", "index": "1"}})
    );
    assert_eq!(properties["check"]["defaultValue"], json!([]));
    assert_eq!(
        (
            &properties["count"]["minValue"],
            &properties["count"]["maxValue"]
        ),
        (&json!("1"), &json!("10"))
    );
    assert_eq!(properties["memo"]["type"], "MULTI_LINE_TEXT");
    assert!(properties["memo"].get("maxLength").is_none());
    assert_eq!(properties["at"]["type"], "DATETIME");

    // Reading the settings is no record read: an add-only token may do it too.
    let a = send(
        &emu,
        request("GET", "/k/v1/app/form/fields.json?app=1", &[ADD], None),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    // With a JSON body, and as a POST overridden to GET.
    let body = json!({"app": 1});
    let a = send(
        &emu,
        request("GET", "/k/v1/app/form/fields.json", &[VIEW], Some(&body)),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let mut req = request("POST", "/k/v1/app/form/fields.json", &[VIEW], Some(&body));
    req.headers_mut()
        .insert("x-http-method-override", "GET".parse().expect("header"));
    let a = send(&emu, req).await;
    assert_eq!(a.status, 200, "{}", a.text);
    // A plain POST would be Add Form Fields, which the emulator does not serve.
    let a = send(
        &emu,
        request("POST", "/k/v1/app/form/fields.json", &[VIEW], Some(&body)),
    )
    .await;
    assert_eq!(a.status, 501, "{}", a.text);
}

#[tokio::test]
async fn form_fields_need_view_or_add() {
    let emu = emulator();
    emu.add_token("editOnly", 1, &[Permission::Edit, Permission::Delete]);
    let get = |uri: &str, tokens: &[&str]| request("GET", uri, tokens, None);
    let uri = "/k/v1/app/form/fields.json?app=1";
    send(&emu, get(uri, &["editOnly"]))
        .await
        .assert_error(403, "GAIA_NO01");
    send(&emu, get(uri, &[])).await.assert_error(401, "CB_AU01");
    send(&emu, get(uri, &["nope"]))
        .await
        .assert_error(400, "GAIA_IA02");
    send(&emu, get(uri, &[OTHER_APP]))
        .await
        .assert_error(403, "GAIA_AP15");
    send(&emu, get("/k/v1/app/form/fields.json?app=99", &[VIEW]))
        .await
        .assert_error(404, "GAIA_AP01");
    send(&emu, get("/k/v1/app/form/fields.json", &[VIEW]))
        .await
        .assert_error(400, "CB_VA01");
    // Guest-space apps only through their guest path.
    send(&emu, get("/k/v1/app/form/fields.json?app=3", &[GUEST]))
        .await
        .assert_error(400, "GAIA_IL23");
    send(
        &emu,
        get("/k/guest/8/v1/app/form/fields.json?app=3", &[GUEST]),
    )
    .await
    .assert_error(403, "CB_NO02");
    let a = send(
        &emu,
        get("/k/guest/9/v1/app/form/fields.json?app=3", &[GUEST]),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json()["properties"]["t"]["type"], "SINGLE_LINE_TEXT");
}

// ---------------------------------------------------------------- demo and serve

#[tokio::test]
async fn demo_data_set() {
    let emu = Emulator::demo();
    let deals = emu.records(34);
    assert!(deals.len() >= 50);
    let q =
        "担当ID = \"P-001\" and 公開 in (\"公開する\") and 公開期限 >= TODAY() order by 取引ID asc";
    let body = json!({"app": 34, "query": q, "totalCount": true});
    let a = send(
        &emu,
        request(
            "GET",
            "/k/v1/records.json",
            &["demoDealsViewToken0000000000000000000000"],
            Some(&body),
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let visible: usize = a.json()["totalCount"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .expect("count");
    let all_p001 = deals
        .iter()
        .filter(|d| d["担当ID"]["value"] == "P-001")
        .count();
    assert!(
        visible > 0 && visible < all_p001,
        "some P-001 deals are hidden or expired"
    );
    assert_eq!(a.json()["records"][0]["担当名"]["value"], "山田商事");
    let fields = send(
        &emu,
        request(
            "GET",
            "/k/v1/app/form/fields.json?app=12",
            &["demoSeminarAddToken000000000000000000000"],
            None,
        ),
    )
    .await;
    assert_eq!(fields.json()["properties"]["氏名"]["label"], "お名前");

    let seminar = json!({"app": 12, "record": {
        "氏名": {"value": "山田 太郎"}, "メールアドレス": {"value": "taro@example.com"},
        "参加セッション": {"value": "午前の部"}, "参加人数": {"value": "2"},
        "同意": {"value": ["同意する"]}, "送信ID": {"value": "s-1"}
    }});
    let add_token = "demoSeminarAddToken000000000000000000000";
    let a = send(
        &emu,
        request("POST", "/k/v1/record.json", &[add_token], Some(&seminar)),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let again = send(
        &emu,
        request("POST", "/k/v1/record.json", &[add_token], Some(&seminar)),
    )
    .await;
    assert_eq!(
        again.messages("record.送信ID.value"),
        ["This value already exists in another record."]
    );
    let view = send(
        &emu,
        request("GET", "/k/v1/records.json?app=12", &[add_token], None),
    )
    .await;
    view.assert_error(403, "GAIA_NO01");
    let view = send(
        &emu,
        request(
            "GET",
            "/k/v1/records.json?app=12",
            &["demoSeminarViewToken00000000000000000000"],
            None,
        ),
    )
    .await;
    assert_eq!(view.json()["records"].as_array().map(Vec::len), Some(1));
    send(
        &emu,
        request(
            "GET",
            "/k/v1/records.json?app=34",
            &["demoSeminarViewToken00000000000000000000"],
            None,
        ),
    )
    .await
    .assert_error(403, "GAIA_AP15");
}

#[tokio::test]
async fn serve_binds_an_ephemeral_port() {
    use std::io::{Read, Write};
    let emu = emulator();
    let addr = emu
        .serve("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    assert_ne!(addr.port(), 0);
    let response = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        write!(
            stream,
            "GET /k/v1/records.json?app=1 HTTP/1.1\r\nHost: x\r\nX-Cybozu-API-Token: {VIEW}\r\nConnection: close\r\n\r\n"
        )
        .expect("write");
        let mut out = String::new();
        stream.read_to_string(&mut out).expect("read");
        out
    })
    .await
    .expect("join");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"records\":[]"), "{response}");
}
