//! The tests' own configuration (tests/fixtures), for the unit tests of this crate.

use crate::config::Config;

pub const SEMINAR: &str = include_str!("../../tests/fixtures/seminar.toml");
pub const DEALS: &str = include_str!("../../tests/fixtures/deals.toml");

/// The seminar form and the deals lookup, with placeholder secret names.
pub fn config() -> Config {
    let text =
        format!("[kintone]\nbase_url = \"https://example.cybozu.com\"\n\n{SEMINAR}\n{DEALS}")
            .replace("{secret:add}", "test/seminar-add")
            .replace("{secret:view}", "test/deals-view");
    Config::parse(&text, "tests/fixtures").unwrap_or_else(|err| panic!("{err}"))
}
