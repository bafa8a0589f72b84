# Shared by scripts/dev and scripts/test: the Python tools venv, a private Postgres cluster, the
# moto AWS emulator. Source it; every function prints what it does and fails loudly.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PY_TOOLS=("moto[server]==5.*" "cfn-lint" "aws-sam-cli" "openapi-spec-validator" "cargo-lambda")

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ensure_venv DIR [TOOL...]: a venv with the given Python tools (default: all of PY_TOOLS),
# installed once; a marker named after the tool list lets later runs skip pip. scripts/dev asks
# only for moto, so its first run does not wait for the SAM CLI.
ensure_venv() {
  local venv=$1; shift
  local tools=("$@"); [ ${#tools[@]} -gt 0 ] || tools=("${PY_TOOLS[@]}")
  local marker
  marker="$venv/.gateway-tools-$(printf '%s\n' "${tools[@]}" | sha256sum | cut -c1-12)"
  [ -f "$marker" ] && return 0
  log "installing Python tools into $venv: ${tools[*]} (once)"
  command -v python3 >/dev/null || die "python3 is required"
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv" || die "python3 -m venv failed"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${tools[@]}" || die "pip install failed"
  touch "$marker"
}

# as_postgres CMD...: PostgreSQL refuses to run as root; run it as the postgres user then.
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_up DIR PORT FSYNC: starts (initialising if needed) a cluster with data in DIR/data, socket in
# DIR, listening on 127.0.0.1:PORT. Prints "started" or "reused" on stdout.
pg_up() {
  local dir=$1 port=$2 fsync=$3
  [ -x "$PG_BIN/initdb" ] || die "PostgreSQL 15 binaries not found in $PG_BIN (set PG_BIN)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$dir"
    # the postgres user must be able to walk down to the data directory
    local p=$dir; while [ "$p" != / ]; do p=$(dirname "$p"); chmod o+x "$p" 2>/dev/null || true; done
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    log "initialising Postgres cluster in $dir/data"
    as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null \
      || die "initdb failed"
  fi
  if as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    echo reused; return 0
  fi
  log "starting Postgres on 127.0.0.1:$port (fsync=$fsync)"
  as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=$fsync -c synchronous_commit=$fsync -c full_page_writes=$fsync -c max_connections=300" \
    start >/dev/null || { tail -20 "$dir/server.log" >&2; die "Postgres did not start (log: $dir/server.log)"; }
  echo started
}

pg_down() {
  local dir=$1
  as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# psql_admin PORT DB SQL
psql_admin() {
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d "$2" -c "$3"
}

# pg_ensure_db PORT NAME
pg_ensure_db() {
  local exists
  exists=$("$PG_BIN/psql" -X -tA -h 127.0.0.1 -p "$1" -U postgres -d postgres \
    -c "SELECT 1 FROM pg_database WHERE datname = '$2'") || die "cannot reach Postgres on port $1"
  [ "$exists" = 1 ] || psql_admin "$1" postgres "CREATE DATABASE \"$2\""
}

# moto_up VENV PORT LOG PIDFILE: starts moto unless something already answers on PORT.
# Prints "started" or "reused" on stdout.
moto_up() {
  local venv=$1 port=$2 logf=$3 pidf=$4
  if curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1; then echo reused; return 0; fi
  log "starting the AWS emulator (moto) on 127.0.0.1:$port"
  # moto_server.py: moto's server with DynamoDB writes made atomic, as they are in AWS.
  nohup "$venv/bin/python" "$(dirname "${BASH_SOURCE[0]}")/moto_server.py" -H 127.0.0.1 -p "$port" >"$logf" 2>&1 &
  echo $! >"$pidf"
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && { echo started; return 0; }
    sleep 0.1
  done
  tail -20 "$logf" >&2; die "moto did not start (log: $logf)"
}

moto_down() {
  local pidf=$1 pid
  pid=$(cat "$pidf" 2>/dev/null) || return 0
  # Only ever stop our moto: after a crash the PID may belong to something else by now.
  if [ -n "$pid" ] && grep -qa moto_server "/proc/$pid/cmdline" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
  rm -f "$pidf"
}

# sandboxes_up LOG PIDFILE [CONTROL_PORT NMI_PORT AUTHORIZE_NET_PORT]: starts the payment provider
# sandboxes (tests/sandboxes/providers.py; ports 0 = any free one) and exports SANDBOX_CONTROL_URL,
# SANDBOX_NMI_URL and SANDBOX_AUTHORIZE_NET_URL from the line it announces itself with.
sandboxes_up() {
  local logf=$1 pidf=$2 line="" root
  # Already up on the ports asked for (an earlier scripts/dev): reuse them, as Postgres and moto.
  if [ "${3:-0}" != 0 ] && curl -sf "http://127.0.0.1:$3/_control/health" >/dev/null 2>&1; then
    export SANDBOX_CONTROL_URL="http://127.0.0.1:$3" SANDBOX_NMI_URL="http://127.0.0.1:$4" \
      SANDBOX_AUTHORIZE_NET_URL="http://127.0.0.1:$5"
    return 0
  fi
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  python3 "$root/tests/sandboxes/providers.py" --control-port "${3:-0}" --nmi-port "${4:-0}" \
    --authorize-net-port "${5:-0}" >"$logf" 2>"$logf.err" &
  echo $! >"$pidf"
  for _ in $(seq 1 100); do
    line=$(grep -m1 '^sandboxes listening ' "$logf" 2>/dev/null || true)
    [ -n "$line" ] && break
    sleep 0.1
  done
  [ -n "$line" ] || { tail -20 "$logf.err" >&2; die "the payment sandboxes did not start (log: $logf.err)"; }
  sandbox_url() { tr ' ' '\n' <<<"$line" | sed -n "s/^$1=//p"; }
  SANDBOX_CONTROL_URL=$(sandbox_url control)
  SANDBOX_NMI_URL=$(sandbox_url nmi)
  SANDBOX_AUTHORIZE_NET_URL=$(sandbox_url authorize_net)
  export SANDBOX_CONTROL_URL SANDBOX_NMI_URL SANDBOX_AUTHORIZE_NET_URL
}

sandboxes_down() {
  local pidf=$1 pid
  pid=$(cat "$pidf" 2>/dev/null) || return 0
  if [ -n "$pid" ] && grep -qa providers.py "/proc/$pid/cmdline" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
  rm -f "$pidf"
}

aws_env() {
  export AWS_ENDPOINT_URL="http://127.0.0.1:$1" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
}
