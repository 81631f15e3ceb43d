#!/usr/bin/env bash
# Make sure PostgreSQL and Redis are installed and listening on loopback, for `make test`.
#
# Debian 12, run as root. Idempotent: installs only what is missing and starts only what is not
# already answering. PostgreSQL must accept role `postgres` over TCP on 127.0.0.1 without a
# password; on a fresh install (peer/scram) a trust rule for loopback is added to pg_hba.conf.
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
WAIT_SECONDS=30
HBA_MARKER="# added by cardfile scripts/ensure-services.sh"

log() { printf 'ensure-services: %s\n' "$*"; }
die() {
  printf 'ensure-services: error: %s\n' "$*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and starts services)"

apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  log "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Run CHECK (a shell function or command) until it succeeds, for at most WAIT_SECONDS.
wait_for() {
  local what=$1
  shift
  local i
  for ((i = 0; i < WAIT_SECONDS; i++)); do
    if "$@"; then
      return 0
    fi
    sleep 1
  done
  die "$what did not come up within ${WAIT_SECONDS}s"
}

# --- PostgreSQL --------------------------------------------------------------------------------

pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" >/dev/null 2>&1; }

pg_server_installed() {
  command -v pg_ctlcluster >/dev/null 2>&1 &&
    compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

newest_version_in() { # newest PostgreSQL major version that has a directory under $1
  [ -d "$1" ] || return 0
  find "$1" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort -V | tail -n 1
}

pg_superuser_over_tcp() {
  PGCONNECT_TIMEOUT=5 psql -w -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres \
    -Atqc 'select 1' >/dev/null 2>&1
}

pg_as_postgres() { # over the local socket, where Debian's default is peer authentication
  runuser -u postgres -- psql -w -p "$PG_PORT" -d postgres -Atq "$@"
}

if ! pg_server_installed; then
  apt_install postgresql
fi

if pg_ready; then
  log "PostgreSQL is already running on $PG_HOST:$PG_PORT"
else
  version=$(newest_version_in /etc/postgresql)
  if [ -z "$version" ] || [ ! -f "/etc/postgresql/$version/main/postgresql.conf" ]; then
    version=$(newest_version_in /usr/lib/postgresql)
    [ -n "$version" ] || die "no PostgreSQL server found under /usr/lib/postgresql"
    log "creating PostgreSQL $version cluster 'main'"
    pg_createcluster --port "$PG_PORT" "$version" main >/dev/null
  fi
  status=$(pg_lsclusters --no-header | awk -v v="$version" '$1 == v && $2 == "main" { print $4 }')
  case "$status" in
    online*) die "PostgreSQL $version/main is running but not answering on $PG_HOST:$PG_PORT" ;;
  esac
  log "starting PostgreSQL $version/main"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_for "PostgreSQL on $PG_HOST:$PG_PORT" pg_ready
  log "PostgreSQL is up"
fi

if pg_superuser_over_tcp; then
  log "role postgres connects over TCP without a password"
else
  hba_file=$(pg_as_postgres -c 'show hba_file') || die "cannot reach PostgreSQL as postgres"
  [ -f "$hba_file" ] || die "pg_hba.conf not found at '$hba_file'"
  if ! grep -qF "$HBA_MARKER" "$hba_file"; then
    log "adding loopback trust rules for role postgres to $hba_file"
    # pg_hba.conf is first-match, so the rules go on top; `cat >` keeps owner and mode.
    tmp=$(mktemp)
    {
      printf '%s\n' "$HBA_MARKER"
      printf 'host    all    postgres    127.0.0.1/32    trust\n'
      printf 'host    all    postgres    ::1/128         trust\n'
      cat "$hba_file"
    } >"$tmp"
    cat "$tmp" >"$hba_file"
    rm -f "$tmp"
  fi
  pg_as_postgres -c 'select pg_reload_conf()' >/dev/null
  wait_for "passwordless TCP login for role postgres" pg_superuser_over_tcp
  log "role postgres now connects over TCP without a password"
fi

# --- Redis -------------------------------------------------------------------------------------

redis_ready() {
  [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null || true)" = "PONG" ]
}

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  apt_install redis-server
fi

if redis_ready; then
  log "Redis is already running on $REDIS_HOST:$REDIS_PORT"
else
  log "starting Redis on $REDIS_HOST:$REDIS_PORT"
  redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" \
    --save "" --appendonly no
  wait_for "Redis on $REDIS_HOST:$REDIS_PORT" redis_ready
  log "Redis is up"
fi

# --- Chromium, for the browser tests (Playwright drives Debian's build) ------------------------

if [ ! -x /usr/bin/chromium ]; then
  apt_install chromium fonts-dejavu-core
fi
log "Chromium: $(/usr/bin/chromium --version 2>/dev/null || echo 'installed')"
