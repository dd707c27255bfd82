//! A validated submission: a plain, serialisable value that can be added to kintone now or
//! queued and delivered later.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Form;
use crate::query::FieldCode;

/// A field value in kintone's write shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    Text(String),
    List(Vec<String>),
    /// A FILE field: the upload keys of the files to attach.
    Files(Vec<FileRef>),
}

/// One file in a FILE field's write shape: `{"fileKey": "<upload key>"}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    #[serde(rename = "fileKey")]
    pub file_key: String,
}

/// The key opens the upload in kintone: it stays out of logs, as the handle kept it from the
/// browser.
impl std::fmt::Debug for FileRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileRef").field("file_key", &"***").finish()
    }
}

/// `{"value": ...}` as kintone expects on write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteValue {
    pub value: FieldValue,
}

/// A record to add: kintone field code -> value.
pub type Record = BTreeMap<FieldCode, WriteValue>;

/// What a person answered, by kintone field: the record before the relay adds its own values.
pub type Answers = Record;

/// Everything needed to add one record, now or later from a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    pub form: String,
    pub app: u64,
    pub record: Record,
    pub receipt: Receipt,
    pub idempotency_key: Option<IdempotencyKey>,
}

impl Submission {
    /// The one place a record is assembled: the answers, the form's fixed values, the receipt
    /// and the idempotency key, each in the field the form names for it.
    pub fn new(
        form: &Form,
        answers: Answers,
        receipt: Receipt,
        idempotency_key: Option<IdempotencyKey>,
    ) -> Self {
        let text = |value: &str| WriteValue {
            value: FieldValue::Text(value.to_owned()),
        };
        let mut record = answers;
        for (code, value) in &form.fixed {
            record.insert(code.clone(), text(value));
        }
        if let Some(code) = &form.receipt_field {
            record.insert(code.clone(), text(receipt.as_str()));
        }
        if let (Some(code), Some(key)) = (&form.idempotency_field, &idempotency_key) {
            record.insert(code.clone(), text(key.as_str()));
        }
        Submission {
            form: form.name.clone(),
            app: form.app,
            record,
            receipt,
            idempotency_key,
        }
    }
}

/// The code the applicant and the staff quote. 100 random bits in Crockford base32, grouped
/// for reading aloud; it says nothing about how many records exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt(String);

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl Receipt {
    /// The receipt of a new submission: derived from its Idempotency-Key when it has one (so a
    /// replay gets the same receipt), random otherwise.
    pub fn for_submission(
        form: &str,
        idempotency_key: Option<&IdempotencyKey>,
    ) -> Result<Self, getrandom::Error> {
        match idempotency_key {
            Some(key) => Ok(Self::for_idempotency_key(form, key)),
            None => Self::random(),
        }
    }

    pub fn random() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 13];
        getrandom::fill(&mut bytes)?;
        Ok(Self::from_bytes(&bytes))
    }

    /// A replay of the same key must get the same receipt without any stored state, so the
    /// receipt of an idempotent submission is derived from the form and the key.
    pub fn for_idempotency_key(form: &str, key: &IdempotencyKey) -> Self {
        let digest = Sha256::new()
            .chain_update(b"kintone-relay receipt v1\0")
            .chain_update(form.as_bytes())
            .chain_update(b"\0")
            .chain_update(key.as_str().as_bytes())
            .finalize();
        Self::from_bytes(&digest[..13])
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        // 20 symbols of 5 bits = the first 100 bits.
        let mut bits: u128 = 0;
        for byte in &bytes[..13] {
            bits = (bits << 8) | u128::from(*byte);
        }
        bits >>= 4;
        let mut code = String::with_capacity(24);
        for i in 0..20 {
            if i > 0 && i % 4 == 0 {
                code.push('-');
            }
            let symbol = ((bits >> (5 * (19 - i))) & 0x1f) as usize;
            code.push(char::from(CROCKFORD[symbol]));
        }
        Receipt(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The client's `Idempotency-Key`: 32 to 64 characters of `A-Z a-z 0-9 _ -`, such as
/// `crypto.randomUUID()`. The receipt of an idempotent submission is derived from it, so it must
/// be as unguessable as a receipt: 32 characters keep out timestamps and counters. 64 is
/// kintone's limit for a text field that prohibits duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(value: &str) -> Option<Self> {
        let ok = (32..=64).contains(&value.len())
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        ok.then(|| IdempotencyKey(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_are_readable_and_distinct() {
        let a = Receipt::random().unwrap();
        let b = Receipt::random().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 24);
        assert!(
            a.as_str()
                .chars()
                .all(|c| c == '-' || CROCKFORD.contains(&(c as u8)))
        );
    }

    #[test]
    fn idempotent_receipts_depend_on_form_and_key() {
        let key = IdempotencyKey::parse("3f6c1d2e-aaaa-bbbb-cccc-000000000001").unwrap();
        let other = IdempotencyKey::parse("3f6c1d2e-aaaa-bbbb-cccc-000000000002").unwrap();
        assert_eq!(
            Receipt::for_idempotency_key("seminar", &key),
            Receipt::for_idempotency_key("seminar", &key)
        );
        assert_ne!(
            Receipt::for_idempotency_key("seminar", &key),
            Receipt::for_idempotency_key("seminar", &other)
        );
        assert_ne!(
            Receipt::for_idempotency_key("seminar", &key),
            Receipt::for_idempotency_key("survey", &key)
        );
    }

    #[test]
    fn idempotency_keys_are_bounded() {
        assert!(IdempotencyKey::parse("short").is_none());
        assert!(IdempotencyKey::parse(&"a".repeat(65)).is_none());
        assert!(IdempotencyKey::parse("has space 123").is_none());
        assert!(IdempotencyKey::parse(&"1732500000000".repeat(2)).is_none());
        assert!(IdempotencyKey::parse("3f6c1d2e-aaaa-bbbb-cccc-000000000001").is_some());
    }

    #[test]
    fn submissions_round_trip_through_json() {
        let code = |text: &str| FieldCode::parse(text).unwrap();
        let mut record = Record::new();
        record.insert(
            code("氏名"),
            WriteValue {
                value: FieldValue::Text("山田".into()),
            },
        );
        record.insert(
            code("同意"),
            WriteValue {
                value: FieldValue::List(vec!["同意する".into()]),
            },
        );
        let submission = Submission {
            form: "seminar".into(),
            app: 12,
            record,
            receipt: Receipt::random().unwrap(),
            idempotency_key: IdempotencyKey::parse("3f6c1d2e-aaaa-bbbb-cccc-000000000001"),
        };
        let json = serde_json::to_string(&submission).unwrap();
        assert_eq!(
            serde_json::from_str::<Submission>(&json).unwrap(),
            submission
        );
        assert!(json.contains(r#""氏名":{"value":"山田"}"#), "{json}");
    }
}
