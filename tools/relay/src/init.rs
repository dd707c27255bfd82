//! `relay init form|lookup NAME --app ID`: a relay.toml section built from the app's fields,
//! with a comment at every choice the developer must make, to trim and paste into relay.toml.
//! What it prints parses as relay.toml and passes `relay check` against the same app as is.

use std::fmt::Write as _;

use relay_shared::kintone::FieldType as K;

use crate::check::offline;
use crate::cli::{InitArgs, InitKind, is_plain_name};
use crate::findings::ExitStatus;
use crate::kintone_fields::{AppFields, FieldSettings, Kintone};
use crate::tokens::Tokens;
use crate::{Env, Outcome, basic_auth, connection_problem};

pub async fn run(args: &InitArgs, env: &Env) -> Outcome {
    let failed = |message: String| Outcome {
        status: ExitStatus::Incomplete.code(),
        stdout: String::new(),
        stderr: format!("relay init: {message}\n"),
    };
    // The domain, guest space and timeouts come from relay.toml's [kintone], as for check.
    let config = match offline::load(&args.config, env.get("KINTONE_BASE_URL")) {
        Ok(config) => config,
        Err(err) => return failed(format!("cannot read [kintone] from {err}")),
    };
    let tokens = match Tokens::parse(&args.token_env, env.get(&args.token_env)) {
        Ok(tokens) => tokens,
        Err(err) => return failed(err.to_string()),
    };
    let Some(token) = tokens.for_app(args.app) else {
        return failed(format!(
            "{} has no token for app {}",
            args.token_env, args.app
        ));
    };
    let kintone = match Kintone::new(&config.kintone, basic_auth(env)) {
        Ok(kintone) => kintone,
        Err(err) => return failed(format!("no HTTP client: {err}")),
    };
    let fields = match kintone.form_fields(args.app, token).await {
        Ok(fields) => fields,
        Err(err) => return failed(connection_problem(&err, args.app, &args.token_env)),
    };
    let section = match args.kind {
        InitKind::Form => Ok(form_section(&args.name, args.app, &fields)),
        InitKind::Lookup => lookup_section(&args.name, args.app, &fields),
    };
    match section {
        Ok(stdout) => Outcome {
            status: ExitStatus::Clean.code(),
            stdout,
            stderr: String::new(),
        },
        Err(message) => failed(message),
    }
}

/// A TOML basic string: quotes, backslashes and control characters escaped.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn quoted_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|item| quoted(item)).collect();
    format!("[{}]", items.join(", "))
}

/// Input and output names must be plain (they are JSON keys in the page's requests); a
/// Japanese field code becomes `field_<n>`, which the developer renames.
fn names(fields: &[&FieldSettings]) -> Vec<String> {
    fields
        .iter()
        .enumerate()
        .map(|(i, field)| {
            if is_plain_name(&field.code) {
                field.code.clone()
            } else {
                format!("field_{}", i + 1)
            }
        })
        .collect()
}

/// `label = { ja = "氏名" }`: kintone's field name, the one language it gives.
fn label(field: &FieldSettings) -> String {
    format!("{{ ja = {} }}", quoted(&field.label))
}

/// The relay's input type for a kintone field, if the relay has one.
fn input_type(field: &FieldSettings) -> Option<&'static str> {
    Some(match field.field_type? {
        K::SingleLineText => "text",
        K::MultiLineText => "multiline",
        K::Link => "url",
        K::Number => "number",
        K::Date => "date",
        K::Datetime => "datetime",
        K::RadioButton | K::DropDown => "choice",
        K::CheckBox | K::MultiSelect => "choices",
        _ => return None,
    })
}

/// The most characters the field holds, as `relay check` counts them.
fn text_limit(field: &FieldSettings) -> Option<usize> {
    let unique_cap = (field.unique
        && matches!(field.field_type, Some(K::SingleLineText | K::Link)))
    .then_some(64);
    match (field.max_length, unique_cap) {
        (Some(own), Some(cap)) => Some(own.min(cap)),
        (own, cap) => own.or(cap),
    }
}

fn header(kind: &str, name: &str, app: u64, fields: &AppFields) -> String {
    format!(
        "# relay init {kind} {name} --app {app}: built from app {app}'s fields (revision {}),\n\
         # in field-code order. Delete what the page should not have, rename the field_N names,\n\
         # order the rest as the page shows them, then run `relay check`.\n",
        fields.revision
    )
}

/// A section's table line, the title hint, `app` and `token_secret`: a token for `app` with
/// only `permission`, in the secret `kintone-relay/<name>-<suffix>`.
fn section_start(
    out: &mut String,
    table: &str,
    name: &str,
    app: u64,
    permission: &str,
    suffix: &str,
) {
    let _ = writeln!(out, "[{table}.{name}]");
    let _ = writeln!(
        out,
        "# title = {{ ja = \"…\", en = \"…\" }}              # the page's heading"
    );
    let _ = writeln!(out, "app = {app}");
    let _ = writeln!(
        out,
        "token_secret = {}   # a Secrets Manager secret holding an API token of app {app} with only \"{permission}\"",
        quoted(&format!("kintone-relay/{name}-{suffix}"))
    );
}

pub fn form_section(name: &str, app: u64, fields: &AppFields) -> String {
    let (inputs, skipped): (Vec<&FieldSettings>, Vec<&FieldSettings>) = fields
        .fields
        .values()
        .partition(|field| input_type(field).is_some());
    let input_names = names(&inputs);
    let mut out = header("form", name, app, fields);
    section_start(&mut out, "forms", name, app, "Add records", "add");
    let _ = writeln!(
        out,
        "allowed_origins = [\"https://www.example.jp\"]   # CHOOSE: the origins of the pages that post here"
    );
    let unique: Vec<&&FieldSettings> = inputs
        .iter()
        .filter(|field| field.is(K::SingleLineText) && field.unique)
        .collect();
    match unique.as_slice() {
        [] => {
            let _ = writeln!(
                out,
                "# receipt_field / idempotency_field: add single-line text fields with \"Prohibit duplicate values\" to the app to store the receipt and make retries safe"
            );
        }
        candidates => {
            // One field cannot be both: with one candidate, only the receipt is suggested.
            for (key, field) in ["receipt_field", "idempotency_field"]
                .iter()
                .zip(candidates)
            {
                let _ = writeln!(
                    out,
                    "# {key} = {}   # CHOOSE: a text field with \"Prohibit duplicate values\" (then delete its input below)",
                    quoted(&field.code)
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "# fixed = {{ \"流入元\" = \"web\" }}   # values the relay always sets (kintone field code = value)"
    );
    for (field, input) in inputs.iter().zip(&input_names) {
        out.push('\n');
        let _ = write!(out, "[forms.{name}.fields.{input}]");
        if input.starts_with("field_") {
            let _ = write!(out, "   # CHOOSE a name: the key the page sends");
        }
        out.push('\n');
        let _ = writeln!(out, "label = {}", label(field));
        let _ = writeln!(out, "kintone = {}", quoted(&field.code));
        let Some(kind) = input_type(field) else {
            continue;
        };
        let note = match field.field_type {
            Some(K::SingleLineText) => "   # or \"email\", \"tel\"",
            Some(K::CheckBox) if field.options.len() == 1 => {
                "   # or \"consent\" for one box that must be ticked"
            }
            _ => "",
        };
        let _ = writeln!(out, "type = \"{kind}\"{note}");
        if field.required {
            let _ = writeln!(out, "required = true");
        }
        if matches!(kind, "text" | "url")
            && let Some(limit) = text_limit(field)
        {
            let _ = writeln!(out, "max_length = {limit}");
        }
        if kind == "number" {
            if let Some(min) = &field.min_value {
                let _ = writeln!(out, "min = {min}");
            }
            if let Some(max) = &field.max_value {
                let _ = writeln!(out, "max = {max}");
            }
        }
        if matches!(kind, "choice" | "choices") {
            let _ = writeln!(out, "options = {}", quoted_list(&field.options));
        }
    }
    if !skipped.is_empty() {
        out.push_str("\n# Not inputs (the relay has no input type for them):\n");
        for field in skipped {
            let _ = writeln!(
                out,
                "#   {} ({}): {}",
                field.code, field.type_name, field.label
            );
        }
    }
    out
}

/// How kintone's query can match a field exactly, as relay.toml spells the type; `None` for
/// fields a lookup cannot match on.
fn match_type(field: &FieldSettings) -> Option<&'static str> {
    Some(match field.field_type? {
        K::SingleLineText => "SINGLE_LINE_TEXT",
        K::Link => "LINK",
        K::Number => "NUMBER",
        K::RecordNumber => "RECORD_NUMBER",
        K::Date => "DATE",
        K::DropDown => "DROP_DOWN",
        K::RadioButton => "RADIO_BUTTON",
        _ => return None,
    })
}

/// Fields that hold a value a lookup can answer.
fn is_output(field: &FieldSettings) -> bool {
    field.enabled
        && !matches!(
            field.field_type,
            Some(K::Group | K::Label | K::Spacer | K::Hr | K::ReferenceTable) | None
        )
}

fn shape(field: &FieldSettings) -> Option<&'static str> {
    match field.field_type? {
        K::CheckBox
        | K::MultiSelect
        | K::UserSelect
        | K::OrganizationSelect
        | K::GroupSelect
        | K::Category
        | K::StatusAssignee => Some("list"),
        K::File => Some("files"),
        _ => None,
    }
}

pub fn lookup_section(name: &str, app: u64, fields: &AppFields) -> Result<String, String> {
    let outputs: Vec<&FieldSettings> = fields.fields.values().filter(|f| is_output(f)).collect();
    let output_names = names(&outputs);
    let name_of = |code: &str| {
        outputs
            .iter()
            .position(|f| f.code == code)
            .map(|i| output_names[i].clone())
            .unwrap_or_else(|| code.to_owned())
    };
    let matchable: Vec<&FieldSettings> = outputs
        .iter()
        .copied()
        .filter(|f| match_type(f).is_some())
        .collect();
    // A field that prohibits duplicates names one record, so it makes the best key (a record
    // number too, but it counts up and is easy to guess); a typed text or number corroborates
    // better than a date or a choice.
    let rank = |f: &FieldSettings| match f.field_type {
        _ if f.unique => 0,
        Some(K::RecordNumber) => 1,
        Some(K::SingleLineText | K::Link) => 2,
        Some(K::Number) => 3,
        Some(K::Date) => 4,
        _ => 5,
    };
    let key = matchable
        .iter()
        .copied()
        .min_by_key(|f| rank(f))
        .ok_or_else(|| {
            format!(
                "app {app} has no field a lookup can match exactly (single-line text, link, number, record number, date, drop-down, radio button)"
            )
        })?;
    let verify = matchable
        .iter()
        .copied()
        .filter(|f| f.code != key.code)
        .min_by_key(|f| rank(f));
    let matched = |f: &FieldSettings| {
        let mut entry = format!(
            "{{ input = {}, kintone = {}, label = {}",
            quoted(&name_of(&f.code)),
            quoted(&f.code),
            label(f)
        );
        if let Some(kind) = match_type(f).filter(|kind| *kind != "SINGLE_LINE_TEXT") {
            let _ = write!(entry, ", type = \"{kind}\"");
        }
        entry.push_str(" }");
        entry
    };
    let candidates: Vec<String> = matchable
        .iter()
        .map(|f| format!("{} ({})", f.code, f.type_name))
        .collect();

    let mut out = header("lookup", name, app, fields);
    section_start(&mut out, "lookups", name, app, "View records", "view");
    let _ = writeln!(
        out,
        "allowed_origins = [\"https://partner.example.jp\"]   # CHOOSE: the origins of the pages that ask"
    );
    let _ = writeln!(
        out,
        "# CHOOSE the key (what a partner types first, such as an ID) and the fields that corroborate it."
    );
    let _ = writeln!(
        out,
        "# Fields that can be matched exactly: {}",
        candidates.join(", ")
    );
    let _ = writeln!(out, "key = {}", matched(key));
    match verify {
        Some(verify) => {
            let _ = writeln!(out, "verify = [ {} ]", matched(verify));
        }
        None => {
            let _ = writeln!(
                out,
                "key_only = true   # CHOOSE: only if the key is itself a long secret; otherwise add a field to corroborate it"
            );
        }
    }
    let _ = writeln!(
        out,
        "# filter = '公開 in (\"公開する\")'   # optional, written by you: only records that match are found"
    );
    let expiry = outputs.iter().find(|f| f.is(K::Date) || f.is(K::Datetime));
    if let Some(expiry) = expiry {
        let _ = write!(
            out,
            "# expires_field = {}   # optional: a past date means not found",
            quoted(&expiry.code)
        );
        if expiry.is(K::Datetime) {
            let _ = write!(out, " (with expires_type = \"DATETIME\")");
        }
        out.push('\n');
    }
    let _ = writeln!(out, "# order_by = {}", quoted(&format!("{} asc", key.code)));
    let _ = writeln!(
        out,
        "\n[lookups.{name}.outputs]   # CHOOSE what a partner may see and delete the rest: a view token reads every field"
    );
    for (field, output) in outputs.iter().zip(&output_names) {
        let mut entry = format!(
            "{output} = {{ kintone = {}, label = {}",
            quoted(&field.code),
            label(field)
        );
        if field.is(K::Subtable) {
            let columns: Vec<&FieldSettings> = field.columns.values().collect();
            let column_names = names(&columns);
            let listed: Vec<String> = columns
                .iter()
                .zip(&column_names)
                .map(|(column, column_name)| format!("{column_name} = {}", quoted(&column.code)))
                .collect();
            let _ = write!(entry, ", columns = {{ {} }}", listed.join(", "));
        } else if let Some(shape) = shape(field) {
            let _ = write!(entry, ", shape = \"{shape}\"");
        }
        entry.push_str(" }");
        let _ = writeln!(out, "{entry}");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use relay_shared::config::Config;
    use serde_json::json;

    fn app() -> AppFields {
        AppFields::from_json(&json!({
            "revision": "3",
            "properties": {
                "氏名": {"type": "SINGLE_LINE_TEXT", "code": "氏名", "label": "お名前",
                         "required": true, "unique": false, "maxLength": "100"},
                "Email": {"type": "SINGLE_LINE_TEXT", "code": "Email", "label": "メール \"主\"",
                          "required": false, "unique": true, "maxLength": ""},
                "人数": {"type": "NUMBER", "code": "人数", "label": "人数", "minValue": "1",
                         "maxValue": "10.5"},
                "部": {"type": "RADIO_BUTTON", "code": "部", "label": "部",
                       "options": {"午後": {"label": "午後", "index": "1"},
                                   "午前": {"label": "午前", "index": "0"}}},
                "同意": {"type": "CHECK_BOX", "code": "同意", "label": "同意",
                         "options": {"同意する": {"label": "同意する", "index": "0"}}},
                "期限": {"type": "DATE", "code": "期限", "label": "期限"},
                "番号": {"type": "RECORD_NUMBER", "code": "番号", "label": "レコード番号"},
                "作成者": {"type": "CREATOR", "code": "作成者", "label": "作成者"},
                "明細": {"type": "SUBTABLE", "code": "明細", "label": "明細", "fields": {
                    "品名": {"type": "SINGLE_LINE_TEXT", "code": "品名", "label": "品名"}}},
                "状態": {"type": "STATUS", "code": "状態", "label": "状態", "enabled": false}
            }
        }))
        .unwrap()
    }

    fn parses(section: &str) -> Config {
        let text = format!("[kintone]\nbase_url = \"https://example.cybozu.com\"\n\n{section}");
        Config::parse(&text, "init output").unwrap_or_else(|err| panic!("{err}\n{text}"))
    }

    #[test]
    fn a_form_section_parses_and_keeps_the_apps_rules() {
        let section = form_section("contact", 7, &app());
        let config = parses(&section);
        let form = &config.forms["contact"];
        assert_eq!(form.app, 7);
        let name = form
            .fields
            .values()
            .find(|f| f.kintone.as_str() == "氏名")
            .unwrap();
        assert!(name.required);
        assert_eq!(name.label.ja, "お名前");
        assert!(matches!(
            name.kind,
            relay_shared::config::FieldKind::Text { max_length: 100 }
        ));
        let email = &form.fields["Email"];
        assert_eq!(email.label.ja, "メール \"主\"");
        assert!(matches!(
            email.kind,
            relay_shared::config::FieldKind::Text { max_length: 64 }
        ));
        assert!(section.contains("min = 1\nmax = 10.5"), "{section}");
        assert!(
            section.contains("options = [\"午前\", \"午後\"]"),
            "{section}"
        );
        assert!(section.contains("# receipt_field = \"Email\""), "{section}");
        assert!(
            section.contains("#   作成者 (CREATOR): 作成者"),
            "{section}"
        );
        assert!(!form.fields.values().any(|f| f.kintone.as_str() == "番号"));
    }

    #[test]
    fn a_lookup_section_parses_with_a_unique_key() {
        let section = lookup_section("orders", 7, &app()).unwrap();
        let config = parses(&section);
        let lookup = &config.lookups["orders"];
        assert_eq!(lookup.key.kintone.as_str(), "Email", "{section}");
        assert_eq!(lookup.verify[0].kintone.as_str(), "番号", "{section}");
        let table = lookup
            .outputs
            .values()
            .find(|o| o.field.as_str() == "明細")
            .unwrap();
        assert_eq!(table.columns.as_ref().unwrap().len(), 1, "{section}");
        assert!(
            !section.contains("状態"),
            "a disabled status is no output: {section}"
        );
        assert!(section.contains("# expires_field = \"期限\""), "{section}");
        assert!(lookup_section("x", 7, &AppFields::default()).is_err());
    }
}
