//! The applicant's language, from `Accept-Language`: Japanese unless English is preferred.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    /// Picks the highest-weighted of `ja` / `en`; anything else (or nothing) means Japanese.
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

    /// Chooses between the two texts of a message.
    pub fn pick<'a>(self, ja: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Lang;

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
}
