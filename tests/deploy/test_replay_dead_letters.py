"""scripts/replay-dead-letters against moto's SQS (and CloudFormation, for the stack outputs).

A moto server runs on a free loopback port for this module; the script, run as a subprocess,
reaches it through the standard AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL_CLOUDFORMATION. Each
test has its own queues. What is checked: a dry run lists each message's id, reason and fields,
never a body, and moves nothing; --apply moves every message with its body unchanged and empties
the dead-letter queue; a message that arrives after the start is left for the next run; a move
that cannot send loses nothing.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import unittest
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REPLAY = ROOT / "scripts" / "replay-dead-letters"

try:
    import boto3
    import moto  # noqa: F401  (the server below)
except ImportError:  # pragma: no cover
    boto3 = None

# Dead letters as deliver writes them: the submission as it came, with the reason beside it.
# The bodies hold what people typed; none of it may appear in the script's output.
DEAD_LETTERS = [
    ({"form": "seminar", "app": 12, "receipt": "9NDQ-3GJ1-BT71-NNY9-RX25", "idempotency_key": None,
      "record": {"氏名": {"value": "山田 太郎"}, "メールアドレス": {"value": "taro@example.jp"}}},
     {"reason": "CB_VA01", "fields": "メールアドレス"}),
    ({"form": "seminar", "app": 12, "receipt": "7HZC-0QW3-M2KD-5TTE-A1B9", "idempotency_key": None,
      "record": {"氏名": {"value": "佐藤 花子"}, "参加セッション": {"value": "夜の部"}}},
     {"reason": "CB_VA01", "fields": "参加セッション,希望日"}),
    ({"form": "retired", "app": 99, "receipt": "K4X2-9B7M-QQ1R-TT0P-ZZ83", "idempotency_key": None,
      "record": {"氏名": {"value": "鈴木 一郎"}}},
     {"reason": "unknown_form", "fields": "-"}),
]
# One SQS moved there by the redrive policy: the attributes submit wrote, no reason.
REDRIVEN = ({"form": "seminar", "app": 12, "receipt": "2B3C-4D5E-6F7G-8H9J-0K1M", "idempotency_key": None,
             "record": {"氏名": {"value": "高橋 次郎"}, "メールアドレス": {"value": "jiro@example.jp"}}},
            {"form": "seminar"})
TYPED = ["山田", "taro@example.jp", "佐藤", "花子", "夜の部", "鈴木", "高橋", "jiro@example.jp"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@unittest.skipIf(boto3 is None, "boto3 and moto are not installed (scripts/setup installs them into .venv)")
class ReplayDeadLetters(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        port = free_port()
        cls.moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline or cls.moto.poll() is not None:
                    cls.moto.kill()
                    raise RuntimeError("moto_server did not start")
                time.sleep(0.1)
        cls.env = {
            key: value for key, value in os.environ.items()
            if not key.startswith("AWS_") or key == "AWS_CA_BUNDLE"
        }
        cls.env.update({
            "AWS_ENDPOINT_URL_SQS": endpoint,
            "AWS_ENDPOINT_URL_CLOUDFORMATION": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "ap-northeast-1",
            "AWS_REGION": "ap-northeast-1",
        })
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="ap-northeast-1"
        )
        cls.sqs = session.client("sqs", endpoint_url=endpoint)
        cls.cloudformation = session.client("cloudformation", endpoint_url=endpoint)

    @classmethod
    def tearDownClass(cls):
        cls.moto.terminate()
        cls.moto.wait(timeout=10)

    def setUp(self):
        name = uuid.uuid4().hex[:12]
        self.dead_letters = self.sqs.create_queue(QueueName=f"dlq-{name}")["QueueUrl"]
        dlq_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.dead_letters, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self.queue = self.sqs.create_queue(
            QueueName=f"queue-{name}",
            Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 240})},
        )["QueueUrl"]
        self.bodies = []
        self.ids = []
        for body, attributes in DEAD_LETTERS + [REDRIVEN]:
            text = json.dumps(body, ensure_ascii=False)
            self.bodies.append(text)
            sent = self.sqs.send_message(
                QueueUrl=self.dead_letters,
                MessageBody=text,
                MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
            )
            self.ids.append(sent["MessageId"])
        # The script moves what was there when it started, by SentTimestamp (milliseconds).
        time.sleep(1.1)

    def replay(self, *args, urls=True):
        command = [sys.executable, str(REPLAY), *args]
        if urls:
            command += ["--queue-url", self.queue, "--dead-letter-queue-url", self.dead_letters]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=120)

    def drain(self, url) -> list[dict]:
        """Every message in `url`, received (and so hidden) once each."""
        messages = {}
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=300,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            new = [m for m in batch if m["MessageId"] not in messages]
            if not new:
                return list(messages.values())
            messages.update((m["MessageId"], m) for m in new)

    def count(self, url) -> tuple[int, int]:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def assertNothingTyped(self, output):
        for typed in TYPED:
            self.assertNotIn(typed, output, "the script printed what a person typed")

    def test_dry_run_lists_and_moves_nothing(self):
        result = self.replay()
        self.assertEqual(result.returncode, 0, result.stderr)
        out = result.stdout
        for message_id in self.ids:
            self.assertIn(message_id, out)
        lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.split() and line.split()[0] in self.ids}
        self.assertEqual(lines[self.ids[0]], ["CB_VA01", "メールアドレス"])
        self.assertEqual(lines[self.ids[1]], ["CB_VA01", "参加セッション,希望日"])
        self.assertEqual(lines[self.ids[2]], ["unknown_form", "-"])
        self.assertEqual(lines[self.ids[3]], ["(redrive)", "-"])
        self.assertIn("4 message(s) would move (dry run)", out)
        self.assertNothingTyped(out + result.stderr)
        self.assertEqual(self.drain(self.queue), [])
        # Released at the end: all four are visible in the dead-letter queue again at once.
        self.assertEqual(self.count(self.dead_letters), (4, 0))
        self.assertEqual(sorted(m["Body"] for m in self.drain(self.dead_letters)), sorted(self.bodies))

    def test_apply_moves_every_message_unchanged(self):
        result = self.replay("--apply")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("moved 4 message(s) to the queue", result.stdout)
        self.assertNothingTyped(result.stdout + result.stderr)
        moved = self.drain(self.queue)
        self.assertEqual(Counter(m["Body"] for m in moved), Counter(self.bodies))
        for message in moved:
            attributes = message.get("MessageAttributes", {})
            self.assertNotIn("reason", attributes)
            self.assertNotIn("fields", attributes)
        self.assertEqual(
            sum(1 for m in moved if m.get("MessageAttributes", {}).get("form", {}).get("StringValue") == "seminar"), 1,
            "the redriven message keeps the attribute submit gave it",
        )
        self.assertEqual(self.count(self.dead_letters), (0, 0))
        self.assertEqual(self.drain(self.dead_letters), [])
        # A second run finds nothing.
        again = self.replay("--apply")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("moved 0 message(s)", again.stdout)

    def test_a_message_refused_again_meanwhile_waits_for_the_next_run(self):
        # Sent just now, as deliver would while the replay runs: after the script's start.
        fresh = self.sqs.send_message(
            QueueUrl=self.dead_letters, MessageBody=self.bodies[0],
            MessageAttributes={"reason": {"DataType": "String", "StringValue": "CB_VA01"}},
        )["MessageId"]
        result = self.replay("--apply")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("moved 4 message(s)", result.stdout)
        self.assertIn("1 message(s) arrived after the start", result.stdout)
        self.assertNotIn(fresh, result.stdout)
        self.assertEqual(self.count(self.dead_letters), (1, 0))
        self.assertEqual([m["MessageId"] for m in self.drain(self.dead_letters)], [fresh])

    def test_limit(self):
        result = self.replay("--apply", "--limit", "2")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("moved 2 message(s)", result.stdout)
        self.assertEqual(len(self.drain(self.queue)), 2)
        self.assertEqual(self.count(self.dead_letters)[0], 2)

    def test_a_failed_send_loses_nothing(self):
        missing = self.queue.rsplit("/", 1)[0] + "/no-such-queue"
        result = subprocess.run(
            [sys.executable, str(REPLAY), "--apply", "--queue-url", missing, "--dead-letter-queue-url", self.dead_letters],
            env=self.env, capture_output=True, text=True, timeout=120,
        )
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("stopped", result.stderr)
        self.assertNothingTyped(result.stdout + result.stderr)
        self.assertEqual(self.count(self.dead_letters), (4, 0))
        self.assertEqual(sorted(m["Body"] for m in self.drain(self.dead_letters)), sorted(self.bodies))

    def test_queue_urls_from_the_stack_outputs(self):
        stack = f"relay-{uuid.uuid4().hex[:8]}"
        template = {
            "Resources": {"Unused": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {
                "QueueUrl": {"Value": self.queue},
                "DeadLetterQueueUrl": {"Value": self.dead_letters},
            },
        }
        self.cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps(template))
        result = self.replay("--stack-name", stack, urls=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"dead-letter queue: {self.dead_letters}", result.stdout)
        self.assertIn("4 message(s) would move", result.stdout)

    def test_needs_both_urls_or_neither(self):
        result = subprocess.run(
            [sys.executable, str(REPLAY), "--queue-url", self.queue], env=self.env, capture_output=True, text=True
        )
        self.assertEqual(result.returncode, 2)


if __name__ == "__main__":
    unittest.main()
