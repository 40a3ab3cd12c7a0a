/*
 * bench/eqp.c: ANALYZE and EXPLAIN QUERY PLAN with the very SQLite the
 * service links (libsqlite3-sys' bundled amalgamation, compiled with the same
 * SQLITE_ENABLE_STAT4 as there), so the plans shown are the service's plans.
 * bench/inbox.sh compiles it; not part of the cargo build.
 *
 *   eqp DB analyze
 *   eqp DB plan STAFF_ID NOW 'SQL with ?1 = staff id, ?2 = now, ?3 = 0 (false)'
 *   eqp DB time STAFF_ID NOW SQL   (mean microseconds per execution, one thread)
 *   eqp DB version
 *
 * Parameters are bound the way sqlx binds them (integer, RFC 3339 text,
 * integer 0 for false), because with STAT4 the planner may look at them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sqlite3.h"

static void die(sqlite3 *db, const char *what) {
    fprintf(stderr, "eqp: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    exit(1);
}

int main(int argc, char **argv) {
    sqlite3 *db = NULL;
    if (argc < 3) {
        fprintf(stderr, "usage: eqp DB analyze | eqp DB plan STAFF_ID NOW SQL | eqp DB version\n");
        return 2;
    }
    if (strcmp(argv[2], "version") == 0) {
        printf("%s\n", sqlite3_libversion());
        return 0;
    }
    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) die(db, "open");
    sqlite3_busy_timeout(db, 5000);
    if (strcmp(argv[2], "analyze") == 0) {
        if (sqlite3_exec(db, "ANALYZE", NULL, NULL, NULL) != SQLITE_OK) die(db, "ANALYZE");
        sqlite3_close(db);
        return 0;
    }
    int timing = strcmp(argv[2], "time") == 0;
    if ((!timing && strcmp(argv[2], "plan") != 0) || argc != 6) {
        fprintf(stderr, "eqp: bad arguments\n");
        return 2;
    }
    size_t n = strlen(argv[5]) + 32;
    char *sql = malloc(n);
    snprintf(sql, n, "%s%s", timing ? "" : "EXPLAIN QUERY PLAN ", argv[5]);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) die(db, "prepare");
    int params = sqlite3_bind_parameter_count(st);
    if (params >= 1) sqlite3_bind_int64(st, 1, atoll(argv[3]));
    if (params >= 2) sqlite3_bind_text(st, 2, argv[4], -1, SQLITE_TRANSIENT);
    if (params >= 3) sqlite3_bind_int64(st, 3, 0);
    if (timing) {
        /* like a pooled connection's cached statement: prepared once, reset per run */
        struct timespec a, b;
        long runs = 0, rows = 0;
        double elapsed = 0;
        clock_gettime(CLOCK_MONOTONIC, &a);
        while (elapsed < 1.0 || runs < 20) {
            int rc;
            while ((rc = sqlite3_step(st)) == SQLITE_ROW) rows++;
            if (rc != SQLITE_DONE) die(db, "step");
            sqlite3_reset(st);
            runs++;
            clock_gettime(CLOCK_MONOTONIC, &b);
            elapsed = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
        }
        printf("%.0f\n", elapsed / runs * 1e6);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return 0;
    }
    /* rows: id, parent, notused, detail; indent by depth like the sqlite3 shell */
    int ids[256], depth[256], count = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int id = sqlite3_column_int(st, 0), parent = sqlite3_column_int(st, 1), d = 0;
        for (int i = 0; i < count; i++)
            if (ids[i] == parent) d = depth[i] + 1;
        if (count < 256) { ids[count] = id; depth[count] = d; count++; }
        printf("%*s|--%s\n", d * 3, "", (const char *)sqlite3_column_text(st, 3));
    }
    if (rc != SQLITE_DONE) die(db, "step");
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(sql);
    return 0;
}
