"""template.yaml against relay.toml: each function may read exactly the secrets it uses, and
each has the metric filters and alarms that docs/deploy.md ("Alarms") describes.

    .venv/bin/python -m unittest discover -s tests/deploy     (scripts/check-deploy runs it)

The rules, for every AWS::Serverless::Function in template.yaml:
  - its binary (Metadata.BuildProperties.Binary) is `submit` (serves relay.toml's [forms.*]) or
    `lookup` (serves [lookups.*]), and each binary is deployed exactly once;
  - its permissions come only from its own AWS::IAM::Role's inline policies (no SAM `Policies`,
    no managed policies, no separate policy resources, no role shared with another function);
  - those policies allow `secretsmanager:GetSecretValue` on exactly the secrets the function
    reads according to `relay check --offline --format json` (the same list the functions warm at init:
    its tables' `token_secret`s plus [kintone] basic_auth_secret), each as one exact ARN
    (`...:secret:${SecretNamePrefix}<rest>-??????`, the prefix taken at its default), and
    `logs:CreateLogStream`/`logs:PutLogEvents` on its own log group; nothing else;
  - no environment variable carries a token; reserved concurrency is set from a parameter and
    the defaults keep the relay well under kintone's 100 concurrent requests per domain;
  - it serves POST and OPTIONS on its route, and the API leaves CORS to the functions;
  - it logs JSON (`LoggingConfig.LogFormat: JSON`), and its log group has a metric filter that
    counts its 5xx answers other than 503 and one that counts its 503 `unavailable` answers, each
    with an alarm on its metric; it has alarms on its Lambda `Errors` and `Throttles`; every alarm
    notifies the AlarmEmail topic and AlarmTopicArn. The filter patterns are run against sample
    request lines of the shape the functions write (REQUEST_LINE_FIELDS below, which the Rust
    source is checked to still write), so a pattern on a wrong path or value fails here.
The negative tests below seed each kind of drift into a copy and expect the check to catch it.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import unittest
from pathlib import Path

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
RELAY_TOML = ROOT / "relay.toml"

# Which relay.toml table each binary serves, and the route it answers.
SERVES = {"submit": "forms", "lookup": "lookups"}
ROUTES = {"submit": "/forms/{form}", "lookup": "/lookups/{lookup}"}
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
READ_SECRET = "secretsmanager:GetSecretValue"
SECRET_ARN = re.compile(
    r"^arn:\$\{AWS::Partition\}:secretsmanager:\$\{AWS::Region\}:\$\{AWS::AccountId\}:secret:"
    r"(?P<name>.+)-\?\?\?\?\?\?$"
)
TOKENISH_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|API_?KEY|CREDENTIAL", re.IGNORECASE)
KINTONE_TOKEN_VALUE = re.compile(r"^[A-Za-z0-9]{40}$")
# kintone allows 100 concurrent requests per domain, shared with every other integration.
MAX_DEFAULT_RELAY_CONCURRENCY = 50
IAM_ATTACHMENTS = {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"}
SHARED_SRC = ROOT / "shared" / "src"


def request_line(status: int, outcome: str) -> dict:
    """One request's log line as the functions write it under LogFormat JSON: shared/src/http's
    `tracing::info!(endpoint, name, status, outcome, ?fields, elapsed_ms, "request")` through
    lambda_runtime's default subscriber (tracing-subscriber's JSON format without time or
    target: the event's fields under "fields", the invoke span beside them)."""
    span = {"requestId": "8f5c2d7e-0000-4000-8000-000000000000", "name": "Lambda runtime invoke"}
    return {
        "level": "INFO",
        "fields": {"message": "request", "endpoint": "form", "name": "seminar", "status": status,
                   "outcome": outcome, "fields": "[]", "elapsed_ms": 12},
        "span": span,
        "spans": [span],
    }


# The fields of the request line that the metric filters read, checked against the Rust source.
REQUEST_LINE_FIELDS = ("status", "outcome")
SAMPLE_LINES = {
    "204 preflight": request_line(204, "preflight"),
    "201 created": request_line(201, "created"),
    "200 found": request_line(200, "found"),
    "400 invalid_input": request_line(400, "invalid_input"),
    "403 origin_not_allowed": request_line(403, "origin_not_allowed"),
    "404 not_found": request_line(404, "not_found"),
    "500 misconfigured": request_line(500, "misconfigured"),
    "500 internal": request_line(500, "internal"),
    "503 unavailable": request_line(503, "unavailable"),
    "an error line": {
        "level": "ERROR",
        "fields": {"message": "secret fetch failed", "secret_id": "kintone-relay/seminar-add",
                   "elapsed_ms": 40, "error": "AccessDeniedException"},
    },
}
# Each function's log group needs a filter that matches exactly these lines (and an alarm on it).
WANTED_FILTERS = {
    "5xx answers other than 503": {"500 misconfigured", "500 internal"},
    "503 unavailable answers": {"503 unavailable"},
}
LAMBDA_ALARMS = ("Errors", "Throttles")
# Every alarm notifies these (each an !If that is AWS::NoValue when its parameter is empty).
ALARM_TARGETS = {"AlarmTopic", "AlarmTopicArn"}
FILTER_TERM = re.compile(
    r'^\$\.(?P<path>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*'
    r'(?P<op>!=|>=|<=|=|>|<)\s*(?P<value>"[^"*]*"|-?[0-9]+(?:\.[0-9]+)?)$'
)


def filter_matches(pattern: str, line: dict) -> bool:
    """Whether a CloudWatch JSON filter pattern matches `line`, for the subset the template uses:
    `{ $.a.b OP VALUE && ... }` with OP one of = != >= <= > <, VALUE a number or a quoted string
    without wildcards. Anything else raises ValueError, so a new construct gets a look here. A
    missing field or a string compared with a number does not match."""
    text = pattern.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise ValueError(f"not a JSON filter pattern: {pattern!r}")
    for term in text[1:-1].split("&&"):
        match = FILTER_TERM.match(term.strip())
        if not match:
            raise ValueError(f"filter term {term.strip()!r} is outside what this check understands")
        value = line
        for key in match["path"].split("."):
            if not isinstance(value, dict) or key not in value:
                return False
            value = value[key]
        raw, op = match["value"], match["op"]
        if raw.startswith('"'):
            if not isinstance(value, str) or op not in ("=", "!="):
                return False
            if (value == raw[1:-1]) != (op == "="):
                return False
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return False
            number = float(raw)
            holds = {"=": value == number, "!=": value != number, ">=": value >= number,
                     "<=": value <= number, ">": value > number, "<": value < number}[op]
            if not holds:
                return False
    return True


def request_log_call_problems(src: Path) -> list[str]:
    """The filters read the request line's `status` and `outcome`, and match outcome
    "unavailable": complain if the Rust source no longer writes them."""
    text = "\n".join(path.read_text(encoding="utf-8") for path in sorted(src.rglob("*.rs")))
    # The macro's arguments up to the message literal; no `;` inside one call.
    calls = re.findall(r'tracing::info!\(([^;]*?)"request"\s*,?\s*\)', text)
    if len(calls) != 1:
        return [f"shared/src: found {len(calls)} tracing::info!(..., \"request\") calls, expected the one "
                "request line the metric filters count"]
    problems = []
    for field in REQUEST_LINE_FIELDS:
        # A field is an argument of its own: `status = ...`, `outcome,`, `?outcome`.
        if not re.search(rf"(?:^|,)\s*[?%]?{field}\s*[=,]", calls[0]):
            problems.append(f"shared/src: the request log line no longer has `{field}`, which the metric filters read")
    if '=> "unavailable"' not in text:
        problems.append('shared/src: no error code "unavailable" any more, which the 503 metric filter matches')
    return problems


def as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def ref_target(value):
    """The logical id of `!Ref X`, else None."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return value["Ref"]
    return None


def getatt_arn_target(value):
    """The logical id of `!GetAtt X.Arn`, else None."""
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        parts = target.split(".", 1) if isinstance(target, str) else list(target)
        if len(parts) == 2 and parts[1] == "Arn":
            return parts[0]
    return None


def relay_check(relay_path: Path) -> tuple[dict | None, str]:
    """What `relay check --offline` (the functions' own parser) says each function serves and reads."""
    result = subprocess.run(
        ["cargo", "run", "--quiet", "--locked", "-p", "relay-cli", "--",
         "check", "--offline", "--format", "json", "--config", str(relay_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    try:
        checked = json.loads(result.stdout)
    except json.JSONDecodeError:
        return None, (result.stderr or result.stdout).strip()
    if result.returncode != 0 or not checked.get("valid"):
        return None, checked.get("error") or result.stderr.strip()
    return checked, ""


def needed_secrets(relay_path: Path) -> tuple[dict[str, set[str]], list[str]]:
    """The secret names each binary reads: relay check's list, the one the functions warm."""
    checked, error = relay_check(relay_path)
    if checked is None:
        return {binary: set() for binary in SERVES}, [f"relay check: {error}"]
    problems = []
    needed = {binary: set(checked["functions"].get(binary, {}).get("reads", [])) for binary in SERVES}
    basic = checked.get("basic_auth_secret")
    tokens = {binary: names - {basic} for binary, names in needed.items()}
    for secret in sorted(tokens["submit"] & tokens["lookup"]):
        problems.append(
            f"relay.toml: {secret} is named by both [forms] and [lookups]: one token that can "
            "add and view defeats the split between submit and lookup"
        )
    for binary, names in needed.items():
        for name in sorted(names):
            if name.startswith("arn:"):
                problems.append(
                    f"relay.toml: {name}: write secrets by name; this check (and the template's "
                    "ARN pattern) only understands names"
                )
    return needed, problems


class TemplateCheck:
    def __init__(self, template: dict):
        self.template = template
        self.resources = template.get("Resources", {})
        self.parameters = template.get("Parameters", {})
        self.problems: list[str] = []

    def fail(self, message: str):
        self.problems.append(message)

    def default(self, parameter: str):
        return self.parameters.get(parameter, {}).get("Default")

    def functions(self):
        return {
            logical_id: resource
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == "AWS::Serverless::Function"
        }

    def granted_secrets(self) -> dict[str, set[str]]:
        granted: dict[str, set[str]] = {}
        roles_seen: dict[str, str] = {}
        for logical_id, function in self.functions().items():
            binary = function.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
            if binary not in SERVES:
                self.fail(f"{logical_id}: Metadata.BuildProperties.Binary is {binary!r}, not one of {sorted(SERVES)}")
                continue
            if binary in granted:
                self.fail(f"{logical_id}: a second function for the {binary} binary")
                continue
            properties = function.get("Properties", {})
            granted[binary] = self.function_secrets(logical_id, binary, properties, roles_seen)
            self.check_environment(logical_id, properties.get("Environment"))
            self.check_concurrency(logical_id, properties.get("ReservedConcurrentExecutions"))
            self.check_routes(logical_id, binary, properties.get("Events", {}))
            self.check_monitoring(logical_id, properties)
        for binary in SERVES:
            if binary not in granted:
                self.fail(f"template.yaml deploys no function for the {binary} binary")
        globals_env = self.template.get("Globals", {}).get("Function", {}).get("Environment")
        self.check_environment("Globals.Function", globals_env)
        self.check_default_concurrency()
        self.check_api()
        return granted

    def function_secrets(self, logical_id, binary, properties, roles_seen) -> set[str]:
        if "Policies" in properties:
            self.fail(f"{logical_id}: SAM `Policies` on the function; grant through its Role, which this check reads")
        role_id = getatt_arn_target(properties.get("Role"))
        role = self.resources.get(role_id) if role_id else None
        if not role or role.get("Type") != "AWS::IAM::Role":
            self.fail(f"{logical_id}: Role must be !GetAtt <an AWS::IAM::Role in this template>.Arn")
            return set()
        if role_id in roles_seen:
            self.fail(f"{logical_id}: shares {role_id} with {roles_seen[role_id]}")
        roles_seen[role_id] = logical_id
        role_properties = role.get("Properties", {})
        if role_properties.get("ManagedPolicyArns"):
            self.fail(f"{role_id}: ManagedPolicyArns grant more than logging and the named secrets")
        for other_id, other in self.resources.items():
            if other.get("Type") in IAM_ATTACHMENTS:
                attached = as_list(other.get("Properties", {}).get("Roles")) + as_list(
                    other.get("Properties", {}).get("RoleName")
                )
                if any(ref_target(r) == role_id for r in attached):
                    self.fail(f"{other_id}: attaches a policy to {role_id}; keep its grants inline")
        log_group = ref_target(properties.get("LoggingConfig", {}).get("LogGroup"))
        if not log_group:
            self.fail(f"{logical_id}: LoggingConfig.LogGroup must be !Ref its own log group")
        secrets: set[str] = set()
        for policy in as_list(role_properties.get("Policies")):
            document = policy.get("PolicyDocument", {})
            for statement in as_list(document.get("Statement")):
                self.check_statement(role_id, statement, log_group, secrets)
        return secrets

    def check_statement(self, role_id, statement, log_group, secrets):
        if statement.get("Effect") != "Allow":
            return
        for key in ("NotAction", "NotResource"):
            if key in statement:
                self.fail(f"{role_id}: a statement with {key} allows more than it names")
        actions = as_list(statement.get("Action"))
        resources = as_list(statement.get("Resource"))
        for action in actions:
            if action in LOG_ACTIONS:
                for resource in resources:
                    if getatt_arn_target(resource) != log_group:
                        self.fail(f"{role_id}: {action} on {resource!r}, not its own log group {log_group}")
            elif action == READ_SECRET:
                for resource in resources:
                    name = self.secret_name(role_id, resource)
                    if name:
                        secrets.add(name)
            else:
                self.fail(f"{role_id}: allows {action!r}; a relay function needs only {READ_SECRET} and logging")

    def secret_name(self, role_id, resource):
        text = resource.get("Fn::Sub") if isinstance(resource, dict) else None
        match = SECRET_ARN.match(text) if isinstance(text, str) else None
        if not match:
            self.fail(
                f"{role_id}: secret resource {resource!r} is not "
                "!Sub arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:NAME-??????"
            )
            return None
        name = match.group("name").replace("${SecretNamePrefix}", self.default("SecretNamePrefix") or "")
        if any(c in name for c in "*?$"):
            self.fail(f"{role_id}: secret resource {text!r} is a pattern; name each secret exactly")
            return None
        return name

    def check_environment(self, where, environment):
        variables = {}
        if isinstance(environment, dict) and "Fn::If" in environment:
            for branch in environment["Fn::If"][1:]:
                if isinstance(branch, dict):
                    variables.update(branch.get("Variables", {}))
        elif isinstance(environment, dict):
            variables = environment.get("Variables", {})
        for name, value in variables.items():
            if TOKENISH_NAME.search(name) or (
                isinstance(value, str) and KINTONE_TOKEN_VALUE.match(value)
            ):
                self.fail(f"{where}: environment variable {name} looks like a credential; tokens live in Secrets Manager")

    def check_concurrency(self, logical_id, value):
        # Either !Ref Param or !If [Cond, !Ref Param, !Ref AWS::NoValue].
        if isinstance(value, dict) and "Fn::If" in value:
            value = value["Fn::If"][1]
        parameter = ref_target(value)
        if parameter not in self.parameters:
            self.fail(f"{logical_id}: ReservedConcurrentExecutions must come from a parameter")
            return
        self.concurrency_parameters = getattr(self, "concurrency_parameters", []) + [parameter]

    def check_default_concurrency(self):
        defaults = [int(self.default(p)) for p in getattr(self, "concurrency_parameters", [])]
        if any(d <= 0 for d in defaults) or sum(defaults) > MAX_DEFAULT_RELAY_CONCURRENCY:
            self.fail(
                f"reserved concurrency defaults {defaults}: each must be reserved and together at most "
                f"{MAX_DEFAULT_RELAY_CONCURRENCY} of kintone's 100 concurrent requests"
            )

    def check_routes(self, logical_id, binary, events):
        served = set()
        for event in events.values():
            if event.get("Type") == "HttpApi":
                p = event.get("Properties", {})
                served.add((p.get("Method", "").upper(), p.get("Path")))
        wanted = {("POST", ROUTES[binary]), ("OPTIONS", ROUTES[binary])}
        if served != wanted:
            self.fail(f"{logical_id}: HttpApi routes {sorted(served)}, expected {sorted(wanted)}")

    def resources_of(self, kind: str) -> dict:
        return {i: r for i, r in self.resources.items() if r.get("Type") == kind}

    def check_monitoring(self, logical_id, properties):
        logging = properties.get("LoggingConfig", {})
        if logging.get("LogFormat") != "JSON":
            self.fail(f"{logical_id}: LoggingConfig.LogFormat must be JSON; the metric filters read JSON fields")
        log_group = ref_target(logging.get("LogGroup"))
        filters = [
            f.get("Properties", {}) for f in self.resources_of("AWS::Logs::MetricFilter").values()
            if ref_target(f.get("Properties", {}).get("LogGroupName")) == log_group
        ]
        for wanted, lines in WANTED_FILTERS.items():
            found = None
            for f in filters:
                try:
                    matched = {n for n, line in SAMPLE_LINES.items() if filter_matches(f.get("FilterPattern", ""), line)}
                except ValueError as error:
                    self.fail(f"{logical_id}: metric filter on {log_group}: {error}")
                    continue
                if matched == lines:
                    found = f
            if found is None:
                self.fail(
                    f"{logical_id}: no metric filter on {log_group} counts its {wanted} "
                    f"(it must match exactly the sample lines {sorted(lines)})"
                )
                continue
            for transformation in as_list(found.get("MetricTransformations")):
                metric = (transformation.get("MetricNamespace"), transformation.get("MetricName"))
                if not self.alarms_on(metric):
                    self.fail(f"{logical_id}: no alarm on the metric of its {wanted} filter {metric[1]!r}")
        for name in LAMBDA_ALARMS:
            dimension = {"Name": "FunctionName", "Value": {"Ref": logical_id}}
            if not self.alarms_on(("AWS/Lambda", name), dimension):
                self.fail(f"{logical_id}: no alarm on its Lambda {name} (AWS/Lambda {name}, FunctionName !Ref {logical_id})")

    def alarms_on(self, metric, dimension=None) -> list[str]:
        found = []
        for alarm_id, alarm in self.resources_of("AWS::CloudWatch::Alarm").items():
            p = alarm.get("Properties", {})
            if (p.get("Namespace"), p.get("MetricName")) != metric:
                continue
            if dimension is not None and dimension not in as_list(p.get("Dimensions")):
                continue
            for key in ("AlarmActions", "OKActions"):
                targets = set(re.findall(r'"Ref": "([^"]+)"', json.dumps(p.get(key))))
                if not ALARM_TARGETS <= targets:
                    self.fail(f"{alarm_id}: {key} must notify {sorted(ALARM_TARGETS)}, has {sorted(targets)}")
            found.append(alarm_id)
        return found

    def check_api(self):
        for logical_id, resource in self.resources.items():
            if resource.get("Type") == "AWS::Serverless::HttpApi":
                if "CorsConfiguration" in resource.get("Properties", {}):
                    self.fail(f"{logical_id}: CorsConfiguration would answer OPTIONS instead of relay.toml")


def check(template_path: Path, relay_path: Path) -> list[str]:
    """Every disagreement between the template's grants and relay.toml, and every missing or
    bent metric filter or alarm, as messages."""
    template = cfn_yaml.load(str(template_path))
    needed, problems = needed_secrets(relay_path)
    problems += request_log_call_problems(SHARED_SRC)
    checker = TemplateCheck(template)
    granted = checker.granted_secrets()
    problems += checker.problems
    for binary, table in SERVES.items():
        have = granted.get(binary, set())
        for name in sorted(have - needed[binary]):
            problems.append(
                f"{binary} may read {name}, which it does not use (not named by relay.toml's [{table}.*] "
                "or [kintone] basic_auth_secret): remove it from its role"
            )
        for name in sorted(needed[binary] - have):
            problems.append(
                f"relay.toml names {name} for {binary}, but its role may not read it: add "
                "!Sub arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
                f"{name_in_template(name, checker.default('SecretNamePrefix'))}-?????? to template.yaml"
            )
    return list(dict.fromkeys(problems))  # a problem seen from two sides is told once


def name_in_template(name: str, prefix: str | None) -> str:
    if prefix and name.startswith(prefix):
        return "${SecretNamePrefix}" + name[len(prefix):]
    return name


class ShippedFiles(unittest.TestCase):
    def test_template_grants_exactly_what_relay_toml_uses(self):
        problems = check(TEMPLATE, RELAY_TOML)
        self.assertEqual(problems, [], "\n" + "\n".join(problems))


class Drift(unittest.TestCase):
    """Each test edits a copy of the shipped files and expects the check to object."""

    def problems_with(self, template_edits=(), relay_edits=(), relay_appended=""):
        template = TEMPLATE.read_text(encoding="utf-8")
        relay = RELAY_TOML.read_text(encoding="utf-8")
        for old, new in template_edits:
            self.assertEqual(template.count(old), 1, f"template.yaml no longer has exactly one {old!r}")
            template = template.replace(old, new)
        for old, new in relay_edits:
            self.assertEqual(relay.count(old), 1, f"relay.toml no longer has exactly one {old!r}")
            relay = relay.replace(old, new)
        relay += relay_appended
        with tempfile.TemporaryDirectory() as tmp:
            t, r = Path(tmp, "template.yaml"), Path(tmp, "relay.toml")
            t.write_text(template, encoding="utf-8")
            r.write_text(relay, encoding="utf-8")
            return check(t, r)

    def problems_with_resources(self, edit):
        """Runs the check on the shipped template after `edit(resources)`, written back as JSON
        (a template CloudFormation and cfn-lint read as well as YAML)."""
        template = cfn_yaml.load(str(TEMPLATE))
        edit(template["Resources"])
        with tempfile.TemporaryDirectory() as tmp:
            t = Path(tmp, "template.yaml")
            t.write_text(json.dumps(template), encoding="utf-8")
            return check(t, RELAY_TOML)

    def assertProblem(self, problems, *fragments):
        self.assertTrue(
            any(all(f in p for f in fragments) for p in problems),
            f"no problem mentions {fragments}; got:\n" + "\n".join(problems),
        )


class SeededDrift(Drift):
    """Secret grants, environment, concurrency, routes and CORS."""

    SEMINAR_ARN = ":secret:${SecretNamePrefix}seminar-add-??????\n"
    DEALS_ARN = ":secret:${SecretNamePrefix}deals-view-??????\n"

    def test_submit_granted_a_lookup_token(self):
        problems = self.problems_with(
            template_edits=[(
                self.SEMINAR_ARN,
                self.SEMINAR_ARN
                + "                  - !Sub arn:${AWS::Partition}:secretsmanager:${AWS::Region}:"
                "${AWS::AccountId}" + self.DEALS_ARN,
            )]
        )
        self.assertProblem(problems, "submit may read kintone-relay/deals-view")

    def test_lookup_loses_its_token(self):
        problems = self.problems_with(
            template_edits=[(self.DEALS_ARN, ":secret:${SecretNamePrefix}deals-viewer-??????\n")]
        )
        self.assertProblem(problems, "relay.toml names kintone-relay/deals-view for lookup")
        self.assertProblem(problems, "lookup may read kintone-relay/deals-viewer")

    def test_new_form_without_a_grant(self):
        problems = self.problems_with(
            relay_appended=(
                '\n[forms.contact]\napp = 13\ntoken_secret = "kintone-relay/contact-add"\n'
                'allowed_origins = ["https://www.example.jp"]\n'
                'fields.message = { kintone = "問い合わせ内容", type = "multiline" }\n'
            )
        )
        self.assertProblem(problems, "relay.toml names kintone-relay/contact-add for submit")

    def test_basic_auth_secret_needs_both_grants(self):
        problems = self.problems_with(
            relay_edits=[('# basic_auth_secret = "kintone-relay/basic"', 'basic_auth_secret = "kintone-relay/basic"')]
        )
        self.assertProblem(problems, "kintone-relay/basic for submit")
        self.assertProblem(problems, "kintone-relay/basic for lookup")

    def test_wildcard_secret(self):
        problems = self.problems_with(
            template_edits=[(self.SEMINAR_ARN, ":secret:${SecretNamePrefix}*-??????\n")]
        )
        self.assertProblem(problems, "SubmitRole", "pattern")
        problems = self.problems_with(
            template_edits=[(self.SEMINAR_ARN, ":secret:${SecretNamePrefix}*\n")]
        )
        self.assertProblem(problems, "SubmitRole", "is not !Sub")

    def test_extra_action(self):
        problems = self.problems_with(
            template_edits=[(
                "Action: secretsmanager:GetSecretValue\n                Resource:\n                  - !Sub arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}"
                + self.DEALS_ARN,
                "Action: [secretsmanager:GetSecretValue, secretsmanager:ListSecrets]\n                Resource:\n                  - !Sub arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}"
                + self.DEALS_ARN,
            )]
        )
        self.assertProblem(problems, "LookupRole", "secretsmanager:ListSecrets")

    def test_sam_policy_on_function(self):
        problems = self.problems_with(
            template_edits=[(
                "      Role: !GetAtt SubmitRole.Arn\n",
                "      Role: !GetAtt SubmitRole.Arn\n      Policies:\n        - AWSSecretsManagerGetSecretValuePolicy:\n            SecretArn: '*'\n",
            )]
        )
        self.assertProblem(problems, "SubmitFunction", "Policies")

    def test_managed_policy_on_role(self):
        problems = self.problems_with(
            template_edits=[(
                "      Description: kintone-relay lookup; reads only",
                "      ManagedPolicyArns: [arn:aws:iam::aws:policy/SecretsManagerReadWrite]\n"
                "      Description: kintone-relay lookup; reads only",
            )]
        )
        self.assertProblem(problems, "LookupRole", "ManagedPolicyArns")

    def test_token_in_globals_environment(self):
        problems = self.problems_with(
            template_edits=[(
                "    Handler: bootstrap\n",
                "    Handler: bootstrap\n    Environment:\n      Variables:\n        KINTONE_API_TOKEN: abc\n",
            )]
        )
        self.assertProblem(problems, "Globals.Function", "KINTONE_API_TOKEN")

    def test_prefix_default_changed(self):
        problems = self.problems_with(template_edits=[("    Default: kintone-relay/\n", "    Default: relay-prod/\n")])
        self.assertProblem(problems, "submit may read relay-prod/seminar-add")
        self.assertProblem(problems, "relay.toml names kintone-relay/seminar-add for submit")

    def test_concurrency_default_too_high(self):
        problems = self.problems_with(
            template_edits=[("  SubmitReservedConcurrency:\n    Type: Number\n    Default: 10\n",
                             "  SubmitReservedConcurrency:\n    Type: Number\n    Default: 45\n")]
        )
        self.assertProblem(problems, "reserved concurrency defaults")

    def test_cors_configuration_on_api(self):
        problems = self.problems_with(
            template_edits=[("      DefaultRouteSettings:\n", "      CorsConfiguration: true\n      DefaultRouteSettings:\n")]
        )
        self.assertProblem(problems, "RelayApi", "CorsConfiguration")


class Monitoring(Drift):
    """Drops or bends one metric filter or alarm and expects the check to object."""

    def test_the_json_round_trip_keeps_the_shipped_template_clean(self):
        self.assertEqual(self.problems_with_resources(lambda resources: None), [])

    def test_alarm_dropped(self):
        for alarm, fragments in [
            ("LookupThrottlesAlarm", ("LookupFunction", "Throttles")),
            ("SubmitErrorsAlarm", ("SubmitFunction", "Errors")),
            ("Submit5xxAlarm", ("SubmitFunction", "no alarm", "5xx")),
            ("LookupUnavailableAlarm", ("LookupFunction", "no alarm", "unavailable")),
        ]:
            with self.subTest(alarm=alarm):
                problems = self.problems_with_resources(lambda resources: resources.pop(alarm))
                self.assertProblem(problems, *fragments)

    def test_metric_filter_dropped(self):
        problems = self.problems_with_resources(lambda resources: resources.pop("LookupUnavailableMetricFilter"))
        self.assertProblem(problems, "LookupFunction", "no metric filter", "503 unavailable")

    def test_filter_pattern_on_a_path_the_line_does_not_have(self):
        problems = self.problems_with(template_edits=[(
            "FilterPattern: '{ $.fields.message = \"request\" && $.fields.outcome = \"unavailable\" }'\n"
            "      MetricTransformations:\n        - MetricNamespace: !Ref AWS::StackName\n          MetricName: SubmitUnavailable",
            "FilterPattern: '{ $.outcome = \"unavailable\" }'\n"
            "      MetricTransformations:\n        - MetricNamespace: !Ref AWS::StackName\n          MetricName: SubmitUnavailable",
        )])
        self.assertProblem(problems, "SubmitFunction", "no metric filter", "503 unavailable")

    def test_5xx_filter_that_counts_503s_too(self):
        def edit(resources):
            resources["Lookup5xxMetricFilter"]["Properties"]["FilterPattern"] = (
                '{ $.fields.message = "request" && $.fields.status >= 500 }'
            )
        self.assertProblem(self.problems_with_resources(edit), "LookupFunction", "5xx answers other than 503")

    def test_status_compared_as_a_string(self):
        def edit(resources):
            resources["SubmitUnavailableMetricFilter"]["Properties"]["FilterPattern"] = '{ $.fields.status = "503" }'
        self.assertProblem(self.problems_with_resources(edit), "SubmitFunction", "503 unavailable")

    def test_filter_syntax_this_check_does_not_read(self):
        def edit(resources):
            resources["Submit5xxMetricFilter"]["Properties"]["FilterPattern"] = (
                '{ ($.fields.status = 500) || ($.fields.status = 502) }'
            )
        self.assertProblem(self.problems_with_resources(edit), "SubmitFunction", "outside what this check understands")

    def test_alarm_on_another_function(self):
        def edit(resources):
            resources["LookupErrorsAlarm"]["Properties"]["Dimensions"][0]["Value"] = {"Ref": "SubmitFunction"}
        self.assertProblem(self.problems_with_resources(edit), "LookupFunction", "Errors")

    def test_alarm_without_notifications(self):
        def edit(resources):
            resources["SubmitThrottlesAlarm"]["Properties"].pop("AlarmActions")
        self.assertProblem(self.problems_with_resources(edit), "SubmitThrottlesAlarm", "AlarmActions")

    def test_text_logs(self):
        problems = self.problems_with(template_edits=[(
            "        LogFormat: JSON\n        ApplicationLogLevel: INFO\n        SystemLogLevel: WARN\n        LogGroup: !Ref LookupLogGroup",
            "        LogFormat: Text\n        LogGroup: !Ref LookupLogGroup",
        )])
        self.assertProblem(problems, "LookupFunction", "LogFormat must be JSON")

    def test_request_line_fields_in_the_rust_source(self):
        self.assertEqual(request_log_call_problems(SHARED_SRC), [])
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp)
            original = (SHARED_SRC / "http" / "mod.rs").read_text(encoding="utf-8")
            renamed = original.replace("        outcome,\n", "        result = outcome,\n")
            self.assertNotEqual(renamed, original, "shared/src/http/mod.rs no longer logs `outcome,` on a line")
            (src / "mod.rs").write_text(renamed, encoding="utf-8")
            self.assertIn("no longer has `outcome`", "\n".join(request_log_call_problems(src)))


if __name__ == "__main__":
    unittest.main()
