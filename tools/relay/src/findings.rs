//! What `relay check` found, and how it is told: one line per finding for people, one JSON
//! document for CI, and the exit status both share.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Submissions or lookups would fail or lose data: fix before deploying.
    Error,
    /// Works, but probably not as meant.
    Warning,
}

/// The form or lookup a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "lowercase")]
pub enum Subject {
    Form(String),
    Lookup(String),
}

impl Subject {
    /// `forms.<name>` or `lookups.<name>`, the section in relay.toml.
    pub fn section(&self) -> String {
        match self {
            Subject::Form(name) => format!("forms.{name}"),
            Subject::Lookup(name) => format!("lookups.{name}"),
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Form(name) => write!(f, "form {name}"),
            Subject::Lookup(name) => write!(f, "lookup {name}"),
        }
    }
}

/// One mismatch between relay.toml and the kintone app it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub subject: Subject,
    /// The relay.toml key to change, such as `forms.seminar.fields.email.max_length`.
    pub key: String,
    /// The form or lookup input concerned, if the finding is about one.
    pub input: Option<String>,
    /// The kintone field code concerned, if any.
    pub field_code: Option<String>,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity:<8}{}", self.subject)?;
        if let Some(input) = &self.input {
            write!(f, ", input {input}")?;
        }
        if let Some(code) = &self.field_code {
            write!(f, ", kintone field {code}")?;
        }
        write!(f, ": {}\n        at {}", self.message, self.key)
    }
}

/// An app `relay check` could not read, so what uses it was not compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unchecked {
    pub app: u64,
    pub subjects: Vec<Subject>,
    pub reason: String,
}

impl fmt::Display for Unchecked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let subjects: Vec<String> = self.subjects.iter().map(ToString::to_string).collect();
        write!(
            f,
            "not checked: app {} ({}): {}",
            self.app,
            subjects.join(", "),
            self.reason
        )
    }
}

/// The process exit status: 0 nothing wrong, 1 errors, 2 could not check (or bad usage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    Clean = 0,
    Errors = 1,
    Incomplete = 2,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Every finding of one run and what could not be checked.
#[derive(Debug, Default)]
pub struct Findings {
    pub findings: Vec<Finding>,
    pub unchecked: Vec<Unchecked>,
}

impl Findings {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|finding| finding.severity == severity)
            .count()
    }

    /// A check that could not read an app is incomplete whatever it found elsewhere, so CI
    /// cannot mistake it for a pass.
    pub fn exit_status(&self) -> ExitStatus {
        if !self.unchecked.is_empty() {
            ExitStatus::Incomplete
        } else if self.count(Severity::Error) > 0 {
            ExitStatus::Errors
        } else {
            ExitStatus::Clean
        }
    }

    /// Errors first, then by form or lookup and key, so a run reads the same every time.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (a.severity, &a.subject, &a.key).cmp(&(b.severity, &b.subject, &b.key))
        });
    }
}

/// `1 error`, `2 warnings`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Builds the findings of one form or lookup, each with its key, input and field.
pub struct Recorder {
    subject: Subject,
    pub findings: Vec<Finding>,
}

impl Recorder {
    pub fn new(subject: Subject) -> Self {
        Recorder {
            subject,
            findings: Vec::new(),
        }
    }

    /// `key` is relative to the form's or lookup's section (`fields.email.max_length`).
    pub fn add(
        &mut self,
        severity: Severity,
        key: &str,
        input: Option<&str>,
        field_code: Option<&str>,
        message: impl Into<String>,
    ) {
        self.findings.push(Finding {
            severity,
            key: format!("{}.{key}", self.subject.section()),
            subject: self.subject.clone(),
            input: input.map(str::to_owned),
            field_code: field_code.map(str::to_owned),
            message: message.into(),
        });
    }

    pub fn error(
        &mut self,
        key: &str,
        input: Option<&str>,
        field_code: Option<&str>,
        message: impl Into<String>,
    ) {
        self.add(Severity::Error, key, input, field_code, message);
    }

    pub fn warning(
        &mut self,
        key: &str,
        input: Option<&str>,
        field_code: Option<&str>,
        message: impl Into<String>,
    ) {
        self.add(Severity::Warning, key, input, field_code, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_names_everything_needed_to_fix_it() {
        let mut recorder = Recorder::new(Subject::Form("seminar".into()));
        recorder.error(
            "fields.name.kintone",
            Some("name"),
            Some("氏名x"),
            "no such field",
        );
        let finding = &recorder.findings[0];
        assert_eq!(finding.key, "forms.seminar.fields.name.kintone");
        assert_eq!(
            finding.to_string(),
            "error   form seminar, input name, kintone field 氏名x: no such field\n        at forms.seminar.fields.name.kintone"
        );
        assert_eq!(
            serde_json::to_value(finding).unwrap()["subject"],
            serde_json::json!({"kind": "form", "name": "seminar"})
        );
    }

    #[test]
    fn exit_status_says_errors_or_incomplete() {
        let mut findings = Findings::default();
        assert_eq!(findings.exit_status(), ExitStatus::Clean);
        let mut recorder = Recorder::new(Subject::Lookup("deals".into()));
        recorder.warning("outputs.a.shape", None, Some("a"), "w");
        findings.findings.extend(recorder.findings.clone());
        assert_eq!(findings.exit_status(), ExitStatus::Clean);
        recorder.error("outputs.a", None, Some("a"), "e");
        findings.findings = recorder.findings;
        assert_eq!(findings.exit_status(), ExitStatus::Errors);
        findings.unchecked.push(Unchecked {
            app: 3,
            subjects: vec![Subject::Lookup("deals".into())],
            reason: "unreachable".into(),
        });
        assert_eq!(findings.exit_status(), ExitStatus::Incomplete);
        assert_eq!(ExitStatus::Incomplete.code(), 2);
    }
}
