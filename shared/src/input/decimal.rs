//! Decimal numbers compared exactly, as kintone's NUMBER fields hold them: no binary floating
//! point, so `9007199254740993` is not `9007199254740992` and `10.0000000000000001` is more
//! than `10`.

use std::cmp::Ordering;
use std::fmt;

/// The most digits on either side of the point; kintone's NUMBER fields hold far fewer.
const MAX_DIGITS: usize = 30;

/// A plain decimal (`-12.50`): an optional sign, digits, an optional fraction. No exponent, no
/// separators. Kept normalised (no leading or trailing zeros, no negative zero), so equal
/// numbers are equal values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    whole: String,
    fraction: String,
}

impl Decimal {
    pub fn parse(text: &str) -> Option<Self> {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (whole, fraction) = match unsigned.split_once('.') {
            Some((whole, fraction)) if !fraction.is_empty() => (whole, fraction),
            Some(_) => return None,
            None => (unsigned, ""),
        };
        let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !digits(whole)
            || !digits(fraction)
            || whole.len() > MAX_DIGITS
            || fraction.len() > MAX_DIGITS
        {
            return None;
        }
        let whole = whole.trim_start_matches('0');
        let fraction = fraction.trim_end_matches('0');
        let zero = whole.is_empty() && fraction.is_empty();
        Some(Decimal {
            negative: negative && !zero,
            whole: whole.to_owned(),
            fraction: fraction.to_owned(),
        })
    }

    /// The decimal a finite `f64` from relay.toml stands for: its shortest round-trip text, so
    /// `0.1` means 0.1.
    pub fn from_f64(value: f64) -> Option<Self> {
        if !value.is_finite() {
            return None;
        }
        Self::parse(&value.to_string())
    }

    fn magnitude_cmp(&self, other: &Self) -> Ordering {
        self.whole
            .len()
            .cmp(&other.whole.len())
            .then_with(|| self.whole.cmp(&other.whole))
            .then_with(|| self.fraction.cmp(&other.fraction))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.magnitude_cmp(other),
            (true, true) => other.magnitude_cmp(self),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        f.write_str(if self.whole.is_empty() {
            "0"
        } else {
            &self.whole
        })?;
        if !self.fraction.is_empty() {
            write!(f, ".{}", self.fraction)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Decimal;

    fn d(text: &str) -> Decimal {
        Decimal::parse(text).unwrap()
    }

    #[test]
    fn compares_exactly() {
        assert_ne!(d("9007199254740993"), d("9007199254740992"));
        assert!(d("10.0000000000000001") > d("10"));
        assert_eq!(d("010.50"), d("10.5"));
        assert_eq!(d("-0"), d("0.000"));
        assert!(d("-2") < d("-1.5"));
        assert!(d("-0.1") < d("0"));
        assert!(d("100") > d("99.999"));
        assert_eq!(Decimal::from_f64(0.1), Some(d("0.1")));
        assert_eq!(Decimal::from_f64(10.0), Some(d("10")));
        assert_eq!(Decimal::from_f64(f64::INFINITY), None);
        assert_eq!(d("-12.50").to_string(), "-12.5");
        assert_eq!(d("0.5").to_string(), "0.5");
    }

    #[test]
    fn refuses_what_is_not_a_plain_decimal() {
        for text in [
            "",
            "-",
            "1.",
            ".5",
            "1e3",
            "1,000",
            "0x10",
            " 1",
            "１",
            &"9".repeat(31),
        ] {
            assert!(Decimal::parse(text).is_none(), "{text:?}");
        }
    }
}
