//! The online part of `relay check`: each form and lookup compared with the field settings of
//! its app. Pure functions of the checked config and the app's fields, so every finding is
//! tested without a network.
//!
//! Each mistake is reported once, where it is fixed: a field that does not exist is not also
//! reported as a type mismatch, and a type mismatch hides the option and length checks that
//! would follow from it.

use std::collections::BTreeSet;

use relay_shared::config::{
    ExpiryKind, FieldKind, FieldType as InputType, Form, Lookup, MatchField, MatchKind, Output,
    OutputShape,
};
use relay_shared::input::Decimal;
use relay_shared::kintone::FieldType as K;

use crate::findings::{Finding, Recorder, Subject};
use crate::kintone_fields::{AppFields, FieldSettings};

/// The receipt is 20 Crockford symbols in groups of four (`9NDQ-3GJ1-BT71-NNY9-RX25`).
pub const RECEIPT_CHARS: usize = 24;
/// The longest `Idempotency-Key` the relay accepts.
pub const IDEMPOTENCY_KEY_CHARS: usize = 64;
/// kintone's limit for a text or link field that prohibits duplicate values (fact sheet §5.2).
const UNIQUE_TEXT_CHARS: usize = 64;

/// An app as `relay check` read it.
pub struct AppView<'a> {
    pub app: u64,
    pub fields: &'a AppFields,
    /// Whether the token given for the app can view records; `None` when kintone did not say.
    pub token_can_view: Option<bool>,
    /// The variable the token came from, for messages.
    pub token_env: &'a str,
}

impl AppView<'_> {
    fn missing(&self, code: &str) -> String {
        format!(
            "app {} has no field with the code \"{code}\" (codes are case- and width-sensitive; see the app's settings → Form → each field's settings).",
            self.app
        )
    }
}

// ------------------------------------------------------------------------------ forms

pub fn check_form(form: &Form, app: &AppView<'_>) -> Vec<Finding> {
    let mut found = Recorder::new(Subject::Form(form.name.clone()));
    for (input, field) in &form.fields {
        let key = format!("fields.{input}");
        let code = field.kintone.as_str();
        let Some(settings) = app.fields.get(code) else {
            found.error(
                &format!("{key}.kintone"),
                Some(input),
                Some(code),
                format!(
                    "{} kintone adds the record without an unknown field, so this answer would be lost",
                    app.missing(code)
                ),
            );
            continue;
        };
        if !input_fits(field.field_type, settings) {
            found.error(
                &format!("{key}.type"),
                Some(input),
                Some(code),
                type_mismatch(field.field_type, settings),
            );
            continue;
        }
        check_options(&mut found, &key, input, &field.kind, settings);
        check_length(&mut found, &key, input, &field.kind, settings);
        check_range(&mut found, &key, input, &field.kind, settings);
        if settings.required
            && !settings.has_default
            && !field.required
            && enforces_required(settings)
        {
            found.warning(
                &format!("{key}.required"),
                Some(input),
                Some(code),
                format!(
                    "kintone requires \"{}\", so it refuses an empty answer the page lets through: set required = true",
                    settings.label
                ),
            );
        }
    }
    for (code, value) in &form.fixed {
        check_fixed(&mut found, app, code.as_str(), value);
    }
    let own_fields = [
        (
            "receipt_field",
            form.receipt_field.as_ref(),
            RECEIPT_CHARS,
            "the receipt",
        ),
        (
            "idempotency_field",
            form.idempotency_field.as_ref(),
            IDEMPOTENCY_KEY_CHARS,
            "the Idempotency-Key",
        ),
    ];
    for (key, code, chars, what) in own_fields {
        if let Some(code) = code {
            check_own_field(&mut found, app, key, code.as_str(), chars, what);
        }
    }
    check_required_coverage(&mut found, form, app);
    if app.token_can_view == Some(true) {
        found.warning(
            "token_secret",
            None,
            None,
            format!(
                "the token in {} for app {} can view records, and a form needs only \"add\": whoever obtains it reads every record. In kintone: App settings → API token → untick View records, Save, then Update App",
                app.token_env, app.app
            ),
        );
    }
    found.findings
}

/// The kintone types an input type writes (README, "Fields").
fn accepted(input: InputType) -> &'static [K] {
    match input {
        InputType::Text | InputType::Email | InputType::Tel => &[K::SingleLineText],
        InputType::Multiline => &[K::MultiLineText],
        InputType::Url => &[K::Link],
        InputType::Number => &[K::Number],
        InputType::Date => &[K::Date],
        InputType::Datetime => &[K::Datetime],
        InputType::Choice => &[K::RadioButton, K::DropDown],
        InputType::Choices => &[K::CheckBox, K::MultiSelect],
        // A consent is one box that must be ticked.
        InputType::Consent => &[K::CheckBox],
        InputType::File => &[K::File],
    }
}

fn input_fits(input: InputType, settings: &FieldSettings) -> bool {
    settings
        .field_type
        .is_some_and(|t| accepted(input).contains(&t))
}

/// The input type that writes a kintone type, and its alternatives, for the fix in a message.
fn suggested_input(field_type: Option<K>) -> Option<(&'static str, &'static str)> {
    Some(match field_type? {
        K::SingleLineText => ("text", " (or \"email\", \"tel\")"),
        K::MultiLineText => ("multiline", ""),
        K::Link => ("url", ""),
        K::Number => ("number", ""),
        K::Date => ("date", ""),
        K::Datetime => ("datetime", ""),
        K::RadioButton | K::DropDown => ("choice", ""),
        K::CheckBox => (
            "choices",
            " (or \"consent\" for one box that must be ticked)",
        ),
        K::MultiSelect => ("choices", ""),
        K::File => ("file", ""),
        _ => return None,
    })
}

fn input_type_name(input: InputType) -> String {
    serde_json::to_value(input)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn type_mismatch(input: InputType, settings: &FieldSettings) -> String {
    let wants: Vec<String> = accepted(input).iter().map(|t| t.name()).collect();
    let fix = match suggested_input(settings.field_type) {
        Some((suggested, alternatives)) => format!("use type = \"{suggested}\"{alternatives}"),
        None => "the relay has no input type for it; write another field".to_owned(),
    };
    format!(
        "\"{}\" is a {} field, but type \"{}\" writes {}: {fix}",
        settings.label,
        settings.type_name,
        input_type_name(input),
        wants.join(" or ")
    )
}

/// kintone does not enforce "required" on radio buttons and calculated fields (fact sheet §5.2).
fn enforces_required(settings: &FieldSettings) -> bool {
    !matches!(settings.field_type, Some(K::RadioButton | K::Calc))
}

fn check_options(
    found: &mut Recorder,
    key: &str,
    input: &str,
    kind: &FieldKind,
    settings: &FieldSettings,
) {
    let declared: Vec<&String> = match kind {
        FieldKind::Choice { options } | FieldKind::Choices { options } => options.iter().collect(),
        FieldKind::Consent { option } => vec![option],
        _ => return,
    };
    let code = settings.code.as_str();
    let missing: Vec<String> = declared
        .iter()
        .filter(|option| !settings.options.contains(option))
        .map(|option| format!("\"{option}\""))
        .collect();
    if !missing.is_empty() {
        found.error(
            &format!("{key}.options"),
            Some(input),
            Some(code),
            format!(
                "{} {} not among the options of \"{}\" ({}); kintone would refuse {}",
                missing.join(", "),
                if missing.len() == 1 { "is" } else { "are" },
                settings.label,
                quoted_list(&settings.options),
                if missing.len() == 1 { "it" } else { "them" },
            ),
        );
        return;
    }
    if matches!(kind, FieldKind::Consent { .. }) {
        return;
    }
    let extra: Vec<String> = settings
        .options
        .iter()
        .filter(|option| !declared.contains(option))
        .cloned()
        .collect();
    if !extra.is_empty() {
        found.warning(
            &format!("{key}.options"),
            Some(input),
            Some(code),
            format!(
                "\"{}\" also has the options {}, which the page cannot send: list them if they should be offered",
                settings.label,
                quoted_list(&extra)
            ),
        );
    }
}

fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("\"{item}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The most characters the field holds: its maximum length, and 64 if it prohibits duplicates.
fn text_limit(settings: &FieldSettings) -> Option<(usize, &'static str)> {
    let unique_cap = (settings.unique
        && matches!(settings.field_type, Some(K::SingleLineText | K::Link)))
    .then_some((UNIQUE_TEXT_CHARS, "a field that prohibits duplicate values"));
    let own = settings.max_length.map(|n| (n, "its maximum length"));
    match (own, unique_cap) {
        (Some(own), Some(cap)) => Some(if cap.0 < own.0 { cap } else { own }),
        (own, cap) => own.or(cap),
    }
}

fn check_length(
    found: &mut Recorder,
    key: &str,
    input: &str,
    kind: &FieldKind,
    settings: &FieldSettings,
) {
    let max_length = match kind {
        FieldKind::Text { max_length }
        | FieldKind::Multiline { max_length }
        | FieldKind::Email { max_length }
        | FieldKind::Tel { max_length }
        | FieldKind::Url { max_length } => *max_length,
        _ => return,
    };
    let Some((limit, why)) = text_limit(settings) else {
        return;
    };
    let code = settings.code.as_str();
    if max_length > limit {
        found.error(
            &format!("{key}.max_length"),
            Some(input),
            Some(code),
            format!(
                "the relay accepts {max_length} characters (max_length, or the type's default), but \"{}\" holds at most {limit} ({why}): kintone would refuse longer answers. Set max_length = {limit}",
                settings.label
            ),
        );
    } else if settings.max_length.is_some_and(|own| max_length < own) {
        found.warning(
            &format!("{key}.max_length"),
            Some(input),
            Some(code),
            format!(
                "\"{}\" holds up to {limit} characters, but the relay refuses answers over {max_length}: raise max_length if longer answers are fine",
                settings.label
            ),
        );
    }
}

fn check_range(
    found: &mut Recorder,
    key: &str,
    input: &str,
    kind: &FieldKind,
    settings: &FieldSettings,
) {
    let FieldKind::Number { min, max } = kind else {
        return;
    };
    let code = settings.code.as_str();
    let shown = |bound: &Option<Decimal>| {
        bound
            .as_ref()
            .map_or("none".to_owned(), ToString::to_string)
    };
    if let Some(field_min) = &settings.min_value
        && min.as_ref().is_none_or(|min| min < field_min)
    {
        found.error(
            &format!("{key}.min"),
            Some(input),
            Some(code),
            format!(
                "\"{}\" takes {field_min} or more, but the relay's min is {}: kintone would refuse smaller numbers. Set min = {field_min}",
                settings.label,
                shown(min)
            ),
        );
    }
    if let Some(field_max) = &settings.max_value
        && max.as_ref().is_none_or(|max| max > field_max)
    {
        found.error(
            &format!("{key}.max"),
            Some(input),
            Some(code),
            format!(
                "\"{}\" takes {field_max} or less, but the relay's max is {}: kintone would refuse larger numbers. Set max = {field_max}",
                settings.label,
                shown(max)
            ),
        );
    }
}

/// A fixed value is sent as one text, which fits only fields that take one.
fn check_fixed(found: &mut Recorder, app: &AppView<'_>, code: &str, value: &str) {
    let Some(settings) = app.fields.get(code) else {
        found.error(
            "fixed",
            None,
            Some(code),
            format!("{} kintone would drop the value", app.missing(code)),
        );
        return;
    };
    let problem = match settings.field_type {
        Some(K::SingleLineText | K::MultiLineText | K::RichText | K::Link) => {
            match text_limit(settings) {
                Some((limit, why)) if value.chars().count() > limit => Some(format!(
                    "\"{value}\" is longer than \"{}\" holds ({limit} characters, {why})",
                    settings.label
                )),
                _ => None,
            }
        }
        Some(K::Number) => Decimal::parse(value.trim()).is_none().then(|| {
            format!(
                "\"{value}\" is not a number, and \"{}\" is a NUMBER field",
                settings.label
            )
        }),
        Some(K::Date | K::Datetime | K::Time) => None,
        Some(K::RadioButton | K::DropDown) => {
            (!settings.options.iter().any(|o| o == value)).then(|| {
                format!(
                    "\"{value}\" is not among the options of \"{}\" ({})",
                    settings.label,
                    quoted_list(&settings.options)
                )
            })
        }
        _ => Some(format!(
            "\"{}\" is a {} field, which a fixed value (one text) cannot fill",
            settings.label, settings.type_name
        )),
    };
    if let Some(problem) = problem {
        found.error(
            "fixed",
            None,
            Some(code),
            format!("{problem}: kintone would refuse every submission"),
        );
    }
}

/// The receipt and Idempotency-Key fields: text that prohibits duplicates, long enough.
fn check_own_field(
    found: &mut Recorder,
    app: &AppView<'_>,
    key: &str,
    code: &str,
    chars: usize,
    what: &str,
) {
    let Some(settings) = app.fields.get(code) else {
        found.error(key, None, Some(code), app.missing(code));
        return;
    };
    if !settings.is(K::SingleLineText) {
        found.error(
            key,
            None,
            Some(code),
            format!(
                "\"{}\" is a {} field; {what} needs a single-line text field (SINGLE_LINE_TEXT) with \"prohibit duplicate values\"",
                settings.label, settings.type_name
            ),
        );
        return;
    }
    if !settings.unique {
        found.error(
            key,
            None,
            Some(code),
            format!(
                "\"{}\" does not prohibit duplicate values, so a replayed or redelivered submission would add a second record: tick \"Prohibit duplicate values\" in the field's settings and update the app",
                settings.label
            ),
        );
    }
    if let Some((limit, why)) = text_limit(settings)
        && limit < chars
    {
        found.error(
            key,
            None,
            Some(code),
            format!(
                "\"{}\" holds at most {limit} characters ({why}), but {what} can be {chars}",
                settings.label
            ),
        );
    }
}

/// A required field nobody fills makes kintone refuse every submission.
fn check_required_coverage(found: &mut Recorder, form: &Form, app: &AppView<'_>) {
    let mut filled: BTreeSet<&str> = form.fields.values().map(|f| f.kintone.as_str()).collect();
    filled.extend(form.fixed.keys().map(|code| code.as_str()));
    filled.extend(form.receipt_field.iter().map(|code| code.as_str()));
    filled.extend(form.idempotency_field.iter().map(|code| code.as_str()));
    for settings in app.fields.fields.values() {
        if settings.required
            && !settings.has_default
            && enforces_required(settings)
            && !filled.contains(settings.code.as_str())
        {
            found.error(
                "fields",
                None,
                Some(&settings.code),
                format!(
                    "kintone requires \"{}\", but no input, fixed value, receipt or idempotency field fills it: kintone would refuse every submission. Add an input for it or a fixed value",
                    settings.label
                ),
            );
        }
    }
}

// ------------------------------------------------------------------------------ lookups

pub fn check_lookup(lookup: &Lookup, app: &AppView<'_>) -> Vec<Finding> {
    let mut found = Recorder::new(Subject::Lookup(lookup.name.clone()));
    check_match(&mut found, app, "key", &lookup.key);
    for (i, field) in lookup.verify.iter().enumerate() {
        check_match(&mut found, app, &format!("verify[{i}]"), field);
    }
    for (name, output) in &lookup.outputs {
        check_output(&mut found, app, name, output);
    }
    if let Some(expiry) = &lookup.expires {
        let code = expiry.field.as_str();
        match app.fields.get(code) {
            None => found.error("expires_field", None, Some(code), app.missing(code)),
            Some(settings) => {
                let actual = match settings.field_type {
                    Some(K::Date) => Some(ExpiryKind::Date),
                    Some(K::Datetime) => Some(ExpiryKind::Datetime),
                    _ => None,
                };
                match actual {
                    None => found.error(
                        "expires_field",
                        None,
                        Some(code),
                        format!(
                            "\"{}\" is a {} field; an expiry needs a DATE or DATETIME field",
                            settings.label, settings.type_name
                        ),
                    ),
                    Some(actual) if actual != expiry.kind => found.error(
                        "expires_type",
                        None,
                        Some(code),
                        format!(
                            "\"{}\" is a {} field: set expires_type = \"{}\"",
                            settings.label, settings.type_name, settings.type_name
                        ),
                    ),
                    Some(_) => {}
                }
            }
        }
    }
    if let Some(filter) = &lookup.filter {
        check_named_fields(&mut found, app, "filter", &filter.field_codes());
    }
    if let Some(order) = &lookup.order_by {
        check_named_fields(&mut found, app, "order_by", &order.field_codes());
    }
    if app.token_can_view == Some(false) {
        found.error(
            "token_secret",
            None,
            None,
            format!(
                "the token in {} for app {} cannot view records, so every lookup would fail: in kintone, App settings → API token → tick View records (only), Save, then Update App",
                app.token_env, app.app
            ),
        );
    }
    found.findings
}

/// How kintone's query can match a field type exactly (README, "Lookups").
fn match_kind(field_type: K) -> Option<MatchKind> {
    match field_type {
        K::SingleLineText | K::Link => Some(MatchKind::Text),
        K::Number => Some(MatchKind::Number),
        K::RecordNumber => Some(MatchKind::RecordNumber),
        K::Date => Some(MatchKind::Date),
        K::DropDown | K::RadioButton => Some(MatchKind::Choice),
        _ => None,
    }
}

fn check_match(found: &mut Recorder, app: &AppView<'_>, key: &str, field: &MatchField) {
    let code = field.kintone.as_str();
    let input = Some(field.input.as_str());
    let Some(settings) = app.fields.get(code) else {
        found.error(
            &format!("{key}.kintone"),
            input,
            Some(code),
            app.missing(code),
        );
        return;
    };
    match settings.field_type.and_then(match_kind) {
        None => found.error(
            &format!("{key}.type"),
            input,
            Some(code),
            format!(
                "\"{}\" is a {} field, which kintone's query cannot match exactly: match on a single-line text, number, record number, date, drop-down or radio-button field",
                settings.label, settings.type_name
            ),
        ),
        Some(kind) if kind != field.kind => found.error(
            &format!("{key}.type"),
            input,
            Some(code),
            format!(
                "\"{}\" is a {} field: set type = \"{}\" so the query and the re-check compare it as one",
                settings.label, settings.type_name, settings.type_name
            ),
        ),
        Some(_) => {}
    }
}

/// The shape kintone's value has once the relay flattens it.
fn shape_of(field_type: Option<K>) -> OutputShape {
    match field_type {
        Some(
            K::CheckBox
            | K::MultiSelect
            | K::UserSelect
            | K::OrganizationSelect
            | K::GroupSelect
            | K::Category
            | K::StatusAssignee,
        ) => OutputShape::List,
        Some(K::File) => OutputShape::Files,
        Some(K::Subtable) => OutputShape::Table,
        _ => OutputShape::Text,
    }
}

fn shape_name(shape: OutputShape) -> String {
    serde_json::to_value(shape)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn check_output(found: &mut Recorder, app: &AppView<'_>, name: &str, output: &Output) {
    let key = format!("outputs.{name}");
    let code = output.field.as_str();
    let Some(settings) = app.fields.get(code) else {
        found.error(&key, None, Some(code), app.missing(code));
        return;
    };
    let is_table = settings.is(K::Subtable);
    match (&output.columns, is_table) {
        (None, true) => found.error(
            &key,
            None,
            Some(code),
            format!(
                "\"{}\" is a table: list the columns a browser may see (columns = {{ name = \"code\" }}), or the relay answers 500 rather than show every column",
                settings.label
            ),
        ),
        (Some(_), false) => found.error(
            &format!("{key}.columns"),
            None,
            Some(code),
            format!(
                "\"{}\" is a {} field, not a table: remove columns",
                settings.label, settings.type_name
            ),
        ),
        (Some(columns), true) => {
            for (column, column_code) in columns {
                if !settings.columns.contains_key(column_code.as_str()) {
                    found.error(
                        &format!("{key}.columns.{column}"),
                        None,
                        Some(column_code.as_str()),
                        format!(
                            "the table \"{}\" has no column with the code \"{column_code}\"",
                            settings.label
                        ),
                    );
                }
            }
        }
        (None, false) => {
            let expected = shape_of(settings.field_type);
            if output.shape != expected {
                found.warning(
                    &format!("{key}.shape"),
                    None,
                    Some(code),
                    format!(
                        "\"{}\" is a {} field, answered as {}: set shape = \"{}\" so a page shows it right",
                        settings.label,
                        settings.type_name,
                        shape_name(expected),
                        shape_name(expected)
                    ),
                );
            }
        }
    }
}

fn check_named_fields(found: &mut Recorder, app: &AppView<'_>, key: &str, codes: &[String]) {
    let mut seen = BTreeSet::new();
    for code in codes {
        // `$id` and `$revision` are every app's; each unknown code is told once.
        if code.starts_with('$') || app.fields.get(code).is_some() || !seen.insert(code) {
            continue;
        }
        found.error(
            key,
            None,
            Some(code),
            format!(
                "{} kintone would refuse every lookup's query (GAIA_IQ11)",
                app.missing(code)
            ),
        );
    }
}

#[cfg(test)]
mod tests;
