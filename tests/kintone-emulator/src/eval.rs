//! Evaluating a parsed query against an app's records (fact sheet §4.2, §4.4).
//!
//! The query is first checked against the field definitions (unknown field, operator not
//! allowed, option not defined, bad function), so errors surface even when no record exists.

use std::cmp::Ordering;

use serde_json::Value as Json;
use time::{Date, OffsetDateTime};

use crate::dates;
use crate::error::{ApiError, Lang};
use crate::query::{Expr, Op, Query, Value};
use crate::record::parse_number;
use crate::{App, FieldType, Stored};

/// The maximum `limit` and `offset` of Get Records.
const MAX_LIMIT: u64 = 500;
const MAX_OFFSET: u64 = 10_000;
const DEFAULT_LIMIT: u64 = 100;

/// Operator families, from the table in §4.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `$id`, `$revision`, NUMBER.
    Number,
    /// SINGLE_LINE_TEXT, LINK.
    Text,
    MultiText,
    RichText,
    Choice,
    Date,
    Datetime,
    Time,
    User,
    File,
}

impl Kind {
    fn of(t: FieldType) -> Self {
        match t {
            FieldType::SingleLineText | FieldType::Link => Kind::Text,
            FieldType::MultiLineText => Kind::MultiText,
            FieldType::RichText => Kind::RichText,
            FieldType::Number => Kind::Number,
            FieldType::Date => Kind::Date,
            FieldType::Datetime => Kind::Datetime,
            FieldType::Time => Kind::Time,
            FieldType::RadioButton
            | FieldType::DropDown
            | FieldType::CheckBox
            | FieldType::MultiSelect => Kind::Choice,
            FieldType::File => Kind::File,
            FieldType::UserSelect => Kind::User,
        }
    }

    fn allows(self, op: Op) -> bool {
        use Op::*;
        match self {
            Kind::Number => matches!(op, Eq | Ne | Lt | Gt | Le | Ge | In | NotIn),
            Kind::Text => matches!(op, Eq | Ne | In | NotIn | Like | NotLike),
            Kind::MultiText | Kind::File => matches!(op, Like | NotLike | IsEmpty | IsNotEmpty),
            Kind::RichText => matches!(op, Like | NotLike),
            Kind::Choice | Kind::User => matches!(op, In | NotIn),
            Kind::Date | Kind::Datetime | Kind::Time => matches!(op, Eq | Ne | Lt | Gt | Le | Ge),
        }
    }
}

/// The right-hand side after checking.
#[derive(Debug)]
enum Operand {
    Scalar(String),
    List(Vec<String>),
    /// An inclusive range of days (a date literal, or TODAY(), THIS_MONTH()…).
    Days(Date, Date),
    /// A DATETIME instant in stored form (`…T…:00Z`).
    Instant(String),
    None,
}

#[derive(Debug)]
struct Cond {
    field: String,
    kind: Kind,
    op: Op,
    operand: Operand,
}

#[derive(Debug)]
enum Checked {
    And(Box<Checked>, Box<Checked>),
    Or(Box<Checked>, Box<Checked>),
    Cond(Cond),
}

/// Runs Get Records: returns the page of matching records and the total number of matches.
pub(crate) fn run<'a>(
    app: &App,
    records: &'a [Stored],
    query: &Query,
    lang: Lang,
    now: OffsetDateTime,
) -> Result<(Vec<&'a Stored>, usize), ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit > MAX_LIMIT {
        return Err(ApiError::limit_too_large(lang));
    }
    let offset = query.offset.unwrap_or(0);
    if offset > MAX_OFFSET {
        return Err(ApiError::offset_too_large(lang));
    }
    let checker = Checker { app, lang, now };
    let condition = query
        .condition
        .as_ref()
        .map(|c| checker.check(c))
        .transpose()?;
    let mut order = Vec::new();
    for (field, asc) in &query.order_by {
        order.push((checker.kind(field)?, field.as_str(), *asc));
    }
    let mut matched: Vec<&Stored> = records
        .iter()
        .filter(|r| condition.as_ref().is_none_or(|c| matches(c, r)))
        .collect();
    matched.sort_by(|a, b| {
        order
            .iter()
            .map(|(kind, field, asc)| {
                let o = compare(*kind, field, a, b);
                if *asc { o } else { o.reverse() }
            })
            .find(|o| o.is_ne())
            // Default order, and the tie-break after an explicit one: `$id desc`. The
            // tie-break is UNCONFIRMED.
            .unwrap_or_else(|| b.id.cmp(&a.id))
    });
    let total = matched.len();
    let page = matched
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect();
    Ok((page, total))
}

struct Checker<'a> {
    app: &'a App,
    lang: Lang,
    now: OffsetDateTime,
}

impl Checker<'_> {
    fn kind(&self, field: &str) -> Result<Kind, ApiError> {
        match field {
            "$id" | "$revision" => Ok(Kind::Number),
            code => self
                .app
                .field(code)
                .map(|f| Kind::of(f.field_type))
                .ok_or_else(|| ApiError::query_unknown_field(self.lang, code)),
        }
    }

    fn check(&self, expr: &Expr) -> Result<Checked, ApiError> {
        Ok(match expr {
            Expr::And(a, b) => Checked::And(Box::new(self.check(a)?), Box::new(self.check(b)?)),
            Expr::Or(a, b) => Checked::Or(Box::new(self.check(a)?), Box::new(self.check(b)?)),
            Expr::Cond { field, op, value } => Checked::Cond(self.cond(field, *op, value)?),
        })
    }

    fn cond(&self, field: &str, op: Op, value: &Value) -> Result<Cond, ApiError> {
        let kind = self.kind(field)?;
        if !kind.allows(op) {
            return Err(ApiError::query_bad_operator(
                self.lang,
                field,
                &op.to_string(),
            ));
        }
        let operand = match value {
            Value::None => Operand::None,
            Value::Str(s) | Value::Num(s) => self.scalar(kind, s)?,
            Value::List(items) => {
                if kind == Kind::Choice {
                    let options = self.app.field(field).map_or(&[][..], |f| &f.options[..]);
                    // `in ("")` means "nothing selected" and is always allowed.
                    if let Some(bad) = items.iter().find(|v| !v.is_empty() && !options.contains(v))
                    {
                        return Err(ApiError::query_bad_option(self.lang, field, bad));
                    }
                }
                Operand::List(items.clone())
            }
            Value::Func { name, args } => self.function(kind, name, args)?,
        };
        Ok(Cond {
            field: field.to_owned(),
            kind,
            op,
            operand,
        })
    }

    fn scalar(&self, kind: Kind, s: &str) -> Result<Operand, ApiError> {
        if s.is_empty() {
            return Ok(Operand::Scalar(String::new()));
        }
        Ok(match kind {
            Kind::Date => match dates::parse_date(s) {
                Some(d) => Operand::Days(d, d),
                None => return Err(ApiError::query_invalid(self.lang)),
            },
            // A date-only literal on a DATETIME means that whole (UTC) day.
            Kind::Datetime if !s.contains('T') => match dates::parse_date(s) {
                Some(d) => Operand::Days(d, d),
                None => return Err(ApiError::query_invalid(self.lang)),
            },
            Kind::Datetime => match dates::parse_datetime(s) {
                Some(dt) => Operand::Instant(dt),
                None => return Err(ApiError::query_invalid(self.lang)),
            },
            Kind::Time => match dates::parse_time(s) {
                Some(t) => Operand::Scalar(t),
                None => return Err(ApiError::query_invalid(self.lang)),
            },
            _ => Operand::Scalar(s.to_owned()),
        })
    }

    /// Date functions. TODAY() is the UTC date: the emulator has no user time zone.
    fn function(&self, kind: Kind, name: &str, args: &[String]) -> Result<Operand, ApiError> {
        let lang = self.lang;
        if !matches!(kind, Kind::Date | Kind::Datetime) {
            return Err(ApiError::query_invalid(lang));
        }
        let today = self.now.date();
        let invalid = || ApiError::query_invalid(lang);
        let no_args = || {
            if args.is_empty() {
                Ok(())
            } else {
                Err(ApiError::query_invalid(lang))
            }
        };
        let day = |d: Option<Date>| d.map(|d| Operand::Days(d, d)).ok_or_else(invalid);
        let name = name.to_ascii_uppercase();
        match name.as_str() {
            "NOW" => {
                no_args()?;
                Ok(match kind {
                    Kind::Datetime => Operand::Instant(dates::format_datetime(self.now)),
                    _ => Operand::Days(today, today),
                })
            }
            "TODAY" => {
                no_args()?;
                day(Some(today))
            }
            "YESTERDAY" => {
                no_args()?;
                day(dates::add_days(today, -1))
            }
            "TOMORROW" => {
                no_args()?;
                day(dates::add_days(today, 1))
            }
            "FROM_TODAY" => {
                let [n, unit] = args else {
                    return Err(invalid());
                };
                let n: i64 = n.parse().map_err(|_| invalid())?;
                let d = match unit.to_ascii_uppercase().as_str() {
                    "DAYS" => dates::add_days(today, n),
                    "WEEKS" => n.checked_mul(7).and_then(|d| dates::add_days(today, d)),
                    "MONTHS" => dates::add_months(today, n),
                    "YEARS" => n.checked_mul(12).and_then(|m| dates::add_months(today, m)),
                    _ => return Err(ApiError::query_bad_unit(lang)),
                };
                day(d)
            }
            "THIS_WEEK" | "LAST_WEEK" | "NEXT_WEEK" => {
                let shift = match name.as_str() {
                    "LAST_WEEK" => -7,
                    "NEXT_WEEK" => 7,
                    _ => 0,
                };
                let start = dates::week_start(today)
                    .and_then(|s| dates::add_days(s, shift))
                    .ok_or_else(invalid)?;
                match args {
                    [] => {
                        let end = dates::add_days(start, 6).ok_or_else(invalid)?;
                        Ok(Operand::Days(start, end))
                    }
                    [weekday] => {
                        const DAYS: [&str; 7] = [
                            "SUNDAY",
                            "MONDAY",
                            "TUESDAY",
                            "WEDNESDAY",
                            "THURSDAY",
                            "FRIDAY",
                            "SATURDAY",
                        ];
                        let upper = weekday.to_ascii_uppercase();
                        let i = DAYS.iter().position(|d| *d == upper).ok_or_else(invalid)?;
                        day(dates::add_days(start, i as i64))
                    }
                    _ => Err(invalid()),
                }
            }
            "THIS_MONTH" | "LAST_MONTH" | "NEXT_MONTH" => {
                let shift = match name.as_str() {
                    "LAST_MONTH" => -1,
                    "NEXT_MONTH" => 1,
                    _ => 0,
                };
                let first = dates::first_of_month(today)
                    .and_then(|f| dates::add_months(f, shift))
                    .ok_or_else(invalid)?;
                match args {
                    [] => {
                        let last = dates::last_of_month(first).ok_or_else(invalid)?;
                        Ok(Operand::Days(first, last))
                    }
                    [arg] if arg.eq_ignore_ascii_case("LAST") => day(dates::last_of_month(first)),
                    [arg] => match arg.parse::<i64>() {
                        // A day past the month's end rolls into the next month (observed
                        // note, itself marked as needing verification).
                        Ok(n @ 1..=31) => day(dates::add_days(first, n - 1)),
                        _ => Err(ApiError::query_bad_day(lang, arg)),
                    },
                    _ => Err(invalid()),
                }
            }
            "THIS_YEAR" | "LAST_YEAR" | "NEXT_YEAR" => {
                no_args()?;
                let shift = match name.as_str() {
                    "LAST_YEAR" => -12,
                    "NEXT_YEAR" => 12,
                    _ => 0,
                };
                let first = today
                    .replace_month(time::Month::January)
                    .ok()
                    .and_then(dates::first_of_month)
                    .and_then(|f| dates::add_months(f, shift))
                    .ok_or_else(invalid)?;
                let last = dates::add_months(first, 11)
                    .and_then(dates::last_of_month)
                    .ok_or_else(invalid)?;
                Ok(Operand::Days(first, last))
            }
            // LOGINUSER(), PRIMARY_ORGANIZATION() need users; any other name is not a function.
            _ => Err(ApiError::query_syntax(lang)),
        }
    }
}

fn matches(c: &Checked, rec: &Stored) -> bool {
    match c {
        Checked::And(a, b) => matches(a, rec) && matches(b, rec),
        Checked::Or(a, b) => matches(a, rec) || matches(b, rec),
        Checked::Cond(c) => cond_matches(c, rec),
    }
}

/// A record's value for a field (or `$id`/`$revision`), in read shape.
fn value_of(rec: &Stored, field: &str) -> Json {
    match field {
        "$id" => Json::String(rec.id.to_string()),
        "$revision" => Json::String(rec.revision.to_string()),
        code => rec.values.get(code).cloned().unwrap_or(Json::Null),
    }
}

fn text_of(v: &Json) -> &str {
    v.as_str().unwrap_or("")
}

/// The selected options / user codes / file names of an array-valued (or single choice) field.
fn selection(v: &Json) -> Vec<String> {
    match v {
        Json::String(s) if !s.is_empty() => vec![s.clone()],
        Json::Array(items) => items
            .iter()
            .filter_map(|i| match i {
                Json::String(s) => Some(s.clone()),
                Json::Object(o) => o
                    .get("code")
                    .or_else(|| o.get("name"))
                    .and_then(Json::as_str)
                    .map(str::to_owned),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Real `like` is a word search on an asynchronous full-text index; this is a plain
/// case-insensitive substring match.
fn like(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

fn cond_matches(c: &Cond, rec: &Stored) -> bool {
    let v = value_of(rec, &c.field);
    let positive = match c.op {
        Op::Ne => Op::Eq,
        Op::NotIn => Op::In,
        Op::NotLike => Op::Like,
        Op::IsNotEmpty => Op::IsEmpty,
        other => other,
    };
    let result = match (c.kind, &c.operand) {
        (Kind::Number, Operand::Scalar(s)) => number_cmp(text_of(&v), s, positive),
        (Kind::Number, Operand::List(items)) => {
            items.iter().any(|s| number_cmp(text_of(&v), s, Op::Eq))
        }
        // Exact comparison: case- and width-sensitive. Whether real kintone folds ASCII case
        // for `=` is UNCONFIRMED.
        (Kind::Text, Operand::Scalar(s)) => match positive {
            Op::Eq => text_of(&v) == s,
            _ => like(text_of(&v), s),
        },
        (Kind::Text, Operand::List(items)) => items.iter().any(|s| s == text_of(&v)),
        (Kind::MultiText | Kind::RichText, Operand::Scalar(s)) => like(text_of(&v), s),
        (Kind::MultiText, Operand::None) => text_of(&v).trim().is_empty(),
        (Kind::Choice | Kind::User, Operand::List(items)) => {
            let selected = selection(&v);
            if selected.is_empty() {
                items.iter().any(String::is_empty)
            } else {
                selected.iter().any(|s| items.contains(s))
            }
        }
        (Kind::File, Operand::Scalar(s)) => file_names(&v).iter().any(|n| like(n, s)),
        (Kind::File, Operand::None) => file_names(&v).is_empty(),
        (Kind::Date | Kind::Datetime | Kind::Time, Operand::Scalar(s)) if s.is_empty() => {
            // `= ""` finds empty values; ordering against "" matches nothing.
            match positive {
                Op::Eq => text_of(&v).is_empty(),
                _ => return false,
            }
        }
        (Kind::Time, Operand::Scalar(s)) => {
            let t = text_of(&v);
            if t.is_empty() {
                false
            } else {
                ordering_holds(t.cmp(s.as_str()), positive)
            }
        }
        (Kind::Date | Kind::Datetime, Operand::Days(start, end)) => {
            let day = match c.kind {
                Kind::Date => dates::parse_date(text_of(&v)),
                _ => dates::datetime_date(text_of(&v)),
            };
            match day {
                None => false,
                Some(d) => match positive {
                    Op::Eq => (*start..=*end).contains(&d),
                    Op::Lt => d < *start,
                    Op::Le => d <= *end,
                    Op::Gt => d > *end,
                    Op::Ge => d >= *start,
                    _ => false,
                },
            }
        }
        (Kind::Datetime, Operand::Instant(t)) => {
            let stored = text_of(&v);
            match dates::parse_datetime(stored) {
                None => false,
                Some(s) => ordering_holds(s.cmp(t), positive),
            }
        }
        // The checker never builds other combinations.
        _ => false,
    };
    // `result` answers the positive operator; an empty value therefore fails `=` and
    // ordering comparisons but passes `!=`.
    if positive != c.op { !result } else { result }
}

fn ordering_holds(o: Ordering, op: Op) -> bool {
    match op {
        Op::Eq => o.is_eq(),
        Op::Lt => o.is_lt(),
        Op::Le => o.is_le(),
        Op::Gt => o.is_gt(),
        Op::Ge => o.is_ge(),
        _ => false,
    }
}

fn number_cmp(stored: &str, literal: &str, op: Op) -> bool {
    if literal.is_empty() {
        return op == Op::Eq && stored.is_empty();
    }
    match (parse_number(stored), parse_number(literal)) {
        (Some(a), Some(b)) => a.partial_cmp(&b).is_some_and(|o| ordering_holds(o, op)),
        // An empty value, or a literal that is not a number, matches no comparison.
        _ => false,
    }
}

fn file_names(v: &Json) -> Vec<String> {
    v.as_array()
        .map(|files| {
            files
                .iter()
                .filter_map(|f| f.get("name").and_then(Json::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Sort order for `order by`; empty values sort first.
fn compare(kind: Kind, field: &str, a: &Stored, b: &Stored) -> Ordering {
    let (va, vb) = (value_of(a, field), value_of(b, field));
    if kind == Kind::Number {
        let na = parse_number(text_of(&va));
        let nb = parse_number(text_of(&vb));
        return match (na, nb) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
    }
    let key = |v: &Json| match v {
        Json::Array(_) => selection(v).join(","),
        other => text_of(other).to_owned(),
    };
    key(&va).cmp(&key(&vb))
}
