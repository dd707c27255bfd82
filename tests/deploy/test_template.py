"""template.yaml against relay.toml: each function may read exactly the secrets it uses and
touch exactly the queues it needs, the queues are set up so that nothing is lost, and everything
has the metric filters and alarms that docs/deploy.md ("Alarms") describes.

    .venv/bin/python -m unittest discover -s tests/deploy     (scripts/check-deploy runs it)

The rules, for every AWS::Serverless::Function in template.yaml:
  - its binary (Metadata.BuildProperties.Binary) is `submit` (serves relay.toml's [forms.*]),
    `lookup` (serves [lookups.*]) or `deliver` (adds the queued submissions of the forms with
    `queue = true`), and each binary is deployed exactly once;
  - its permissions come only from its own AWS::IAM::Role's inline policies (no SAM `Policies`,
    no managed policies, no separate policy resources, no role shared with another function);
  - those policies allow `secretsmanager:GetSecretValue` on exactly the secrets the function
    reads according to `relay check --offline --format json` (the same list the functions warm at init:
    its tables' `token_secret`s plus [kintone] basic_auth_secret), each as one exact ARN
    (`...:secret:${SecretNamePrefix}<rest>-??????`, the prefix taken at its default), and
    `logs:CreateLogStream`/`logs:PutLogEvents` on its own log group; and SQS actions exactly as
    QUEUE_GRANTS says (submit: send to the queue; deliver: receive, delete and read attributes
    on the queue, send to the dead-letter queue; lookup: none), each on `!GetAtt <queue>.Arn`;
    and, when relay.toml has [limits], submit and lookup read its key_secret and may
    dynamodb:GetItem and dynamodb:UpdateItem on the template's one DynamoDB table (LIMITS_GRANTS;
    no Scan, no wildcard, no administration), deliver nothing; nothing else;
  - no environment variable carries a token; submit finds the queue and deliver the dead-letter
    queue in the variables the Rust code reads (shared/src/relay.rs), and with [limits] submit
    and lookup find the table in its variable; the table is on-demand, encrypted, with a TTL
    attribute, and its keys are only `pk`; reserved concurrency is set
    from a parameter and the defaults keep the relay well under kintone's 100 concurrent
    requests per domain;
  - submit and lookup serve GET, POST and OPTIONS on their route and nothing else, and the API
    leaves CORS to the functions; deliver serves no route: its one event is the queue, with
    ReportBatchItemFailures, batch size and batching window from parameters, and a maximum
    concurrency no higher than its reservation;
  - the queue (the one deliver reads) and its dead-letter queue (its RedrivePolicy's target) are
    encrypted at rest; the queue's visibility timeout is at least 6 times deliver's timeout plus
    the longest batching window (AWS's advice for a Lambda event source), its maxReceiveCount at
    least 5, and it keeps a message long enough to move it to the dead-letter queue; the
    dead-letter queue keeps messages 14 days; queue policies only deny;
  - it logs JSON (`LoggingConfig.LogFormat: JSON`); for submit and lookup, its log group has a
    metric filter that counts its 5xx answers other than 503 and one that counts its 503
    `unavailable` answers, each with an alarm on its metric; every function has alarms on its
    Lambda `Errors` and `Throttles`; the dead-letter queue has an alarm on any visible message,
    the queue one on the age of its oldest message (below 3 visibility timeouts: SQS leaves out
    of that metric a message received 3 times); every alarm notifies the AlarmEmail topic and
    AlarmTopicArn. The filter patterns are run against sample request lines of the shape the
    functions write (REQUEST_LINE_FIELDS below, which the Rust source is checked to still
    write), so a pattern on a wrong path or value fails here.
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

# Which relay.toml table each binary serves (deliver: only the forms with queue = true, which
# relay check tells), and the route each HTTP binary answers, with these methods.
SERVES = {"submit": "forms", "lookup": "lookups", "deliver": "forms"}
READS_WHAT = {
    "submit": "relay.toml's [forms.*]",
    "lookup": "relay.toml's [lookups.*]",
    "deliver": "relay.toml's [forms.*] with queue = true",
}
ROUTES = {
    "submit": {"/forms/{form}": ("GET", "POST", "OPTIONS"), "/forms/{form}/files/{input}": ("POST", "OPTIONS")},
    "lookup": {"/lookups/{lookup}": ("GET", "POST", "OPTIONS"), "/lookups/{lookup}/files": ("POST", "OPTIONS")},
}
# The SQS actions each binary's role allows, on which queue ("queue": the one deliver reads;
# "dead-letter queue": that queue's RedrivePolicy target), exactly. The event source mapping
# polls with deliver's role, hence Receive/Delete/GetQueueAttributes; deliver itself sends
# what kintone refuses to the dead-letter queue.
QUEUE = "queue"
DEAD_LETTER_QUEUE = "dead-letter queue"
QUEUE_GRANTS = {
    "submit": {("sqs:SendMessage", QUEUE)},
    "lookup": set(),
    "deliver": {
        ("sqs:ReceiveMessage", QUEUE),
        ("sqs:DeleteMessage", QUEUE),
        ("sqs:GetQueueAttributes", QUEUE),
        ("sqs:SendMessage", DEAD_LETTER_QUEUE),
    },
}
# The environment variable (its Rust constant in shared/src/relay.rs) through which a binary
# finds a queue; each must be `!Ref <that queue>`.
QUEUE_VARIABLES = {"submit": ("QUEUE_URL_VARIABLE", QUEUE), "deliver": ("DEAD_LETTER_QUEUE_URL_VARIABLE", DEAD_LETTER_QUEUE)}
RELAY_RS = ROOT / "shared" / "src" / "relay.rs"
# With relay.toml's [limits], the DynamoDB actions each binary's role allows on the limits table
# (the one AWS::DynamoDB::Table), exactly: shared/src/limits counts with conditional UpdateItem
# and reads a window's end with GetItem. The variable they find the table by.
LIMITS_GRANTS = {
    "submit": {"dynamodb:GetItem", "dynamodb:UpdateItem"},
    "lookup": {"dynamodb:GetItem", "dynamodb:UpdateItem"},
    "deliver": set(),
}
LIMITS_TABLE_CONSTANT = "LIMITS_TABLE_VARIABLE"
# kintone adds at most 100 records per call (shared/src/kintone: MAX_RECORDS_PER_ADD).
MAX_BATCH_SIZE = 100
FOURTEEN_DAYS = 14 * 24 * 3600
# AWS: a Lambda event source's queue needs a visibility timeout of at least 6 function timeouts,
# and a maxReceiveCount of at least 5 so that a throttled batch is not set aside at once.
VISIBILITY_FUNCTION_TIMEOUTS = 6
MIN_MAX_RECEIVE_COUNT = 5
# SQS leaves a message out of ApproximateAgeOfOldestMessage once it was received 3 times.
AGE_METRIC_RECEIVES = 3
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
# The log group of each binary that answers HTTP requests needs a filter that matches exactly
# these lines (and an alarm on it). deliver writes no request line.
REQUEST_LINE_BINARIES = ("submit", "lookup")
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


def getatt_target(value, attribute: str):
    """The logical id of `!GetAtt X.<attribute>`, else None."""
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        parts = target.split(".", 1) if isinstance(target, str) else list(target)
        if len(parts) == 2 and parts[1] == attribute:
            return parts[0]
    return None


def rust_queue_variables(relay_rs: Path = RELAY_RS) -> tuple[dict[str, str], list[str]]:
    """The environment variable each binary finds its queue by, as shared/src/relay.rs names it."""
    text = relay_rs.read_text(encoding="utf-8")
    names, problems = {}, []
    for binary, (constant, _) in QUEUE_VARIABLES.items():
        match = re.search(rf'pub const {constant}: &str = "([A-Za-z0-9_]+)";', text)
        if match:
            names[binary] = match.group(1)
        else:
            problems.append(
                f"shared/src/relay.rs: no `pub const {constant}: &str = \"...\";`, the variable "
                f"{binary} finds its queue by (this check reads it there)"
            )
    return names, problems


def rust_limits_variable(relay_rs: Path = RELAY_RS) -> tuple[str | None, list[str]]:
    """The environment variable submit and lookup find the limits table by."""
    text = relay_rs.read_text(encoding="utf-8")
    match = re.search(rf'pub const {LIMITS_TABLE_CONSTANT}: &str = "([A-Za-z0-9_]+)";', text)
    if match:
        return match.group(1), []
    return None, [f"shared/src/relay.rs: no `pub const {LIMITS_TABLE_CONSTANT}: &str = \"...\";` (this check reads it there)"]


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


def needed_secrets(relay_path: Path) -> tuple[dict[str, set[str]], list[str], bool]:
    """The secret names each binary reads: relay check's list, the one the functions warm."""
    checked, error = relay_check(relay_path)
    if checked is None:
        return {binary: set() for binary in SERVES}, [f"relay check: {error}"], False
    problems = []
    needed = {binary: set(checked["functions"].get(binary, {}).get("reads", [])) for binary in SERVES}
    basic = checked.get("basic_auth_secret")
    limits_key = checked.get("limits_key_secret")
    tokens = {binary: names - {basic, limits_key} for binary, names in needed.items()}
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
    return needed, problems, bool(limits_key)


class TemplateCheck:
    def __init__(
        self,
        template: dict,
        queue_variables: dict[str, str] | None = None,
        limits: bool = False,
        limits_variable: str | None = None,
    ):
        self.template = template
        # relay.toml has [limits]: submit and lookup count attempts in the limits table.
        self.limits = limits
        self.limits_variable = limits_variable
        self.resources = template.get("Resources", {})
        self.parameters = template.get("Parameters", {})
        self.problems: list[str] = []
        self.queue_variables = queue_variables or {}
        # QUEUE / DEAD_LETTER_QUEUE -> logical id (find_queues), and what the queue's settings
        # are checked against (check_event_source).
        self.queue_ids: dict[str, str] = {}
        self.deliver_timeout: int | None = None
        self.batching_window_max: int | None = None
        self.visibility: int | None = None

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

    def parameter_of(self, value):
        """The parameter `value` is `!Ref` to, else None."""
        target = ref_target(value)
        return target if target in self.parameters else None

    def number(self, value):
        """A literal number, or a parameter's default; else None."""
        parameter = self.parameter_of(value)
        if parameter:
            value = self.default(parameter)
        if isinstance(value, bool):
            return None
        if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
            return int(value)
        return None

    def find_queues(self):
        """The queue is the one deliver's SQS event reads; the dead-letter queue is that queue's
        RedrivePolicy target. What is missing is told by check_events and check_queues."""
        for function in self.functions().values():
            if function.get("Metadata", {}).get("BuildProperties", {}).get("Binary") != "deliver":
                continue
            for event in (function.get("Properties", {}).get("Events") or {}).values():
                if event.get("Type") == "SQS":
                    queue = getatt_arn_target(event.get("Properties", {}).get("Queue"))
                    if queue and self.resources.get(queue, {}).get("Type") == "AWS::SQS::Queue":
                        self.queue_ids.setdefault(QUEUE, queue)
        queue = self.queue_ids.get(QUEUE)
        if queue:
            redrive = self.resources[queue].get("Properties", {}).get("RedrivePolicy")
            if isinstance(redrive, dict):
                target = getatt_arn_target(redrive.get("deadLetterTargetArn"))
                if target and self.resources.get(target, {}).get("Type") == "AWS::SQS::Queue":
                    self.queue_ids[DEAD_LETTER_QUEUE] = target

    def granted_secrets(self) -> dict[str, set[str]]:
        granted: dict[str, set[str]] = {}
        roles_seen: dict[str, str] = {}
        self.find_queues()
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
            self.check_queue_variable(logical_id, binary, properties.get("Environment"))
            self.check_limits_variable(logical_id, binary, properties.get("Environment"))
            self.check_concurrency(logical_id, properties.get("ReservedConcurrentExecutions"))
            self.check_events(logical_id, binary, properties)
            self.check_monitoring(logical_id, binary, properties)
        for binary in SERVES:
            if binary not in granted:
                self.fail(f"template.yaml deploys no function for the {binary} binary")
        globals_env = self.template.get("Globals", {}).get("Function", {}).get("Environment")
        self.check_environment("Globals.Function", globals_env)
        self.check_default_concurrency()
        self.check_api()
        self.check_queues()
        self.check_limits_table()
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
        queue_grants: set[tuple[str, str]] = set()
        table_grants: set[tuple[str, str]] = set()
        for policy in as_list(role_properties.get("Policies")):
            document = policy.get("PolicyDocument", {})
            for statement in as_list(document.get("Statement")):
                self.check_statement(role_id, statement, log_group, secrets, queue_grants, table_grants)
        self.check_queue_grants(role_id, binary, queue_grants)
        self.check_table_grants(role_id, binary, table_grants)
        return secrets

    def limits_table(self) -> str | None:
        tables = list(self.resources_of("AWS::DynamoDB::Table"))
        return tables[0] if len(tables) == 1 else None

    def check_table_grants(self, role_id, binary, grants):
        table = self.limits_table()
        wanted = {(action, table) for action in LIMITS_GRANTS[binary]} if self.limits else set()
        why = "relay.toml's [limits]" if self.limits else "relay.toml has no [limits]"
        needs = ", ".join(sorted(action for action, _ in wanted)) or "no DynamoDB action"
        for action, on in sorted(grants - wanted):
            self.fail(f"{role_id}: allows {action} on {on}; {binary} needs only {needs} ({why})")
        for action, _ in sorted(wanted - grants):
            self.fail(f"{role_id}: does not allow {action} on !GetAtt {table}.Arn, which {binary} needs for {why}")

    def check_limits_variable(self, logical_id, binary, environment):
        if not self.limits or not LIMITS_GRANTS.get(binary) or not self.limits_variable:
            return
        table = self.limits_table()
        variables = environment.get("Variables") if isinstance(environment, dict) else None
        value = variables.get(self.limits_variable) if isinstance(variables, dict) else None
        if table is None or ref_target(value) != table:
            self.fail(
                f"{logical_id}: Environment.Variables.{self.limits_variable} must be !Ref the limits "
                f"table ({table or 'none found'}): {binary} counts attempts there (relay.toml [limits])"
            )

    def check_limits_table(self):
        tables = self.resources_of("AWS::DynamoDB::Table")
        if len(tables) > 1:
            self.fail(f"{len(tables)} DynamoDB tables {sorted(tables)}; the relay has one, the limits table")
        if self.limits and not tables:
            self.fail("relay.toml has [limits] but template.yaml declares no AWS::DynamoDB::Table")
        for logical_id, table in tables.items():
            p = table.get("Properties", {})
            if p.get("BillingMode") != "PAY_PER_REQUEST":
                self.fail(f"{logical_id}: BillingMode must be PAY_PER_REQUEST (counters come in bursts)")
            if (p.get("SSESpecification") or {}).get("SSEEnabled") is not True:
                self.fail(f"{logical_id}: SSESpecification.SSEEnabled must be true")
            ttl = p.get("TimeToLiveSpecification") or {}
            if ttl.get("Enabled") is not True or not ttl.get("AttributeName"):
                self.fail(f"{logical_id}: TimeToLiveSpecification must be enabled: every counter expires by itself")

    def queue_named(self, resource) -> str:
        """QUEUE or DEAD_LETTER_QUEUE for `!GetAtt <that queue>.Arn`, else the resource as text."""
        target = getatt_arn_target(resource)
        for which, logical_id in self.queue_ids.items():
            if target == logical_id:
                return which
        return repr(resource)

    def check_queue_grants(self, role_id, binary, grants):
        wanted = QUEUE_GRANTS[binary]
        needs = ", ".join(f"{action} on the {which}" for action, which in sorted(wanted)) or "no SQS action"
        for action, which in sorted(grants - wanted):
            on = f"the {which}" if which in (QUEUE, DEAD_LETTER_QUEUE) else which
            self.fail(f"{role_id}: allows {action} on {on}; {binary} needs only {needs}")
        for action, which in sorted(wanted - grants):
            queue = self.queue_ids.get(which)
            arn = f"!GetAtt {queue}.Arn" if queue else "none found"
            self.fail(f"{role_id}: does not allow {action} on the {which} ({arn}), which {binary} needs")

    def check_statement(self, role_id, statement, log_group, secrets, queue_grants, table_grants):
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
            elif isinstance(action, str) and action.startswith("sqs:") and not any(c in action for c in "*?"):
                for resource in resources:
                    queue_grants.add((action, self.queue_named(resource)))
            elif isinstance(action, str) and action.startswith("dynamodb:") and not any(c in action for c in "*?"):
                for resource in resources:
                    target = getatt_arn_target(resource)
                    table_grants.add((action, target if target == self.limits_table() else repr(resource)))
            else:
                self.fail(
                    f"{role_id}: allows {action!r}; a relay function needs only {READ_SECRET}, logging "
                    "and the SQS and DynamoDB actions its binary uses, each named"
                )

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

    def check_queue_variable(self, logical_id, binary, environment):
        if binary not in QUEUE_VARIABLES or binary not in self.queue_variables:
            return
        name, which = self.queue_variables[binary], QUEUE_VARIABLES[binary][1]
        queue = self.queue_ids.get(which)
        variables = environment.get("Variables") if isinstance(environment, dict) else None
        value = variables.get(name) if isinstance(variables, dict) else None
        if queue is None or ref_target(value) != queue:
            self.fail(
                f"{logical_id}: Environment.Variables.{name} must be !Ref the {which} "
                f"({queue or 'none found'}): {binary} reads it (shared/src/relay.rs)"
            )

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

    def check_events(self, logical_id, binary, properties):
        served, queue_events, unknown = set(), [], []
        for name, event in (properties.get("Events") or {}).items():
            kind = event.get("Type")
            if kind == "HttpApi":
                p = event.get("Properties", {})
                served.add((p.get("Method", "").upper(), p.get("Path")))
            elif kind == "SQS":
                queue_events.append(event.get("Properties", {}))
            else:
                unknown.append(f"{name} ({kind})")
        if unknown:
            self.fail(f"{logical_id}: events {unknown} this check does not know")
        wanted = {(method, path) for path, methods in ROUTES.get(binary, {}).items() for method in methods}
        if served != wanted:
            self.fail(f"{logical_id}: HttpApi routes {sorted(served)}, expected {sorted(wanted)}")
        if binary != "deliver":
            if queue_events:
                self.fail(f"{logical_id}: an SQS event; only deliver reads the queue")
            return
        if len(queue_events) != 1:
            self.fail(f"{logical_id}: {len(queue_events)} SQS events; deliver reads one queue")
            return
        self.check_event_source(logical_id, properties, queue_events[0])

    def check_event_source(self, logical_id, properties, event):
        where = f"{logical_id}: its SQS event"
        if not self.queue_ids.get(QUEUE):
            self.fail(f"{where}: Queue must be !GetAtt <an AWS::SQS::Queue in this template>.Arn")
        if "ReportBatchItemFailures" not in as_list(event.get("FunctionResponseTypes")):
            self.fail(
                f"{where} lacks FunctionResponseTypes: [ReportBatchItemFailures]: deliver answers "
                "batchItemFailures, which SQS would otherwise ignore (and delete what kintone did not take)"
            )
        batch = self.parameter_of(event.get("BatchSize"))
        batch_max = self.number(self.parameters.get(batch, {}).get("MaxValue")) if batch else None
        if not batch:
            self.fail(f"{where}: BatchSize must come from a parameter")
        elif batch_max is None or batch_max > MAX_BATCH_SIZE or not 1 <= (self.number(event.get("BatchSize")) or 0) <= batch_max:
            self.fail(
                f"{where}: BatchSize parameter {batch} needs a default within a MaxValue of at most "
                f"{MAX_BATCH_SIZE} (records per kintone call), so that a batch fits deliver's timeout"
            )
        window = self.parameter_of(event.get("MaximumBatchingWindowInSeconds"))
        if not window:
            self.fail(f"{where}: MaximumBatchingWindowInSeconds must come from a parameter")
        else:
            self.batching_window_max = self.number(self.parameters[window].get("MaxValue"))
            if self.batching_window_max is None:
                self.fail(f"{where}: the batching window parameter {window} needs a MaxValue, which the visibility timeout allows for")
            window_min = self.number(self.parameters[window].get("MinValue"))
            if (batch_max or 0) > 10 and (window_min or 0) < 1:
                self.fail(f"{where}: Lambda needs a batching window of at least 1 s for batches over 10 ({window} MinValue)")
        reserved = properties.get("ReservedConcurrentExecutions")
        if isinstance(reserved, dict) and "Fn::If" in reserved:
            reserved = reserved["Fn::If"][1]
        maximum = (event.get("ScalingConfig") or {}).get("MaximumConcurrency")
        if isinstance(maximum, dict) and "Fn::If" in maximum:
            maximum = maximum["Fn::If"][1]
        if ref_target(reserved) is None or ref_target(maximum) != ref_target(reserved):
            self.fail(
                f"{where}: ScalingConfig.MaximumConcurrency must be the parameter its "
                "ReservedConcurrentExecutions comes from: an event source that invokes more instances "
                "than are reserved is throttled, and each throttled batch counts as a receive"
            )
        timeout = properties.get("Timeout", self.template.get("Globals", {}).get("Function", {}).get("Timeout"))
        self.deliver_timeout = self.number(timeout)

    def check_queues(self):
        queue, dead_letters = self.queue_ids.get(QUEUE), self.queue_ids.get(DEAD_LETTER_QUEUE)
        if not queue:
            self.fail("no AWS::SQS::Queue is deliver's event source (an SQS event, Queue: !GetAtt <queue>.Arn)")
        elif not dead_letters:
            self.fail(
                f"{queue}: no RedrivePolicy with deadLetterTargetArn: !GetAtt <an AWS::SQS::Queue>.Arn; "
                "a submission deliver cannot handle would be tried until it expires"
            )
        for logical_id, resource in self.resources_of("AWS::SQS::Queue").items():
            p = resource.get("Properties", {})
            if logical_id not in (queue, dead_letters):
                self.fail(f"{logical_id}: an SQS queue that is neither deliver's queue nor its dead-letter queue")
            if p.get("SqsManagedSseEnabled") is not True and not p.get("KmsMasterKeyId"):
                self.fail(
                    f"{logical_id}: not encrypted at rest (SqsManagedSseEnabled: true or KmsMasterKeyId); "
                    "a submission holds personal data"
                )
        if queue and dead_letters:
            self.check_queue_settings(queue)
        if dead_letters:
            retention = self.number(self.resources[dead_letters].get("Properties", {}).get("MessageRetentionPeriod"))
            if retention != FOURTEEN_DAYS:
                self.fail(f"{dead_letters}: MessageRetentionPeriod {retention}, expected {FOURTEEN_DAYS} (14 days) for the dead letters")
        for logical_id, resource in self.resources_of("AWS::SQS::QueuePolicy").items():
            statements = as_list(resource.get("Properties", {}).get("PolicyDocument", {}).get("Statement"))
            if any(statement.get("Effect") != "Deny" for statement in statements):
                self.fail(f"{logical_id}: a queue policy that allows; the roles grant access, queue policies only deny")
        self.check_queue_alarms(queue, dead_letters)

    def check_queue_settings(self, queue):
        p = self.resources[queue].get("Properties", {})
        receives = self.number(p["RedrivePolicy"].get("maxReceiveCount"))
        if receives is None or receives < MIN_MAX_RECEIVE_COUNT:
            self.fail(
                f"{queue}: RedrivePolicy.maxReceiveCount {receives}: at least {MIN_MAX_RECEIVE_COUNT}, so that "
                "a throttled or briefly failing batch is not set aside at once"
            )
        self.visibility = visibility = self.number(p.get("VisibilityTimeout", 30))
        if self.deliver_timeout is not None:
            needed = VISIBILITY_FUNCTION_TIMEOUTS * self.deliver_timeout + (self.batching_window_max or 0)
            if visibility is None or visibility < needed:
                self.fail(
                    f"{queue}: VisibilityTimeout {visibility} s is under {VISIBILITY_FUNCTION_TIMEOUTS} x deliver's "
                    f"{self.deliver_timeout} s timeout + the longest batching window {self.batching_window_max or 0} s "
                    f"= {needed} s (AWS's advice for a Lambda event source)"
                )
        retention = self.number(p.get("MessageRetentionPeriod", 345600))
        if receives and visibility and (retention is None or retention <= receives * visibility):
            self.fail(
                f"{queue}: MessageRetentionPeriod {retention} s ends before {receives} tries {visibility} s "
                "apart: a submission would expire instead of reaching the dead-letter queue"
            )

    def check_queue_alarms(self, queue, dead_letters):
        def on_queue(logical_id):
            return lambda dimensions: any(
                d.get("Name") == "QueueName" and getatt_target(d.get("Value"), "QueueName") == logical_id
                for d in dimensions
            )

        if dead_letters:
            fires_at_one = [
                alarm_id
                for alarm_id, p in self.alarms_on(("AWS/SQS", "ApproximateNumberOfMessagesVisible"), where=on_queue(dead_letters))
                if (self.number(p.get("Threshold")), p.get("ComparisonOperator"))
                in ((0, "GreaterThanThreshold"), (1, "GreaterThanOrEqualToThreshold"))
            ]
            if not fires_at_one:
                self.fail(
                    f"{dead_letters}: no alarm on its ApproximateNumberOfMessagesVisible > 0 (AWS/SQS, "
                    f"QueueName !GetAtt {dead_letters}.QueueName): a dead letter would wait unseen until it expires"
                )
        if queue:
            found = self.alarms_on(("AWS/SQS", "ApproximateAgeOfOldestMessage"), where=on_queue(queue))
            if not found:
                self.fail(
                    f"{queue}: no alarm on the age of its oldest message (AWS/SQS ApproximateAgeOfOldestMessage, "
                    f"QueueName !GetAtt {queue}.QueueName)"
                )
            visibility = self.visibility
            for alarm_id, p in found:
                threshold = self.number(p.get("Threshold"))
                if visibility and (threshold is None or threshold >= AGE_METRIC_RECEIVES * visibility):
                    self.fail(
                        f"{alarm_id}: Threshold {threshold} s is not under {AGE_METRIC_RECEIVES} visibility timeouts "
                        f"({AGE_METRIC_RECEIVES * visibility} s): SQS leaves out of this metric a message received "
                        f"{AGE_METRIC_RECEIVES} times, so while deliver keeps trying it would never go off"
                    )

    def resources_of(self, kind: str) -> dict:
        return {i: r for i, r in self.resources.items() if r.get("Type") == kind}

    def check_monitoring(self, logical_id, binary, properties):
        logging = properties.get("LoggingConfig", {})
        if logging.get("LogFormat") != "JSON":
            self.fail(f"{logical_id}: LoggingConfig.LogFormat must be JSON; the metric filters read JSON fields")
        if binary in REQUEST_LINE_BINARIES:
            self.check_request_filters(logical_id, ref_target(logging.get("LogGroup")))
        for name in LAMBDA_ALARMS:
            dimension = {"Name": "FunctionName", "Value": {"Ref": logical_id}}
            if not self.alarms_on(("AWS/Lambda", name), where=lambda dimensions: dimension in dimensions):
                self.fail(f"{logical_id}: no alarm on its Lambda {name} (AWS/Lambda {name}, FunctionName !Ref {logical_id})")

    def check_request_filters(self, logical_id, log_group):
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

    def alarms_on(self, metric, where=None) -> list[tuple[str, dict]]:
        """The alarms on `metric` whose dimensions satisfy `where`, as (logical id, properties);
        complains about each one that does not notify both targets."""
        found = []
        for alarm_id, alarm in self.resources_of("AWS::CloudWatch::Alarm").items():
            p = alarm.get("Properties", {})
            if (p.get("Namespace"), p.get("MetricName")) != metric:
                continue
            if where is not None and not where(as_list(p.get("Dimensions"))):
                continue
            for key in ("AlarmActions", "OKActions"):
                targets = set(re.findall(r'"Ref": "([^"]+)"', json.dumps(p.get(key))))
                if not ALARM_TARGETS <= targets:
                    self.fail(f"{alarm_id}: {key} must notify {sorted(ALARM_TARGETS)}, has {sorted(targets)}")
            found.append((alarm_id, p))
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
    needed, problems, limits = needed_secrets(relay_path)
    problems += request_log_call_problems(SHARED_SRC)
    queue_variables, rust_problems = rust_queue_variables()
    problems += rust_problems
    limits_variable, rust_problems = rust_limits_variable()
    problems += rust_problems
    checker = TemplateCheck(template, queue_variables, limits, limits_variable)
    granted = checker.granted_secrets()
    problems += checker.problems
    for binary in SERVES:
        have = granted.get(binary, set())
        for name in sorted(have - needed[binary]):
            problems.append(
                f"{binary} may read {name}, which it does not use (not named by {READS_WHAT[binary]} "
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
        return self.problems_with_template(lambda template: edit(template["Resources"]))

    def problems_with_template(self, edit):
        """The same, after `edit(template)`."""
        template = cfn_yaml.load(str(TEMPLATE))
        edit(template)
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

    # submit's grant (deliver's names the same secret; the comment above it tells them apart)
    SUBMIT_GRANT = (
        '"-??????" is the suffix Secrets Manager appends.\n'
        "              - Effect: Allow\n"
        "                Action: secretsmanager:GetSecretValue\n"
        "                Resource:\n"
        "                  - !Sub arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}"
    )
    SEMINAR_ARN = SUBMIT_GRANT + ":secret:${SecretNamePrefix}seminar-add-??????\n"
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
        self.assertProblem(problems, "kintone-relay/basic for deliver")

    def test_wildcard_secret(self):
        problems = self.problems_with(
            template_edits=[(self.SEMINAR_ARN, self.SUBMIT_GRANT + ":secret:${SecretNamePrefix}*-??????\n")]
        )
        self.assertProblem(problems, "SubmitRole", "pattern")
        problems = self.problems_with(
            template_edits=[(self.SEMINAR_ARN, self.SUBMIT_GRANT + ":secret:${SecretNamePrefix}*\n")]
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


def statements(resources, role, policy_name):
    """The statements of `role`'s inline policy `policy_name`, to edit in place."""
    for policy in resources[role]["Properties"]["Policies"]:
        if policy["PolicyName"] == policy_name:
            return policy["PolicyDocument"]["Statement"]
    raise AssertionError(f"template.yaml: {role} has no policy {policy_name!r}")


class QueueDrift(Drift):
    """The queue, its dead-letter queue, deliver and the queue grants: each test plants one
    mistake and expects the check to object."""

    def test_the_shipped_template_wires_the_queues(self):
        limits = needed_secrets(RELAY_TOML)[2]
        checker = TemplateCheck(
            cfn_yaml.load(str(TEMPLATE)), rust_queue_variables()[0], limits, rust_limits_variable()[0]
        )
        checker.granted_secrets()
        self.assertEqual(checker.queue_ids, {QUEUE: "SubmissionQueue", DEAD_LETTER_QUEUE: "DeadLetterQueue"})
        self.assertEqual(checker.problems, [])

    # -- grants
    def test_deliver_allowed_every_sqs_action(self):
        def edit(resources):
            statements(resources, "DeliverRole", "queue")[0]["Action"] = "sqs:*"
        problems = self.problems_with_resources(edit)
        self.assertProblem(problems, "DeliverRole", "'sqs:*'")
        self.assertProblem(problems, "DeliverRole", "does not allow sqs:ReceiveMessage")

    def test_submit_allowed_to_receive(self):
        def edit(resources):
            statements(resources, "SubmitRole", "queue")[0]["Action"] = ["sqs:SendMessage", "sqs:ReceiveMessage"]
        self.assertProblem(self.problems_with_resources(edit), "SubmitRole", "allows sqs:ReceiveMessage on the queue")

    def test_submit_sends_anywhere(self):
        def edit(resources):
            statements(resources, "SubmitRole", "queue")[0]["Resource"] = "*"
        problems = self.problems_with_resources(edit)
        self.assertProblem(problems, "SubmitRole", "allows sqs:SendMessage on '*'")
        self.assertProblem(problems, "SubmitRole", "does not allow sqs:SendMessage on the queue")

    def test_lookup_allowed_to_send(self):
        def edit(resources):
            statements(resources, "LookupRole", "logs").append(
                {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["SubmissionQueue", "Arn"]}}
            )
        self.assertProblem(self.problems_with_resources(edit), "LookupRole", "allows sqs:SendMessage on the queue")

    def test_deliver_cannot_delete(self):
        def edit(resources):
            statements(resources, "DeliverRole", "queue")[0]["Action"].remove("sqs:DeleteMessage")
        self.assertProblem(self.problems_with_resources(edit), "DeliverRole", "does not allow sqs:DeleteMessage on the queue")

    def test_deliver_sends_dead_letters_to_the_queue(self):
        def edit(resources):
            statements(resources, "DeliverRole", "queue")[1]["Resource"] = {"Fn::GetAtt": ["SubmissionQueue", "Arn"]}
        problems = self.problems_with_resources(edit)
        self.assertProblem(problems, "DeliverRole", "allows sqs:SendMessage on the queue")
        self.assertProblem(problems, "DeliverRole", "does not allow sqs:SendMessage on the dead-letter queue")

    def test_deliver_granted_a_lookup_token(self):
        def edit(resources):
            statements(resources, "DeliverRole", "form-tokens")[0]["Resource"].append(
                {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
                            "${SecretNamePrefix}deals-view-??????"}
            )
        self.assertProblem(self.problems_with_resources(edit), "deliver may read kintone-relay/deals-view")

    def test_form_stops_queueing(self):
        # relay check then says deliver reads nothing: its grant is one too many.
        problems = self.problems_with(relay_edits=[("queue = true ", "queue = false ")])
        self.assertProblem(problems, "deliver may read kintone-relay/seminar-add", "queue = true")

    def test_new_queued_form_without_a_deliver_grant(self):
        problems = self.problems_with(
            relay_appended=(
                '\n[forms.contact]\napp = 13\ntoken_secret = "kintone-relay/contact-add"\n'
                'allowed_origins = ["https://www.example.jp"]\nreceipt_field = "受付番号"\nqueue = true\n'
                'fields.message = { kintone = "問い合わせ内容", type = "multiline" }\n'
            )
        )
        self.assertProblem(problems, "relay.toml names kintone-relay/contact-add for submit")
        self.assertProblem(problems, "relay.toml names kintone-relay/contact-add for deliver")

    # -- environment
    def test_submit_without_the_queue_url(self):
        def edit(resources):
            resources["SubmitFunction"]["Properties"]["Environment"]["Variables"].pop("RELAY_QUEUE_URL")
        self.assertProblem(self.problems_with_resources(edit), "SubmitFunction", "RELAY_QUEUE_URL", "SubmissionQueue")

    def test_deliver_dead_letters_pointed_at_the_queue(self):
        def edit(resources):
            variables = resources["DeliverFunction"]["Properties"]["Environment"]["Variables"]
            variables["RELAY_DEAD_LETTER_QUEUE_URL"] = {"Ref": "SubmissionQueue"}
        self.assertProblem(self.problems_with_resources(edit), "DeliverFunction", "RELAY_DEAD_LETTER_QUEUE_URL")

    def test_variable_renamed_in_rust(self):
        with tempfile.TemporaryDirectory() as tmp:
            relay_rs = Path(tmp, "relay.rs")
            original = RELAY_RS.read_text(encoding="utf-8")
            renamed = original.replace("pub const QUEUE_URL_VARIABLE", "pub const SUBMISSION_QUEUE_VARIABLE")
            self.assertNotEqual(renamed, original, "shared/src/relay.rs no longer has QUEUE_URL_VARIABLE")
            relay_rs.write_text(renamed, encoding="utf-8")
            names, problems = rust_queue_variables(relay_rs)
        self.assertNotIn("submit", names)
        self.assertIn("QUEUE_URL_VARIABLE", "\n".join(problems))

    # -- events, routes, concurrency
    def test_without_report_batch_item_failures(self):
        def edit(resources):
            resources["DeliverFunction"]["Properties"]["Events"]["Queue"]["Properties"].pop("FunctionResponseTypes")
        self.assertProblem(self.problems_with_resources(edit), "DeliverFunction", "ReportBatchItemFailures")

    def test_batch_size_fixed_or_unbounded(self):
        def fixed(resources):
            resources["DeliverFunction"]["Properties"]["Events"]["Queue"]["Properties"]["BatchSize"] = 10
        self.assertProblem(self.problems_with_resources(fixed), "DeliverFunction", "BatchSize must come from a parameter")

        def unbounded(template):
            template["Parameters"]["DeliverBatchSize"]["MaxValue"] = 1000
        self.assertProblem(self.problems_with_template(unbounded), "DeliverFunction", "DeliverBatchSize")

    def test_batching_window_unbounded(self):
        def edit(template):
            template["Parameters"]["DeliverBatchingWindowSeconds"].pop("MaxValue")
        self.assertProblem(self.problems_with_template(edit), "DeliverFunction", "needs a MaxValue")

    def test_event_source_not_bounded_by_the_reservation(self):
        def edit(resources):
            resources["DeliverFunction"]["Properties"]["Events"]["Queue"]["Properties"].pop("ScalingConfig")
        self.assertProblem(self.problems_with_resources(edit), "DeliverFunction", "MaximumConcurrency")

    def test_deliver_concurrency_default_too_high(self):
        def edit(template):
            template["Parameters"]["DeliverReservedConcurrency"]["Default"] = 40
        self.assertProblem(self.problems_with_template(edit), "reserved concurrency defaults")

    def test_deliver_serves_a_route(self):
        def edit(resources):
            resources["DeliverFunction"]["Properties"]["Events"]["Post"] = {
                "Type": "HttpApi",
                "Properties": {"ApiId": {"Ref": "RelayApi"}, "Method": "POST", "Path": "/deliver"},
            }
        self.assertProblem(self.problems_with_resources(edit), "DeliverFunction", "HttpApi routes")

    def test_get_route_dropped(self):
        for function in ("SubmitFunction", "LookupFunction"):
            with self.subTest(function=function):
                problems = self.problems_with_resources(
                    lambda resources: resources[function]["Properties"]["Events"].pop("Get")
                )
                self.assertProblem(problems, function, "HttpApi routes", "GET")

    def test_submit_reads_the_queue_too(self):
        def edit(resources):
            resources["SubmitFunction"]["Properties"]["Events"]["Queue"] = {
                "Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": ["SubmissionQueue", "Arn"]}},
            }
        self.assertProblem(self.problems_with_resources(edit), "SubmitFunction", "only deliver reads the queue")

    # -- the queues
    def test_missing_redrive_policy(self):
        def edit(resources):
            resources["SubmissionQueue"]["Properties"].pop("RedrivePolicy")
        self.assertProblem(self.problems_with_resources(edit), "SubmissionQueue", "no RedrivePolicy")

    def test_redrive_to_a_queue_outside_the_template(self):
        def edit(resources):
            resources["SubmissionQueue"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"] = (
                "arn:aws:sqs:ap-northeast-1:123456789012:somewhere-else"
            )
        self.assertProblem(self.problems_with_resources(edit), "SubmissionQueue", "no RedrivePolicy")

    def test_max_receive_count_too_low(self):
        def edit(template):
            template["Parameters"]["DeliverMaxReceiveCount"]["Default"] = 1
        self.assertProblem(self.problems_with_template(edit), "SubmissionQueue", "maxReceiveCount")

    def test_queue_not_encrypted(self):
        for queue in ("SubmissionQueue", "DeadLetterQueue"):
            with self.subTest(queue=queue):
                problems = self.problems_with_resources(
                    lambda resources: resources[queue]["Properties"].pop("SqsManagedSseEnabled")
                )
                self.assertProblem(problems, queue, "not encrypted at rest")

    def test_dead_letters_kept_four_days(self):
        def edit(resources):
            resources["DeadLetterQueue"]["Properties"]["MessageRetentionPeriod"] = 345600
        self.assertProblem(self.problems_with_resources(edit), "DeadLetterQueue", "MessageRetentionPeriod")

    def test_visibility_timeout_too_short(self):
        def edit(resources):
            resources["SubmissionQueue"]["Properties"]["VisibilityTimeout"] = 60
        self.assertProblem(self.problems_with_resources(edit), "SubmissionQueue", "VisibilityTimeout 60 s")

    def test_deliver_timeout_raised_alone(self):
        def edit(resources):
            resources["DeliverFunction"]["Properties"]["Timeout"] = 120
        self.assertProblem(self.problems_with_resources(edit), "SubmissionQueue", "VisibilityTimeout", "120 s timeout")

    def test_queue_expires_before_the_dead_letter_queue(self):
        def edit(resources):
            resources["SubmissionQueue"]["Properties"]["MessageRetentionPeriod"] = 86400
        self.assertProblem(self.problems_with_resources(edit), "SubmissionQueue", "expire instead")

    def test_stray_queue(self):
        def edit(resources):
            resources["OtherQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {"SqsManagedSseEnabled": True}}
        self.assertProblem(self.problems_with_resources(edit), "OtherQueue", "neither")

    def test_queue_policy_that_allows(self):
        def edit(resources):
            resources["QueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]["Effect"] = "Allow"
        self.assertProblem(self.problems_with_resources(edit), "QueuePolicy", "allows")

    # -- alarms
    def test_dead_letter_alarm_dropped(self):
        problems = self.problems_with_resources(lambda resources: resources.pop("DeadLetterAlarm"))
        self.assertProblem(problems, "DeadLetterQueue", "no alarm")

    def test_dead_letter_alarm_on_the_wrong_queue(self):
        def edit(resources):
            resources["DeadLetterAlarm"]["Properties"]["Dimensions"][0]["Value"] = {
                "Fn::GetAtt": ["SubmissionQueue", "QueueName"]
            }
        self.assertProblem(self.problems_with_resources(edit), "DeadLetterQueue", "no alarm")

    def test_dead_letter_alarm_waits_for_ten(self):
        def edit(resources):
            resources["DeadLetterAlarm"]["Properties"]["Threshold"] = 10
        self.assertProblem(self.problems_with_resources(edit), "DeadLetterQueue", "no alarm")

    def test_age_alarm_dropped(self):
        problems = self.problems_with_resources(lambda resources: resources.pop("QueueAgeAlarm"))
        self.assertProblem(problems, "SubmissionQueue", "no alarm on the age of its oldest message")

    def test_age_alarm_threshold_the_metric_never_reaches(self):
        def edit(template):
            template["Parameters"]["QueueAgeAlarmSeconds"]["Default"] = 3600
        self.assertProblem(self.problems_with_template(edit), "QueueAgeAlarm", "3 visibility timeouts")

    def test_queue_alarm_without_notifications(self):
        def edit(resources):
            resources["DeadLetterAlarm"]["Properties"].pop("OKActions")
        self.assertProblem(self.problems_with_resources(edit), "DeadLetterAlarm", "OKActions")

    def test_deliver_lambda_alarm_dropped(self):
        for alarm, name in (("DeliverErrorsAlarm", "Errors"), ("DeliverThrottlesAlarm", "Throttles")):
            with self.subTest(alarm=alarm):
                problems = self.problems_with_resources(lambda resources: resources.pop(alarm))
                self.assertProblem(problems, "DeliverFunction", "no alarm", name)

    def test_deliver_dropped(self):
        def edit(resources):
            resources.pop("DeliverFunction")
        problems = self.problems_with_resources(edit)
        self.assertProblem(problems, "no function for the deliver binary")
        self.assertProblem(problems, "deliver's event source")



class LimitsDrift(Drift):
    """The limits table and its grants (relay.toml [limits]): each test plants one mistake."""

    LIMITS_SECTION = (
        "[limits]\n"
        'key_secret = "kintone-relay/limits-key"         # a random key template.yaml generates; hashes counter keys\n'
    )

    def test_the_shipped_files_count_attempts(self):
        self.assertTrue(needed_secrets(RELAY_TOML)[2], "the shipped relay.toml has [limits]")

    def test_lookup_allowed_to_scan(self):
        def edit(resources):
            statements(resources, "LookupRole", "limits")[0]["Action"].append("dynamodb:Scan")
        self.assertProblem(self.problems_with_resources(edit), "LookupRole", "allows dynamodb:Scan")

    def test_wildcard_table_action(self):
        def edit(resources):
            statements(resources, "SubmitRole", "limits")[0]["Action"] = "dynamodb:*"
        problems = self.problems_with_resources(edit)
        self.assertProblem(problems, "SubmitRole", "'dynamodb:*'")
        self.assertProblem(problems, "SubmitRole", "does not allow dynamodb:UpdateItem")

    def test_submit_cannot_count(self):
        def edit(resources):
            statements(resources, "SubmitRole", "limits")[0]["Action"] = ["dynamodb:GetItem"]
        self.assertProblem(self.problems_with_resources(edit), "SubmitRole", "does not allow dynamodb:UpdateItem")

    def test_grant_on_every_table(self):
        def edit(resources):
            statements(resources, "LookupRole", "limits")[0]["Resource"] = "*"
        problems = self.problems_with_resources(edit)
        self.assertProblem(problems, "LookupRole", "allows dynamodb:GetItem on '*'")

    def test_deliver_granted_the_table(self):
        def edit(resources):
            limits = [p for p in resources["SubmitRole"]["Properties"]["Policies"] if p["PolicyName"] == "limits"]
            resources["DeliverRole"]["Properties"]["Policies"].append(json.loads(json.dumps(limits[0])))
        self.assertProblem(self.problems_with_resources(edit), "DeliverRole", "allows dynamodb:GetItem", "deliver needs only no DynamoDB action")

    def test_limits_dropped_from_relay_toml(self):
        problems = self.problems_with(relay_edits=[(self.LIMITS_SECTION, "")])
        self.assertProblem(problems, "LookupRole: allows dynamodb:UpdateItem", "relay.toml has no [limits]")
        self.assertProblem(problems, "lookup may read kintone-relay/limits-key")

    def test_lookup_without_the_table_variable(self):
        def edit(resources):
            resources["LookupFunction"]["Properties"]["Environment"]["Variables"].pop("RELAY_LIMITS_TABLE")
        self.assertProblem(self.problems_with_resources(edit), "LookupFunction", "RELAY_LIMITS_TABLE must be !Ref")

    def test_lookup_loses_the_limits_key(self):
        def edit(resources):
            resource = statements(resources, "LookupRole", "lookup-tokens")[0]["Resource"]
            resource[:] = [arn for arn in resource if "limits-key" not in json.dumps(arn)]
        self.assertProblem(self.problems_with_resources(edit), "relay.toml names kintone-relay/limits-key for lookup")

    def test_table_kept_forever_or_in_clear(self):
        for key, value, expected in (
            ("TimeToLiveSpecification", {"AttributeName": "expires_at", "Enabled": False}, "TimeToLiveSpecification"),
            ("SSESpecification", {"SSEEnabled": False}, "SSEEnabled"),
            ("BillingMode", "PROVISIONED", "PAY_PER_REQUEST"),
        ):
            with self.subTest(key=key):
                def edit(resources):
                    resources["LimitsTable"]["Properties"][key] = value
                self.assertProblem(self.problems_with_resources(edit), "LimitsTable", expected)

    def test_a_second_table(self):
        def edit(resources):
            resources["OtherTable"] = json.loads(json.dumps(resources["LimitsTable"]))
        self.assertProblem(self.problems_with_resources(edit), "2 DynamoDB tables")


if __name__ == "__main__":
    unittest.main()
