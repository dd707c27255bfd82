# Helpers shared by the scripts; source it, don't run it.

# Picks a free TCP port on loopback.
free_port() {
  .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts moto (Secrets Manager, SQS and DynamoDB in one server) on loopback and points the AWS
# SDK at it, the standard way.
# Sets MOTO_PID; the caller stops it.
start_moto() {
  local port
  port=$(free_port)
  .venv/bin/moto_server -H 127.0.0.1 -p "$port" >"${MOTO_LOG:-/dev/null}" 2>&1 &
  MOTO_PID=$!
  export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$port"
  export AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$port"
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=ap-northeast-1 AWS_DEFAULT_REGION=ap-northeast-1
  unset AWS_PROFILE AWS_SESSION_TOKEN
  for _ in $(seq 1 100); do
    if .venv/bin/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; then
      create_limits_table
      return 0
    fi
    sleep 0.1
  done
  echo "moto_server did not start on port $port" >&2
  return 1
}

# Creates the attempt counters' table in the DynamoDB the environment points at (moto, after
# start_moto) from template.yaml's own LimitsTable definition, so the two cannot drift, and
# exports RELAY_LIMITS_TABLE.
create_limits_table() {
  export RELAY_LIMITS_TABLE=${RELAY_LIMITS_TABLE:-relay-limits}
  .venv/bin/python - <<'PY'
import os
import boto3
from cfnlint.decode import cfn_yaml

table = cfn_yaml.load("template.yaml")["Resources"]["LimitsTable"]["Properties"]
dynamodb = boto3.client("dynamodb")
name = os.environ["RELAY_LIMITS_TABLE"]
if name not in dynamodb.list_tables()["TableNames"]:
    dynamodb.create_table(
        TableName=name,
        KeySchema=[dict(k) for k in table["KeySchema"]],
        AttributeDefinitions=[dict(a) for a in table["AttributeDefinitions"]],
        BillingMode=table["BillingMode"],
    )
    ttl = table["TimeToLiveSpecification"]
    dynamodb.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
    )
PY
}

# Creates (or updates) the demo token secrets in the Secrets Manager the environment points at
# (moto, after start_moto); the tokens are the kintone emulator's --demo ones.
put_demo_secrets() {
  .venv/bin/python - <<'PY'
import secrets
import boto3
sm = boto3.client("secretsmanager")
for name, token in {
    "kintone-relay/seminar-add": "demoSeminarAddToken000000000000000000000",
    "kintone-relay/careers-add": "demoCareersAddToken000000000000000000000",
    "kintone-relay/deals-view": "demoDealsViewToken0000000000000000000000",
    # relay.toml [limits] key_secret: any random string (template.yaml generates the real one).
    "kintone-relay/limits-key": secrets.token_hex(32),
}.items():
    try:
        sm.create_secret(Name=name, SecretString=token)
    except sm.exceptions.ResourceExistsException:
        sm.put_secret_value(SecretId=name, SecretString=token)
PY
}

# Creates the submission queue and its dead-letter queue in the SQS the environment points at
# (moto, after start_moto), redriven after 5 receives as template.yaml's default, with a short
# visibility timeout so that a batch deliver could not add comes back within seconds, and
# exports RELAY_QUEUE_URL and RELAY_DEAD_LETTER_QUEUE_URL.
create_dev_queues() {
  local urls
  urls=$(.venv/bin/python - <<'PY'
import json
import boto3
sqs = boto3.client("sqs")
dead = sqs.create_queue(QueueName="relay-dead-letters")["QueueUrl"]
dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
queue = sqs.create_queue(QueueName="relay-submissions", Attributes={
    "VisibilityTimeout": "5",
    "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": "5"}),
})["QueueUrl"]
print(queue, dead)
PY
  )
  read -r RELAY_QUEUE_URL RELAY_DEAD_LETTER_QUEUE_URL <<<"$urls"
  export RELAY_QUEUE_URL RELAY_DEAD_LETTER_QUEUE_URL
}

# Writes to $1 the tests' own config (tests/fixtures: the seminar form and the deals lookup),
# pointed at the kintone at $2 and reading the demo secrets of put_demo_secrets; so editing the
# shipped relay.toml changes nothing the tests check.
write_test_config() {
  {
    printf '[kintone]\nbase_url = "%s"\n\n' "$2"
    sed 's|{secret:add}|kintone-relay/seminar-add|' tests/fixtures/seminar.toml
    echo
    sed 's|{secret:view}|kintone-relay/deals-view|' tests/fixtures/deals.toml
  } >"$1"
}

# Waits until something listens on 127.0.0.1:$1 (at most $2 seconds, default 30).
wait_for_port() {
  local port=$1 deadline=$((SECONDS + ${2:-30}))
  until .venv/bin/python -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "nothing listens on 127.0.0.1:$port" >&2
      return 1
    fi
    sleep 0.2
  done
}
