"""Real answers of both functions, checked against openapi.yaml.

Sends one request for each documented status that the local stack can produce (scripts/dev:
the kintone emulator with its demo apps, whose faults are switched over /_emulator/fault), and
checks for each: the status is the expected one and documented for the operation, every
required header is there and every documented header matches its schema, the content type,
and the body against the response's JSON schema. Exits non-zero on any failure.

Usage: check_responses.py --relay http://127.0.0.1:9000 --emulator http://127.0.0.1:8081
                          --origin http://localhost:8000
"""

import argparse
import json
import pathlib
import sys
import uuid

import jsonschema_rs
import requests
import yaml
from openapi_spec_validator import validate as validate_spec

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
# relay.toml [limits]: a lookup answers this many misses per key value in a window (the default).
PER_KEY_FAILURES = 5


def resolve(node):
    """Follows a local `$ref` (`#/components/...`) to what it names."""
    while isinstance(node, dict) and "$ref" in node:
        target = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def schema_errors(schema, value):
    # The schema sits in the whole document, so its `#/components/...` references resolve.
    root = {**SPEC, "x-checked": schema, "$ref": "#/x-checked"}
    return [error.message for error in jsonschema_rs.validator_for(root).iter_errors(value)]


def check(path, method, response, expected_status):
    """What is wrong with `response` to `method path` (the spec's path template), as a list."""
    problems = []
    if response.status_code != expected_status:
        problems.append(f"status {response.status_code}, expected {expected_status}: {response.text[:200]}")
    operation = SPEC["paths"][path].get(method.lower())
    if operation is None:
        # A method without a route: 405 with Allow, the common error shape.
        documented = {
            "headers": {"Allow": resolve({"$ref": "#/components/headers/Allow"})},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    else:
        documented = resolve(operation["responses"].get(str(response.status_code)))
        if documented is None:
            return problems + [f"status {response.status_code} is not documented for {method} {path}"]
    for name, header in (documented.get("headers") or {}).items():
        header = resolve(header)
        value = response.headers.get(name)
        if value is None:
            if header.get("required"):
                problems.append(f"required header {name} missing")
            continue
        problems += [f"header {name}: {e}" for e in schema_errors(header.get("schema", {}), value)]
    content = documented.get("content")
    if content:
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if media_type not in content:
            problems.append(f"content type {media_type!r}, documented {list(content)}")
        else:
            try:
                body = response.json()
            except ValueError:
                problems.append(f"body is not JSON: {response.text[:200]}")
            else:
                problems += [f"body: {e}" for e in schema_errors(content[media_type]["schema"], body)]
    elif response.content:
        problems.append(f"a body where none is documented: {response.text[:200]}")
    return problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--relay", required=True, help="cargo lambda watch, e.g. http://127.0.0.1:9000")
    parser.add_argument("--emulator", required=True)
    parser.add_argument("--origin", required=True, help="an allowed origin of the demo form and lookup")
    args = parser.parse_args()
    validate_spec(SPEC)
    forms = f"{args.relay}/lambda-url/submit"
    lookups = f"{args.relay}/lambda-url/lookup"
    session = requests.Session()
    base_headers = {"Origin": args.origin}
    json_headers = {**base_headers, "Content-Type": "application/json"}
    application = {"name": "仕様 確認", "email": "spec@example.jp", "session": "午後の部", "consent": True}
    key = str(uuid.uuid4())
    deal = {"partner_id": "P-001", "partner_name": "山田商事", "deal_id": "D-1001"}

    def fault(name):
        requests.put(f"{args.emulator}/_emulator/fault", json={"fault": name}, timeout=5).raise_for_status()

    def send(method, url, **kwargs):
        return session.request(method, url, timeout=30, **kwargs)

    def misses_past_the_limit():
        # An ID no one has: its first misses are 404, then the lookup stops answering for it.
        guess = {**deal, "partner_id": f"P-{uuid.uuid4().hex[:8]}"}
        for _ in range(PER_KEY_FAILURES):
            send("POST", f"{lookups}/lookups/deals", data=json.dumps(guess), headers=json_headers)
        return send("POST", f"{lookups}/lookups/deals", data=json.dumps(guess), headers=json_headers)

    # (what, path template, method, expected status, request)
    cases = [
        ("a form's description", "/forms/{form}", "GET", 200,
         lambda: send("GET", f"{forms}/forms/seminar", headers=base_headers)),
        ("a lookup's description", "/lookups/{lookup}", "GET", 200,
         lambda: send("GET", f"{lookups}/lookups/deals", headers=base_headers)),
        ("a form's preflight", "/forms/{form}", "OPTIONS", 204,
         lambda: send("OPTIONS", f"{forms}/forms/seminar", headers={
             **base_headers, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "content-type, idempotency-key"})),
        ("a lookup's preflight", "/lookups/{lookup}", "OPTIONS", 204,
         lambda: send("OPTIONS", f"{lookups}/lookups/deals", headers={
             **base_headers, "Access-Control-Request-Method": "POST"})),
        ("a valid application", "/forms/{form}", "POST", 201,
         lambda: send("POST", f"{forms}/forms/seminar", data=json.dumps(application),
                      headers={**json_headers, "Idempotency-Key": key})),
        ("its replay", "/forms/{form}", "POST", 201,
         lambda: send("POST", f"{forms}/forms/seminar", data=json.dumps(application),
                      headers={**json_headers, "Idempotency-Key": key})),
        ("invalid fields, in English", "/forms/{form}", "POST", 400,
         lambda: send("POST", f"{forms}/forms/seminar", data=json.dumps({"email": "taro", "extra": 1}),
                      headers={**json_headers, "Accept-Language": "en"})),
        ("not JSON", "/forms/{form}", "POST", 400,
         lambda: send("POST", f"{forms}/forms/seminar", data=b"{", headers=json_headers)),
        ("a malformed Idempotency-Key", "/forms/{form}", "POST", 400,
         lambda: send("POST", f"{forms}/forms/seminar", data=json.dumps(application),
                      headers={**json_headers, "Idempotency-Key": "short"})),
        ("a foreign origin", "/forms/{form}", "POST", 403,
         lambda: send("POST", f"{forms}/forms/seminar", data=json.dumps(application),
                      headers={**json_headers, "Origin": "https://evil.example"})),
        ("no Origin", "/forms/{form}", "GET", 403,
         lambda: send("GET", f"{forms}/forms/seminar")),
        ("an unknown form", "/forms/{form}", "GET", 404,
         lambda: send("GET", f"{forms}/forms/nope", headers=base_headers)),
        ("an unknown lookup's preflight", "/lookups/{lookup}", "OPTIONS", 404,
         lambda: send("OPTIONS", f"{lookups}/lookups/nope", headers=base_headers)),
        ("a method without a route", "/forms/{form}", "DELETE", 405,
         lambda: send("DELETE", f"{forms}/forms/seminar", headers=base_headers)),
        ("a body over max_body_bytes", "/forms/{form}", "POST", 413,
         lambda: send("POST", f"{forms}/forms/seminar",
                      data=json.dumps({"question": "x" * 70000}), headers=json_headers)),
        ("not application/json", "/forms/{form}", "POST", 415,
         lambda: send("POST", f"{forms}/forms/seminar", data="name=x",
                      headers={**base_headers, "Content-Type": "application/x-www-form-urlencoded"})),
        ("kintone rate-limited: queued (queue = true)", "/forms/{form}", "POST", 202,
         lambda: send("POST", f"{forms}/forms/seminar", data=json.dumps(application),
                      headers={**json_headers, "Idempotency-Key": str(uuid.uuid4())})),
        ("a partner's deal", "/lookups/{lookup}", "POST", 200,
         lambda: send("POST", f"{lookups}/lookups/deals", data=json.dumps(deal), headers=json_headers)),
        ("a wrong corroborating name", "/lookups/{lookup}", "POST", 404,
         lambda: send("POST", f"{lookups}/lookups/deals",
                      data=json.dumps({**deal, "partner_name": "佐藤工業"}), headers=json_headers)),
        ("a missing lookup input", "/lookups/{lookup}", "POST", 400,
         lambda: send("POST", f"{lookups}/lookups/deals",
                      data=json.dumps({"partner_id": "P-001"}), headers=json_headers)),
        ("a lookup, not application/json", "/lookups/{lookup}", "POST", 415,
         lambda: send("POST", f"{lookups}/lookups/deals", data="x", headers=base_headers)),
        ("misses past the per-ID limit", "/lookups/{lookup}", "POST", 429, misses_past_the_limit),
        ("a lookup while kintone is in maintenance", "/lookups/{lookup}", "POST", 503,
         lambda: send("POST", f"{lookups}/lookups/deals", data=json.dumps(deal), headers=json_headers)),
    ]
    faults = {"kintone rate-limited: queued (queue = true)": "rate_limited", "a lookup while kintone is in maintenance": "maintenance"}
    passed = failed = 0
    answers = {}
    for what, path, method, status, request in cases:
        if what in faults:
            fault(faults[what])
        try:
            response = request()
        finally:
            if what in faults:
                fault("none")
        answers[what] = response
        problems = check(path, method, response, status)
        if what == "its replay" and response.json() != answers["a valid application"].json():
            problems.append("the replay's receipt differs from the first")
        if what == "invalid fields, in English":
            error = response.json()["error"]
            if error.get("message") != "Please check the highlighted fields." or "extra" not in error.get("fields", {}):
                problems.append(f"not the English invalid_input with every field: {error}")
        if what == "a method without a route" and response.headers.get("Allow") != "GET, POST, OPTIONS":
            problems.append(f"Allow: {response.headers.get('Allow')}")
        verdict = "ok  " if not problems else "FAIL"
        print(f"{verdict}  {method:7} {path:18} {response.status_code}  {what}")
        for problem in problems:
            print(f"        {problem}")
        passed, failed = (passed + 1, failed) if not problems else (passed, failed + 1)
    print(f"openapi: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
