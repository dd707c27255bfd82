//! kintone error responses: `{"code","id","message"[,"errors"]}`.
//!
//! Japanese texts marked "observed" come from captures of a real kintone; the others are best
//! guesses. Clients must match on `code`, never on `message` (fact sheet §5.1).

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// Message language, from `Accept-Language`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    En,
    Ja,
}

impl Lang {
    /// Japanese only when the header starts with `ja`; anything else (absent, `*`, `en`…) is
    /// English, as for a real en-browser user.
    pub(crate) fn from_accept_language(header: Option<&str>) -> Self {
        match header {
            Some(h) if h.trim_start().to_ascii_lowercase().starts_with("ja") => Lang::Ja,
            _ => Lang::En,
        }
    }

    pub(crate) fn pick(self, en: impl Into<String>, ja: impl Into<String>) -> String {
        match self {
            Lang::En => en.into(),
            Lang::Ja => ja.into(),
        }
    }
}

/// Validation messages keyed like kintone (`record.<code>.value`, `query`, `app`…), in
/// insertion order per key.
pub(crate) type FieldErrors = BTreeMap<String, Vec<String>>;

/// One kintone error answer.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) errors: Option<FieldErrors>,
}

impl ApiError {
    fn new(status: u16, code: &'static str, message: String) -> Self {
        Self {
            status,
            code,
            message,
            errors: None,
        }
    }

    /// The JSON body, with a fresh random `id`.
    pub(crate) fn body(&self, id: String) -> Value {
        let mut body = json!({ "code": self.code, "id": id, "message": self.message });
        if let Some(errors) = &self.errors {
            let errors: serde_json::Map<String, Value> = errors
                .iter()
                .map(|(k, msgs)| (k.clone(), json!({ "messages": msgs })))
                .collect();
            body["errors"] = Value::Object(errors);
        }
        body
    }

    pub(crate) fn login_required(lang: Lang) -> Self {
        Self::new(
            401,
            "CB_AU01",
            lang.pick("Please login.", "ログインしてください。"),
        )
    }

    /// The emulator has no user accounts, so any password fails; also its answer to wrong
    /// Basic credentials of the domain.
    pub(crate) fn password_failed(lang: Lang) -> Self {
        Self::new(
            401,
            "CB_WA01",
            lang.pick(
                "Password authentication failed.",
                "ログイン名またはパスワードが正しくありません。",
            ),
        )
    }

    pub(crate) fn token_invalid(lang: Lang) -> Self {
        Self::new(
            400,
            "GAIA_IA02",
            lang.pick(
                "The specified API token does not match the API token generated via an app.",
                "指定したAPIトークンが、アプリで生成されたAPIトークンと一致しません。",
            ),
        )
    }

    pub(crate) fn token_no_permission(lang: Lang) -> Self {
        Self::new(
            403,
            "GAIA_NO01",
            lang.pick(
                "Using this API token, you cannot run the specified API.",
                "このAPIトークンでは、指定したAPIを実行できません。",
            ),
        )
    }

    /// UNCONFIRMED first-hand: code GAIA_AP15 and status 403 come from one third-party test.
    pub(crate) fn token_wrong_app(lang: Lang, app: u64) -> Self {
        Self::new(
            403,
            "GAIA_AP15",
            lang.pick(
                format!("The API token does not match the app (ID: {app})."),
                format!("APIトークンとアプリ(id: {app})の組み合わせが正しくありません。"),
            ),
        )
    }

    pub(crate) fn token_duplicate(lang: Lang) -> Self {
        Self::new(
            400,
            "GAIA_DA03",
            lang.pick(
                "You cannot specify a duplicate API token for the same app.",
                "同じアプリのAPIトークンを重複して指定することはできません。",
            ),
        )
    }

    /// More than 9 tokens. The real code is UNCONFIRMED; CB_VA01 is a placeholder.
    pub(crate) fn too_many_tokens(lang: Lang) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(
            "X-Cybozu-API-Token".to_owned(),
            vec![lang.pick(
                "Up to 9 API tokens can be specified.",
                "APIトークンは9個まで指定できます。",
            )],
        );
        Self::invalid_input(lang, errors)
    }

    /// Ja text observed.
    pub(crate) fn no_privilege(lang: Lang) -> Self {
        Self::new(
            403,
            "CB_NO02",
            lang.pick("No privilege to proceed.", "権限がありません。"),
        )
    }

    /// Both texts observed.
    pub(crate) fn app_not_found(lang: Lang, app: u64) -> Self {
        Self::new(
            404,
            "GAIA_AP01",
            lang.pick(
                format!("The app (ID: {app}) not found. The app may have been deleted."),
                format!(
                    "指定したアプリ（id: {app}）が見つかりません。削除されている可能性があります。"
                ),
            ),
        )
    }

    /// Both texts observed.
    pub(crate) fn record_not_found(lang: Lang, id: &str) -> Self {
        Self::new(
            404,
            "GAIA_RE01",
            lang.pick(
                format!("The specified record (ID: {id}) is not found."),
                format!("指定したレコード（id: {id}）が見つかりません。"),
            ),
        )
    }

    pub(crate) fn guest_path_required(lang: Lang) -> Self {
        Self::new(
            400,
            "GAIA_IL23",
            lang.pick(
                "When you operate an app in a guest space, please send the request to '/k/guest/(guest space ID)/v1/...'.",
                "ゲストスペース内のアプリを操作する場合は、リクエストの送信先を「/k/guest/（ゲストスペースのID）/v1/...」にしてください。",
            ),
        )
    }

    pub(crate) fn invalid_json(lang: Lang) -> Self {
        Self::new(
            400,
            "CB_IJ01",
            lang.pick("Invalid JSON string.", "不正なJSON文字列です。"),
        )
    }

    /// CB_VA01 "Missing or invalid input." (both texts observed) with per-key messages.
    pub(crate) fn invalid_input(lang: Lang, errors: FieldErrors) -> Self {
        Self {
            errors: Some(errors),
            ..Self::new(
                400,
                "CB_VA01",
                lang.pick("Missing or invalid input.", "入力内容が正しくありません。"),
            )
        }
    }

    /// CB_VA01 for one request parameter.
    /// `GAIA_LO04`, without `errors`; the message quotes the value and the field (fact sheet
    /// §7). The Japanese text is the emulator's own wording.
    pub(crate) fn lookup_value_missing(lang: Lang, field: &str, value: &str) -> Self {
        Self::new(
            400,
            "GAIA_LO04",
            lang.pick(
                format!(
                    "A value {value} in the field {field} does not exist in the datasource app for lookup, or you do not have permission to view the value."
                ),
                format!(
                    "フィールド「{field}」の値「{value}」が、ルックアップの参照先のフィールドにないか、またはアプリやレコードの閲覧権限がありません。"
                ),
            ),
        )
    }

    pub(crate) fn invalid_param(lang: Lang, param: &str, message: String) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(param.to_owned(), vec![message]);
        Self::invalid_input(lang, errors)
    }

    /// A missing request parameter; "Required field." (not "Required.") is observed.
    pub(crate) fn missing_param(lang: Lang, param: &str) -> Self {
        Self::invalid_param(lang, param, lang.pick("Required field.", "必須です。"))
    }

    /// Query syntax error. Only the Japanese inner message was captured, and real kintone sent
    /// it for the Japanese locale; the English inner text is unknown, so it is kept as is.
    pub(crate) fn query_syntax(lang: Lang) -> Self {
        Self::invalid_param(lang, "query", "クエリ記法が間違っています。".to_owned())
    }

    // The English texts of the GAIA_IQ/QU errors below are UNCONFIRMED; the Japanese are observed.

    pub(crate) fn limit_too_large(lang: Lang) -> Self {
        Self::new(
            400,
            "GAIA_QU01",
            lang.pick(
                "Specify a value of 500 or less for limit.",
                "limit には 500 以下の値を指定してください。",
            ),
        )
    }

    pub(crate) fn offset_too_large(lang: Lang) -> Self {
        Self::new(
            400,
            "GAIA_QU02",
            lang.pick(
                "Specify a value of 10,000 or less for offset.",
                "offset には 10,000 以下の値を指定してください。",
            ),
        )
    }

    pub(crate) fn query_unknown_field(lang: Lang, field: &str) -> Self {
        Self::new(
            400,
            "GAIA_IQ11",
            lang.pick(
                format!("The specified field ({field}) not found."),
                format!("指定されたフィールド（{field}）が見つかりません。"),
            ),
        )
    }

    pub(crate) fn query_bad_operator(lang: Lang, field: &str, op: &str) -> Self {
        Self::new(
            400,
            "GAIA_IQ03",
            lang.pick(
                format!(
                    "The operator {op} cannot be used with the field type of the {field} field."
                ),
                format!("{field}フィールドのフィールドタイプには演算子{op}を使用できません。"),
            ),
        )
    }

    pub(crate) fn query_bad_option(lang: Lang, field: &str, value: &str) -> Self {
        Self::new(
            400,
            "GAIA_IQ10",
            lang.pick(
                format!("The option \"{value}\" does not exist in the field \"{field}\"."),
                format!("フィールド「{field}」の項目に「{value}」は存在しません。"),
            ),
        )
    }

    pub(crate) fn query_bad_day(lang: Lang, value: &str) -> Self {
        Self::new(
            400,
            "GAIA_IQ23",
            lang.pick(
                format!("The specified day ({value}) is invalid. Specify an integer from 1 to 31."),
                format!("指定した日にち（{value}）は無効です。1から31までの整数で指定します。"),
            ),
        )
    }

    pub(crate) fn query_bad_unit(lang: Lang) -> Self {
        Self::new(
            400,
            "GAIA_IQ25",
            lang.pick(
                "Specify DAYS, WEEKS, MONTHS, or YEARS for the second argument of FROM_TODAY().",
                "FROM_TODAY()の第2引数には、「DAYS」「WEEKS」「MONTHS」「YEARS」のいずれかを指定します。",
            ),
        )
    }

    /// Wrong function arguments, or a function where none is allowed.
    pub(crate) fn query_invalid(lang: Lang) -> Self {
        Self::new(
            400,
            "GAIA_IL08",
            lang.pick("The query is invalid.", "クエリの指定が不正です。"),
        )
    }

    /// Always English: 429 messages default to English (observed).
    pub(crate) fn rate_limited() -> Self {
        Self::new(
            429,
            "GAIA_TO04",
            "The number of concurrent API requests exceeds the limit.".to_owned(),
        )
    }

    /// Fact sheet §5.2 (en observed; the ja text is UNCONFIRMED). Also answered when a record
    /// add names an upload key the emulator does not hold (real behaviour UNCONFIRMED).
    pub(crate) fn file_not_found(lang: Lang, key: &str) -> Self {
        Self::new(
            404,
            "GAIA_BL01",
            lang.pick(
                format!("The specified file (id: {key}) not found."),
                format!("指定したファイル（id: {key}）が見つかりません。"),
            ),
        )
    }
}
