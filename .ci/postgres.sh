#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests (issue 21), on loopback only.
#
#   .ci/postgres.sh start [DIR]    initdb into DIR (default /tmp/jaring-pg) on a
#                                  free port, start it, print `export ...` lines
#                                  (JARING_TEST_PG_URL, JARING_TEST_PG_PASSWORD_FILE,
#                                  JARING_TEST_PG_SCRIPT); `eval "$(.ci/postgres.sh start)"`
#   .ci/postgres.sh stop [DIR]     stop it (the data stays until DIR is removed)
#   .ci/postgres.sh run CMD...     start one in a new temporary directory, run
#                                  CMD with those variables set, then stop it
#                                  and remove the directory (also when CMD fails
#                                  or is interrupted); exits with CMD's status.
#                                  What `.ci/run` and the README's test command do.
#   .ci/postgres.sh replica PRIMARY_DIR REPLICA_DIR
#                                  pg_basebackup a streaming replica of the
#                                  primary into REPLICA_DIR, start it on a free
#                                  port, print its port
#   .ci/postgres.sh stop-dir DIR   stop the cluster in DIR (a replica)
#
# PostgreSQL refuses to run as root: as root the cluster belongs to the
# `postgres` user (created, with Debian's `postgresql` package, when the
# binaries are missing). Authentication is scram-sha-256 with a generated
# password kept in DIR/password (0600), so the tests exercise the node's
# password file. Everything binds 127.0.0.1.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

pg_bin() {
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir
        return
    fi
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"
        return
    fi
    local newest
    newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [ -n "$newest" ] && [ -x "$newest/initdb" ]; then
        echo "$newest"
        return
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "no PostgreSQL binaries; installing Debian's postgresql package"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq --no-install-recommends postgresql >&2
        newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
        if [ -n "$newest" ]; then
            echo "$newest"
            return
        fi
    fi
    log "no PostgreSQL found (initdb, pg_ctl); install Debian's postgresql package"
    exit 1
}

BIN=$(pg_bin)

# Runs a PostgreSQL program as the cluster's owner.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$OWNER" -- "$@"
    else
        "$@"
    fi
}

if [ "$(id -u)" = 0 ]; then
    OWNER=postgres
    if ! id "$OWNER" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$OWNER"
    fi
else
    OWNER=$(id -un)
fi

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts the cluster in $1 on port $2 and waits until it accepts connections.
start_cluster() {
    local dir=$1 port=$2
    as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >&2
}

cmd=${1:-}
case "$cmd" in
run)
    shift
    [ $# -gt 0 ] || { echo "usage: $0 run CMD..." >&2; exit 64; }
    RUN_DIR=$(mktemp -d /tmp/jaring-pg.XXXXXX)
    SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
    cleanup() {
        "$SELF" stop "$RUN_DIR" >/dev/null 2>&1 || true
        rm -rf "$RUN_DIR"
    }
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    eval "$("$SELF" start "$RUN_DIR")"
    set +e
    "$@"
    rc=$?
    set -e
    exit "$rc"
    ;;
start)
    DIR=${2:-/tmp/jaring-pg}
    if [ -f "$DIR/env" ] && as_owner "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
        log "already running ($DIR)"
        cat "$DIR/env"
        exit 0
    fi
    rm -rf "$DIR"
    mkdir -p "$DIR"
    chmod 0755 "$DIR"
    PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    umask 077
    printf '%s\n' "$PASSWORD" >"$DIR/password"
    # The owner reads the password once, for initdb; the tests read the
    # 0600 copy.
    cp "$DIR/password" "$DIR/initdb-password"
    chown "$OWNER" "$DIR/initdb-password" "$DIR"
    umask 022
    as_owner "$BIN/initdb" -D "$DIR/data" -U jaring --auth=scram-sha-256 \
        --pwfile="$DIR/initdb-password" -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 || {
        cat "$DIR/initdb.log" >&2
        exit 1
    }
    rm -f "$DIR/initdb-password"
    cat >>"$DIR/data/postgresql.conf" <<'EOF'
# Jaring tests: streaming replicas need WAL senders and slots.
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
max_connections = 200
shared_buffers = 128MB
EOF
    PORT=$(free_port)
    start_cluster "$DIR" "$PORT"
    {
        echo "export JARING_TEST_PG_URL=postgres://jaring@127.0.0.1:$PORT/postgres"
        echo "export JARING_TEST_PG_PASSWORD_FILE=$DIR/password"
        echo "export JARING_TEST_PG_DIR=$DIR"
        echo "export JARING_TEST_PG_SCRIPT=$(cd "$(dirname "$0")" && pwd)/postgres.sh"
    } >"$DIR/env"
    echo "$PORT" >"$DIR/port"
    log "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT ($DIR)"
    cat "$DIR/env"
    ;;
stop)
    DIR=${2:-/tmp/jaring-pg}
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >&2 || true
    ;;
stop-dir)
    DIR=${2:?usage: stop-dir DIR}
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >&2 || true
    ;;
replica)
    PRIMARY=${2:?usage: replica PRIMARY_DIR REPLICA_DIR}
    REPLICA=${3:?usage: replica PRIMARY_DIR REPLICA_DIR}
    PPORT=$(cat "$PRIMARY/port")
    rm -rf "$REPLICA"
    mkdir -p "$REPLICA"
    chown "$OWNER" "$REPLICA"
    # pg_basebackup reads the password from PGPASSFILE (the owner's copy).
    umask 077
    printf '127.0.0.1:%s:*:jaring:%s\n' "$PPORT" "$(cat "$PRIMARY/password")" >"$REPLICA/pgpass"
    chown "$OWNER" "$REPLICA/pgpass"
    umask 022
    as_owner env PGPASSFILE="$REPLICA/pgpass" "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PPORT" -U jaring \
        -D "$REPLICA/data" -R -X stream -c fast >"$REPLICA/basebackup.log" 2>&1 || {
        cat "$REPLICA/basebackup.log" >&2
        exit 1
    }
    # -R wrote primary_conninfo without the password: point it at the pgpass file.
    echo "primary_conninfo = 'host=127.0.0.1 port=$PPORT user=jaring passfile=$REPLICA/pgpass'" \
        >>"$REPLICA/data/postgresql.auto.conf"
    RPORT=$(free_port)
    start_cluster "$REPLICA" "$RPORT"
    echo "$RPORT" >"$REPLICA/port"
    log "streaming replica of :$PPORT on 127.0.0.1:$RPORT ($REPLICA)"
    echo "$RPORT"
    ;;
*)
    echo "usage: $0 start [DIR] | stop [DIR] | run CMD... | replica PRIMARY_DIR REPLICA_DIR | stop-dir DIR" >&2
    exit 64
    ;;
esac
