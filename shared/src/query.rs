//! kintone queries built from typed parts only: field codes checked at start-up, literals
//! escaped here, conditions written by the admin checked for syntax at start-up. Nothing a
//! browser sends can reach a query except through [`Literal`].

use std::fmt;

/// A kintone field code. Codes cannot be quoted in a query, so only codes without spaces or
/// query punctuation are accepted; they come from relay.toml, never from a request. Serialised
/// as the plain code (a queued submission's record keys), and checked again when read back.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FieldCode(String);

impl TryFrom<String> for FieldCode {
    type Error = String;

    fn try_from(code: String) -> Result<Self, String> {
        FieldCode::parse(&code)
    }
}

impl From<FieldCode> for String {
    fn from(code: FieldCode) -> String {
        code.0
    }
}

/// Lets a map keyed by field codes be read with a `&str`: a code compares as its text.
impl std::borrow::Borrow<str> for FieldCode {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl FieldCode {
    pub fn parse(code: &str) -> Result<Self, String> {
        let ok = !code.is_empty()
            && code.chars().count() <= 128
            && code
                .chars()
                .all(|c| !is_space(c) && !c.is_control() && !is_punctuation(c));
        if ok {
            Ok(FieldCode(code.to_owned()))
        } else {
            Err(format!(
                "\"{code}\" is not a kintone field code (no spaces, quotes, brackets, commas or operators)"
            ))
        }
    }

    /// `$id`, which kintone returns only when asked for it by name.
    pub fn record_id() -> Self {
        FieldCode("$id".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A double-quoted, escaped string literal. Control characters are refused rather than
/// escaped: no form or lookup input may contain them, and a raw one breaks the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a query literal cannot contain control characters")]
pub struct ControlCharacter;

impl Literal {
    pub fn new(value: &str) -> Result<Self, ControlCharacter> {
        if value.chars().any(char::is_control) {
            return Err(ControlCharacter);
        }
        let mut quoted = String::with_capacity(value.len() + 2);
        quoted.push('"');
        for c in value.chars() {
            // The backslash first: an unescaped trailing `\` would swallow the closing quote.
            if c == '\\' || c == '"' {
                quoted.push('\\');
            }
            quoted.push(c);
        }
        quoted.push('"');
        Ok(Literal(quoted))
    }
}

/// A condition written by the admin in relay.toml, checked for syntax at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedCondition(String);

impl TrustedCondition {
    pub fn parse(text: &str) -> Result<Self, String> {
        let tokens = tokenize(text)?;
        let mut parser = Parser::new(tokens);
        parser.expression()?;
        if let Some(token) = parser.peek() {
            return Err(format!(
                "unexpected {token} after the conditions (write only conditions here; the order goes in order_by)"
            ));
        }
        Ok(TrustedCondition(text.trim().to_owned()))
    }

    /// The field codes the condition names, in order (for `relay check`, which compares them
    /// with the app's fields).
    pub fn field_codes(&self) -> Vec<String> {
        let mut parser = Parser::new(tokenize(&self.0).unwrap_or_default());
        // Parsed once already, so this cannot fail.
        let _ = parser.expression();
        parser.fields
    }
}

/// An `order by` clause from relay.toml: `field [asc|desc], ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy(String);

impl OrderBy {
    pub fn parse(text: &str) -> Result<Self, String> {
        let tokens = tokenize(text)?;
        let mut parser = Parser::new(tokens);
        parser.order_list()?;
        if let Some(token) = parser.peek() {
            return Err(format!("unexpected {token} in the order"));
        }
        Ok(OrderBy(text.trim().to_owned()))
    }

    /// The field codes the order names, in order.
    pub fn field_codes(&self) -> Vec<String> {
        let mut parser = Parser::new(tokenize(&self.0).unwrap_or_default());
        let _ = parser.order_list();
        parser.fields
    }
}

/// A complete query string; only [`QueryBuilder`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KintoneQuery(String);

impl KintoneQuery {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Conditions joined by `and`, then the order and the limit.
#[derive(Debug, Default)]
pub struct QueryBuilder {
    conditions: Vec<String>,
    order_by: Option<String>,
    limit: Option<u32>,
}

impl QueryBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parenthesised, because `and` binds tighter than `or`.
    pub fn trusted(mut self, condition: &TrustedCondition) -> Self {
        self.conditions.push(format!("({})", condition.0));
        self
    }

    pub fn equals(mut self, field: &FieldCode, value: &Literal) -> Self {
        self.conditions.push(format!("{field} = {}", value.0));
        self
    }

    /// `field = a`, or `(field = a or field = b ...)`: still only exact equalities on one
    /// field, parenthesised because `and` binds tighter than `or`.
    pub fn equals_any(mut self, field: &FieldCode, first: &Literal, others: &[Literal]) -> Self {
        let equalities: Vec<String> = std::iter::once(first)
            .chain(others)
            .map(|value| format!("{field} = {}", value.0))
            .collect();
        self.conditions.push(match equalities.as_slice() {
            [one] => one.clone(),
            _ => format!("({})", equalities.join(" or ")),
        });
        self
    }

    /// `in (...)` with one value: the match for drop-down and radio-button fields, which
    /// do not allow `=`.
    pub fn is_one_of(mut self, field: &FieldCode, value: &Literal) -> Self {
        self.conditions.push(format!("{field} in ({})", value.0));
        self
    }

    /// A DATE field that is today or later (in the token user's time zone).
    pub fn date_not_before_today(mut self, field: &FieldCode) -> Self {
        self.conditions.push(format!("{field} >= TODAY()"));
        self
    }

    /// A DATETIME field later than now.
    pub fn datetime_after_now(mut self, field: &FieldCode) -> Self {
        self.conditions.push(format!("{field} > NOW()"));
        self
    }

    pub fn order_by(mut self, order: &OrderBy) -> Self {
        self.order_by = Some(order.0.clone());
        self
    }

    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn build(self) -> KintoneQuery {
        let mut query = self.conditions.join(" and ");
        let mut push = |part: String| {
            if !query.is_empty() {
                query.push(' ');
            }
            query.push_str(&part);
        };
        if let Some(order) = self.order_by {
            push(format!("order by {order}"));
        }
        if let Some(limit) = self.limit {
            push(format!("limit {limit}"));
        }
        KintoneQuery(query)
    }
}

// ---- a syntax checker for the admin's conditions and orders ------------------------------

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{3000}')
}

fn is_punctuation(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | '(' | ')' | ',' | '=' | '!' | '<' | '>' | '\\' | '`'
    )
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str,
    Op(&'static str),
    Open,
    Close,
    Comma,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Word(w) => write!(f, "\"{w}\""),
            Token::Str => f.write_str("a string"),
            Token::Op(op) => write!(f, "\"{op}\""),
            Token::Open => f.write_str("\"(\""),
            Token::Close => f.write_str("\")\""),
            Token::Comma => f.write_str("\",\""),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if is_space(c) {
            chars.next();
            continue;
        }
        match c {
            '"' => {
                chars.next();
                loop {
                    match chars.next() {
                        None => return Err("a string is not closed with \"".into()),
                        Some('"') => break,
                        Some('\\') => {
                            if chars.next().is_none() {
                                return Err("a string ends with a lone backslash".into());
                            }
                        }
                        Some('\t' | '\n' | '\r') => {
                            return Err("a string contains a raw tab or line break".into());
                        }
                        Some(_) => {}
                    }
                }
                tokens.push(Token::Str);
            }
            '\'' | '`' => return Err(format!("{c} is not a quote in kintone queries; use \"")),
            '(' | ')' | ',' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Comma,
                });
            }
            '=' | '!' | '<' | '>' => {
                chars.next();
                let followed_by_eq = chars.peek() == Some(&'=');
                let op = match (c, followed_by_eq) {
                    ('=', _) => "=",
                    ('!', true) => "!=",
                    ('<', true) => "<=",
                    ('>', true) => ">=",
                    ('<', false) => "<",
                    ('>', false) => ">",
                    _ => return Err("\"!\" must be followed by \"=\"".into()),
                };
                if op.len() == 2 {
                    chars.next();
                }
                tokens.push(Token::Op(op));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if is_space(c) || is_punctuation(c) {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    /// The field codes met, in order.
    fields: Vec<String>,
}

impl Parser {
    fn new(tokens: Vec<Token>) -> Self {
        Parser {
            tokens,
            at: 0,
            fields: Vec::new(),
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn keyword(&mut self, word: &str) -> bool {
        match self.peek() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case(word) => {
                self.at += 1;
                true
            }
            _ => false,
        }
    }

    fn expect_keyword(&mut self, word: &str) -> Result<(), String> {
        if self.keyword(word) {
            Ok(())
        } else {
            Err(format!("expected \"{word}\"{}", self.found()))
        }
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(token) => format!(", found {token}"),
            None => " before the end".into(),
        }
    }

    fn expression(&mut self) -> Result<(), String> {
        self.term()?;
        while self.keyword("or") {
            self.term()?;
        }
        Ok(())
    }

    fn term(&mut self) -> Result<(), String> {
        self.factor()?;
        while self.keyword("and") {
            self.factor()?;
        }
        Ok(())
    }

    fn factor(&mut self) -> Result<(), String> {
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            self.expression()?;
            return match self.next() {
                Some(Token::Close) => Ok(()),
                _ => Err("a \"(\" is not closed".into()),
            };
        }
        self.condition()
    }

    fn field(&mut self) -> Result<(), String> {
        match self.next() {
            Some(Token::Word(word)) if !is_reserved(&word) => {
                self.fields.push(word);
                Ok(())
            }
            other => Err(format!(
                "expected a field code, found {}",
                other.map_or("the end".into(), |t| t.to_string())
            )),
        }
    }

    fn condition(&mut self) -> Result<(), String> {
        self.field()?;
        if let Some(Token::Op(_)) = self.peek() {
            self.at += 1;
            return self.value();
        }
        if self.keyword("in") {
            return self.value_list();
        }
        if self.keyword("like") {
            return self.string();
        }
        if self.keyword("not") {
            if self.keyword("in") {
                return self.value_list();
            }
            self.expect_keyword("like")?;
            return self.string();
        }
        if self.keyword("is") {
            self.keyword("not");
            return self.expect_keyword("empty");
        }
        Err(format!("expected an operator{}", self.found()))
    }

    fn string(&mut self) -> Result<(), String> {
        match self.next() {
            Some(Token::Str) => Ok(()),
            _ => Err("expected a \"quoted\" string".into()),
        }
    }

    /// A string, a number, or a function call such as `TODAY()` or `FROM_TODAY(-7, DAYS)`.
    fn value(&mut self) -> Result<(), String> {
        match self.next() {
            Some(Token::Str) => Ok(()),
            Some(Token::Word(word)) if is_number(&word) => Ok(()),
            Some(Token::Word(word)) if !is_reserved(&word) && self.peek() == Some(&Token::Open) => {
                self.at += 1;
                if self.peek() == Some(&Token::Close) {
                    self.at += 1;
                    return Ok(());
                }
                loop {
                    match self.next() {
                        Some(Token::Word(_) | Token::Str) => {}
                        _ => return Err(format!("bad arguments to {word}()")),
                    }
                    match self.next() {
                        Some(Token::Comma) => continue,
                        Some(Token::Close) => return Ok(()),
                        _ => return Err(format!("bad arguments to {word}()")),
                    }
                }
            }
            other => Err(format!(
                "expected a value, found {}",
                other.map_or("the end".into(), |t| t.to_string())
            )),
        }
    }

    fn value_list(&mut self) -> Result<(), String> {
        if self.next() != Some(Token::Open) {
            return Err("expected \"(\" after in".into());
        }
        loop {
            self.value()?;
            match self.next() {
                Some(Token::Comma) => continue,
                Some(Token::Close) => return Ok(()),
                _ => return Err("expected \",\" or \")\" in the list".into()),
            }
        }
    }

    fn order_list(&mut self) -> Result<(), String> {
        loop {
            self.field()?;
            let _ = self.keyword("asc") || self.keyword("desc");
            if self.peek() != Some(&Token::Comma) {
                return Ok(());
            }
            self.at += 1;
        }
    }
}

fn is_number(word: &str) -> bool {
    let digits = word.strip_prefix('-').unwrap_or(word);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
}

fn is_reserved(word: &str) -> bool {
    [
        "and", "or", "not", "in", "like", "is", "empty", "order", "by", "limit", "offset", "asc",
        "desc",
    ]
    .iter()
    .any(|k| k.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_backslash_then_quote() {
        assert_eq!(Literal::new(r#"a"b"#).unwrap().0, r#""a\"b""#);
        assert_eq!(Literal::new(r"a\").unwrap().0, r#""a\\""#);
        assert_eq!(
            Literal::new(r#"\" or x != ""#).unwrap().0,
            r#""\\\" or x != \"""#
        );
        assert_eq!(Literal::new("a\nb"), Err(ControlCharacter));
        assert_eq!(Literal::new("a\u{0}"), Err(ControlCharacter));
    }

    #[test]
    fn builds_conditions_order_and_limit() {
        let id = FieldCode::parse("担当ID").unwrap();
        let status = FieldCode::parse("ステータス").unwrap();
        let query = QueryBuilder::new()
            .trusted(&TrustedCondition::parse(r#"公開 in ("公開する") or 全員 = "1""#).unwrap())
            .equals(&id, &Literal::new("P-001").unwrap())
            .is_one_of(&status, &Literal::new("受注").unwrap())
            .order_by(&OrderBy::parse("取引ID asc").unwrap())
            .limit(21)
            .build();
        assert_eq!(
            query.as_str(),
            r#"(公開 in ("公開する") or 全員 = "1") and 担当ID = "P-001" and ステータス in ("受注") order by 取引ID asc limit 21"#
        );
    }

    #[test]
    fn admin_conditions_are_checked() {
        for good in [
            r#"公開 in ("公開する")"#,
            r#"a = "x" and (b != "y" or c like "z")"#,
            r#"期限 >= TODAY() and 件数 > 10"#,
            r#"日付 > FROM_TODAY(-7, DAYS)"#,
            r#"メモ is not empty"#,
            r#"種別 not in ("a", "b")"#,
        ] {
            assert!(TrustedCondition::parse(good).is_ok(), "{good}");
        }
        for bad in [
            r#"公開 in ("公開する""#,
            r#"a = 'x'"#,
            r#"a = "x" order by b"#,
            r#"a = "x" limit 5"#,
            r#"a == "x""#,
            r#"a = "x" and"#,
            r#"(a = "x""#,
            r#"a = "x"#,
            "a = \"x\ny\"",
            r#"= "x""#,
            "",
        ] {
            assert!(TrustedCondition::parse(bad).is_err(), "{bad}");
        }
        assert!(OrderBy::parse("更新日時 desc, $id asc").is_ok());
        assert!(OrderBy::parse("更新日時 desc limit 5").is_err());
        assert!(OrderBy::parse("").is_err());
    }

    #[test]
    fn conditions_and_orders_name_their_fields() {
        let condition = TrustedCondition::parse(
            r#"公開 in ("公開する") and (期限 >= FROM_TODAY(-7, DAYS) or メモ is empty)"#,
        )
        .unwrap();
        assert_eq!(condition.field_codes(), ["公開", "期限", "メモ"]);
        let order = OrderBy::parse("更新日時 desc, $id asc").unwrap();
        assert_eq!(order.field_codes(), ["更新日時", "$id"]);
    }

    #[test]
    fn field_codes_cannot_carry_syntax() {
        assert!(FieldCode::parse("担当ID").is_ok());
        assert!(FieldCode::parse("$id").is_ok());
        for bad in ["", "a b", "a\"", "a=b", "a(", "a,b", "a\u{3000}b", "a\\"] {
            assert!(FieldCode::parse(bad).is_err(), "{bad}");
        }
    }
}
