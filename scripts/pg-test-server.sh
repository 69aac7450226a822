#!/bin/sh
# A throwaway PostgreSQL cluster for tests and benchmarks, from the distribution's server binaries.
#   pg-test-server.sh start <dir> <port>   initdb into <dir>, start on 127.0.0.1:<port>, print its URL
#   pg-test-server.sh stop <dir>           stop it and delete <dir>
# Password auth over TCP (user steme, password $STEME_PG_PASSWORD or "steme"); extra server
# settings in $PG_OPTS (e.g. "-c fsync=off" for tests). As root, the server runs as user postgres.
set -eu
cmd=${1:?usage: pg-test-server.sh start <dir> <port> | stop <dir>}
dir=${2:?a data directory is required}
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ ! -x "$bin/initdb" ]; then
  echo "no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin); install them (apt-get install -y postgresql) or set PG_BIN" >&2
  exit 2
fi
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case $cmd in
start)
  port=${3:?a port is required}
  pw=${STEME_PG_PASSWORD:-steme}
  mkdir -p "$dir"
  chmod 700 "$dir"
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
    runuser -u postgres -- test -w "$dir" || { echo "user postgres cannot write $dir: every parent directory must be searchable by it (use a directory directly under /tmp)" >&2; exit 2; }
  fi
  printf '%s\n' "$pw" | as_pg sh -c "cat > '$dir/pwfile'"
  as_pg "$bin/initdb" -D "$dir/data" -U steme --pwfile="$dir/pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 ${PG_OPTS:-}" start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  echo "postgres://steme:$pw@127.0.0.1:$port/postgres"
  ;;
stop)
  if [ -d "$dir/data" ]; then as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
  ;;
*)
  echo "unknown command $cmd: use start or stop" >&2
  exit 2
  ;;
esac
