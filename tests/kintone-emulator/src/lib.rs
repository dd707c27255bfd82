//! An in-memory emulator of the parts of Cybozu kintone's REST API that the relay uses:
//! Add Record, Get Record, Get Records (with a strict query language), Get Form Fields (for
//! `relay check` and `relay init`), file upload and download, API-token authentication and
//! permissions, guest-space paths, and switchable faults.
//!
//! Behaviour follows the team's kintone fact sheet (`kintone-api.md`); where it says
//! UNCONFIRMED, the code says so too.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

pub use files::{StoredFile, Upload};

mod dates;
mod demo;
mod error;
mod eval;
mod files;
mod form_fields;
pub mod query;
mod record;
mod server;

/// An API-token permission checkbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    View,
    Add,
    Edit,
    Delete,
}

/// The field types the emulator knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    SingleLineText,
    MultiLineText,
    RichText,
    Link,
    Number,
    Date,
    Datetime,
    Time,
    RadioButton,
    DropDown,
    CheckBox,
    MultiSelect,
    File,
    UserSelect,
}

impl FieldType {
    /// The `type` string of the read shape.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::SingleLineText => "SINGLE_LINE_TEXT",
            FieldType::MultiLineText => "MULTI_LINE_TEXT",
            FieldType::RichText => "RICH_TEXT",
            FieldType::Link => "LINK",
            FieldType::Number => "NUMBER",
            FieldType::Date => "DATE",
            FieldType::Datetime => "DATETIME",
            FieldType::Time => "TIME",
            FieldType::RadioButton => "RADIO_BUTTON",
            FieldType::DropDown => "DROP_DOWN",
            FieldType::CheckBox => "CHECK_BOX",
            FieldType::MultiSelect => "MULTI_SELECT",
            FieldType::File => "FILE",
            FieldType::UserSelect => "USER_SELECT",
        }
    }
}

/// A field definition (the subset of kintone's form settings that affects the API).
#[derive(Clone, Debug)]
pub struct Field {
    pub code: String,
    /// The field name people see (kintone's `label`); the code when not set.
    pub label: Option<String>,
    pub field_type: FieldType,
    pub required: bool,
    /// "Prohibit duplicate values"; honoured for SINGLE_LINE_TEXT, NUMBER, LINK, DATE, DATETIME.
    pub unique: bool,
    pub max_length: Option<usize>,
    pub min_length: Option<usize>,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    pub options: Vec<String>,
    /// Applied on add when the key is absent (not when it is `""` or `[]`).
    pub default_value: Option<Value>,
    /// A lookup field: the key values its datasource app holds. A value not among them is
    /// refused on add with `GAIA_LO04` (fact sheet §7).
    pub lookup_source: Option<Vec<String>>,
}

impl Field {
    pub fn new(code: &str, field_type: FieldType) -> Self {
        Self {
            code: code.to_owned(),
            label: None,
            field_type,
            required: false,
            unique: false,
            max_length: None,
            min_length: None,
            min_value: None,
            max_value: None,
            options: Vec::new(),
            default_value: None,
            lookup_source: None,
        }
    }

    /// Makes the field a lookup whose datasource app holds `keys`.
    pub fn lookup(mut self, keys: &[&str]) -> Self {
        self.lookup_source = Some(keys.iter().map(|k| (*k).to_owned()).collect());
        self
    }

    /// The field name shown in kintone (`フィールド名`), such as "お名前".
    pub fn label(mut self, label: &str) -> Self {
        self.label = Some(label.to_owned());
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    pub fn max_length(mut self, n: usize) -> Self {
        self.max_length = Some(n);
        self
    }

    pub fn min_length(mut self, n: usize) -> Self {
        self.min_length = Some(n);
        self
    }

    pub fn options(mut self, opts: &[&str]) -> Self {
        self.options = opts.iter().map(|o| (*o).to_owned()).collect();
        self
    }

    pub fn range(mut self, min: Option<f64>, max: Option<f64>) -> Self {
        self.min_value = min;
        self.max_value = max;
        self
    }

    pub fn default_value(mut self, value: Value) -> Self {
        self.default_value = Some(value);
        self
    }
}

/// An app: its id, the guest space it lives in (if any) and its fields.
#[derive(Clone, Debug)]
pub struct App {
    pub id: u64,
    pub guest_space: Option<u64>,
    pub fields: Vec<Field>,
}

impl App {
    pub fn field(&self, code: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.code == code)
    }
}

/// A failure mode applied to every request until switched off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fault {
    #[default]
    None,
    /// 429 GAIA_TO04 with `X-Cybozu-Error: GAIA_TO04`.
    RateLimited,
    /// 503 with an HTML body, like the maintenance page.
    Maintenance,
    /// Never answers (sleeps an hour), so the client's timeout must fire.
    Hang,
}

/// One request as the emulator saw it, and what it answered.
#[derive(Clone, Debug)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub query_string: Option<String>,
    /// The `X-Cybozu-API-Token` values, split on commas, trimmed, empty pieces dropped.
    pub api_tokens: Vec<String>,
    /// All request headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON, if there was one and it parsed.
    pub body: Option<Value>,
    /// The status answered; 0 when the request was never answered (`Fault::Hang`).
    pub status: u16,
    pub error_code: Option<String>,
}

impl LoggedRequest {
    /// The first value of a header (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A stored record: values in read shape (without `type`), keyed by field code.
#[derive(Clone, Debug)]
pub(crate) struct Stored {
    pub(crate) id: u64,
    pub(crate) revision: u64,
    pub(crate) values: BTreeMap<String, Value>,
}

pub(crate) struct AppData {
    pub(crate) app: App,
    pub(crate) records: Vec<Stored>,
    pub(crate) next_id: u64,
}

impl AppData {
    pub(crate) fn push(&mut self, values: BTreeMap<String, Value>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.records.push(Stored {
            id,
            revision: 1,
            values,
        });
        id
    }
}

pub(crate) struct Grant {
    pub(crate) app: u64,
    pub(crate) perms: Vec<Permission>,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) apps: BTreeMap<u64, AppData>,
    pub(crate) tokens: HashMap<String, Grant>,
    pub(crate) fault: Fault,
    /// The domain's Basic authentication: the base64 of `username:password` every request
    /// must send, when turned on.
    pub(crate) basic_auth: Option<String>,
    pub(crate) log: Vec<LoggedRequest>,
    /// Upload key -> an upload not yet attached to a record.
    pub(crate) uploads: HashMap<String, Upload>,
    /// Record file key -> a file a record holds.
    pub(crate) files: HashMap<String, StoredFile>,
}

pub(crate) struct Inner {
    state: Mutex<State>,
    /// Requests in flight, for `X-ConcurrencyLimit-Running` and the 100-request limit.
    pub(crate) running: AtomicUsize,
    rng: AtomicU64,
}

/// The emulator. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Emulator {
    pub(crate) inner: Arc<Inner>,
}

impl Default for Emulator {
    fn default() -> Self {
        Self::new()
    }
}

impl Emulator {
    pub fn new() -> Self {
        // Error ids only need to look random, so a clock-seeded generator is enough.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x5eed, |d| d.as_nanos() as u64);
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                running: AtomicUsize::new(0),
                rng: AtomicU64::new(seed),
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .expect("emulator state mutex poisoned")
    }

    /// Adds an app, or replaces its definition (its records are kept).
    pub fn add_app(&self, app: App) {
        let mut state = self.lock();
        match state.apps.get_mut(&app.id) {
            Some(data) => data.app = app,
            None => {
                state.apps.insert(
                    app.id,
                    AppData {
                        app,
                        records: Vec::new(),
                        next_id: 1,
                    },
                );
            }
        }
    }

    /// Registers an API token of `app` with the given permissions (replacing any earlier grant).
    pub fn add_token(&self, token: &str, app: u64, perms: &[Permission]) {
        self.lock().tokens.insert(
            token.to_owned(),
            Grant {
                app,
                perms: perms.to_vec(),
            },
        );
    }

    /// Deletes a token; afterwards it is answered like an unknown one (400 GAIA_IA02).
    pub fn revoke_token(&self, token: &str) {
        self.lock().tokens.remove(token);
    }

    /// Turns on the domain's Basic authentication (fact sheet §2.3) with these credentials,
    /// or changes them; `None` turns it off. While on, a request without
    /// `Authorization: Basic base64(username:password)` is answered 401 before anything else
    /// is checked (see `server::basic_auth` for the codes).
    pub fn set_basic_auth(&self, credentials: Option<(&str, &str)>) {
        self.lock().basic_auth = credentials
            .map(|(username, password)| base64(format!("{username}:{password}").as_bytes()));
    }

    pub fn set_fault(&self, fault: Fault) {
        self.lock().fault = fault;
    }

    /// Seeds a record (`{code: {"value": …}}`) without validation and returns its id.
    /// Absent fields get their default or empty value; codes the app lacks are dropped.
    ///
    /// # Panics
    /// If the app was not added first (a mistake in the test's set-up).
    pub fn insert_record(&self, app: u64, record: Value) -> u64 {
        let mut state = self.lock();
        let Some(data) = state.apps.get_mut(&app) else {
            panic!("insert_record: app {app} was not added to the emulator");
        };
        let values = record::seed(&data.app, &record);
        data.push(values)
    }

    /// The stored records of an app, oldest first, in read shape including `$id` and `$revision`.
    pub fn records(&self, app: u64) -> Vec<Value> {
        let state = self.lock();
        state.apps.get(&app).map_or_else(Vec::new, |data| {
            data.records
                .iter()
                .map(|r| record::read_shape(&data.app, r, None))
                .collect()
        })
    }

    /// Stores a file for a seeded record of `app` and returns its record file key, to be written
    /// into a FILE field with [`Emulator::insert_record`] as
    /// `[{"fileKey": key, "name": …, "contentType": …, "size": …}]`.
    pub fn insert_file(&self, app: u64, name: &str, content_type: &str, bytes: &[u8]) -> String {
        let key = self.record_file_key();
        self.lock().files.insert(
            key.clone(),
            StoredFile {
                app,
                name: name.to_owned(),
                content_type: content_type.to_owned(),
                bytes: bytes.to_vec(),
            },
        );
        key
    }

    /// The file a record holds under `file_key` (a record key, not an upload key).
    pub fn file(&self, file_key: &str) -> Option<StoredFile> {
        self.lock().files.get(file_key).cloned()
    }

    /// Removes a record's file, as deleting it from the record in kintone would.
    pub fn remove_file(&self, file_key: &str) {
        self.lock().files.remove(file_key);
    }

    /// The uploads not yet attached to a record, by upload key.
    pub fn uploads(&self) -> Vec<(String, Upload)> {
        self.lock()
            .uploads
            .iter()
            .map(|(key, upload)| (key.clone(), upload.clone()))
            .collect()
    }

    /// Forgets every unattached upload, as kintone does when temporary storage expires (after
    /// a time the fact sheet leaves UNCONFIRMED).
    pub fn expire_uploads(&self) {
        self.lock().uploads.clear();
    }

    /// Every request served, in the order the answers were produced.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.lock().log.clone()
    }

    pub fn clear_requests(&self) {
        self.lock().log.clear();
    }

    /// An axum router serving the kintone paths (`/k/v1/…` and `/k/guest/{space}/v1/…`).
    pub fn router(&self) -> axum::Router {
        server::router(self.clone())
    }

    /// Binds `addr` (port 0 allowed), serves on a task of the current tokio runtime, and returns
    /// the bound address.
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let router = self.router();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                eprintln!("kintone emulator stopped: {e}");
            }
        });
        Ok(local)
    }

    /// The demo data set (apps 12 "seminar", 34 "deals" with a quotation PDF per deal, 56 "careers" with a CV) used by the dev stack and README.
    pub fn demo() -> Self {
        demo::build()
    }

    fn next_random(&self) -> u64 {
        let mut z = self
            .inner
            .rng
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// An upload key, UUID-like as kintone's (`c15b3870-…`).
    pub(crate) fn upload_key(&self) -> String {
        let (a, b) = (self.next_random(), self.next_random());
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }

    /// A record file key, shaped like kintone's (`201202061155587E…`): digits then hex.
    pub(crate) fn record_file_key(&self) -> String {
        let (a, b) = (self.next_random(), self.next_random());
        format!("{:014}{:016X}{:08X}", a % 100_000_000_000_000, b, a >> 32)
    }

    /// A random-looking 20-character error id, like kintone's.
    pub(crate) fn error_id(&self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut x = self
            .inner
            .rng
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        (0..20)
            .map(|_| {
                // splitmix64 step
                x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                char::from(ALPHABET[(z % ALPHABET.len() as u64) as usize])
            })
            .collect()
    }
}

/// Standard base64 with padding (RFC 4648), enough for a Basic credential.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod base64_tests {
    #[test]
    fn encodes_like_rfc_4648() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("relay:pw", "cmVsYXk6cHc="),
        ] {
            assert_eq!(super::base64(plain.as_bytes()), encoded);
        }
    }
}
