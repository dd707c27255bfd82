"""template.yaml against relay.toml: each function may read exactly the secrets it uses.

    .venv/bin/python -m unittest discover -s tests/deploy     (scripts/check-deploy runs it)

The rules, for every AWS::Serverless::Function in template.yaml:
  - its binary (Metadata.BuildProperties.Binary) is `submit` (serves relay.toml's [forms.*]) or
    `lookup` (serves [lookups.*]), and each binary is deployed exactly once;
  - its permissions come only from its own AWS::IAM::Role's inline policies (no SAM `Policies`,
    no managed policies, no separate policy resources, no role shared with another function);
  - those policies allow `secretsmanager:GetSecretValue` on exactly the secrets the function
    reads according to `relay-check --format json` (the same list the functions warm at init:
    its tables' `token_secret`s plus [kintone] basic_auth_secret), each as one exact ARN
    (`...:secret:${SecretNamePrefix}<rest>-??????`, the prefix taken at its default), and
    `logs:CreateLogStream`/`logs:PutLogEvents` on its own log group; nothing else;
  - no environment variable carries a token; reserved concurrency is set from a parameter and
    the defaults keep the relay well under kintone's 100 concurrent requests per domain;
  - it serves POST and OPTIONS on its route, and the API leaves CORS to the functions.
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
    """What relay-check (the functions' own parser) says each function serves and reads."""
    result = subprocess.run(
        ["cargo", "run", "--quiet", "--locked", "-p", "relay-check", "--", "--format", "json", str(relay_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        return None, result.stderr.strip()
    return json.loads(result.stdout), ""


def needed_secrets(relay_path: Path) -> tuple[dict[str, set[str]], list[str]]:
    """The secret names each binary reads: relay-check's list, the one the functions warm."""
    checked, error = relay_check(relay_path)
    if checked is None:
        return {binary: set() for binary in SERVES}, [f"relay-check: {error}"]
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

    def check_api(self):
        for logical_id, resource in self.resources.items():
            if resource.get("Type") == "AWS::Serverless::HttpApi":
                if "CorsConfiguration" in resource.get("Properties", {}):
                    self.fail(f"{logical_id}: CorsConfiguration would answer OPTIONS instead of relay.toml")


def check(template_path: Path, relay_path: Path) -> list[str]:
    """Every disagreement between the template's grants and relay.toml, as messages."""
    template = cfn_yaml.load(str(template_path))
    needed, problems = needed_secrets(relay_path)
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
    return problems


def name_in_template(name: str, prefix: str | None) -> str:
    if prefix and name.startswith(prefix):
        return "${SecretNamePrefix}" + name[len(prefix):]
    return name


class ShippedFiles(unittest.TestCase):
    def test_template_grants_exactly_what_relay_toml_uses(self):
        problems = check(TEMPLATE, RELAY_TOML)
        self.assertEqual(problems, [], "\n" + "\n".join(problems))


class SeededDrift(unittest.TestCase):
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

    def assertProblem(self, problems, *fragments):
        self.assertTrue(
            any(all(f in p for f in fragments) for p in problems),
            f"no problem mentions {fragments}; got:\n" + "\n".join(problems),
        )

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


if __name__ == "__main__":
    unittest.main()
