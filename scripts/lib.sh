# Helpers shared by the scripts; source it, don't run it.

# Picks a free TCP port on loopback.
free_port() {
  .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts moto's Secrets Manager on loopback and points the AWS SDK at it, the standard way.
# Sets MOTO_PID; the caller stops it.
start_moto() {
  local port
  port=$(free_port)
  .venv/bin/moto_server -H 127.0.0.1 -p "$port" >"${MOTO_LOG:-/dev/null}" 2>&1 &
  MOTO_PID=$!
  export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$port"
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=ap-northeast-1 AWS_DEFAULT_REGION=ap-northeast-1
  unset AWS_PROFILE AWS_SESSION_TOKEN
  for _ in $(seq 1 100); do
    if .venv/bin/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "moto_server did not start on port $port" >&2
  return 1
}
