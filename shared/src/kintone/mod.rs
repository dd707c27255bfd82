//! The kintone REST API client: one connection pool per instance, typed errors that tell
//! "retry later" from "refused" from "misconfigured".

mod error;
mod field_type;

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

pub use error::{ErrorCode, KintoneError, RefusedValue, Unavailable, ValueRefusal};
pub use field_type::FieldType;

use crate::config::KintoneSettings;
use crate::query::{FieldCode, KintoneQuery};
use crate::secrets::{BasicAuth, Token};
use crate::submit::Record;
use error::{ErrorBody, classify, transport_error, unexpected_response};

/// What a call authenticates with: the app's token, plus the domain's Basic auth if enabled.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub token: Token,
    pub basic_auth: Option<BasicAuth>,
}

#[derive(Deserialize)]
struct AddRecordResponse {
    id: String,
}

#[derive(Deserialize)]
struct AddRecordsResponse {
    ids: Vec<String>,
}

/// The most records one `POST /k/v1/records.json` takes.
pub const MAX_RECORDS_PER_ADD: usize = 100;

#[derive(Deserialize)]
struct GetRecordsResponse {
    records: Vec<ReadRecord>,
}

/// A record in kintone's read shape: field code -> `{"type": ..., "value": ...}`.
pub type ReadRecord = serde_json::Map<String, serde_json::Value>;

/// kintone's id of a stored record. Logged for staff, never returned to a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordId(pub String);

pub struct KintoneClient {
    http: reqwest::Client,
    base_url: String,
    api_root: String,
}

impl KintoneClient {
    pub fn new(settings: &KintoneSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .pool_idle_timeout(Duration::from_secs(50))
            // The REST API never redirects; following one would carry X-Cybozu-API-Token (a
            // custom header, which redirect handling does not strip) to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kintone-relay/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let api_root = match settings.guest_space {
            Some(space) => format!("{}/k/guest/{space}/v1", settings.base_url),
            None => format!("{}/k/v1", settings.base_url),
        };
        Ok(KintoneClient {
            http,
            base_url: settings.base_url.clone(),
            api_root,
        })
    }

    /// Opens a connection to the kintone domain (TCP and TLS) without calling the REST API: a
    /// `HEAD /` whose answer (a redirect to the login page) is not read. The connection stays
    /// in the pool for the first call; no API limit counts it.
    pub async fn open_connection(&self) -> Result<(), reqwest::Error> {
        let result = self
            .http
            .head(format!("{}/", self.base_url))
            .send()
            .await
            .map(drop);
        if let Err(err) = &result {
            tracing::warn!(error = %err, "cannot open a connection to kintone");
        }
        result
    }

    fn request(&self, resource: &str, credentials: &Credentials) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .post(format!("{}/{resource}", self.api_root))
            .header("X-Cybozu-API-Token", credentials.token.expose())
            // Messages are matched in is_duplicate; ask for the language it knows best.
            .header("Accept-Language", "en");
        if let Some(basic) = &credentials.basic_auth {
            request = request.basic_auth(&basic.username, Some(&basic.password));
        }
        request
    }

    /// Adds one record (`POST /k/v1/record.json`).
    pub async fn add_record(
        &self,
        credentials: &Credentials,
        app: u64,
        record: &Record,
    ) -> Result<RecordId, KintoneError> {
        let body = json!({ "app": app, "record": record });
        let response = self
            .request("record.json", credentials)
            .json(&body)
            .send()
            .await
            .map_err(transport_error)?;
        let added: AddRecordResponse = read_success(response).await?;
        Ok(RecordId(added.id))
    }
}

impl KintoneClient {
    /// Adds up to [`MAX_RECORDS_PER_ADD`] records in one call (`POST /k/v1/records.json`), all or
    /// nothing: on a refusal, each refused value names its record's index.
    pub async fn add_records(
        &self,
        credentials: &Credentials,
        app: u64,
        records: &[&Record],
    ) -> Result<Vec<RecordId>, KintoneError> {
        let body = json!({ "app": app, "records": records });
        let response = self
            .request("records.json", credentials)
            .json(&body)
            .send()
            .await
            .map_err(transport_error)?;
        let added: AddRecordsResponse = read_success(response).await?;
        Ok(added.ids.into_iter().map(RecordId).collect())
    }

    /// Gets the records matching `query` (`GET /k/v1/records.json`), only `fields`, never the
    /// total count. Sent as a POST with `X-HTTP-Method-Override: GET`, so the values in the
    /// query travel in the body, not in a URL that proxies and kintone's logs would keep.
    pub async fn get_records(
        &self,
        credentials: &Credentials,
        app: u64,
        query: &KintoneQuery,
        fields: &[FieldCode],
    ) -> Result<Vec<ReadRecord>, KintoneError> {
        let fields: Vec<&str> = fields.iter().map(FieldCode::as_str).collect();
        let body = json!({ "app": app, "query": query.as_str(), "fields": fields });
        let response = self
            .request("records.json", credentials)
            .header("X-HTTP-Method-Override", "GET")
            .json(&body)
            .send()
            .await
            .map_err(transport_error)?;
        let found: GetRecordsResponse = read_success(response).await?;
        Ok(found.records)
    }
}

/// A file as kintone sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Why a download brought no file.
#[derive(Debug)]
pub enum DownloadError {
    Kintone(KintoneError),
    /// The file is larger than the caller can pass on; it was not read to the end.
    TooLarge,
}

impl From<KintoneError> for DownloadError {
    fn from(error: KintoneError) -> Self {
        DownloadError::Kintone(error)
    }
}

#[derive(Deserialize)]
struct UploadResponse {
    #[serde(rename = "fileKey")]
    file_key: String,
}

impl KintoneClient {
    /// Uploads a file to kintone's temporary storage (`POST /k/v1/file.json`, multipart, the
    /// part named `file`, a UTF-8 file name): the key to write into a FILE field.
    pub async fn upload_file(
        &self,
        credentials: &Credentials,
        name: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<crate::files::UploadKey, KintoneError> {
        // 32 random-looking hex digits; the boundary must only not occur in the file, and a
        // fresh one per call makes a file that contains it by chance (or on purpose) a miss.
        let mut nonce = [0u8; 16];
        if getrandom::fill(&mut nonce).is_err() {
            nonce = *b"kintone-relay-bd";
        }
        let boundary: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        let boundary = format!("----kintone-relay-{boundary}");
        // As browsers do (WHATWG multipart/form-data): a quote and line breaks percent-encoded,
        // everything else as UTF-8. FileName already refuses control characters.
        let quoted = name
            .replace('"', "%22")
            .replace('\r', "%0D")
            .replace('\n', "%0A");
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{quoted}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let response = self
            .request("file.json", credentials)
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .map_err(transport_error)?;
        let uploaded: UploadResponse = read_success(response).await?;
        Ok(crate::files::UploadKey(uploaded.file_key))
    }

    /// Downloads a record's file (`GET /k/v1/file.json`) by the key read from the record, sent
    /// in a body with `X-HTTP-Method-Override: GET` like every read. A file over `max_bytes` is
    /// not read to the end.
    pub async fn download_file(
        &self,
        credentials: &Credentials,
        file_key: &str,
        max_bytes: usize,
    ) -> Result<Downloaded, DownloadError> {
        let mut response = self
            .request("file.json", credentials)
            .header("X-HTTP-Method-Override", "GET")
            .json(&json!({ "fileKey": file_key }))
            .send()
            .await
            .map_err(transport_error)?;
        if !response.status().is_success() {
            return Err(refusal(response).await.into());
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        if response
            .content_length()
            .is_some_and(|length| length > max_bytes as u64)
        {
            return Err(DownloadError::TooLarge);
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if bytes.len() + chunk.len() > max_bytes {
                return Err(DownloadError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Downloaded {
            content_type,
            bytes,
        })
    }
}

async fn read_success<T: for<'de> Deserialize<'de>>(
    response: reqwest::Response,
) -> Result<T, KintoneError> {
    let status = response.status();
    if !status.is_success() {
        return Err(refusal(response).await);
    }
    let bytes = response.bytes().await.map_err(transport_error)?;
    serde_json::from_slice(&bytes).map_err(|err| unexpected_response(status, &err))
}

/// What an answer that is not a success means: kintone's code and id, when it sent them.
async fn refusal(response: reqwest::Response) -> KintoneError {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|secs| Duration::from_secs(secs.clamp(1, 3600)));
    match response.bytes().await {
        Ok(bytes) => {
            let body: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
            classify(status, body, retry_after)
        }
        Err(error) => transport_error(error),
    }
}
