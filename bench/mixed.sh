#!/usr/bin/env bash
# Mixed load benchmark (issue 8): see docs/PERFORMANCE.md.
#
#   bash bench/mixed.sh
#
# Builds the release server, then for each backend in BENCH_BACKENDS:
#   sqlite   one `serve` on a fresh SQLite file;
#   mariadb  BENCH_INSTANCES (3) `serve` processes on one fresh MariaDB
#            database (mixed_bench_<random> on BENCH_MYSQL_URL, dropped at the
#            end), sharing events through Redis (BENCH_REDIS_URL) as a
#            deployment of several instances does;
#   postgres the same on one fresh PostgreSQL database (mixed_bench_<random>
#            on BENCH_POSTGRES_URL, created and dropped with psql);
# with the same data: BENCH_STAFF (50) agents with BENCH_ALERTS (2 000) alerts
# each over the last 30 days (30 % unread, 10 % dismissed, 5 % expired; on
# SQLite by bench/seed.py, on MariaDB and PostgreSQL by one INSERT … SELECT
# with the same mix; then ANALYZE, on PostgreSQL VACUUM ANALYZE) and an admin,
# a token for each (`convergeai-alerts token --email`).
# Then wrk drives the mix of bench/mixed.lua, each request as a random agent:
#   80 % inbox reads: GET /api/v1/alerts?page=1&page_size=20 and
#        GET /api/v1/alerts/unread/count (half each);
#   15 % PUT /api/v1/alerts/{id}/read (10 %) or /dismiss (5 %) on one of that
#        agent's own alerts;
#    5 % POST /api/v1/complaints as the admin, assigned to a random agent (10 %
#        of them critical: those raise an alert inside the request);
# at BENCH_CONNECTIONS (64) connections for BENCH_DURATION (60s) after a
# BENCH_WARMUP (5s) warm-up, with --latency and --timeout BENCH_TIMEOUT (10s).
# With several instances the connections are split over them, one wrk process
# per instance, all at once; their counts are summed and their latency
# distributions merged (each wrk's quantiles, weighted by its requests).
# Prints requests/s, p50/p99/p99.9/max, non-2xx responses (by status) and socket
# errors (target: 0), each server's peak RSS (VmHWM) and CPU (utime + stime
# from /proc/PID/stat) per 1 000 requests, the database server's CPU (mariadbd;
# on PostgreSQL all `postgres` processes, with the backends that exited), wrk's,
# and what else ran on the machine meanwhile; then the database server's
# counters per request (MariaDB: SHOW GLOBAL STATUS; PostgreSQL: the bench
# database's row of pg_stat_database).
#
# BENCH_ONLY=reads (the inbox reads alone) or BENCH_ONLY=complaints (POST
# /api/v1/complaints alone), issue 22: the same servers and data, one kind.
#
# BENCH_ACKS=1 (issue 18): 10 % of the mix acknowledge one of the agent's
# alerts (PUT /api/v1/alerts/{id}/acknowledge; the inbox reads 35 % each), and
# bench/probe.py, alongside wrk on the first instance, times single mark-reads
# and acknowledgements in turn: their p50/p99 under that load, side by side.
#
# Knobs (environment): CARGO_TARGET_DIR (default /work/target-bench),
# BENCH_BACKENDS ("sqlite mariadb"), BENCH_STAFF (50 agents), BENCH_ALERTS
# (2000 per agent), BENCH_DURATION (60s), BENCH_WARMUP (5s), BENCH_CONNECTIONS
# (64), BENCH_THREADS (wrk threads per wrk process: 2 for one instance, 1 each
# for several), BENCH_TIMEOUT (10s), BENCH_INSTANCES (3, MariaDB and
# PostgreSQL), BENCH_PORT (18920; instances take the ports from there),
# BENCH_MYSQL_URL (mysql://root@127.0.0.1:3306), BENCH_POSTGRES_URL
# (postgres://postgres@127.0.0.1:5432; psql connects to its database
# `postgres` to create and drop the bench's), BENCH_REDIS_URL
# (redis://127.0.0.1:6379; empty: no Redis), BENCH_SEED (42), BENCH_BUILD=0
# (use the binary already built), BENCH_KEEP=1 (keep the temp dir and the
# MariaDB / PostgreSQL database),
# BENCH_QUIET_WAIT (60 s: wait for 3 quiet seconds before each run),
# BENCH_NICE (-20 as root, else 0; as in bench/inbox.sh: the servers and wrk
# run in a scheduling session of their own with that niceness).
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BACKENDS=${BENCH_BACKENDS:-sqlite mariadb}
STAFF=${BENCH_STAFF:-50}
PER_STAFF=${BENCH_ALERTS:-2000}
DURATION=${BENCH_DURATION:-60s}
WARMUP=${BENCH_WARMUP:-5s}
CONNS=${BENCH_CONNECTIONS:-64}
TIMEOUT=${BENCH_TIMEOUT:-10s}
INSTANCES=${BENCH_INSTANCES:-3}
PORT=${BENCH_PORT:-18920}
MYSQL_URL=${BENCH_MYSQL_URL:-mysql://root@127.0.0.1:3306}
PG_URL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
REDIS_URL=${BENCH_REDIS_URL-redis://127.0.0.1:6379}
SEED=${BENCH_SEED:-42}
ACKS=${BENCH_ACKS:-0}
ONLY=${BENCH_ONLY:-}
own_session "$@"
give_priority

# --- tools -------------------------------------------------------------------
need_wrk
need wrk curl python3 cargo
case " $BACKENDS " in *" mariadb "*) command -v mysql >/dev/null || die "the mysql client is required for mariadb" ;; esac
case " $BACKENDS " in *" postgres "* | *" postgresql "*) command -v psql >/dev/null || die "the psql client is required for postgres" ;; esac

build_release "the release binary" --quiet --bin convergeai-alerts
BIN=$CARGO_TARGET_DIR/release/convergeai-alerts
[ -x "$BIN" ] || die "$BIN missing"

# --- cleanup: our servers, our database, our temp dir ----------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mixed-bench.XXXXXX")
SERVER_PIDS=()
MYSQL_DB=
PG_DB=
read -r MYSQL_HOST MYSQL_PORT MYSQL_USER MYSQL_PASS < <(python3 -c '
import sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
print(u.hostname or "127.0.0.1", u.port or 3306, u.username or "root", urllib.parse.unquote(u.password or "") or "-")
' "$MYSQL_URL")
mysql_cli() {
    if [ "$MYSQL_PASS" = - ]; then mysql -h"$MYSQL_HOST" -P"$MYSQL_PORT" -u"$MYSQL_USER" "$@"
    else MYSQL_PWD=$MYSQL_PASS mysql -h"$MYSQL_HOST" -P"$MYSQL_PORT" -u"$MYSQL_USER" "$@"; fi
}
pg_cli() {   # DATABASE PSQL_ARGS...
    local db=$1
    shift
    psql -X -q -v ON_ERROR_STOP=1 "${PG_URL%/}/$db" "$@"
}
stop_servers() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    SERVER_PIDS=()
}
cleanup() {
    stop_servers
    if [ -n "$MYSQL_DB" ] && [ "${BENCH_KEEP:-0}" != 1 ]; then mysql_cli -e "DROP DATABASE IF EXISTS $MYSQL_DB" || true; fi
    if [ -n "$PG_DB" ] && [ "${BENCH_KEEP:-0}" != 1 ]; then pg_cli postgres -c "DROP DATABASE IF EXISTS $PG_DB" || true; fi
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $WORK${MYSQL_DB:+ and database $MYSQL_DB}${PG_DB:+ and database $PG_DB}" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for i in $(seq 0 $((INSTANCES - 1))); do
    port_free $((PORT + i)) || die "port $((PORT + i)) is in use (set BENCH_PORT)"
done

rss_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }       # a process: utime + stime
child_ticks() { awk '{ print $16 + $17 }' "/proc/$$/stat"; }     # this shell's waited children (wrk)
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }   # whole machine
pg_ticks() {   # POSTMASTER_PID: every `postgres` process's utime + stime, plus the postmaster's cutime + cstime (backends that exited)
    local stats
    mapfile -t stats < <(pgrep -x postgres | sed 's|.*|/proc/&/stat|')
    [ "${#stats[@]}" -gt 0 ] || { echo 0; return; }
    awk -v pm="/proc/$1/stat" '{ s += $14 + $15 } FILENAME == pm { s += $16 + $17 } END { print s + 0 }' "${stats[@]}" 2>/dev/null || true
}
CLK_TCK=$(getconf CLK_TCK)
wait_quiet() {   # up to BENCH_QUIET_WAIT s for 3 s in which less than 0.15 of a core is busy
    local deadline=$((SECONDS + ${BENCH_QUIET_WAIT:-60})) b0 told=0
    while :; do
        b0=$(busy_ticks); sleep 3
        [ $(($(busy_ticks) - b0)) -lt $((CLK_TCK * 45 / 100)) ] && return 0
        if [ "$SECONDS" -ge "$deadline" ]; then echo "machine still busy; measuring anyway" >&2; return 0; fi
        [ "$told" = 1 ] || { echo "waiting for the machine to be quiet (other processes are using CPU)" >&2; told=1; }
    done
}

# --- data ----------------------------------------------------------------------
# seed_sqlite URL / seed_mariadb URL DB / seed_postgres URL DB: staff and alerts; then data_file writes
# the wrk script's input: "agent STAFF_ID TOKEN ID,ID,..." and "admin STAFF_ID TOKEN".
seed_sqlite() {
    local db=${1#sqlite://}
    "$BIN" --database-url "$1" migrate >/dev/null
    "$BIN" --database-url "$1" staff create --email bench0@example.com --password benchpass123 --role agent >/dev/null
    nice -n "$NICE" python3 "$ROOT/bench/seed.py" "$db" "$STAFF" "$PER_STAFF" "$SEED"
    "$BIN" --database-url "$1" staff create --email admin@example.com --password benchpass123 --role admin >/dev/null
    python3 -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("ANALYZE")' "$db"
    python3 -c '
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
for staff, ids in con.execute("SELECT assigned_to_staff_id, group_concat(id) FROM alerts GROUP BY assigned_to_staff_id"):
    print(staff, ids)' "$db" >"$WORK/ids.txt"
}

seed_mariadb() {
    local db=$2 total=$((STAFF * PER_STAFF))
    "$BIN" --database-url "$1" migrate >/dev/null
    "$BIN" --database-url "$1" staff create --email bench0@example.com --password benchpass123 --role agent >/dev/null
    local t0=$SECONDS
    # bench1..bench(STAFF-1) copy bench0 (password hash, role); alerts as
    # bench/seed.py makes them: interleaved across staff in creation order over
    # the last 30 days, 30 % unread, 10 % dismissed, 5 % expired, the rest
    # expiring 1 to 30 days ahead. CRC32 of the row number stands in for a
    # seeded random number (deterministic, one per purpose).
    mysql_cli "$db" <<SQL
INSERT INTO staff (email, full_name, password_hash, role_id, is_active, created_at, updated_at)
SELECT CONCAT('bench', seq, '@example.com'), CONCAT('Bench Agent ', seq), s.password_hash, s.role_id, 1,
       UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)
FROM seq_1_to_$((STAFF - 1)) JOIN staff s ON s.email = 'bench0@example.com';
CREATE TEMPORARY TABLE bench_staff (n INT PRIMARY KEY, id BIGINT NOT NULL);
INSERT INTO bench_staff SELECT ROW_NUMBER() OVER (ORDER BY id) - 1, id FROM staff WHERE email LIKE 'bench%@example.com';
SET @now = UTC_TIMESTAMP(6);
INSERT INTO alerts (alert_type, severity, title, message, resource_type, resource_id, assigned_to_staff_id,
                    is_read, is_dismissed, alert_metadata, created_at, read_at, dismissed_at, expires_at)
SELECT ELT(1 + FLOOR(r.u_type * 4), 'sla_at_risk', 'sla_breach', 'critical_complaint', 'high_workload'),
       ELT(1 + FLOOR(r.u_sev * 3), 'info', 'warning', 'critical'),
       CONCAT('Alert for complaint #', r.seq), CONCAT('Complaint #', r.seq, ' needs attention.'),
       'complaint', r.seq, b.id,
       r.u_read >= 0.30, r.u_state < 0.10,
       JSON_OBJECT('complaint_id', r.seq),
       r.created,
       IF(r.u_read >= 0.30, LEAST(@now, r.created + INTERVAL FLOOR(r.u_when * 86400) SECOND), NULL),
       IF(r.u_state < 0.10, LEAST(@now, r.created + INTERVAL FLOOR(r.u_when * 86400) SECOND), NULL),
       IF(r.u_state >= 0.10 AND r.u_state < 0.15,
          r.created + INTERVAL FLOOR(TIMESTAMPDIFF(SECOND, r.created, @now) * r.u_when) SECOND,
          @now + INTERVAL (86400 + FLOOR(r.u_when * 29 * 86400)) SECOND)
FROM (SELECT seq,
             @now - INTERVAL FLOOR(2592000000000 * ($total - seq) / $total) MICROSECOND AS created,
             CRC32(CONCAT($SEED, '/type/', seq)) / 4294967296 AS u_type,
             CRC32(CONCAT($SEED, '/sev/', seq)) / 4294967296 AS u_sev,
             CRC32(CONCAT($SEED, '/read/', seq)) / 4294967296 AS u_read,
             CRC32(CONCAT($SEED, '/state/', seq)) / 4294967296 AS u_state,
             CRC32(CONCAT($SEED, '/when/', seq)) / 4294967296 AS u_when
      FROM seq_1_to_$total) r
JOIN bench_staff b ON b.n = r.seq % $STAFF;
ANALYZE TABLE alerts, staff;
SQL
    "$BIN" --database-url "$1" staff create --email admin@example.com --password benchpass123 --role admin >/dev/null
    mysql_cli -N "$db" -e "SET SESSION group_concat_max_len = 1000000000;
        SELECT assigned_to_staff_id, GROUP_CONCAT(id ORDER BY id) FROM alerts GROUP BY assigned_to_staff_id" >"$WORK/ids.txt"
    mysql_cli -N "$db" -e "SELECT CONCAT('seeded ', COUNT(DISTINCT assigned_to_staff_id), ' staff, ', COUNT(*), ' alerts in $((SECONDS - t0)) s: ',
        ROUND(100 * AVG(is_read = 0), 1), ' % unread, ', ROUND(100 * AVG(is_dismissed), 1), ' % dismissed, ',
        ROUND(100 * AVG(expires_at <= UTC_TIMESTAMP(6)), 1), ' % expired') FROM alerts" >&2
}

seed_postgres() {
    local db=$2 total=$((STAFF * PER_STAFF))
    "$BIN" --database-url "$1" migrate >/dev/null
    "$BIN" --database-url "$1" staff create --email bench0@example.com --password benchpass123 --role agent >/dev/null
    local t0=$SECONDS
    # seed_mariadb's data, in PostgreSQL's terms (booleans, timestamptz, json):
    # the first 32 bits of the MD5 of the same strings stand in for CRC32
    # (deterministic, one per purpose), generate_series for seq_1_to_N, now()
    # (the statement's start) for @now. VACUUM ANALYZE (the whole database: the
    # rollups the triggers filled too) rather than ANALYZE: it also sets the
    # visibility map and hint bits of the bulk-loaded tables, which autovacuum
    # (triggered by the inserts) and the first reads would otherwise do during
    # the run.
    pg_cli "$db" <<SQL
INSERT INTO staff (email, full_name, password_hash, role_id, is_active, created_at, updated_at)
SELECT 'bench' || seq || '@example.com', 'Bench Agent ' || seq, s.password_hash, s.role_id, true, now(), now()
FROM generate_series(1, $((STAFF - 1))) AS seq JOIN staff s ON s.email = 'bench0@example.com';
CREATE TEMPORARY TABLE bench_staff (n INT PRIMARY KEY, id BIGINT NOT NULL);
INSERT INTO bench_staff SELECT ROW_NUMBER() OVER (ORDER BY id) - 1, id FROM staff WHERE email LIKE 'bench%@example.com';
INSERT INTO alerts (alert_type, severity, title, message, resource_type, resource_id, assigned_to_staff_id,
                    is_read, is_dismissed, alert_metadata, created_at, read_at, dismissed_at, expires_at)
SELECT (ARRAY['sla_at_risk', 'sla_breach', 'critical_complaint', 'high_workload'])[1 + FLOOR(r.u_type * 4)::int],
       (ARRAY['info', 'warning', 'critical'])[1 + FLOOR(r.u_sev * 3)::int],
       'Alert for complaint #' || r.seq, 'Complaint #' || r.seq || ' needs attention.',
       'complaint', r.seq, b.id,
       r.u_read >= 0.30, r.u_state < 0.10,
       json_build_object('complaint_id', r.seq),
       r.created,
       CASE WHEN r.u_read >= 0.30 THEN LEAST(now(), r.created + FLOOR(r.u_when * 86400) * INTERVAL '1 second') END,
       CASE WHEN r.u_state < 0.10 THEN LEAST(now(), r.created + FLOOR(r.u_when * 86400) * INTERVAL '1 second') END,
       CASE WHEN r.u_state >= 0.10 AND r.u_state < 0.15
            THEN r.created + FLOOR(FLOOR(EXTRACT(EPOCH FROM now() - r.created))::float8 * r.u_when) * INTERVAL '1 second'
            ELSE now() + (86400 + FLOOR(r.u_when * 29 * 86400)) * INTERVAL '1 second' END
FROM (SELECT seq,
             now() - (2592000000000 * ($total - seq) / $total) * INTERVAL '1 microsecond' AS created,
             ('x' || left(md5('$SEED/type/' || seq), 8))::bit(32)::bigint / 4294967296.0 AS u_type,
             ('x' || left(md5('$SEED/sev/' || seq), 8))::bit(32)::bigint / 4294967296.0 AS u_sev,
             ('x' || left(md5('$SEED/read/' || seq), 8))::bit(32)::bigint / 4294967296.0 AS u_read,
             ('x' || left(md5('$SEED/state/' || seq), 8))::bit(32)::bigint / 4294967296.0 AS u_state,
             ('x' || left(md5('$SEED/when/' || seq), 8))::bit(32)::bigint / 4294967296.0 AS u_when
      FROM generate_series(1, $total) AS seq) r
JOIN bench_staff b ON b.n = r.seq % $STAFF;
VACUUM (ANALYZE);
SQL
    "$BIN" --database-url "$1" staff create --email admin@example.com --password benchpass123 --role admin >/dev/null
    pg_cli "$db" -At -F ' ' -c "SELECT assigned_to_staff_id, string_agg(id::text, ',' ORDER BY id) FROM alerts GROUP BY assigned_to_staff_id" >"$WORK/ids.txt"
    pg_cli "$db" -At -c "SELECT 'seeded ' || COUNT(DISTINCT assigned_to_staff_id) || ' staff, ' || COUNT(*) || ' alerts in $((SECONDS - t0)) s: ' ||
        ROUND(100 * AVG((NOT is_read)::int), 1) || ' % unread, ' || ROUND(100 * AVG(is_dismissed::int), 1) || ' % dismissed, ' ||
        ROUND(100 * AVG((expires_at <= now())::int), 1) || ' % expired' FROM alerts" >&2
}

data_file() {   # URL -> $WORK/data.txt
    local url=$1 email staff ids token
    : >"$WORK/data.txt"
    while read -r staff ids; do
        email=$(staff_email "$url" "$staff")
        token=$("$BIN" --database-url "$url" token --email "$email")
        echo "agent $staff $token $ids" >>"$WORK/data.txt"
    done <"$WORK/ids.txt"
    echo "admin - $("$BIN" --database-url "$url" token --email admin@example.com)" >>"$WORK/data.txt"
    [ "$(grep -c '^agent ' "$WORK/data.txt")" = "$STAFF" ] || die "expected $STAFF agents with alerts in $WORK/data.txt"
}

staff_email() {   # URL STAFF_ID
    case $1 in
        sqlite://*) python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT email FROM staff WHERE id = ?", (int(sys.argv[2]),)).fetchone()[0])' "${1#sqlite://}" "$2" ;;
        postgres://*) pg_cli "$PG_DB" -At -c "SELECT email FROM staff WHERE id = $2" ;;
        *) mysql_cli -N "$MYSQL_DB" -e "SELECT email FROM staff WHERE id = $2" ;;
    esac
}

# --- one backend: servers, warm-up, measured run, report ------------------------------
run() {   # LABEL URL INSTANCES
    local label=$1 url=$2 n=$3 i threads conns pids=() db_pid='' db_name=''
    threads=${BENCH_THREADS:-$([ "$n" = 1 ] && echo 2 || echo 1)}
    say "$label: starting $n server(s)"
    export RUST_LOG=warn ALERTS_SCHEDULER=off
    if [ "$n" -gt 1 ] && [ -n "$REDIS_URL" ]; then
        export ALERTS_REDIS_URL=$REDIS_URL ALERTS_REDIS_CHANNEL="mixed-bench-$(basename "$WORK")"
    else
        unset ALERTS_REDIS_URL ALERTS_REDIS_CHANNEL
    fi
    for i in $(seq 0 $((n - 1))); do
        nice -n "$NICE" "$BIN" --database-url "$url" serve --bind "127.0.0.1:$((PORT + i))" 2>"$WORK/server.$i.log" &
        SERVER_PIDS+=("$!")
        for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$((PORT + i))/health" 2>/dev/null && break; sleep 0.1; done
        curl -fsS -o /dev/null "http://127.0.0.1:$((PORT + i))/health" || { cat "$WORK/server.$i.log" >&2; die "server $i does not answer"; }
    done
    case $url in
        mysql://*) db_name=mariadbd db_pid=$(pgrep -xo mariadbd || pgrep -xo mysqld || true) ;;
        postgres://*) db_name=postgres db_pid=$(pgrep -xo postgres || true) ;;   # the postmaster
    esac
    db_ticks() { if [ "$db_name" = postgres ]; then pg_ticks "$db_pid"; else cpu_ticks "$db_pid"; fi; }

    # wrk processes: one per instance, the connections split over them.
    launch() {   # DURATION TAG
        local i c probe=
        pids=()
        if [ "$ACKS" = 1 ] && [ "$2" = run ]; then
            python3 "$ROOT/bench/probe.py" "http://127.0.0.1:$PORT" "$WORK/data.txt" "$(( ${1%s} - 2 ))" read,ack \
                >"$WORK/probe.run" 2>&1 &
            probe=$!
        fi
        for i in $(seq 0 $((n - 1))); do
            c=$((CONNS / n + (i < CONNS % n ? 1 : 0)))
            MIXED_QUANTILES="$WORK/quantiles.$2.$i" nice -n "$NICE" wrk -t"$threads" -c"$c" -d"$1" --timeout "$TIMEOUT" --latency \
                -s "$ROOT/bench/mixed.lua" "http://127.0.0.1:$((PORT + i))" -- "$WORK/data.txt" >"$WORK/wrk.$2.$i" 2>&1 &
            pids+=("$!")
        done
        for i in "${pids[@]}"; do wait "$i"; done
        if [ -n "$probe" ]; then wait "$probe" || { cat "$WORK/probe.run" >&2; die "the probe failed"; }; fi
    }
    say "$label: warm-up ($WARMUP)"
    launch "$WARMUP" warmup
    local warm_end=$SECONDS
    wait_quiet
    local before=() after=() hwm=() rss=() db0=0 db1=0 w0 w1 a0 a1 t0 t1
    # What the database server did meanwhile: MariaDB's server-wide counters
    # (nothing else should use it), PostgreSQL's for the bench database. A
    # PostgreSQL backend publishes its counters at most once a second, an idle
    # one up to 10 s later: the first reading waits for the warm-up's to be
    # out, the last one is taken once the servers' backends have exited.
    db_status() {
        case $db_name in
            mariadbd) mysql_cli -N -e "SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_select', 'Com_insert', 'Com_update',
                'Com_delete', 'Rows_read', 'Handler_read_key', 'Handler_read_next', 'Handler_read_prev', 'Innodb_data_fsyncs', 'Questions')" >"$1" ;;
            postgres) pg_cli postgres -At -F ' ' -c "SELECT v.* FROM pg_stat_database d, LATERAL (VALUES
                ('xact_commit', xact_commit), ('xact_rollback', xact_rollback), ('tup_returned', tup_returned),
                ('tup_fetched', tup_fetched), ('tup_inserted', tup_inserted), ('tup_updated', tup_updated),
                ('tup_deleted', tup_deleted), ('blks_hit', blks_hit), ('blks_read', blks_read)) v WHERE d.datname = '$PG_DB'" >"$1" ;;
        esac
    }
    if [ -n "$db_pid" ] && [ "$db_name" = postgres ]; then
        while [ $((SECONDS - warm_end)) -lt 11 ]; do sleep 1; done
    fi
    for i in "${SERVER_PIDS[@]}"; do before+=("$(cpu_ticks "$i")"); done
    [ -n "$db_pid" ] && db0=$(db_ticks) && db_status "$WORK/dbstatus.0"
    w0=$(child_ticks); a0=$(busy_ticks); t0=$(date +%s.%N)
    say "$label: $CONNS connections over $n instance(s), $DURATION (uptime: $(uptime | sed 's/.*load/load/'))"
    export MIXED_ACKS=$ACKS MIXED_ONLY=$ONLY
    launch "$DURATION" run
    t1=$(date +%s.%N); w1=$(child_ticks); a1=$(busy_ticks)
    [ -n "$db_pid" ] && db1=$(db_ticks) && [ "$db_name" = mariadbd ] && db_status "$WORK/dbstatus.1"
    for i in "${SERVER_PIDS[@]}"; do after+=("$(cpu_ticks "$i")"); hwm+=("$(rss_kb "$i" VmHWM)"); rss+=("$(rss_kb "$i" VmRSS)"); done
    for i in $(seq 0 $((n - 1))); do cat "$WORK/wrk.run.$i" >&2; done
    stop_servers
    if [ -n "$db_pid" ] && [ "$db_name" = postgres ]; then
        for _ in $(seq 50); do
            [ "$(pg_cli postgres -At -c "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = '$PG_DB'")" = 0 ] && break
            sleep 0.1
        done
        db_status "$WORK/dbstatus.1"
    fi
    for i in $(seq 0 $((n - 1))); do
        if grep -qiE 'error|panic' "$WORK/server.$i.log"; then
            echo "server $i logged (first lines):" >&2; grep -iE 'error|panic' "$WORK/server.$i.log" | head -5 >&2
        fi
    done
    python3 - "$label" "$n" "$WORK" "$CLK_TCK" "$t0" "$t1" "$w0" "$w1" "$a0" "$a1" "$db_name" "$db0" "$db1" "$CONNS" "$DURATION" \
        "${before[*]}" "${after[*]}" "${hwm[*]}" "${rss[*]}" <<'PY' | tee -a "$WORK/results.md"
import json, sys
(label, n, work, tck, t0, t1, w0, w1, a0, a1, db_name, db0, db1, conns, duration, before, after, hwm, rss) = sys.argv[1:]
n, tck = int(n), float(tck)
wall = float(t1) - float(t0)
runs = []
for i in range(n):
    line = next(l for l in open(f"{work}/wrk.run.{i}") if l.startswith("mixed "))
    runs.append(json.loads(line[len("mixed "):]))
# Each wrk's quantile function (percent -> us); the merged distribution is
# their mixture, weighted by requests: P(X <= x) = sum w_i F_i(x).
quantiles = []
for i in range(n):
    rows = [tuple(map(float, l.split())) for l in open(f"{work}/quantiles.run.{i}")]
    quantiles.append(rows)
weights = [r["requests"] for r in runs]
def cdf(rows, x):
    below = [p for p, us in rows if us <= x]
    return max(below) / 100 if below else 0.0
candidates = sorted({us for rows in quantiles for _, us in rows})
def pct(p):
    total = sum(weights)
    for x in candidates:
        if sum(w * cdf(rows, x) for w, rows in zip(weights, quantiles)) / total >= p / 100 - 1e-9:
            return x / 1000
    return candidates[-1] / 1000
requests = sum(r["requests"] for r in runs)
rps = sum(r["requests"] / (r["duration_us"] / 1e6) for r in runs)
errors = {k: sum(r["errors"][k] for r in runs) for k in ("connect", "read", "write", "timeout", "status")}
statuses, sent = {}, {}
for r in runs:
    for k, v in r["statuses"].items(): statuses[k] = statuses.get(k, 0) + v
    for k, v in r["sent"].items(): sent[k] = sent.get(k, 0) + v
before, after = list(map(int, before.split())), list(map(int, after.split()))
server_cpu = [(b - a) / tck for a, b in zip(before, after)]
hwm_mib = [int(x) / 1024 for x in hwm.split()]
rss_mib = [int(x) / 1024 for x in rss.split()]
db_cpu = (int(db1) - int(db0)) / tck
wrk_cpu = (int(w1) - int(w0)) / tck
other = max(0.0, (int(a1) - int(a0)) / tck - sum(server_cpu) - db_cpu - wrk_cpu)
per_k = lambda cpu: cpu / (requests / 1000) if requests else float("nan")
sent_total = sum(sent.values()) or 1
mix = ", ".join(f"{k} {100 * v / sent_total:.1f} %" for k, v in sorted(sent.items()))
non2xx = sum(statuses.values())
print(f"\n### {label}\n")
print(f"{conns} connections over {n} instance(s), {duration}; requests sent: {mix}\n")
print("| requests | requests/s | p50 | p99 | p99.9 | max | non-2xx | socket errors |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
max_ms = max(r["max_us"] for r in runs) / 1000
sock = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
print(f"| {requests:,} | {rps:,.0f} | {pct(50):.2f} ms | {pct(99):.2f} ms | {pct(99.9):.2f} ms | {max_ms:.2f} ms | "
      f"{non2xx} | {sock} |")
if statuses:
    print(f"\nnon-2xx by status: {json.dumps(statuses)}; samples: {json.dumps(sum((r['samples'] for r in runs), []))[:600]}")
if sock:
    print(f"\nsocket errors: {json.dumps({k: v for k, v in errors.items() if k != 'status'})}")
print("\n| process | CPU (cores) | CPU s per 1 000 requests | peak RSS (VmHWM) | RSS at the end |")
print("|---|---:|---:|---:|---:|")
for i in range(n):
    print(f"| serve {i} | {server_cpu[i] / wall:.2f} | {per_k(server_cpu[i]):.3f} | {hwm_mib[i]:.0f} MiB | {rss_mib[i]:.0f} MiB |")
if n > 1:
    print(f"| serve, all {n} | {sum(server_cpu) / wall:.2f} | {per_k(sum(server_cpu)):.3f} | {sum(hwm_mib):.0f} MiB | {sum(rss_mib):.0f} MiB |")
if db_cpu:
    print(f"| {'postgres (all processes)' if db_name == 'postgres' else db_name} | {db_cpu / wall:.2f} | {per_k(db_cpu):.3f} | | |")
print(f"| wrk | {wrk_cpu / wall:.2f} | {per_k(wrk_cpu):.3f} | | |")
print(f"| anything else | {other / wall:.2f} | | | |")
import os
if os.path.exists(f"{work}/dbstatus.1"):
    read = lambda i: {k: int(v) for k, v in (l.split() for l in open(f"{work}/dbstatus.{i}"))}
    s0, s1 = read(0), read(1)
    delta = {k: s1[k] - s0.get(k, 0) for k in s1}
    source = "PostgreSQL (pg_stat_database)" if db_name == "postgres" else "MariaDB"
    print(f"\n{source} per request: " + ", ".join(f"{k} {v / requests:.2f}" for k, v in sorted(delta.items())))
if os.path.exists(f"{work}/probe.run"):
    probe = json.loads(next(l for l in open(f"{work}/probe.run") if l.startswith("probe "))[len("probe "):])
    print("\nSingle writes timed by bench/probe.py alongside the mix (one at a time, in turn, on instance 0):\n")
    print("| request | requests | non-2xx | p50 | p99 | max |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind, name in (("read", "PUT /alerts/{id}/read"), ("ack", "PUT /alerts/{id}/acknowledge")):
        r = probe[kind]
        print(f"| {name} | {r['requests']:,} | {r['non_2xx']} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms | {r['max_ms']:.2f} ms |")
    print(f"\nacknowledge p99 / mark-read p99: {probe['ack']['p99_ms'] / probe['read']['p99_ms']:.2f}")
if other / wall > 0.15:
    print(f"\nPROBLEM: other processes used {other / wall:.2f} cores during the run; not a clean figure")
PY
}

SUFFIX=$(python3 -c 'import random, string; print("".join(random.choice(string.ascii_lowercase) for _ in range(10)))')
for backend in $BACKENDS; do
    case $backend in
        sqlite)
            url=sqlite://$WORK/bench.db
            say "SQLite $WORK/bench.db: migrate, $STAFF agents x $PER_STAFF alerts, an admin, tokens"
            seed_sqlite "$url"
            data_file "$url"
            run "SQLite, one instance" "$url" 1
            ;;
        mariadb | mysql)
            MYSQL_DB=mixed_bench_$SUFFIX
            mysql_cli -e "CREATE DATABASE $MYSQL_DB"
            url="${MYSQL_URL%/}/$MYSQL_DB"
            say "MariaDB database $MYSQL_DB: migrate, $STAFF agents x $PER_STAFF alerts, an admin, tokens"
            seed_mariadb "$url" "$MYSQL_DB"
            data_file "$url"
            run "MariaDB, $INSTANCES instances${REDIS_URL:+ (events via Redis)}" "$url" "$INSTANCES"
            ;;
        postgres | postgresql)
            PG_DB=mixed_bench_$SUFFIX
            pg_cli postgres -c "CREATE DATABASE $PG_DB"
            url="${PG_URL%/}/$PG_DB"
            say "PostgreSQL database $PG_DB: migrate, $STAFF agents x $PER_STAFF alerts, an admin, tokens"
            seed_postgres "$url" "$PG_DB"
            data_file "$url"
            run "PostgreSQL, $INSTANCES instances${REDIS_URL:+ (events via Redis)}" "$url" "$INSTANCES"
            ;;
        *) die "unknown backend $backend (sqlite, mariadb, postgres)" ;;
    esac
done

say "results"
cat "$WORK/results.md"
echo
pg_version=
[ -z "$PG_DB" ] || pg_version="; PostgreSQL $(pg_cli postgres -At -c 'SHOW server_version' 2>/dev/null || true)"
echo "machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(uname -sr); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $(mysql_cli -N -e 'SELECT VERSION()' 2>/dev/null || true)$pg_version"
echo "tree: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' plus uncommitted changes'); $(date -u '+%Y-%m-%d %H:%M UTC')"
