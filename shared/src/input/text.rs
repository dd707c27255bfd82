//! The text rules every string input follows, and the width variants of a typed value.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use super::Problem;

/// How a string input is cleaned before it is checked. Every rule first trims whitespace
/// around the value (a tab or newline pasted from a spreadsheet cell included), then refuses
/// what is left if it holds characters the rule does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextRule {
    /// One line, kept as typed (names, addresses, options, lookup text).
    AsTyped,
    /// Line breaks and tabs allowed; line endings become `\n`.
    MultiLine,
    /// One line, NFKC-normalised: for values where only the ASCII reading counts (numbers,
    /// phones, dates), so that digits typed full-width on a phone count.
    Normalised,
}

/// A string input cleaned by `rule`; `None` when blank.
pub fn clean_text(value: &Value, rule: TextRule) -> Result<Option<String>, Problem> {
    let Value::String(raw) = value else {
        return Err(Problem::NotAString);
    };
    let trimmed = raw.trim();
    let refused = |c: char| match rule {
        TextRule::MultiLine => {
            (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || is_invisible_format(c)
        }
        TextRule::AsTyped | TextRule::Normalised => {
            c.is_control() || is_line_separator(c) || is_invisible_format(c)
        }
    };
    if trimmed.chars().any(refused) {
        return Err(Problem::ControlCharacters);
    }
    let text = match rule {
        TextRule::Normalised => normalise(trimmed),
        TextRule::AsTyped => trimmed.to_owned(),
        TextRule::MultiLine => trimmed
            .replace("\r\n", "\n")
            .replace(['\r', '\u{2028}', '\u{2029}'], "\n"),
    };
    Ok((!text.is_empty()).then_some(text))
}

/// NFKC, then trimmed: the normalisation of [`TextRule::Normalised`].
pub fn normalise(text: &str) -> String {
    text.nfkc().collect::<String>().trim().to_owned()
}

pub fn check_length(text: &str, max: usize) -> Result<(), Problem> {
    if text.chars().count() > max {
        Err(Problem::TooLong { max })
    } else {
        Ok(())
    }
}

/// U+2028 and U+2029 break a line like `\n`: not in a one-line value.
pub(crate) fn is_line_separator(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

/// Invisible format characters: zero-width spaces, the byte-order mark, bidirectional
/// overrides and isolates, invisible operators. They make two values that look the same differ
/// (or a value look like another), and kintone's query parser is not documented to take them.
/// The zero-width joiner and non-joiner stay allowed: emoji sequences and some scripts need them.
pub(crate) fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'
            | '\u{200E}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

/// The widths a value may be stored in: as typed, all narrow (ASCII letters, digits and
/// punctuation, the ASCII space, half-width katakana) and all wide (full-width forms, the
/// ideographic space, full-width katakana); each once, as typed first. A lookup matches a
/// stored value that is one of these exactly.
pub fn width_variants(typed: &str) -> Vec<String> {
    let mut variants = vec![typed.to_owned()];
    for variant in [narrow(typed), wide(typed)] {
        if !variants.contains(&variant) {
            variants.push(variant);
        }
    }
    variants
}

/// Half-width katakana (U+FF61..=U+FF9F) and what NFKC makes of each.
const HALF_WIDTH_KANA: std::ops::RangeInclusive<char> = '\u{FF61}'..='\u{FF9F}';

/// Full-width katakana and punctuation -> the half-width character, the reverse of NFKC on
/// [`HALF_WIDTH_KANA`]; the voiced marks (combining and spacing) -> ﾞ and ﾟ.
static TO_HALF_WIDTH_KANA: LazyLock<HashMap<char, char>> = LazyLock::new(|| {
    let mut map: HashMap<char, char> = HALF_WIDTH_KANA
        .filter_map(|half| {
            let mut full = std::iter::once(half).nfkc();
            match (full.next(), full.next()) {
                (Some(full), None) => Some((full, half)),
                _ => None,
            }
        })
        .collect();
    map.insert('\u{309B}', '\u{FF9E}');
    map.insert('\u{309C}', '\u{FF9F}');
    map
});

fn narrow(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{FF01}'..='\u{FF5E}' => out.push(char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)),
            '\u{3000}' => out.push(' '),
            // A voiced katakana decomposes into its base and a combining mark: ガ -> ガ -> ｶﾞ.
            '\u{30A0}'..='\u{30FF}'
            | '\u{3001}'
            | '\u{3002}'
            | '\u{300C}'
            | '\u{300D}'
            | '\u{309B}'
            | '\u{309C}' => {
                for part in std::iter::once(c).nfd() {
                    out.push(TO_HALF_WIDTH_KANA.get(&part).copied().unwrap_or(part));
                }
            }
            _ => out.push(c),
        }
    }
    out
}

fn wide(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    let mut kana = String::new();
    for c in text.chars() {
        if HALF_WIDTH_KANA.contains(&c) {
            kana.push(c);
            continue;
        }
        // NFKC on a run of half-width katakana composes the voiced marks: ｶﾞ -> ガ.
        out.extend(kana.nfkc());
        kana.clear();
        match c {
            '!'..='~' => out.push(char::from_u32(c as u32 + 0xFEE0).unwrap_or(c)),
            ' ' => out.push('\u{3000}'),
            _ => out.push(c),
        }
    }
    out.extend(kana.nfkc());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn clean(text: &str, rule: TextRule) -> Result<Option<String>, Problem> {
        clean_text(&json!(text), rule)
    }

    #[test]
    fn text_rules() {
        assert_eq!(clean(" ａ１ ", TextRule::Normalised), Ok(Some("a1".into())));
        assert_eq!(clean(" ａ１ ", TextRule::AsTyped), Ok(Some("ａ１".into())));
        assert_eq!(
            clean("a\r\nb", TextRule::MultiLine),
            Ok(Some("a\nb".into()))
        );
        assert_eq!(
            clean("a\u{2028}b", TextRule::MultiLine),
            Ok(Some("a\nb".into()))
        );
        assert_eq!(
            clean("a\nb", TextRule::AsTyped),
            Err(Problem::ControlCharacters)
        );
        assert_eq!(clean("   ", TextRule::AsTyped), Ok(None));
        assert_eq!(
            clean_text(&json!(1), TextRule::AsTyped),
            Err(Problem::NotAString)
        );
    }

    #[test]
    fn spreadsheet_pastes_are_trimmed_before_the_control_character_rule() {
        assert_eq!(
            clean("佐藤工業\t", TextRule::AsTyped),
            Ok(Some("佐藤工業".into()))
        );
        assert_eq!(
            clean("P-002\n", TextRule::Normalised),
            Ok(Some("P-002".into()))
        );
        assert_eq!(
            clean("\r\n山田\r\n", TextRule::AsTyped),
            Ok(Some("山田".into()))
        );
        assert_eq!(
            clean("佐藤\t工業", TextRule::AsTyped),
            Err(Problem::ControlCharacters)
        );
    }

    #[test]
    fn separators_and_invisible_characters_are_refused_on_one_line() {
        for text in [
            "P\u{2028}001",
            "P\u{2029}1",
            "\u{FEFF}P-001",
            "P-0\u{200B}01",
            "a\u{202E}b",
        ] {
            assert_eq!(
                clean(text, TextRule::AsTyped),
                Err(Problem::ControlCharacters),
                "{text:?}"
            );
        }
        assert_eq!(
            clean("👨\u{200D}👩", TextRule::AsTyped),
            Ok(Some("👨\u{200D}👩".into()))
        );
        assert_eq!(
            clean("a\u{202E}b", TextRule::MultiLine),
            Err(Problem::ControlCharacters)
        );
    }

    #[test]
    fn width_variants_cover_both_consistent_widths() {
        assert_eq!(
            width_variants("(株)山田商事"),
            ["(株)山田商事", "（株）山田商事"]
        );
        assert_eq!(
            width_variants("（株）山田商事"),
            ["（株）山田商事", "(株)山田商事"]
        );
        assert_eq!(width_variants("山田 商事"), ["山田 商事", "山田　商事"]);
        assert_eq!(
            width_variants("ヤマダショウジ"),
            ["ヤマダショウジ", "ﾔﾏﾀﾞｼｮｳｼﾞ"]
        );
        assert_eq!(width_variants("ﾔﾏﾀﾞｼｮｳｼﾞ"), ["ﾔﾏﾀﾞｼｮｳｼﾞ", "ヤマダショウジ"]);
        assert_eq!(width_variants("パ・ー"), ["パ・ー", "ﾊﾟ･ｰ"]);
        assert_eq!(
            width_variants("P-００１"),
            ["P-００１", "P-001", "Ｐ－００１"]
        );
        assert_eq!(width_variants("山田商事"), ["山田商事"]);
        assert_eq!(
            width_variants("やまだ"),
            ["やまだ"],
            "hiragana has one width"
        );
        // Not a width difference: ㈱ is another character than (株).
        assert!(!width_variants("㈱山田商事").contains(&"(株)山田商事".to_owned()));
    }
}
