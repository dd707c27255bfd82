//! A lookup: which inputs a partner must give, how they match kintone fields, and which fields
//! a browser may see.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::raw::{RawLookup, RawMatch, RawOutput, Spelled};
use super::values::{
    Access, Allowance, KeyError, Ordered, Wording, check_app_id, is_plain_name, key_error,
};
use crate::kintone::FieldType as KintoneFieldType;
use crate::query::{FieldCode, OrderBy, TrustedCondition};

const DEFAULT_LOOKUP_INPUT_LENGTH: usize = 100;
const DEFAULT_LOOKUP_BODY_BYTES: usize = 16 * 1024;
const DEFAULT_MAX_RECORDS: u32 = 20;

#[derive(Debug, Clone)]
pub struct Lookup {
    pub name: String,
    /// The page's heading; the lookup's name when relay.toml gives none.
    pub title: Wording,
    pub app: u64,
    pub access: Access,
    pub key: MatchField,
    pub verify: Vec<MatchField>,
    pub filter: Option<TrustedCondition>,
    pub expires: Option<Expiry>,
    pub order_by: Option<OrderBy>,
    pub max_records: u32,
    /// Misses per source address (`[lookups.<name>.limits] failures_per_ip`).
    pub failures_per_ip: Allowance,
    /// Misses per value of the key input (`failures_per_key`), whoever sends them.
    pub failures_per_key: Allowance,
    /// Output name -> what it shows, the only fields a browser ever sees, in declared order.
    pub outputs: Ordered<Output>,
}

/// A field a browser may see.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub label: Wording,
    pub field: FieldCode,
    pub shape: OutputShape,
    /// For a table (SUBTABLE): column name -> column field code, the only columns shown. A
    /// table without declared columns is refused when kintone returns one, since it would show
    /// every column.
    pub columns: Option<Ordered<FieldCode>>,
}

/// How an output's value is shaped, for a page that shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputShape {
    /// A string (text, numbers, dates, one choice, a user's name).
    Text,
    /// A list of strings (check boxes, multiple choices, users).
    List,
    /// Attachments: `[{"name","size","contentType"}]`.
    Files,
    /// Rows of the declared columns.
    Table,
}

impl Lookup {
    /// The key first, then the corroborating inputs.
    pub fn inputs(&self) -> impl Iterator<Item = &MatchField> {
        std::iter::once(&self.key).chain(self.verify.iter())
    }

    /// Whether a typed value can name an option that does not exist, which kintone answers
    /// as an invalid query.
    pub fn has_choice_input(&self) -> bool {
        self.inputs().any(|field| field.kind == MatchKind::Choice)
    }
}

/// The members a download adds to the lookup's inputs: which record, output and file.
pub const DOWNLOAD_CHOICE: [&str; 3] = ["record", "output", "file"];

/// An input that must equal a kintone field of the record.
#[derive(Debug, Clone)]
pub struct MatchField {
    pub input: String,
    pub label: Wording,
    pub kintone: FieldCode,
    pub kind: MatchKind,
    pub max_length: usize,
}

/// How a field type can be matched exactly; types that allow neither `=` nor `in` are
/// refused at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// SINGLE_LINE_TEXT, LINK: `=`, compared as text.
    Text,
    /// NUMBER: `=`, compared as numbers.
    Number,
    /// RECORD_NUMBER: `=` on the number; `DEAL-14` in an app with an app code is typed and
    /// stored with its code, which the query leaves out and the re-check compares.
    RecordNumber,
    /// DATE: `=`, compared as text.
    Date,
    /// DROP_DOWN, RADIO_BUTTON: `in ("...")`, compared as text.
    Choice,
}

impl MatchKind {
    fn of(field_type: KintoneFieldType) -> Option<Self> {
        match field_type {
            KintoneFieldType::SingleLineText | KintoneFieldType::Link => Some(MatchKind::Text),
            KintoneFieldType::Number => Some(MatchKind::Number),
            KintoneFieldType::RecordNumber => Some(MatchKind::RecordNumber),
            KintoneFieldType::Date => Some(MatchKind::Date),
            KintoneFieldType::DropDown | KintoneFieldType::RadioButton => Some(MatchKind::Choice),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Expiry {
    pub field: FieldCode,
    pub kind: ExpiryKind,
}

/// The kintone type of the expiry field, which decides what "still current" means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ExpiryKind {
    /// Today or later, in the token user's time zone.
    Date,
    /// Later than now.
    Datetime,
}

impl RawMatch {
    fn check(self, key: &str) -> Result<MatchField, KeyError> {
        if !is_plain_name(&self.input) {
            return Err(key_error(
                format!("{key}.input"),
                "an input name may use only letters, digits, '_' and '-'",
            ));
        }
        let kintone =
            FieldCode::parse(&self.kintone).map_err(|m| key_error(format!("{key}.kintone"), m))?;
        let field_type = self
            .kind
            .unwrap_or(Spelled::Known(KintoneFieldType::SingleLineText));
        let kind = match field_type {
            Spelled::Known(field_type) => match MatchKind::of(field_type) {
                Some(kind) => kind,
                None if field_type.allows_only_like() => {
                    return Err(key_error(
                        format!("{key}.type"),
                        format!(
                            "{} fields cannot be matched exactly (kintone allows only like on them); match on a single-line text field instead",
                            field_type.name()
                        ),
                    ));
                }
                None => return Err(unmatchable(key, &field_type.name())),
            },
            Spelled::Unknown { text, .. } => return Err(unmatchable(key, &text)),
        };
        let max_length = self.max_length.unwrap_or(DEFAULT_LOOKUP_INPUT_LENGTH);
        if max_length == 0 || max_length > 1000 {
            return Err(key_error(
                format!("{key}.max_length"),
                "must be between 1 and 1000",
            ));
        }
        Ok(MatchField {
            label: Wording::from_raw(self.label, &self.input),
            input: self.input,
            kintone,
            kind,
            max_length,
        })
    }
}

impl RawOutput {
    fn check(self, key: &str, name: &str) -> Result<Output, KeyError> {
        let code = |code: &str, key: &str| FieldCode::parse(code).map_err(|m| key_error(key, m));
        let declared = match self {
            RawOutput::Field(field) => {
                return Ok(Output {
                    label: Wording::from_raw(None, name),
                    field: code(&field, key)?,
                    shape: OutputShape::Text,
                    columns: None,
                });
            }
            RawOutput::Declared(declared) => declared,
        };
        let shape = match declared.shape {
            None => None,
            Some(Spelled::Known(shape)) => Some(shape),
            Some(Spelled::Unknown { text, .. }) => {
                return Err(key_error(
                    format!("{key}.shape"),
                    format!("\"{text}\" must be text, list or files (a table lists its columns)"),
                ));
            }
        };
        let columns = match declared.columns {
            None => None,
            Some(columns) if columns.0.is_empty() => {
                return Err(key_error(
                    format!("{key}.columns"),
                    "list the table's columns a browser may see",
                ));
            }
            Some(columns) => {
                let mut checked = Vec::new();
                for (column, field) in columns.0 {
                    let at = format!("{key}.columns.{column}");
                    if !is_plain_name(&column) {
                        return Err(key_error(
                            at,
                            "a column name may use only letters, digits, '_' and '-'",
                        ));
                    }
                    checked.push((column, code(&field, &at)?));
                }
                Some(Ordered::new(checked))
            }
        };
        let shape = match (shape, &columns) {
            (None | Some(OutputShape::Table), Some(_)) => OutputShape::Table,
            (Some(OutputShape::Table), None) => {
                return Err(key_error(
                    format!("{key}.columns"),
                    "a table output lists the columns a browser may see",
                ));
            }
            (Some(shape), Some(_)) => {
                return Err(key_error(
                    format!("{key}.shape"),
                    format!("is {shape:?}, but columns are listed (a table)"),
                ));
            }
            (shape, None) => shape.unwrap_or(OutputShape::Text),
        };
        Ok(Output {
            label: Wording::from_raw(declared.label, name),
            field: code(&declared.kintone, &format!("{key}.kintone"))?,
            shape,
            columns,
        })
    }
}

fn unmatchable(key: &str, type_name: &str) -> KeyError {
    key_error(
        format!("{key}.type"),
        format!(
            "\"{type_name}\" cannot be matched; use SINGLE_LINE_TEXT, LINK, NUMBER, RECORD_NUMBER, DATE, DROP_DOWN or RADIO_BUTTON (the field type in kintone)"
        ),
    )
}

impl RawLookup {
    pub(super) fn check(self, name: &str) -> Result<Lookup, KeyError> {
        let at = |key: &str| format!("lookups.{name}.{key}");
        let access = Access::check(
            &format!("lookups.{name}"),
            name,
            self.access(),
            DEFAULT_LOOKUP_BODY_BYTES,
        )?;
        check_app_id(at("app"), self.app)?;
        let key = self.key.check(&at("key"))?;
        let verify = self
            .verify
            .into_iter()
            .enumerate()
            .map(|(i, raw)| raw.check(&at(&format!("verify[{i}]"))))
            .collect::<Result<Vec<_>, _>>()?;
        if verify.is_empty() && !self.key_only {
            return Err(key_error(
                at("verify"),
                "a lookup needs at least one corroborating input (a name, a second number) so that a guessed key is not enough; set key_only = true only if the key is itself a long secret",
            ));
        }
        if !verify.is_empty() && self.key_only {
            return Err(key_error(at("key_only"), "is set, but verify lists inputs"));
        }
        let mut inputs = BTreeSet::new();
        let mut fields = BTreeSet::new();
        for field in std::iter::once(&key).chain(verify.iter()) {
            if !inputs.insert(field.input.as_str()) {
                return Err(key_error(
                    at("verify"),
                    format!("the input \"{}\" is declared twice", field.input),
                ));
            }
            // A second input on the same field corroborates nothing: it repeats the key.
            if !fields.insert(&field.kintone) {
                return Err(key_error(
                    at("verify"),
                    format!(
                        "the kintone field \"{}\" is matched twice; corroborate with another field than the key's",
                        field.kintone
                    ),
                ));
            }
        }
        let filter = self
            .filter
            .as_deref()
            .map(TrustedCondition::parse)
            .transpose()
            .map_err(|m| {
                key_error(
                    at("filter"),
                    format!("is not a valid kintone condition: {m}"),
                )
            })?;
        let order_by = self
            .order_by
            .as_deref()
            .map(OrderBy::parse)
            .transpose()
            .map_err(|m| key_error(at("order_by"), format!("is not a valid kintone order: {m}")))?;
        let has_expires_type = self.expires_type.is_some();
        let expiry_kind = match self.expires_type {
            None => ExpiryKind::Date,
            Some(Spelled::Known(kind)) => kind,
            Some(Spelled::Unknown { text, .. }) => {
                return Err(key_error(
                    at("expires_type"),
                    format!("\"{text}\" must be DATE or DATETIME"),
                ));
            }
        };
        let expires = match self.expires_field {
            Some(code) => Some(Expiry {
                field: FieldCode::parse(&code).map_err(|m| key_error(at("expires_field"), m))?,
                kind: expiry_kind,
            }),
            None if has_expires_type => {
                return Err(key_error(
                    at("expires_type"),
                    "is set without expires_field",
                ));
            }
            None => None,
        };
        let max_records = self.max_records.unwrap_or(DEFAULT_MAX_RECORDS);
        if !(1..=100).contains(&max_records) {
            return Err(key_error(at("max_records"), "must be between 1 and 100"));
        }
        if self.outputs.0.is_empty() {
            return Err(key_error(
                at("outputs"),
                "a lookup needs at least one output",
            ));
        }
        let mut outputs = Vec::new();
        for (output, raw) in self.outputs.0 {
            let key = at(&format!("outputs.{output}"));
            if !is_plain_name(&output) {
                return Err(key_error(
                    key,
                    "an output name may use only letters, digits, '_' and '-'",
                ));
            }
            let checked = raw.check(&key, &output)?;
            outputs.push((output, checked));
        }
        let outputs = Ordered::new(outputs);
        // A download's body is the lookup's inputs plus the choice of file, side by side.
        let has_files = outputs
            .iter()
            .any(|(_, output)| output.shape == OutputShape::Files);
        if let Some(clash) = inputs
            .iter()
            .find(|input| has_files && DOWNLOAD_CHOICE.contains(input))
        {
            return Err(key_error(
                at("verify"),
                format!(
                    "the input \"{clash}\" has the name of a download's choice ({}); rename the input, since an output holds files",
                    DOWNLOAD_CHOICE.join(", ")
                ),
            ));
        }
        let failures_per_ip = Allowance::check(
            &at("limits"),
            self.limits.failures_per_ip,
            10,
            self.limits.window_seconds,
            900,
        )?;
        let failures_per_key = Allowance::check(
            &at("limits"),
            self.limits.failures_per_key,
            5,
            self.limits.window_seconds,
            900,
        )?;
        Ok(Lookup {
            name: name.to_owned(),
            title: Wording::from_raw(self.title, name),
            app: self.app,
            access,
            key,
            verify,
            filter,
            expires,
            order_by,
            max_records,
            failures_per_ip,
            failures_per_key,
            outputs,
        })
    }
}
