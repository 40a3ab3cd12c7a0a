#!/usr/bin/env bash
# Alert-engine benchmark: see docs/PERFORMANCE.md, "Alert engine (issue 4)".
#
#   bash bench/engine.sh
#
# Builds examples/engine_bench (release) and runs it for each size on each
# backend: fill 200 staff + N complaints in a fresh database, time the first
# check_all and the second (deduplicated) check_all (medians of three), and
# the ceiling: the same alerts written by a bare INSERT ... SELECT per rule
# into a copy of `alerts` with its indexes, foreign key and triggers,
# bare_idx_copy; for information also into an index-free copy, bare, and into
# the real table, bare_alerts. Prints the RESULT lines and a table with the
# ratios first/bare_idx_copy (the target), first/bare, second/first and
# first(large)/first(small).
#
# Knobs (environment): CARGO_TARGET_DIR (default /work/target-bench),
# BENCH_SIZES ("100000 1000000"), BENCH_BACKENDS ("sqlite mariadb postgres"),
# BENCH_MYSQL_URL (mysql://root@127.0.0.1:3306/test),
# BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test),
# BENCH_TIMEOUT (seconds per run, 1800), BENCH_PROFILE=1 logs the engine's
# per-statement timings (RUST_LOG=convergeai_alerts::storage::engine=debug) to stderr,
# BENCH_OUT (file collecting the raw lines; default a fresh mktemp file).
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SIZES=${BENCH_SIZES:-100000 1000000}
BACKENDS=${BENCH_BACKENDS:-sqlite mariadb postgres}
MYSQL_URL=${BENCH_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}
POSTGRES_URL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
TIMEOUT=${BENCH_TIMEOUT:-1800}
OUT=${BENCH_OUT:-$(mktemp "${TMPDIR:-/tmp}/engine-bench.XXXXXX")}

build_release examples/engine_bench --example engine_bench
BIN=$CARGO_TARGET_DIR/release/examples/engine_bench
# What was measured (read-only git; no optional index refresh).
say "source: HEAD $(cd "$ROOT" && GIT_OPTIONAL_LOCKS=0 git rev-parse --short HEAD 2>/dev/null || echo '?'), \
$(cd "$ROOT" && GIT_OPTIONAL_LOCKS=0 git status --porcelain -- src 2>/dev/null | wc -l) changed file(s) under src/; \
engine sha256: $(cd "$ROOT" && sha256sum src/storage/engine/*.rs src/domain/engine.rs | cut -c1-12 | tr '\n' ' ')"

say "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
: >"$OUT"
for backend in $BACKENDS; do
    case $backend in
        sqlite) url=sqlite:// ;;
        mariadb | mysql) url=$MYSQL_URL ;;
        postgres) url=$POSTGRES_URL ;;
        *) echo "unknown backend $backend" >&2; exit 1 ;;
    esac
    for n in $SIZES; do
        say "$backend, $n complaints"
        start=$(date +%s)
        log=${RUST_LOG:-warn}
        [[ ${BENCH_PROFILE:-0} == 1 ]] && log=warn,convergeai_alerts::storage::engine=debug
        if ! RUST_LOG=$log timeout "$TIMEOUT" "$BIN" --database-url "$url" --complaints "$n" | tee -a "$OUT"; then
            echo "RESULT backend=$backend complaints=$n failed_or_timed_out_after_s=$(( $(date +%s) - start ))" | tee -a "$OUT"
        fi
    done
done

say "summary (seconds; ratios: first/bare_idx_copy target <= 1.5, second/first target <= 0.5, 1M/100k target ~10)"
awk '
/^RESULT/ {
    delete f
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    if (!("first_check_s" in f)) { printf "%-9s %9s  (failed or timed out)\n", f["backend"], f["complaints"]; next }
    key = f["backend"] SUBSEP f["complaints"]
    first[key] = f["first_check_s"]
    if (!(f["backend"] in seen)) { seen[f["backend"]] = 1; order[++nb] = f["backend"] }
    sizes[f["backend"], ++ns[f["backend"]]] = f["complaints"]
    rows[key] = sprintf("%-9s %9s %8s %9s %9s %9s %8s %9s %10s %11s %11s %10s", f["backend"], f["complaints"], f["fill_s"],
        f["first_check_s"], f["second_check_s"], f["bare_copy_idx_s"], f["bare_sql_s"], f["bare_idx_s"],
        sprintf("%.2f", f["first_check_s"] / (f["bare_copy_idx_s"] > 0 ? f["bare_copy_idx_s"] : 1e-9)),
        sprintf("%.2f", f["first_check_s"] / (f["bare_sql_s"] > 0 ? f["bare_sql_s"] : 1e-9)),
        sprintf("%.2f", f["second_check_s"] / (f["first_check_s"] > 0 ? f["first_check_s"] : 1e-9)),
        f["alerts_first"] "/" f["alerts_bare"])
}
END {
    printf "%-9s %9s %8s %9s %9s %9s %8s %9s %10s %11s %11s %10s %9s\n", "backend", "complaints", "fill", "first", "second",
        "bare_idxcp", "bare", "bare_alrt", "1st/idxcp", "first/bare", "second/1st", "alerts", "big/small"
    for (b = 1; b <= nb; b++) {
        name = order[b]
        small = sizes[name, 1]
        for (s = 1; s <= ns[name]; s++) {
            n = sizes[name, s]
            scale = (s > 1 && first[name SUBSEP small] > 0) ? sprintf("%.2f", first[name SUBSEP n] / first[name SUBSEP small]) : "-"
            printf "%s %9s\n", rows[name SUBSEP n], scale
        }
    }
}' "$OUT"
echo "(raw lines in $OUT)" >&2
