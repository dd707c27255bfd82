"""scripts/put-secret keeps the secret out of every command line.

A stand-in `aws` records its arguments and its standard input; the token must reach it only
through standard input. (scripts/check-events also runs put-secret against moto with the real
AWS CLI, when one is installed.)
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PUT_SECRET = ROOT / "scripts" / "put-secret"

FAKE_AWS = """#!/usr/bin/env bash
# Records each call as one JSON line: its arguments and what it read on standard input. The
# secret "exists" once a create-secret or put-secret-value went through.
if [ "$2" = describe-secret ]; then stdin=""; else stdin=$(cat); fi
python3 -c 'import json, sys; print(json.dumps({"args": sys.argv[1:-1], "stdin": sys.argv[-1]}))' \\
  "$@" "$stdin" >>"$FAKE_AWS_LOG"
if [ "$2" = describe-secret ]; then
  [ -f "$FAKE_AWS_LOG.exists" ] || exit 254
else
  touch "$FAKE_AWS_LOG.exists"
fi
"""


class PutSecret(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        bin_dir = Path(self.tmp.name, "bin")
        bin_dir.mkdir()
        aws = bin_dir / "aws"
        aws.write_text(FAKE_AWS)
        aws.chmod(aws.stat().st_mode | stat.S_IEXEC)
        self.log = Path(self.tmp.name, "calls.jsonl")
        self.env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", FAKE_AWS_LOG=str(self.log))

    def tearDown(self):
        self.tmp.cleanup()

    def run_put_secret(self, *args, stdin: str):
        return subprocess.run(
            [str(PUT_SECRET), *args], input=stdin, env=self.env, capture_output=True, text=True
        )

    def calls(self):
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def test_token_travels_on_stdin_only(self):
        token = "Secr3tTokenValue0000000000000000000000ab"
        created = self.run_put_secret("kintone-relay/seminar-add", stdin=f"  {token}\n")
        self.assertEqual(created.returncode, 0, created.stderr)
        rotated = self.run_put_secret("kintone-relay/seminar-add", stdin=f"{token}\n")
        self.assertEqual(rotated.returncode, 0, rotated.stderr)
        calls = self.calls()
        commands = [call["args"][1] for call in calls]
        self.assertEqual(commands, ["describe-secret", "create-secret", "describe-secret", "put-secret-value"])
        for call in calls:
            self.assertFalse(any(token in arg for arg in call["args"]), call["args"])
        writes = [call for call in calls if call["args"][1] != "describe-secret"]
        for call in writes:
            self.assertIn("file:///dev/stdin", call["args"])
            self.assertEqual(call["stdin"], token)

    def test_basic_auth_is_json_on_stdin(self):
        result = self.run_put_secret("--basic-auth", "kintone-relay/basic", stdin='admin\np@ss "w:rd"\n')
        self.assertEqual(result.returncode, 0, result.stderr)
        write = self.calls()[-1]
        self.assertFalse(any("p@ss" in arg for arg in write["args"]), write["args"])
        self.assertEqual(json.loads(write["stdin"]), {"username": "admin", "password": 'p@ss "w:rd"'})

    def test_refuses_what_is_not_a_token(self):
        result = self.run_put_secret("kintone-relay/seminar-add", stdin="not a token!\n")
        self.assertNotEqual(result.returncode, 0)
        self.assertFalse(self.log.exists() and any(c["args"][1] != "describe-secret" for c in self.calls()))

    def test_name_is_required(self):
        self.assertEqual(self.run_put_secret(stdin="x\n").returncode, 2)


if __name__ == "__main__":
    unittest.main()
