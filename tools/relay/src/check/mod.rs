//! `relay check`: relay.toml offline (the functions' own parser), then, unless `--offline`,
//! every form and lookup against the field settings of its kintone app.

pub mod offline;
pub mod online;

use std::collections::BTreeMap;

use relay_shared::config::Config;
use serde_json::json;

use crate::cli::{CheckArgs, Format};
use crate::findings::{ExitStatus, Finding, Findings, Severity, Subject, Unchecked, plural};
use crate::kintone_fields::{AppFields, FetchError, Kintone};
use crate::tokens::Tokens;
use crate::{Env, Outcome, basic_auth, connection_problem};
use online::AppView;

pub async fn run(args: &CheckArgs, env: &Env) -> Outcome {
    let source = args.config.display().to_string();
    let config = match offline::load(&args.config, env.get("KINTONE_BASE_URL")) {
        Ok(config) => config,
        Err(err) => return invalid(args.format, &source, &err.to_string()),
    };
    let mut findings = Findings::default();
    let mut apps_read = 0;
    if !args.offline {
        apps_read = check_online(&config, args, env, &mut findings).await;
    }
    findings.sort();
    render(args, &source, &config, &findings, apps_read)
}

/// relay.toml does not parse: the functions would not start.
fn invalid(format: Format, source: &str, error: &str) -> Outcome {
    let stdout = match format {
        Format::Text => format!(
            "error   {error}\nrelay check: {source} is not valid, so the functions would not start\n"
        ),
        Format::Json => format!(
            "{}\n",
            json!({
                "config": source,
                "valid": false,
                "error": error,
                "summary": {"errors": 1, "warnings": 0, "unchecked": 0, "exit": ExitStatus::Errors.code()},
            })
        ),
    };
    Outcome {
        status: ExitStatus::Errors.code(),
        stdout,
        stderr: String::new(),
    }
}

/// Reads each app once and compares what uses it; returns how many apps were read.
async fn check_online(config: &Config, args: &CheckArgs, env: &Env, out: &mut Findings) -> usize {
    let mut users: BTreeMap<u64, Vec<Subject>> = BTreeMap::new();
    for form in config.forms.values() {
        users
            .entry(form.app)
            .or_default()
            .push(Subject::Form(form.name.clone()));
    }
    for lookup in config.lookups.values() {
        users
            .entry(lookup.app)
            .or_default()
            .push(Subject::Lookup(lookup.name.clone()));
    }
    let unchecked = |app: u64, subjects: &[Subject], reason: String| Unchecked {
        app,
        subjects: subjects.to_vec(),
        reason,
    };
    let tokens = match Tokens::parse(&args.token_env, env.get(&args.token_env)) {
        Ok(tokens) => tokens,
        Err(err) => {
            for (app, subjects) in &users {
                out.unchecked
                    .push(unchecked(*app, subjects, err.to_string()));
            }
            return 0;
        }
    };
    let kintone = match Kintone::new(&config.kintone, basic_auth(env)) {
        Ok(kintone) => kintone,
        Err(err) => {
            for (app, subjects) in &users {
                out.unchecked
                    .push(unchecked(*app, subjects, format!("no HTTP client: {err}")));
            }
            return 0;
        }
    };

    let mut read: BTreeMap<u64, (AppFields, Option<bool>)> = BTreeMap::new();
    // Once kintone cannot be reached, every later app would wait for the same timeout.
    let mut unreachable: Option<String> = None;
    for (app, subjects) in &users {
        if let Some(reason) = &unreachable {
            out.unchecked
                .push(unchecked(*app, subjects, reason.clone()));
            continue;
        }
        let Some(token) = tokens.for_app(*app) else {
            let reason = format!("{} has no token for app {app}", args.token_env);
            out.unchecked.push(unchecked(*app, subjects, reason));
            continue;
        };
        match kintone.form_fields(*app, token).await {
            Ok(fields) => {
                let can_view = kintone.can_view_records(*app, token).await.ok();
                read.insert(*app, (fields, can_view));
            }
            Err(err) => match app_problem(config, *app, &err) {
                Some((key, message)) => {
                    for subject in subjects {
                        out.findings.push(Finding {
                            severity: Severity::Error,
                            key: key
                                .clone()
                                .unwrap_or_else(|| format!("{}.app", subject.section())),
                            subject: subject.clone(),
                            input: None,
                            field_code: None,
                            message: message.clone(),
                        });
                    }
                }
                None => {
                    let reason = connection_problem(&err, *app, &args.token_env);
                    if matches!(err, FetchError::Unreachable { .. }) {
                        unreachable = Some(reason.clone());
                    }
                    out.unchecked.push(unchecked(*app, subjects, reason));
                }
            },
        }
    }

    for form in config.forms.values() {
        if let Some((fields, can_view)) = read.get(&form.app) {
            let view = AppView {
                app: form.app,
                fields,
                token_can_view: *can_view,
                token_env: &args.token_env,
            };
            out.findings.extend(online::check_form(form, &view));
        }
    }
    for lookup in config.lookups.values() {
        if let Some((fields, can_view)) = read.get(&lookup.app) {
            let view = AppView {
                app: lookup.app,
                fields,
                token_can_view: *can_view,
                token_env: &args.token_env,
            };
            out.findings.extend(online::check_lookup(lookup, &view));
        }
    }
    read.len()
}

/// kintone's answers that mean relay.toml names the app wrongly (not that the check failed):
/// the key to change, when it is not the form's or lookup's `app`, and why.
fn app_problem(config: &Config, app: u64, err: &FetchError) -> Option<(Option<String>, String)> {
    let base_url = &config.kintone.base_url;
    match (err.code()?, config.kintone.guest_space) {
        ("GAIA_AP01", _) => Some((
            None,
            format!("kintone at {base_url} has no app {app} (or it was deleted): check the app id"),
        )),
        ("GAIA_IL23", _) => Some((
            Some("kintone.guest_space".into()),
            format!(
                "app {app} is in a guest space: set [kintone] guest_space to its space id (the number in the space's URL)"
            ),
        )),
        ("CB_NO02", Some(space)) => Some((
            Some("kintone.guest_space".into()),
            format!(
                "app {app} is not in guest space {space} (kintone answered CB_NO02): check guest_space and the app id"
            ),
        )),
        _ => None,
    }
}

fn render(
    args: &CheckArgs,
    source: &str,
    config: &Config,
    findings: &Findings,
    apps_read: usize,
) -> Outcome {
    let served = offline::served(config);
    let status = findings.exit_status();
    let errors = findings.count(Severity::Error);
    let warnings = findings.count(Severity::Warning);
    let stdout = match args.format {
        Format::Text => {
            let mut text = format!(
                "{source} is valid; kintone at {}\n{}",
                config.kintone.base_url,
                offline::served_text(&served)
            );
            for finding in &findings.findings {
                text.push_str(&format!("{finding}\n"));
            }
            for unchecked in &findings.unchecked {
                text.push_str(&format!("{unchecked}\n"));
            }
            let summary = if args.offline {
                format!("{source} is valid (offline: the kintone apps were not read)")
            } else {
                let mut summary = format!(
                    "{}, {} in {} read from kintone",
                    plural(errors, "error"),
                    plural(warnings, "warning"),
                    plural(apps_read, "app")
                );
                if !findings.unchecked.is_empty() {
                    summary.push_str(&format!(
                        "; {} not checked",
                        plural(findings.unchecked.len(), "app")
                    ));
                }
                summary
            };
            text.push_str(&format!("relay check: {summary}\n"));
            text
        }
        Format::Json => {
            let basic_auth = config
                .kintone
                .basic_auth_secret
                .as_ref()
                .map(|s| s.as_str());
            format!(
                "{}\n",
                json!({
                    "config": source,
                    "valid": true,
                    "mode": if args.offline { "offline" } else { "online" },
                    "kintone": config.kintone.base_url,
                    "functions": offline::served_json(&served),
                    "basic_auth_secret": basic_auth,
                    "limits_key_secret": config.limits.as_ref().map(|limits| limits.key_secret.as_str()),
                    "findings": findings.findings,
                    "unchecked": findings.unchecked,
                    "summary": {
                        "errors": errors,
                        "warnings": warnings,
                        "unchecked": findings.unchecked.len(),
                        "apps_read": apps_read,
                        "exit": status.code(),
                    },
                })
            )
        }
    };
    Outcome {
        status: status.code(),
        stdout,
        stderr: String::new(),
    }
}
