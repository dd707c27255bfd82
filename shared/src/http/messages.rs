//! Every text the relay shows a person, in Japanese and English, and the reader's language.

use crate::http::ApiError;
use crate::input::{BodyError, Problem};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    /// Picks the highest-weighted of `ja` / `en` in `Accept-Language`; anything else (or
    /// nothing) means Japanese.
    pub fn from_accept_language(header: Option<&str>) -> Self {
        let Some(header) = header else {
            return Lang::Ja;
        };
        let mut best: Option<(f32, Lang)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("ja") => Lang::Ja,
                Some("en") => Lang::En,
                _ => continue,
            };
            if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, lang));
            }
        }
        best.map_or(Lang::Ja, |(_, lang)| lang)
    }

    fn pick(self, ja: &str, en: &str) -> String {
        match self {
            Lang::Ja => ja.to_owned(),
            Lang::En => en.to_owned(),
        }
    }
}

/// Something the relay can say to a person.
pub trait Message {
    fn message(&self, lang: Lang) -> String;
}

impl Message for ApiError {
    fn message(&self, lang: Lang) -> String {
        let fixed = |ja: &str, en: &str| lang.pick(ja, en);
        match self {
            ApiError::NotFound => fixed("見つかりませんでした。", "Not found."),
            ApiError::Forbidden => fixed(
                "このネットワークからは利用できません。",
                "This service cannot be used from your network.",
            ),
            ApiError::TooManyAttempts { .. } => fixed(
                "試行回数が多すぎます。しばらくしてからもう一度お試しください。",
                "Too many attempts. Please try again later.",
            ),
            ApiError::MethodNotAllowed { .. } => fixed(
                "このメソッドは使用できません。",
                "This method is not allowed.",
            ),
            ApiError::OriginNotAllowed => fixed(
                "このページからの送信は許可されていません。",
                "Requests from this page are not allowed.",
            ),
            ApiError::UnsupportedMediaType => fixed(
                "Content-Type: application/json で送信してください。",
                "Send the request as Content-Type: application/json.",
            ),
            ApiError::PayloadTooLarge { limit } => match lang {
                Lang::Ja => format!("送信内容が大きすぎます（上限 {limit} バイト）。"),
                Lang::En => format!("The request is too large (limit {limit} bytes)."),
            },
            ApiError::FileTooLarge { limit } => match lang {
                Lang::Ja => format!(
                    "ファイルが大きすぎてここからはダウンロードできません（上限 {limit} バイト）。担当者にお問い合わせください。"
                ),
                Lang::En => format!(
                    "The file is too large to download here (limit {limit} bytes). Please ask your contact for it."
                ),
            },
            ApiError::InvalidBody(problem) => problem.message(lang),
            ApiError::InvalidInput(_) => fixed(
                "入力内容を確認してください。",
                "Please check the highlighted fields.",
            ),
            ApiError::InvalidIdempotencyKey => fixed(
                "Idempotency-Key ヘッダーは英数字・-・_ の32〜64文字（crypto.randomUUID() など）にしてください。",
                "The Idempotency-Key header must be 32 to 64 letters, digits, '-' or '_' (crypto.randomUUID(), say).",
            ),
            ApiError::InvalidStamp => fixed(
                "フォームの有効期限が切れました。ページを読み込み直してください。",
                "This form has expired. Please reload the page.",
            ),
            ApiError::CaptchaFailed => fixed(
                "ロボットでないことの確認ができませんでした。確認をやり直してから、もう一度送信してください。",
                "We could not confirm that you are not a robot. Please complete the check again and resend.",
            ),
            ApiError::TooFast { .. } => fixed(
                "送信が早すぎます。数秒後にもう一度送信してください。",
                "That was too fast. Please send again in a few seconds.",
            ),
            ApiError::Unavailable { .. } => fixed(
                "ただいま混み合っているか、メンテナンス中です。しばらくしてからもう一度お試しください。",
                "The service is busy or under maintenance. Please try again shortly.",
            ),
            ApiError::Misconfigured => fixed(
                "サーバーの設定に問題があるため受け付けできませんでした。管理者にお問い合わせください。",
                "The service is not configured correctly. Please contact the administrator.",
            ),
            ApiError::Internal => fixed(
                "サーバーで問題が発生しました。",
                "Something went wrong on the server.",
            ),
        }
    }
}

impl Message for BodyError {
    fn message(&self, lang: Lang) -> String {
        match self {
            BodyError::Malformed => lang.pick(
                "送信内容を読み取れませんでした（JSON の形式が正しくありません）。",
                "The request body is not valid JSON.",
            ),
            BodyError::NotAnObject => lang.pick(
                "送信内容は JSON オブジェクトでなければなりません。",
                "The request body must be a JSON object.",
            ),
            BodyError::DuplicateKey(key) => match lang {
                Lang::Ja => format!("項目「{key}」が2回送信されています。"),
                Lang::En => format!("The field \"{key}\" was sent twice."),
            },
        }
    }
}

impl Message for Problem {
    fn message(&self, lang: Lang) -> String {
        let fixed = |ja: &str, en: &str| lang.pick(ja, en);
        match self {
            Problem::Required => fixed("入力してください。", "This field is required."),
            Problem::ConsentRequired => fixed("同意が必要です。", "Your consent is required."),
            Problem::NotAString => {
                fixed("文字列で送信してください。", "Send this field as a string.")
            }
            Problem::NotAList => fixed(
                "選択肢の配列で送信してください。",
                "Send this field as a list of options.",
            ),
            Problem::NotABoolean => {
                fixed("true か false で送信してください。", "Send true or false.")
            }
            Problem::TooLong { max } => match lang {
                Lang::Ja => format!("{max}文字以内で入力してください。"),
                Lang::En => format!("Enter at most {max} characters."),
            },
            Problem::ControlCharacters => fixed(
                "使用できない制御文字が含まれています。",
                "This contains control characters that are not allowed.",
            ),
            Problem::InvalidEmail => fixed(
                "メールアドレスの形式が正しくありません。",
                "Enter a valid email address.",
            ),
            Problem::InvalidTel => fixed(
                "電話番号は数字、空白、+、-、( ) で入力してください。",
                "Enter a phone number using digits, spaces, +, - and ( ).",
            ),
            Problem::InvalidUrl => fixed(
                "http:// または https:// で始まる URL を入力してください。",
                "Enter a URL starting with http:// or https://.",
            ),
            Problem::InvalidNumber => fixed("数値を入力してください。", "Enter a number."),
            Problem::OutOfRange { min, max } => match (lang, min, max) {
                (Lang::Ja, Some(a), Some(b)) => format!("{a}以上{b}以下の数値を入力してください。"),
                (Lang::Ja, Some(a), None) => format!("{a}以上の数値を入力してください。"),
                (Lang::Ja, None, Some(b)) => format!("{b}以下の数値を入力してください。"),
                (Lang::En, Some(a), Some(b)) => format!("Enter a number from {a} to {b}."),
                (Lang::En, Some(a), None) => format!("Enter a number of at least {a}."),
                (Lang::En, None, Some(b)) => format!("Enter a number of at most {b}."),
                (_, None, None) => fixed("数値を入力してください。", "Enter a number."),
            },
            Problem::InvalidDate => fixed(
                "存在する日付を YYYY-MM-DD の形式で入力してください。",
                "Enter a real date as YYYY-MM-DD.",
            ),
            Problem::InvalidDatetime => fixed(
                "日時を 2026-04-01T09:00:00+09:00 の形式で入力してください。",
                "Enter a date and time like 2026-04-01T09:00:00+09:00.",
            ),
            Problem::NotAnOption => fixed(
                "選択肢の中から選んでください。",
                "Choose one of the options.",
            ),
            Problem::RepeatedChoice => fixed(
                "同じ選択肢が2回選ばれています。",
                "The same option was chosen twice.",
            ),
            Problem::UnknownField => fixed(
                "このフォームにない項目です。",
                "This form has no such field.",
            ),
            Problem::AlreadyRegistered => fixed(
                "この値はすでに登録されています。",
                "This value has already been registered.",
            ),
            Problem::RefusedByKintone => fixed(
                "この値は登録できませんでした。",
                "This value could not be saved.",
            ),
            Problem::FileTooLarge { max_bytes } => {
                let size = megabytes(*max_bytes);
                match lang {
                    Lang::Ja => format!("ファイルが大きすぎます（上限 {size} MB）。"),
                    Lang::En => format!("The file is too large (limit {size} MB)."),
                }
            }
            Problem::FileTypeNotAccepted { accept } => {
                let types: Vec<&str> = accept.iter().map(|t| t.mime()).collect();
                let types = types.join(", ");
                match lang {
                    Lang::Ja => format!("この種類のファイルは送信できません（{types}）。"),
                    Lang::En => format!("This kind of file is not accepted ({types})."),
                }
            }
            Problem::InvalidFileName => fixed(
                "ファイル名が正しくありません。",
                "The file name is not valid.",
            ),
            Problem::InvalidFileHandle => fixed(
                "ファイルを確認できませんでした。もう一度ファイルを選んでください。",
                "The file could not be verified. Please choose the file again.",
            ),
            Problem::FileHandleExpired => fixed(
                "ファイルの受付期限が切れました。もう一度ファイルを選んでください。",
                "The uploaded file has expired. Please choose the file again.",
            ),
            Problem::TooManyFiles { max } => match lang {
                Lang::Ja => format!("ファイルは {max} 個までです。"),
                Lang::En => format!("At most {max} files can be sent."),
            },
        }
    }
}

/// Bytes as megabytes (10^6) with one decimal, as file pickers show sizes.
fn megabytes(bytes: usize) -> String {
    format!("{:.1}", bytes as f64 / 1_000_000.0)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::input::Decimal;

    #[test]
    fn picks_by_weight_and_defaults_to_japanese() {
        assert_eq!(Lang::from_accept_language(None), Lang::Ja);
        assert_eq!(Lang::from_accept_language(Some("fr-FR")), Lang::Ja);
        assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("ja,en-US;q=0.8")), Lang::Ja);
        assert_eq!(
            Lang::from_accept_language(Some("en;q=0.5, ja;q=0.9")),
            Lang::Ja
        );
        assert_eq!(Lang::from_accept_language(Some("fr, en;q=0.1")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("en;q=0")), Lang::Ja);
    }

    /// Lists every variant: adding one without listing it here does not compile.
    fn every_problem() -> Vec<Problem> {
        let all = vec![
            Problem::Required,
            Problem::ConsentRequired,
            Problem::NotAString,
            Problem::NotAList,
            Problem::NotABoolean,
            Problem::TooLong { max: 5 },
            Problem::ControlCharacters,
            Problem::InvalidEmail,
            Problem::InvalidTel,
            Problem::InvalidUrl,
            Problem::InvalidNumber,
            Problem::OutOfRange {
                min: Decimal::parse("1"),
                max: Decimal::parse("2"),
            },
            Problem::OutOfRange {
                min: Decimal::parse("1"),
                max: None,
            },
            Problem::OutOfRange {
                min: None,
                max: Decimal::parse("2"),
            },
            Problem::OutOfRange {
                min: None,
                max: None,
            },
            Problem::InvalidDate,
            Problem::InvalidDatetime,
            Problem::NotAnOption,
            Problem::RepeatedChoice,
            Problem::UnknownField,
            Problem::AlreadyRegistered,
            Problem::RefusedByKintone,
            Problem::FileTooLarge { max_bytes: 10 },
            Problem::FileTypeNotAccepted {
                accept: crate::files::FileType::DEFAULT_ACCEPT.to_vec(),
            },
            Problem::InvalidFileName,
            Problem::InvalidFileHandle,
            Problem::FileHandleExpired,
            Problem::TooManyFiles { max: 1 },
        ];
        for problem in &all {
            match problem {
                Problem::Required
                | Problem::ConsentRequired
                | Problem::NotAString
                | Problem::NotAList
                | Problem::NotABoolean
                | Problem::TooLong { .. }
                | Problem::ControlCharacters
                | Problem::InvalidEmail
                | Problem::InvalidTel
                | Problem::InvalidUrl
                | Problem::InvalidNumber
                | Problem::OutOfRange { .. }
                | Problem::InvalidDate
                | Problem::InvalidDatetime
                | Problem::NotAnOption
                | Problem::RepeatedChoice
                | Problem::UnknownField
                | Problem::AlreadyRegistered
                | Problem::RefusedByKintone
                | Problem::FileTooLarge { .. }
                | Problem::FileTypeNotAccepted { .. }
                | Problem::InvalidFileName
                | Problem::InvalidFileHandle
                | Problem::FileHandleExpired
                | Problem::TooManyFiles { .. } => {}
            }
        }
        all
    }

    fn every_api_error() -> Vec<ApiError> {
        let all = vec![
            ApiError::NotFound,
            ApiError::Forbidden,
            ApiError::TooManyAttempts {
                retry_after: Duration::from_secs(1),
            },
            ApiError::MethodNotAllowed {
                allow: "POST".into(),
            },
            ApiError::OriginNotAllowed,
            ApiError::UnsupportedMediaType,
            ApiError::PayloadTooLarge { limit: 10 },
            ApiError::FileTooLarge { limit: 10 },
            ApiError::InvalidBody(BodyError::Malformed),
            ApiError::InvalidBody(BodyError::NotAnObject),
            ApiError::InvalidBody(BodyError::DuplicateKey("a".into())),
            ApiError::InvalidInput(Default::default()),
            ApiError::InvalidIdempotencyKey,
            ApiError::InvalidStamp,
            ApiError::CaptchaFailed,
            ApiError::TooFast {
                retry_after: Duration::from_secs(1),
            },
            ApiError::Unavailable {
                retry_after: Duration::from_secs(1),
            },
            ApiError::Misconfigured,
            ApiError::Internal,
        ];
        for error in &all {
            match error {
                ApiError::NotFound
                | ApiError::Forbidden
                | ApiError::TooManyAttempts { .. }
                | ApiError::MethodNotAllowed { .. }
                | ApiError::OriginNotAllowed
                | ApiError::UnsupportedMediaType
                | ApiError::PayloadTooLarge { .. }
                | ApiError::FileTooLarge { .. }
                | ApiError::InvalidBody(
                    BodyError::Malformed | BodyError::NotAnObject | BodyError::DuplicateKey(_),
                )
                | ApiError::InvalidInput(_)
                | ApiError::InvalidIdempotencyKey
                | ApiError::InvalidStamp
                | ApiError::CaptchaFailed
                | ApiError::TooFast { .. }
                | ApiError::Unavailable { .. }
                | ApiError::Misconfigured
                | ApiError::Internal => {}
            }
        }
        all
    }

    fn assert_bilingual(message: &dyn Message, what: &str) {
        let ja = message.message(Lang::Ja);
        let en = message.message(Lang::En);
        let japanese = |c: char| matches!(c, '\u{3040}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}');
        assert!(ja.chars().any(japanese), "{what}: no Japanese in {ja:?}");
        assert!(
            !en.is_empty() && !en.chars().any(japanese),
            "{what}: the English text is {en:?}"
        );
    }

    #[test]
    fn every_message_has_japanese_and_english() {
        for problem in every_problem() {
            assert_bilingual(&problem, &format!("{problem:?}"));
        }
        for error in every_api_error() {
            assert_bilingual(&error, &format!("{error:?}"));
        }
    }
}
