//! The kintone query language (the `query` parameter of Get Records), parsed strictly.
//!
//! Grammar, per the fact sheet §4:
//!
//! ```text
//! query     := [or_expr] [order by item {, item}] [limit N] [offset N]
//! or_expr   := and_expr {or and_expr}          -- `and` binds tighter than `or`
//! and_expr  := primary {and primary}
//! primary   := "(" or_expr ")" | field op value
//! ```
//!
//! Only double-quoted literals exist; field codes are bare identifiers and cannot be quoted.
//! Evaluation against an app lives elsewhere: this module knows nothing about field types.

use std::fmt;

/// A parsed query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub condition: Option<Expr>,
    /// `(field, ascending)` in the order written.
    pub order_by: Vec<(String, bool)>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

/// A condition tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cond { field: String, op: Op, value: Value },
}

impl Expr {
    /// The operands of a chain of `and`s, left to right. Anything that is not an `And`
    /// (a single condition, or an `Or`) is returned as one element, so a test can assert
    /// "exactly these conditions joined by `and`".
    pub fn conditions(&self) -> Vec<&Expr> {
        match self {
            Expr::And(left, right) => {
                let mut out = left.conditions();
                out.extend(right.conditions());
                out
            }
            other => vec![other],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    In,
    NotIn,
    Like,
    NotLike,
    IsEmpty,
    IsNotEmpty,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Ge => ">=",
            Op::In => "in",
            Op::NotIn => "not in",
            Op::Like => "like",
            Op::NotLike => "not like",
            Op::IsEmpty => "is empty",
            Op::IsNotEmpty => "is not empty",
        })
    }
}

/// The right-hand side of a condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A double-quoted literal, unescaped.
    Str(String),
    /// A bare number, exactly as written.
    Num(String),
    /// The members of `in (…)` / `not in (…)`; quoted or bare numbers, unescaped.
    List(Vec<String>),
    /// `NAME(arg, …)`; arguments as written (numbers, symbols such as `DAYS`, or unescaped strings).
    Func { name: String, args: Vec<String> },
    /// `is empty` / `is not empty` take no value.
    None,
}

/// Why a query is not well-formed. Positions are character offsets into the query.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("unexpected character {ch:?} at {pos}")]
    UnexpectedChar { pos: usize, ch: char },
    #[error("unterminated string literal starting at {pos}")]
    UnterminatedString { pos: usize },
    #[error("raw control character {ch:?} inside a string literal at {pos}; use an escape")]
    RawControlInString { pos: usize, ch: char },
    #[error("expected {expected} at {pos}, found {found}")]
    Unexpected {
        pos: usize,
        expected: &'static str,
        found: String,
    },
    #[error("number out of range at {pos}")]
    NumberOutOfRange { pos: usize },
}

/// Parses a query string. Any deviation from the grammar is an error (kintone answers it with
/// 400 CB_VA01 "クエリ記法が間違っています。").
pub fn parse(q: &str) -> Result<Query, QueryError> {
    let tokens = lex(q)?;
    let end = q.chars().count();
    let mut p = Parser {
        tokens,
        index: 0,
        end,
    };
    p.query()
}

/// Escapes a value for use inside a double-quoted literal, the way a careful client should:
/// backslash first (otherwise the escapes added next would be doubled), then the quote, then
/// the three control characters kintone refuses raw.
pub fn escape_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            other => out.push(other),
        }
    }
    out
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    Comma,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Str(String),
    Num(String),
    Word(String),
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::LParen => f.write_str("'('"),
            Tok::RParen => f.write_str("')'"),
            Tok::Comma => f.write_str("','"),
            Tok::Eq => f.write_str("'='"),
            Tok::Ne => f.write_str("'!='"),
            Tok::Lt => f.write_str("'<'"),
            Tok::Gt => f.write_str("'>'"),
            Tok::Le => f.write_str("'<='"),
            Tok::Ge => f.write_str("'>='"),
            Tok::Str(s) => write!(f, "string {s:?}"),
            Tok::Num(n) => write!(f, "number {n}"),
            Tok::Word(w) => write!(f, "word {w:?}"),
        }
    }
}

/// Whitespace between tokens: kintone also accepts TAB, LF, CR and the ideographic space.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{3000}')
}

/// Characters of a field code (or keyword / function name). Field codes may hold Japanese
/// letters, digits and a few symbols; `$` covers `$id`, `.` covers related-record notation.
fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '$' | '.' | '・' | '＿' | '＄' | '￥')
}

fn lex(q: &str) -> Result<Vec<(Tok, usize)>, QueryError> {
    let chars: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if is_space(c) {
            i += 1;
            continue;
        }
        let tok = match c {
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            ',' => {
                i += 1;
                Tok::Comma
            }
            '=' => {
                i += 1;
                Tok::Eq
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                i += 2;
                Tok::Ne
            }
            '<' | '>' => {
                let with_eq = chars.get(i + 1) == Some(&'=');
                i += if with_eq { 2 } else { 1 };
                match (c, with_eq) {
                    ('<', false) => Tok::Lt,
                    ('<', true) => Tok::Le,
                    ('>', false) => Tok::Gt,
                    _ => Tok::Ge,
                }
            }
            '"' => {
                let (s, next) = lex_string(&chars, i)?;
                i = next;
                Tok::Str(s)
            }
            '-' | '0'..='9' if c != '-' || chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) => {
                let (n, next) = lex_number(&chars, i);
                i = next;
                Tok::Num(n)
            }
            c if is_ident_char(c) => {
                while i < chars.len() && is_ident_char(chars[i]) {
                    i += 1;
                }
                Tok::Word(chars[start..i].iter().collect())
            }
            // Single quotes, backticks and anything else are not part of the grammar.
            other => return Err(QueryError::UnexpectedChar { pos: i, ch: other }),
        };
        out.push((tok, start));
    }
    Ok(out)
}

/// `chars[start]` is the opening quote. Returns the unescaped text and the index after the
/// closing quote.
fn lex_string(chars: &[char], start: usize) -> Result<(String, usize), QueryError> {
    let mut s = String::new();
    let mut i = start + 1;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(QueryError::UnterminatedString { pos: start });
        };
        match c {
            '"' => return Ok((s, i + 1)),
            // Observed: a raw TAB/LF/CR inside a literal is a syntax error on real kintone.
            '\t' | '\n' | '\r' => return Err(QueryError::RawControlInString { pos: i, ch: c }),
            '\\' => {
                let Some(&e) = chars.get(i + 1) else {
                    return Err(QueryError::UnterminatedString { pos: start });
                };
                // `\t` and `\n` are observed; `\r` and unknown escapes (kept as the bare
                // character) are UNCONFIRMED on real kintone.
                s.push(match e {
                    't' => '\t',
                    'n' => '\n',
                    'r' => '\r',
                    other => other,
                });
                i += 2;
            }
            other => {
                s.push(other);
                i += 1;
            }
        }
    }
}

fn lex_number(chars: &[char], start: usize) -> (String, usize) {
    let mut i = start;
    if chars[i] == '-' {
        i += 1;
    }
    while i < chars.len() && chars[i].is_ascii_digit() {
        i += 1;
    }
    // A fraction only when a digit follows the dot, so `1.` leaves the dot to fail later.
    if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
        i += 1;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
    }
    (chars[start..i].iter().collect(), i)
}

struct Parser {
    tokens: Vec<(Tok, usize)>,
    index: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.index).map(|(t, _)| t)
    }

    fn pos(&self) -> usize {
        self.tokens.get(self.index).map_or(self.end, |(_, p)| *p)
    }

    fn error(&self, expected: &'static str) -> QueryError {
        QueryError::Unexpected {
            pos: self.pos(),
            expected,
            found: self
                .peek()
                .map_or_else(|| "end of query".to_owned(), ToString::to_string),
        }
    }

    /// Is the next token the keyword `kw` (case-insensitive)?
    fn at_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        let at = self.at_keyword(kw);
        if at {
            self.index += 1;
        }
        at
    }

    fn expect_keyword(&mut self, kw: &str, expected: &'static str) -> Result<(), QueryError> {
        if self.eat_keyword(kw) {
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    fn expect(&mut self, tok: &Tok, expected: &'static str) -> Result<(), QueryError> {
        if self.peek() == Some(tok) {
            self.index += 1;
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    fn at_option(&self) -> bool {
        self.at_keyword("order") || self.at_keyword("limit") || self.at_keyword("offset")
    }

    fn query(&mut self) -> Result<Query, QueryError> {
        let condition = if self.peek().is_none() || self.at_option() {
            None
        } else {
            Some(self.or_expr()?)
        };
        let mut order_by = Vec::new();
        if self.eat_keyword("order") {
            self.expect_keyword("by", "'by'")?;
            loop {
                let field = self.field()?;
                // Direction omitted: accepted by kintone; ascending here is UNCONFIRMED.
                let asc = if self.eat_keyword("desc") {
                    false
                } else {
                    self.eat_keyword("asc");
                    true
                };
                order_by.push((field, asc));
                if self.peek() == Some(&Tok::Comma) {
                    self.index += 1;
                } else {
                    break;
                }
            }
        }
        let limit = if self.eat_keyword("limit") {
            Some(self.unsigned()?)
        } else {
            None
        };
        let offset = if self.eat_keyword("offset") {
            Some(self.unsigned()?)
        } else {
            None
        };
        // Trailing garbage, and options out of order (`limit 1 order by x`), end up here.
        if self.peek().is_some() {
            return Err(self.error("end of query"));
        }
        Ok(Query {
            condition,
            order_by,
            limit,
            offset,
        })
    }

    fn unsigned(&mut self) -> Result<u64, QueryError> {
        let pos = self.pos();
        match self.peek() {
            Some(Tok::Num(n)) if n.bytes().all(|b| b.is_ascii_digit()) => {
                let n = n
                    .parse()
                    .map_err(|_| QueryError::NumberOutOfRange { pos })?;
                self.index += 1;
                Ok(n)
            }
            _ => Err(self.error("a non-negative integer")),
        }
    }

    fn field(&mut self) -> Result<String, QueryError> {
        match self.peek() {
            Some(Tok::Word(w)) => {
                let w = w.clone();
                self.index += 1;
                Ok(w)
            }
            _ => Err(self.error("a field code")),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.and_expr()?;
        while self.eat_keyword("or") {
            let right = self.and_expr()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.primary()?;
        while self.eat_keyword("and") {
            let right = self.primary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        if self.peek() == Some(&Tok::LParen) {
            self.index += 1;
            let inner = self.or_expr()?;
            self.expect(&Tok::RParen, "')'")?;
            return Ok(inner);
        }
        let field = self.field()?;
        let (op, value) = match self.peek().cloned() {
            Some(Tok::Eq) => (Op::Eq, self.advance_then_scalar()?),
            Some(Tok::Ne) => (Op::Ne, self.advance_then_scalar()?),
            Some(Tok::Lt) => (Op::Lt, self.advance_then_scalar()?),
            Some(Tok::Gt) => (Op::Gt, self.advance_then_scalar()?),
            Some(Tok::Le) => (Op::Le, self.advance_then_scalar()?),
            Some(Tok::Ge) => (Op::Ge, self.advance_then_scalar()?),
            _ if self.eat_keyword("in") => (Op::In, self.list()?),
            _ if self.eat_keyword("like") => (Op::Like, self.string()?),
            _ if self.eat_keyword("not") => {
                if self.eat_keyword("in") {
                    (Op::NotIn, self.list()?)
                } else if self.eat_keyword("like") {
                    (Op::NotLike, self.string()?)
                } else {
                    return Err(self.error("'in' or 'like'"));
                }
            }
            _ if self.eat_keyword("is") => {
                let op = if self.eat_keyword("not") {
                    Op::IsNotEmpty
                } else {
                    Op::IsEmpty
                };
                self.expect_keyword("empty", "'empty'")?;
                (op, Value::None)
            }
            _ => return Err(self.error("an operator")),
        };
        Ok(Expr::Cond { field, op, value })
    }

    fn advance_then_scalar(&mut self) -> Result<Value, QueryError> {
        self.index += 1;
        let value = match self.peek() {
            Some(Tok::Str(s)) => Value::Str(s.clone()),
            Some(Tok::Num(n)) => Value::Num(n.clone()),
            Some(Tok::Word(name))
                if self.tokens.get(self.index + 1).map(|(t, _)| t) == Some(&Tok::LParen) =>
            {
                let name = name.clone();
                self.index += 2;
                return self.function(name);
            }
            _ => return Err(self.error("a value")),
        };
        self.index += 1;
        Ok(value)
    }

    /// After `NAME(`.
    fn function(&mut self, name: String) -> Result<Value, QueryError> {
        let mut args = Vec::new();
        if self.peek() == Some(&Tok::RParen) {
            self.index += 1;
            return Ok(Value::Func { name, args });
        }
        loop {
            match self.peek() {
                Some(Tok::Num(a) | Tok::Word(a) | Tok::Str(a)) => args.push(a.clone()),
                _ => return Err(self.error("a function argument")),
            }
            self.index += 1;
            match self.peek() {
                Some(Tok::Comma) => self.index += 1,
                Some(Tok::RParen) => {
                    self.index += 1;
                    return Ok(Value::Func { name, args });
                }
                _ => return Err(self.error("',' or ')'")),
            }
        }
    }

    fn string(&mut self) -> Result<Value, QueryError> {
        match self.peek() {
            Some(Tok::Str(s)) => {
                let s = s.clone();
                self.index += 1;
                Ok(Value::Str(s))
            }
            _ => Err(self.error("a string literal")),
        }
    }

    fn list(&mut self) -> Result<Value, QueryError> {
        self.expect(&Tok::LParen, "'('")?;
        let mut items = Vec::new();
        loop {
            match self.peek() {
                Some(Tok::Str(s) | Tok::Num(s)) => items.push(s.clone()),
                // `LOGINUSER()` inside a list is valid kintone but not emulated (no users).
                _ => return Err(self.error("a string or number")),
            }
            self.index += 1;
            match self.peek() {
                Some(Tok::Comma) => self.index += 1,
                Some(Tok::RParen) => {
                    self.index += 1;
                    return Ok(Value::List(items));
                }
                _ => return Err(self.error("',' or ')'")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cond(q: &str) -> (String, Op, Value) {
        match parse(q)
            .expect("parses")
            .condition
            .expect("has a condition")
        {
            Expr::Cond { field, op, value } => (field, op, value),
            other => panic!("not a single condition: {other:?}"),
        }
    }

    fn str_value(q: &str) -> String {
        match cond(q).2 {
            Value::Str(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    #[test]
    fn escapes_decode() {
        assert_eq!(str_value(r#"f = "a\"b""#), "a\"b");
        assert_eq!(str_value(r#"f = "a\\b""#), "a\\b");
        assert_eq!(str_value(r#"f = "a\tb\nc\rd""#), "a\tb\nc\rd");
        // An unknown escape keeps the character.
        assert_eq!(str_value(r#"f = "\q\'""#), "q'");
        // A trailing escaped backslash does not swallow the closing quote.
        assert_eq!(str_value(r#"f = "x\\""#), "x\\");
    }

    #[test]
    fn raw_control_characters_in_literal_are_errors() {
        for raw in ["\t", "\n", "\r"] {
            let q = format!("f = \"a{raw}b\"");
            assert!(
                matches!(parse(&q), Err(QueryError::RawControlInString { .. })),
                "{q:?}"
            );
        }
    }

    #[test]
    fn single_quotes_and_backticks_are_syntax_errors() {
        assert!(parse("f = 'x'").is_err());
        assert!(parse("`f` = \"x\"").is_err());
    }

    #[test]
    fn malformed_queries_are_rejected() {
        for q in [
            "f = \"x",
            "f = \"x\\",
            "f =",
            "f \"x\"",
            "f = \"x\" and",
            "(f = \"x\"",
            "f = \"x\")",
            "f = \"x\" g = \"y\"",
            "f = \"x\" garbage",
            "f in ()",
            "f in (\"a\",)",
            "f in \"a\"",
            "f like 5",
            "f not = \"x\"",
            "f is \"x\"",
            "f = bare",
            "order f",
            "limit -1",
            "limit 1.5",
            "limit",
            "offset x",
            "f == \"x\"",
            "f ! \"x\"",
            "f = \"x\" or or g = \"y\"",
        ] {
            assert!(parse(q).is_err(), "{q:?} should be rejected");
        }
    }

    #[test]
    fn options_must_be_in_order() {
        assert!(parse("order by a desc limit 10 offset 5").is_ok());
        assert!(parse("limit 10 order by a").is_err());
        assert!(parse("offset 5 limit 10").is_err());
        assert!(parse("offset 5 order by a").is_err());
        assert!(parse("limit 1 limit 2").is_err());
    }

    #[test]
    fn options_only_and_empty_queries_are_valid() {
        let q = parse("limit 500 offset 0").expect("valid");
        assert_eq!(q.condition, None);
        assert_eq!((q.limit, q.offset), (Some(500), Some(0)));
        let q = parse("").expect("valid");
        assert_eq!(q, parse("  \u{3000} ").expect("valid"));
        assert_eq!(q.condition, None);
    }

    #[test]
    fn order_by_items() {
        let q = parse("x = 1 order by a asc, b DESC, c limit 2").expect("valid");
        assert_eq!(
            q.order_by,
            vec![
                ("a".to_owned(), true),
                ("b".to_owned(), false),
                ("c".to_owned(), true)
            ]
        );
        assert_eq!(q.limit, Some(2));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let q = parse(r#"a = "1" or b = "2" and c = "3""#).expect("valid");
        let Some(Expr::Or(left, right)) = q.condition else {
            panic!("top must be or");
        };
        assert!(matches!(*left, Expr::Cond { ref field, .. } if field == "a"));
        assert!(matches!(*right, Expr::And(..)));

        let q = parse(r#"(a = "1" or b = "2") and c = "3""#).expect("valid");
        let c = q.condition.expect("condition");
        let parts = c.conditions();
        assert_eq!(parts.len(), 2);
        assert!(matches!(parts[0], Expr::Or(..)));
    }

    #[test]
    fn conditions_flattens_and_chains() {
        let q = parse(r#"a = "1" and (b = "2" and c > 3) and d in ("x")"#).expect("valid");
        let c = q.condition.expect("condition");
        let fields: Vec<&str> = c
            .conditions()
            .into_iter()
            .map(|e| match e {
                Expr::Cond { field, .. } => field.as_str(),
                _ => panic!("unexpected {e:?}"),
            })
            .collect();
        assert_eq!(fields, ["a", "b", "c", "d"]);
    }

    #[test]
    fn keywords_are_case_insensitive() {
        let q = parse(
            r#"a NOT IN ("1") AND b Like "x" Or c IS NOT EMPTY ORDER BY a Asc LIMIT 1 OFFSET 2"#,
        )
        .expect("valid");
        assert_eq!(q.order_by, vec![("a".to_owned(), true)]);
        assert_eq!((q.limit, q.offset), (Some(1), Some(2)));
    }

    #[test]
    fn whitespace_variants_between_tokens() {
        let (f, op, v) = cond("担当ID\u{3000}=\t\"P-001\"\r\n");
        assert_eq!(f, "担当ID");
        assert_eq!(op, Op::Eq);
        assert_eq!(v, Value::Str("P-001".to_owned()));
        // No whitespace at all is fine too.
        assert_eq!(cond("a=\"1\"").0, "a");
    }

    #[test]
    fn operators_and_values() {
        assert_eq!(cond("$id > 10").1, Op::Gt);
        assert_eq!(cond("n <= -1.5").2, Value::Num("-1.5".to_owned()));
        assert_eq!(cond("n != \"2\"").1, Op::Ne);
        assert_eq!(
            cond(r#"c in ("a", "b\"", 3)"#).2,
            Value::List(vec!["a".into(), "b\"".into(), "3".into()])
        );
        assert_eq!(cond(r#"c not like "x""#).1, Op::NotLike);
        assert_eq!(cond("m is empty"), ("m".into(), Op::IsEmpty, Value::None));
        assert_eq!(
            cond("d >= TODAY()").2,
            Value::Func {
                name: "TODAY".into(),
                args: vec![]
            }
        );
        assert_eq!(
            cond("d < FROM_TODAY(-3, DAYS)").2,
            Value::Func {
                name: "FROM_TODAY".into(),
                args: vec!["-3".into(), "DAYS".into()]
            }
        );
    }

    #[test]
    fn injection_attempts_stay_inside_the_literal() {
        let evil = r#"x" or $id > "0"#;
        let q = format!("f = \"{}\"", escape_literal(evil));
        assert_eq!(str_value(&q), evil);
        let evil = "x\\";
        let q = format!("f = \"{}\" and g = \"y\"", escape_literal(evil));
        let parsed = parse(&q).expect("valid");
        assert_eq!(parsed.condition.expect("c").conditions().len(), 2);
    }

    proptest! {
        #[test]
        fn escaped_literal_round_trips(s in any::<String>()) {
            let q = format!("f = \"{}\"", escape_literal(&s));
            let parsed = parse(&q).expect("escaped literal must parse");
            prop_assert!(parsed.order_by.is_empty());
            prop_assert_eq!(parsed.limit, None);
            prop_assert_eq!(parsed.offset, None);
            let condition = parsed.condition.expect("one condition");
            let conds = condition.conditions();
            prop_assert_eq!(conds.len(), 1);
            prop_assert_eq!(
                conds[0],
                &Expr::Cond { field: "f".into(), op: Op::Eq, value: Value::Str(s) }
            );
        }

        #[test]
        fn parser_never_panics(s in any::<String>()) {
            let _ = parse(&s);
        }
    }
}
