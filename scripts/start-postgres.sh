#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the tests and print its URL.
# Uses the server binaries on PATH (or Debian's packages), runs as the `postgres`
# user (initdb refuses root), listens on 127.0.0.1:${PGPORT:-55432}, and accepts TLS
# with a server certificate signed by a throwaway CA made here (for 127.0.0.1 and
# localhost): the CA is at ${PG_TLS_DIR:-/tmp/fleetscope-pg-tls}/ca.pem, for clients
# that verify (sslmode=verify-full&sslrootcert=...).
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
tls=${PG_TLS_DIR:-/tmp/fleetscope-pg-tls}
if [ ! -s "$tls/server.key" ]; then
  command -v openssl >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl >/dev/null
  }
  rm -rf "$tls"; mkdir -p "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=fleetscope test CA" \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$tls/san.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
    -CAcreateserial -days 30 -extfile "$tls/san.ext" -out "$tls/server.crt" 2>/dev/null
  chmod 600 "$tls/server.key" "$tls/ca.key"
  [ "$(id -u)" = 0 ] && chown postgres "$tls/server.key" "$tls/server.crt"
fi
if ! as_pg "$pg_ctl -D $dir status" >/dev/null 2>&1; then
  rm -rf "$dir"; mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_pg "$initdb -D $dir -U postgres --auth=trust -E UTF8" >/dev/null
  as_pg "$pg_ctl -D $dir -l $dir/log -o '-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=on -c ssl=on -c ssl_cert_file=$tls/server.crt -c ssl_key_file=$tls/server.key' -w start" >/dev/null
fi
echo "postgres://postgres@127.0.0.1:$port/postgres"
