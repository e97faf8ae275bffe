#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the tests and print its URL.
# Uses the server binaries on PATH (or Debian's packages), runs as the `postgres`
# user (initdb refuses root), listens on 127.0.0.1:${PGPORT:-55432}.
set -euo pipefail
port=${PGPORT:-55432}
dir=${PGDATA_DIR:-/tmp/fleetscope-pg}
find_bin() { command -v "$1" 2>/dev/null || ls /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | tail -n 1; }
initdb=$(find_bin initdb); pg_ctl=$(find_bin pg_ctl)
if [ -z "$initdb" ] || [ -z "$pg_ctl" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  initdb=$(find_bin initdb); pg_ctl=$(find_bin pg_ctl)
fi
id postgres >/dev/null 2>&1 || useradd --system --home "$dir" postgres
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
if ! as_pg "$pg_ctl -D $dir status" >/dev/null 2>&1; then
  rm -rf "$dir"; mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_pg "$initdb -D $dir -U postgres --auth=trust -E UTF8" >/dev/null
  as_pg "$pg_ctl -D $dir -l $dir/log -o '-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=on' -w start" >/dev/null
fi
echo "postgres://postgres@127.0.0.1:$port/postgres"
