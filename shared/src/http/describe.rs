//! `GET /forms/{form}` and `GET /lookups/{lookup}`: what a page needs to render a form or a
//! lookup, and nothing about where it goes. No field code, app id, base URL, secret, filter,
//! order or honeypot purpose appears here (a test checks it over the shipped relay.toml).

use serde_json::{Map, Value, json};

use crate::config::{FieldKind, Form, Lookup};

pub fn form(form: &Form) -> Value {
    let mut fields: Vec<Value> = form
        .fields
        .iter()
        .map(|(name, field)| {
            let mut described = Map::new();
            described.insert("name".into(), json!(name));
            described.insert("type".into(), json!(field.field_type));
            described.insert("required".into(), json!(field.required));
            described.insert("label".into(), json!(field.label));
            if let Some(help) = &field.help {
                described.insert("help".into(), json!(help));
            }
            match &field.kind {
                FieldKind::Text { max_length }
                | FieldKind::Multiline { max_length }
                | FieldKind::Email { max_length }
                | FieldKind::Tel { max_length }
                | FieldKind::Url { max_length } => {
                    described.insert("max_length".into(), json!(max_length));
                }
                FieldKind::Number { min, max } => {
                    // As numbers in JSON: the decimal's text is a plain JSON number.
                    let number = |d: &crate::input::Decimal| {
                        serde_json::from_str::<Value>(&d.to_string()).unwrap_or(Value::Null)
                    };
                    if let Some(min) = min {
                        described.insert("min".into(), number(min));
                    }
                    if let Some(max) = max {
                        described.insert("max".into(), number(max));
                    }
                }
                FieldKind::Choice { options } | FieldKind::Choices { options } => {
                    described.insert("options".into(), json!(options));
                }
                FieldKind::Consent { option } => {
                    described.insert("options".into(), json!([option]));
                }
                FieldKind::File(rule) => {
                    let accept: Vec<&str> = rule.accept.iter().map(|t| t.mime()).collect();
                    described.insert("max_bytes".into(), json!(rule.max_bytes));
                    described.insert("max_files".into(), json!(rule.max_files));
                    described.insert("accept".into(), json!(accept));
                }
                FieldKind::Date | FieldKind::Datetime => {}
            }
            Value::Object(described)
        })
        .collect();
    // The honeypot looks like any optional text input: a bot must not tell it apart.
    if let Some(honeypot) = &form.honeypot {
        fields.push(json!({
            "name": honeypot,
            "type": "text",
            "required": false,
            "label": { "ja": honeypot, "en": honeypot },
            "max_length": 200,
        }));
    }
    let mut description = json!({ "form": form.name, "title": form.title, "fields": fields });
    // The site key is public: the page needs it to show the provider's widget.
    if let Some(captcha) = &form.captcha {
        description["captcha"] =
            json!({ "provider": captcha.provider, "site_key": captcha.site_key });
    }
    description
}

pub fn lookup(lookup: &Lookup) -> Value {
    let inputs: Vec<Value> = lookup
        .inputs()
        .map(|field| {
            json!({
                "name": field.input,
                "required": true,
                "label": field.label,
                "max_length": field.max_length,
            })
        })
        .collect();
    let outputs: Vec<Value> = lookup
        .outputs
        .iter()
        .map(|(name, output)| {
            let mut described = Map::new();
            described.insert("name".into(), json!(name));
            described.insert("label".into(), json!(output.label));
            described.insert("shape".into(), json!(output.shape));
            if let Some(columns) = &output.columns {
                let names: Vec<&String> = columns.iter().map(|(name, _)| name).collect();
                described.insert("columns".into(), json!(names));
            }
            Value::Object(described)
        })
        .collect();
    json!({
        "lookup": lookup.name,
        "title": lookup.title,
        "inputs": inputs,
        "outputs": outputs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, EMBEDDED_CONFIG, EMBEDDED_CONFIG_NAME};

    /// Every string in a JSON value, keys included, apart from the wording relay.toml gives
    /// for people to read (a label may well say what the field code says).
    fn strings(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(text) => out.push(text.clone()),
            Value::Array(items) => items.iter().for_each(|item| strings(item, out)),
            Value::Object(members) => {
                for (key, member) in members {
                    out.push(key.clone());
                    if !matches!(key.as_str(), "label" | "title" | "help") {
                        strings(member, out);
                    }
                }
            }
            _ => {}
        }
    }

    /// What must never be in a description, for a form or lookup of `config`.
    fn secrets_of(config: &Config) -> Vec<String> {
        let mut hidden = vec![config.kintone.base_url.clone()];
        for form in config.forms.values() {
            hidden.push(form.access.token_secret.to_string());
            hidden.extend(form.fields.values().map(|f| f.kintone.to_string()));
            hidden.extend(form.fixed.keys().map(ToString::to_string));
            hidden.extend(form.fixed.values().cloned());
            hidden.extend(form.receipt_field.iter().map(ToString::to_string));
            hidden.extend(form.idempotency_field.iter().map(ToString::to_string));
        }
        for lookup in config.lookups.values() {
            hidden.push(lookup.access.token_secret.to_string());
            hidden.extend(lookup.inputs().map(|f| f.kintone.to_string()));
            hidden.extend(lookup.outputs.values().map(|o| o.field.to_string()));
            hidden.extend(lookup.expires.iter().map(|e| e.field.to_string()));
        }
        hidden
    }

    #[test]
    fn descriptions_of_the_shipped_config_reveal_nothing_of_kintone() {
        let config = Config::parse(EMBEDDED_CONFIG, EMBEDDED_CONFIG_NAME).unwrap();
        let hidden = secrets_of(&config);
        let mut described = Vec::new();
        for form in config.forms.values() {
            described.push(super::form(form));
        }
        for lookup in config.lookups.values() {
            let description = super::lookup(lookup);
            let text = description.to_string();
            for clause in [
                lookup.filter.as_ref().map(|f| format!("{f:?}")),
                lookup.order_by.as_ref().map(|o| format!("{o:?}")),
            ]
            .into_iter()
            .flatten()
            {
                let inner = clause.split('"').nth(1).unwrap_or_default().to_owned();
                assert!(!text.contains(&inner), "{inner} in {text}");
            }
            described.push(description);
        }
        assert!(described.len() >= 2);
        for description in &described {
            let text = description.to_string();
            for key in [
                "app",
                "kintone",
                "token_secret",
                "filter",
                "order_by",
                "honeypot",
            ] {
                assert!(!text.contains(&format!("\"{key}\"")), "{key} in {text}");
            }
            let mut values = Vec::new();
            strings(description, &mut values);
            for value in &values {
                assert!(
                    !hidden.contains(value),
                    "{value:?} is kintone's, not the page's: {text}"
                );
            }
            for (app, found) in config
                .forms
                .values()
                .map(|f| f.app)
                .chain(config.lookups.values().map(|l| l.app))
                .map(|app| {
                    (
                        app,
                        text.contains(&format!(":{app},")) || text.contains(&format!(":{app}}}")),
                    )
                })
            {
                assert!(!found, "app {app} in {text}");
            }
        }
    }

    #[test]
    fn a_form_is_described_in_declared_order_with_the_honeypot_as_a_plain_input() {
        let config = crate::fixtures::config();
        let described = form(&config.forms["seminar"]);
        let names: Vec<&str> = described["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|field| field["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "name",
                "email",
                "phone",
                "session",
                "attendees",
                "preferred_date",
                "question",
                "consent",
                "website"
            ]
        );
        let fields = described["fields"].as_array().unwrap();
        assert_eq!(fields[3]["options"], json!(["午前の部", "午後の部"]));
        assert_eq!(fields[4]["min"], json!(1));
        assert_eq!(fields[4]["max"], json!(10));
        assert_eq!(fields[0]["max_length"], json!(100));
        assert_eq!(fields[0]["label"], json!({"ja": "name", "en": "name"}));
        assert_eq!(
            described["title"],
            json!({"ja": "seminar", "en": "seminar"})
        );
        let honeypot = &fields[8];
        let plain = &fields[2];
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(honeypot), keys(plain));
    }
}
