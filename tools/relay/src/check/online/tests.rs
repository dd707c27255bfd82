//! The comparisons without a network: a config and an app's fields in, findings out. The
//! end-to-end tests (tests/e2e/tests/relay_cli.rs) run one config per finding against the
//! emulator; these cover what the emulator's apps cannot hold (tables, system fields).

use relay_shared::config::Config;
use serde_json::{Value, json};

use super::*;
use crate::findings::Severity;
use crate::kintone_fields::FetchError;

fn fields(properties: Value) -> AppFields {
    AppFields::from_json(&json!({ "revision": "1", "properties": properties })).unwrap()
}

fn view(fields: &AppFields) -> AppView<'_> {
    AppView {
        app: 5,
        fields,
        token_can_view: None,
        token_env: "TOKENS",
    }
}

fn config(section: &str) -> Config {
    let text = format!("[kintone]\nbase_url = \"https://example.cybozu.com\"\n{section}");
    Config::parse(&text, "t").unwrap_or_else(|err| panic!("{err}"))
}

/// (severity, key, field code) of each finding.
fn summary(findings: &[Finding]) -> Vec<(Severity, String, Option<String>)> {
    findings
        .iter()
        .map(|f| (f.severity, f.key.clone(), f.field_code.clone()))
        .collect()
}

const LOOKUP: &str = r#"
[lookups.l]
app = 5
token_secret = "s"
allowed_origins = ["https://p.example.jp"]
key = { input = "id", kintone = "ID" }
key_only = true
"#;

fn table_app() -> AppFields {
    fields(json!({
        "ID": {"type": "SINGLE_LINE_TEXT", "code": "ID", "label": "ID", "unique": true},
        "明細": {"type": "SUBTABLE", "code": "明細", "label": "明細", "fields": {
            "品名": {"type": "SINGLE_LINE_TEXT", "code": "品名", "label": "品名"},
            "数量": {"type": "NUMBER", "code": "数量", "label": "数量"}}},
        "添付": {"type": "FILE", "code": "添付", "label": "添付"},
        "作成者": {"type": "CREATOR", "code": "作成者", "label": "作成者"}
    }))
}

#[test]
fn tables_must_list_existing_columns() {
    let app = table_app();
    let check = |outputs: &str| {
        let config = config(&format!("{LOOKUP}[lookups.l.outputs]\n{outputs}\n"));
        summary(&check_lookup(&config.lookups["l"], &view(&app)))
    };
    assert_eq!(
        check(r#"lines = { kintone = "明細", columns = { item = "品名", qty = "数量" } }"#),
        []
    );
    assert_eq!(
        check(r#"lines = "明細""#),
        [(
            Severity::Error,
            "lookups.l.outputs.lines".into(),
            Some("明細".into())
        )]
    );
    assert_eq!(
        check(r#"lines = { kintone = "明細", columns = { item = "品目" } }"#),
        [(
            Severity::Error,
            "lookups.l.outputs.lines.columns.item".into(),
            Some("品目".into())
        )]
    );
    assert_eq!(
        check(r#"who = { kintone = "作成者", columns = { a = "b" } }"#),
        [(
            Severity::Error,
            "lookups.l.outputs.who.columns".into(),
            Some("作成者".into())
        )]
    );
    assert_eq!(
        check(r#"files = "添付""#),
        [(
            Severity::Warning,
            "lookups.l.outputs.files.shape".into(),
            Some("添付".into())
        )]
    );
    assert_eq!(
        check(r#"files = { kintone = "添付", shape = "files" }"#),
        []
    );
    assert_eq!(
        check(r#"who = "作成者""#),
        [],
        "a user is answered as a name"
    );
}

#[test]
fn required_fields_kintone_does_not_enforce_or_fills_itself_need_no_input() {
    let app = fields(json!({
        "名前": {"type": "SINGLE_LINE_TEXT", "code": "名前", "label": "名前", "required": true},
        "区分": {"type": "RADIO_BUTTON", "code": "区分", "label": "区分", "required": true,
                 "options": {"a": {"label": "a", "index": "0"}}},
        "受付日": {"type": "DATE", "code": "受付日", "label": "受付日", "required": true,
                   "defaultNowValue": true},
        "種別": {"type": "SINGLE_LINE_TEXT", "code": "種別", "label": "種別", "required": true,
                 "defaultValue": "web"},
        "金額": {"type": "CALC", "code": "金額", "label": "金額", "required": true}
    }));
    let config = config(
        r#"
[forms.f]
app = 5
token_secret = "s"
allowed_origins = ["https://www.example.jp"]
[forms.f.fields.name]
kintone = "名前"
type = "text"
required = true
"#,
    );
    assert_eq!(summary(&check_form(&config.forms["f"], &view(&app))), []);
}

#[test]
fn fixed_values_must_fit_their_field() {
    let app = fields(json!({
        "名前": {"type": "SINGLE_LINE_TEXT", "code": "名前", "label": "名前"},
        "源": {"type": "DROP_DOWN", "code": "源", "label": "流入元",
               "options": {"web": {"label": "web", "index": "0"}}},
        "数": {"type": "NUMBER", "code": "数", "label": "数"},
        "印": {"type": "CHECK_BOX", "code": "印", "label": "印",
               "options": {"web": {"label": "web", "index": "0"}}},
        "短": {"type": "SINGLE_LINE_TEXT", "code": "短", "label": "短", "maxLength": "2"}
    }));
    let check = |fixed: &str| {
        let config = config(&format!(
            r#"
[forms.f]
app = 5
token_secret = "s"
allowed_origins = ["https://www.example.jp"]
fixed = {{ {fixed} }}
[forms.f.fields.name]
kintone = "名前"
type = "text"
"#
        ));
        summary(&check_form(&config.forms["f"], &view(&app)))
    };
    assert_eq!(check(r#""源" = "web", "数" = "3""#), []);
    let fixed_error = |code: &str| {
        vec![(
            Severity::Error,
            "forms.f.fixed".to_owned(),
            Some(code.to_owned()),
        )]
    };
    assert_eq!(check(r#""源" = "mail""#), fixed_error("源"));
    assert_eq!(check(r#""数" = "three""#), fixed_error("数"));
    assert_eq!(check(r#""印" = "web""#), fixed_error("印"));
    assert_eq!(check(r#""短" = "web""#), fixed_error("短"));
    assert_eq!(check(r#""無い" = "web""#), fixed_error("無い"));
}

#[test]
fn a_unique_text_field_holds_at_most_64_characters() {
    let app = fields(json!({
        "メール": {"type": "SINGLE_LINE_TEXT", "code": "メール", "label": "メール", "unique": true}
    }));
    let form = |max_length: &str| {
        config(&format!(
            r#"
[forms.f]
app = 5
token_secret = "s"
allowed_origins = ["https://www.example.jp"]
[forms.f.fields.email]
kintone = "メール"
type = "email"
{max_length}
"#
        ))
    };
    let found = check_form(&form("").forms["f"], &view(&app));
    assert_eq!(
        summary(&found),
        [(
            Severity::Error,
            "forms.f.fields.email.max_length".into(),
            Some("メール".into())
        )]
    );
    assert!(
        found[0].message.contains("254") && found[0].message.contains("64"),
        "{}",
        found[0].message
    );
    assert_eq!(
        summary(&check_form(
            &form("max_length = 64").forms["f"],
            &view(&app)
        )),
        []
    );
}

#[test]
fn type_mismatches_say_which_type_to_use() {
    let app = fields(json!({
        "件数": {"type": "NUMBER", "code": "件数", "label": "件数"},
        "作成者": {"type": "CREATOR", "code": "作成者", "label": "作成者"}
    }));
    let config = config(
        r#"
[forms.f]
app = 5
token_secret = "s"
allowed_origins = ["https://www.example.jp"]
[forms.f.fields.count]
kintone = "件数"
type = "text"
[forms.f.fields.who]
kintone = "作成者"
type = "text"
"#,
    );
    let found = check_form(&config.forms["f"], &view(&app));
    assert_eq!(found.len(), 2);
    assert!(
        found[0].message.ends_with("use type = \"number\""),
        "{}",
        found[0].message
    );
    assert!(
        found[1].message.contains("no input type"),
        "{}",
        found[1].message
    );
}

#[test]
fn a_lookup_on_a_record_number_or_choice_needs_that_type() {
    let app = fields(json!({
        "番号": {"type": "RECORD_NUMBER", "code": "番号", "label": "レコード番号"},
        "状況": {"type": "DROP_DOWN", "code": "状況", "label": "状況"},
        "ID": {"type": "LINK", "code": "ID", "label": "ID"}
    }));
    let check = |key: &str| {
        let section = LOOKUP.replace(r#"key = { input = "id", kintone = "ID" }"#, key);
        let config = config(&format!("{section}[lookups.l.outputs]\nid = \"ID\"\n"));
        summary(&check_lookup(&config.lookups["l"], &view(&app)))
    };
    assert_eq!(
        check(r#"key = { input = "id", kintone = "ID" }"#),
        [],
        "LINK matches as text"
    );
    assert_eq!(
        check(r#"key = { input = "id", kintone = "番号", type = "RECORD_NUMBER" }"#),
        []
    );
    assert_eq!(
        check(r#"key = { input = "id", kintone = "番号" }"#),
        [(
            Severity::Error,
            "lookups.l.key.type".into(),
            Some("番号".into())
        )]
    );
    assert_eq!(
        check(r#"key = { input = "id", kintone = "状況", type = "RADIO_BUTTON" }"#),
        [],
        "both choice types match with in (...)"
    );
}

#[test]
fn guest_space_and_unknown_apps_are_told_on_the_key_to_change() {
    let config = config("guest_space = 7\n");
    let not_found = FetchError::Refused {
        status: 404,
        code: "GAIA_AP01".into(),
        message: String::new(),
    };
    let (key, message) = crate::check::app_problem(&config, 12, &not_found).unwrap();
    assert_eq!(key, None);
    assert!(message.contains("no app 12"), "{message}");
    let other_space = FetchError::Refused {
        status: 403,
        code: "CB_NO02".into(),
        message: String::new(),
    };
    let (key, _) = crate::check::app_problem(&config, 12, &other_space).unwrap();
    assert_eq!(key.as_deref(), Some("kintone.guest_space"));
    let refused = FetchError::Refused {
        status: 400,
        code: "GAIA_IA02".into(),
        message: String::new(),
    };
    assert!(crate::check::app_problem(&config, 12, &refused).is_none());
}

#[test]
fn the_receipt_and_key_lengths_are_the_relays() {
    use relay_shared::submit::{IdempotencyKey, Receipt};
    let key = IdempotencyKey::parse(&"k".repeat(IDEMPOTENCY_KEY_CHARS)).unwrap();
    assert!(IdempotencyKey::parse(&"k".repeat(IDEMPOTENCY_KEY_CHARS + 1)).is_none());
    let receipt = Receipt::for_idempotency_key("f", &key);
    assert_eq!(receipt.as_str().chars().count(), RECEIPT_CHARS);
}
