//! Files (fact sheet §1.5): `POST /k/v1/file.json` (multipart) keeps an upload in temporary
//! storage under an upload key; a record add that names the key in a FILE field moves it into
//! the record under a new record key; `GET /k/v1/file.json?fileKey=` downloads by record key.
//! The two kinds of key are not interchangeable, as on kintone.

use serde_json::{Map, Value, json};

use crate::error::{ApiError, Lang};
use std::collections::HashMap;

use crate::{App, FieldType, State};

/// An upload not yet attached to a record.
#[derive(Clone, Debug)]
pub struct Upload {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A file held by a record, found by its record key.
#[derive(Clone, Debug)]
pub struct StoredFile {
    pub app: u64,
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The part named `file` of a `multipart/form-data` body: its file name (UTF-8 as sent), its
/// `Content-Type` and its bytes. `None` when the body is not such a form or has no such part.
pub(crate) fn parse_multipart(content_type: &str, body: &[u8]) -> Option<Upload> {
    let (media, params) = content_type.split_once(';')?;
    if !media.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let boundary = params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
    })?;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut rest = body;
    loop {
        let start = find(rest, &delimiter)? + delimiter.len();
        rest = &rest[start..];
        if rest.starts_with(b"--") {
            return None;
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let headers_end = find(rest, b"\r\n\r\n")?;
        let headers = std::str::from_utf8(&rest[..headers_end]).ok()?;
        let content = &rest[headers_end + 4..];
        let end = find(content, &[b"\r\n".as_slice(), &delimiter].concat())?;
        let (mut name, mut filename, mut part_type) = (None, None, None);
        for line in headers.split("\r\n") {
            let Some((header, value)) = line.split_once(':') else {
                continue;
            };
            if header.trim().eq_ignore_ascii_case("content-disposition") {
                name = parameter(value, "name");
                filename = parameter(value, "filename");
            } else if header.trim().eq_ignore_ascii_case("content-type") {
                part_type = Some(value.trim().to_owned());
            }
        }
        if name.as_deref() == Some("file")
            && let Some(filename) = filename
        {
            return Some(Upload {
                name: filename,
                content_type: part_type.unwrap_or_else(|| "application/octet-stream".to_owned()),
                bytes: content[..end].to_vec(),
            });
        }
        rest = &content[end..];
    }
}

/// A `key="value"` (or bare `key=value`) parameter of a `Content-Disposition` value.
fn parameter(header: &str, key: &str) -> Option<String> {
    let mut rest = header;
    while let Some(pos) = rest.find(';') {
        rest = rest[pos + 1..].trim_start();
        let (k, v) = rest.split_once('=')?;
        if let Some(quoted) = v.strip_prefix('"') {
            let close = quoted.find('"')?;
            if k.trim().eq_ignore_ascii_case(key) {
                return Some(quoted[..close].to_owned());
            }
            rest = &quoted[close + 1..];
        } else {
            let value = v.split(';').next().unwrap_or("").trim();
            if k.trim().eq_ignore_ascii_case(key) {
                return Some(value.to_owned());
            }
            rest = v;
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `{"fileKey": "<upload key>"}` after an upload.
pub(crate) fn upload(state: &mut State, upload: Upload, key: String) -> Value {
    state.uploads.insert(key.clone(), upload);
    json!({ "fileKey": key })
}

/// Turns the upload keys written to the app's FILE fields into stored files, in read shape.
/// An upload key is used up by the add that attaches it (whether kintone allows attaching
/// one upload twice is UNCONFIRMED); nothing changes unless every key is known.
pub(crate) fn attach(
    uploads: &mut HashMap<String, Upload>,
    files: &mut HashMap<String, StoredFile>,
    app: &App,
    values: &mut std::collections::BTreeMap<String, Value>,
    mut record_key: impl FnMut() -> String,
    lang: Lang,
) -> Result<(), ApiError> {
    let file_fields: Vec<&str> = app
        .fields
        .iter()
        .filter(|f| f.field_type == FieldType::File)
        .map(|f| f.code.as_str())
        .collect();
    let mut keys = Vec::new();
    for code in &file_fields {
        if let Some(Value::Array(items)) = values.get(*code) {
            for item in items {
                if let Some(key) = item.get("fileKey").and_then(Value::as_str) {
                    if !uploads.contains_key(key) || keys.contains(&key.to_owned()) {
                        return Err(ApiError::file_not_found(lang, key));
                    }
                    keys.push(key.to_owned());
                }
            }
        }
    }
    for code in file_fields {
        let Some(Value::Array(items)) = values.get_mut(code) else {
            continue;
        };
        for item in items.iter_mut() {
            let Some(upload) = item
                .get("fileKey")
                .and_then(Value::as_str)
                .and_then(|key| uploads.remove(key))
            else {
                continue;
            };
            let key = record_key();
            *item = json!({
                "contentType": upload.content_type,
                "fileKey": key,
                "name": upload.name,
                "size": upload.bytes.len().to_string(),
            });
            files.insert(
                key,
                StoredFile {
                    app: app.id,
                    name: upload.name,
                    content_type: upload.content_type,
                    bytes: upload.bytes,
                },
            );
        }
    }
    Ok(())
}

/// The `fileKey` parameter of a download.
pub(crate) fn file_key_param(params: &Map<String, Value>, lang: Lang) -> Result<String, ApiError> {
    match params.get("fileKey") {
        Some(Value::String(key)) if !key.is_empty() => Ok(key.clone()),
        _ => Err(ApiError::missing_param(lang, "fileKey")),
    }
}
