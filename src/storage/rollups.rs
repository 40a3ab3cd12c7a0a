//! Migration `m0005`: the statistics rollups and the triggers that keep them.
//!
//! `GET /alerts/stats` over a million alerts cannot afford to read them all
//! (a GROUP BY over 1 M rows sorts them: seconds on SQLite). Three tables hold
//! what it needs, written by database triggers on `alerts`, so that every
//! writer keeps them true — the engine, the API, the cleanup job, another
//! system writing the table, a bulk import:
//!
//! - `alert_stats_hourly` (hour, alert type, severity): alerts, read, dismissed;
//! - `alert_stats_staff_hourly` (staff, hour): alerts;
//! - `alert_latencies` (alert, `read` | `dismiss`): the recipient, `created_at`
//!   and the latency's histogram bucket, for time to read / dismiss.
//!
//! Every trigger takes the old row's contribution out and puts the new row's
//! in, so any insert, update or delete leaves the rollups equal to an
//! aggregate over `alerts` (the tests compare them). Hours are whole hours
//! since the Unix epoch. The statements are per dialect, built here and
//! nowhere else.
use sea_orm_migration::prelude::*;

use super::dialect::{Dialect, as_int, epoch_hour, floor, seconds_between};
use super::migrations::{index, table, ts};

pub struct StatsRollups;

impl MigrationName for StatsRollups {
    fn name(&self) -> &str {
        "m0005_stats_rollups"
    }
}

/// The columns whose change moves an alert between rollup rows.
const TRACKED: [&str; 6] = ["created_at", "alert_type", "severity", "assigned_to_staff_id", "read_at", "dismissed_at"];

#[async_trait::async_trait]
impl MigrationTrait for StatsRollups {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let b = Dialect::try_from(m.get_database_backend())?;
        // IF NOT EXISTS: a migration retried after a partial run goes on.
        let table = |name: &'static str| table(b).table(name).if_not_exists().to_owned();
        let int = |name: &'static str| ColumnDef::new(name).big_integer().not_null().default(0).take();
        m.create_table(
            table("alert_stats_hourly")
                .col(ColumnDef::new("hour").big_integer().not_null())
                .col(ColumnDef::new("alert_type").string_len(50).not_null())
                .col(ColumnDef::new("severity").string_len(20).not_null())
                .col(int("alerts_total"))
                .col(int("alerts_read"))
                .col(int("alerts_dismissed"))
                .primary_key(Index::create().col("hour").col("alert_type").col("severity"))
                .take(),
        )
        .await?;
        // Led by staff: the per-staff sums read it in key order, without a sort.
        m.create_table(
            table("alert_stats_staff_hourly")
                .col(ColumnDef::new("staff_id").big_integer().not_null())
                .col(ColumnDef::new("hour").big_integer().not_null())
                .col(int("alerts_total"))
                .primary_key(Index::create().col("staff_id").col("hour"))
                .take(),
        )
        .await?;
        m.create_table(
            table("alert_latencies")
                .col(ColumnDef::new("alert_id").big_integer().not_null())
                .col(ColumnDef::new("kind").string_len(10).not_null())
                .col(ColumnDef::new("staff_id").big_integer().not_null())
                .col(ts(b, "created_at").not_null())
                .col(ColumnDef::new("bucket").big_integer().not_null())
                .primary_key(Index::create().col("alert_id").col("kind"))
                .take(),
        )
        .await?;
        let index = |name, table, cols: &[&'static str]| index(name, table, cols).if_not_exists().to_owned();
        // Histograms read these in (staff,) bucket order: grouping needs no sort.
        let by_staff = ["kind", "staff_id", "bucket", "created_at"];
        m.create_index(index("idx_alert_latencies_staff", "alert_latencies", &by_staff)).await?;
        m.create_index(index("idx_alert_latencies_bucket", "alert_latencies", &["kind", "bucket", "created_at"]))
            .await?;

        // The wide stats index of m0004 is no longer read (the rollups answer
        // whole hours; only the minutes at a window's edges read `alerts`):
        // a plain `created_at` index serves those, and inserts get cheaper.
        drop_alerts_index(m, "idx_alerts_stats").await?;
        m.create_index(index("idx_alerts_created", "alerts", &["created_at"])).await?;
        // The unread badge's index, with `created_at` last: the per-staff
        // unread counts of a window are answered from it alone.
        // (A new name: a fresh SQLite file's other pooled connections may
        // still see the old index at once.)
        drop_alerts_index(m, "idx_alerts_unread").await?;
        let unread = ["assigned_to_staff_id", "is_read", "is_dismissed", "expires_at", "created_at"];
        m.create_index(index("idx_alerts_unread_window", "alerts", &unread)).await?;

        let db = m.get_connection();
        for sql in triggers(b) {
            db.execute_unprepared(&sql).await?;
        }
        for sql in backfill(b) {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}

/// Migration `m0006`: PostgreSQL's rollup triggers become statement-level
/// (see [`postgres_triggers`]); the other dialects are unchanged.
pub struct StatementTriggers;

impl MigrationName for StatementTriggers {
    fn name(&self) -> &str {
        "m0006_statement_triggers"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for StatementTriggers {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // m0005's row-level trigger, on a database created before this migration.
        let row_level =
            ["DROP TRIGGER IF EXISTS trg_alerts_stats ON alerts", "DROP FUNCTION IF EXISTS alerts_stats_rollup()"];
        replace_postgres_triggers(m, &row_level).await
    }
}

/// Migration `m0018`: PostgreSQL's update trigger returns at once when no
/// tracked column changed ([`postgres_triggers`]); it replaces the functions
/// of `m0006` on a database created before.
pub struct StatsUpdateShortcut;

impl MigrationName for StatsUpdateShortcut {
    fn name(&self) -> &str {
        "m0018_stats_update_shortcut"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for StatsUpdateShortcut {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        replace_postgres_triggers(m, &[]).await
    }
}

/// On PostgreSQL only: runs `first`, then creates or replaces the rollup
/// triggers and their functions as [`postgres_triggers`] writes them now.
/// The other dialects keep m0005's row-level triggers.
async fn replace_postgres_triggers(m: &SchemaManager<'_>, first: &[&str]) -> Result<(), DbErr> {
    if Dialect::try_from(m.get_database_backend())? != Dialect::Postgres {
        return Ok(());
    }
    let db = m.get_connection();
    for sql in first {
        db.execute_unprepared(sql).await?;
    }
    for sql in triggers(Dialect::Postgres) {
        db.execute_unprepared(&sql).await?;
    }
    Ok(())
}

/// Drops an index of `alerts` if it is there (MySQL has no `DROP INDEX IF EXISTS`).
async fn drop_alerts_index(m: &SchemaManager<'_>, name: &'static str) -> Result<(), DbErr> {
    if m.has_index("alerts", name).await? {
        m.drop_index(Index::drop().name(name).table("alerts").to_owned()).await?;
    }
    Ok(())
}

/// The histogram bucket of the seconds from `from` to `until`: exact below
/// 10 min, to 10 s below 10 h, to 5 min below 10 days, to the hour beyond.
fn bucket(b: Dialect, from: &str, until: &str) -> String {
    let s = seconds_between(b, from, until);
    as_int(
        b,
        &format!(
            "CASE WHEN {s} < 600 THEN {f1} WHEN {s} < 36000 THEN {f10} * 10 \
             WHEN {s} < 864000 THEN {f300} * 300 ELSE {f3600} * 3600 END",
            f1 = floor(b, &format!("({s})")),
            f10 = floor(b, &format!("({s}) / 10")),
            f300 = floor(b, &format!("({s}) / 300")),
            f3600 = floor(b, &format!("({s}) / 3600")),
        ),
    )
}

/// 1 when a nullable expression is set, else 0.
fn is_set(b: Dialect, x: &str) -> String {
    match b {
        Dialect::Postgres => format!("CAST({x} IS NOT NULL AS INTEGER)"),
        Dialect::Sqlite | Dialect::MySql => format!("({x} IS NOT NULL)"),
    }
}

/// The upsert of one row's contribution (`r` is `NEW`) to the two count rollups.
fn add_counts(b: Dialect, r: &str) -> [String; 2] {
    let hour = epoch_hour(b, &format!("{r}.created_at"));
    let (read, dismissed) = (is_set(b, &format!("{r}.read_at")), is_set(b, &format!("{r}.dismissed_at")));
    let hourly = format!(
        "INSERT INTO alert_stats_hourly (hour, alert_type, severity, alerts_total, alerts_read, alerts_dismissed) \
         VALUES ({hour}, {r}.alert_type, {r}.severity, 1, {read}, {dismissed})"
    );
    let staff = format!(
        "INSERT INTO alert_stats_staff_hourly (staff_id, hour, alerts_total) VALUES ({r}.assigned_to_staff_id, {hour}, 1)"
    );
    match b {
        Dialect::MySql => [
            format!(
                "{hourly} ON DUPLICATE KEY UPDATE alerts_total = alerts_total + 1, \
                 alerts_read = alerts_read + VALUES(alerts_read), alerts_dismissed = alerts_dismissed + VALUES(alerts_dismissed)"
            ),
            format!("{staff} ON DUPLICATE KEY UPDATE alerts_total = alerts_total + 1"),
        ],
        Dialect::Sqlite | Dialect::Postgres => [
            format!(
                "{hourly} ON CONFLICT (hour, alert_type, severity) DO UPDATE SET \
                 alerts_total = alert_stats_hourly.alerts_total + 1, \
                 alerts_read = alert_stats_hourly.alerts_read + excluded.alerts_read, \
                 alerts_dismissed = alert_stats_hourly.alerts_dismissed + excluded.alerts_dismissed"
            ),
            format!(
                "{staff} ON CONFLICT (staff_id, hour) DO UPDATE SET \
                 alerts_total = alert_stats_staff_hourly.alerts_total + 1"
            ),
        ],
    }
}

/// Takes one row's contribution (`r` is `OLD`) out of the rollups.
fn remove(b: Dialect, r: &str) -> [String; 3] {
    let hour = epoch_hour(b, &format!("{r}.created_at"));
    let (read, dismissed) = (is_set(b, &format!("{r}.read_at")), is_set(b, &format!("{r}.dismissed_at")));
    [
        format!(
            "UPDATE alert_stats_hourly SET alerts_total = alerts_total - 1, alerts_read = alerts_read - {read}, \
             alerts_dismissed = alerts_dismissed - {dismissed} \
             WHERE hour = {hour} AND alert_type = {r}.alert_type AND severity = {r}.severity"
        ),
        format!(
            "UPDATE alert_stats_staff_hourly SET alerts_total = alerts_total - 1 \
             WHERE staff_id = {r}.assigned_to_staff_id AND hour = {hour}"
        ),
        format!("DELETE FROM alert_latencies WHERE alert_id = {r}.id"),
    ]
}

/// The latency rows of `NEW`, for read and dismiss, each inserted only when
/// that time is set (an IF where the dialect has one, else a filtered SELECT).
fn add_latencies(b: Dialect) -> Vec<String> {
    [("read", "read_at"), ("dismiss", "dismissed_at")]
        .into_iter()
        .map(|(kind, col)| {
            let cond = format!("NEW.{col} IS NOT NULL AND NEW.{col} >= NEW.created_at");
            let insert = "INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket)";
            let values = format!(
                "NEW.id, '{kind}', NEW.assigned_to_staff_id, NEW.created_at, {}",
                bucket(b, "NEW.created_at", &format!("NEW.{col}"))
            );
            match b {
                Dialect::Sqlite => format!("{insert} SELECT {values} WHERE {cond}"),
                Dialect::MySql | Dialect::Postgres => format!("IF {cond} THEN {insert} VALUES ({values}); END IF"),
            }
        })
        .collect()
}

/// The statements of the "new row in" half.
fn add_body(b: Dialect) -> String {
    let mut body: Vec<String> = add_counts(b, "NEW").into_iter().collect();
    body.extend(add_latencies(b));
    body.join(";\n")
}

fn remove_body(b: Dialect) -> String {
    remove(b, "OLD").join(";\n")
}

/// The triggers that keep the rollups, on `alerts`.
pub fn triggers(b: Dialect) -> Vec<String> {
    triggers_on(b, "alerts", false)
}

/// The triggers as they are now on the engine benchmark's copy of
/// `alerts`, so that its ceiling pays the same upkeep.
#[cfg(feature = "bench")]
pub fn bench_triggers(b: Dialect, table: &str) -> Vec<String> {
    triggers_on(b, table, true)
}

/// The triggers on `table`; `bulk_by_statement`: MySQL's insert trigger as
/// `m0019` made it (see [`mysql_insert_trigger`]), else as `m0005` did.
fn triggers_on(b: Dialect, table: &str, bulk_by_statement: bool) -> Vec<String> {
    // Row-level on SQLite and MySQL.
    let tracked = TRACKED.join(", ");
    match b {
        Dialect::Postgres => postgres_triggers(table),
        Dialect::Sqlite => {
            let (add, remove) = (add_body(b), remove_body(b));
            vec![
                format!(
                    "CREATE TRIGGER IF NOT EXISTS trg_{table}_stats_insert AFTER INSERT ON {table} BEGIN\n{add};\nEND"
                ),
                format!(
                    "CREATE TRIGGER IF NOT EXISTS trg_{table}_stats_update AFTER UPDATE OF {tracked} ON {table} BEGIN\n\
                 {remove};\n{add};\nEND"
                ),
                format!(
                    "CREATE TRIGGER IF NOT EXISTS trg_{table}_stats_delete AFTER DELETE ON {table} BEGIN\n{remove};\nEND"
                ),
            ]
        }
        Dialect::MySql => {
            let (add, remove) = (add_body(b), remove_body(b));
            // MySQL fires on every UPDATE: only a change of a tracked column counts.
            let same = TRACKED.iter().map(|c| format!("OLD.{c} <=> NEW.{c}")).collect::<Vec<_>>().join(" AND ");
            vec![
                mysql_insert_trigger(table, bulk_by_statement),
                format!(
                    "CREATE TRIGGER IF NOT EXISTS trg_{table}_stats_update AFTER UPDATE ON {table} FOR EACH ROW BEGIN\n\
                     IF NOT ({same}) THEN\n{remove};\n{add};\nEND IF;\nEND"
                ),
                format!(
                    "CREATE TRIGGER IF NOT EXISTS trg_{table}_stats_delete AFTER DELETE ON {table} FOR EACH ROW BEGIN\n{remove};\nEND"
                ),
            ]
        }
    }
}

/// The start of a `check_run` stamp whose rows' statistics are counted by
/// their writer ([`counts_of_stamped`]) on MySQL: a check's or an
/// escalation step's bulk insert. A run about one complaint (a write's
/// evaluation, a few alerts) keeps the row trigger, cheaper than two more
/// statements there.
pub const BULK_STAMP: &str = "bulk:";

/// MySQL's insert trigger since `m0019` (m0005 made one that counts every
/// row, before `check_run` existed). A row with a [`BULK_STAMP`] stamp
/// leaves its counts to [`counts_of_stamped`], run by its writer after the
/// insert: two upserts per alert cost 18 µs each on MariaDB (50 of the
/// 115 ms of inserting a due tick's 2 720 alerts at 1 M), where one
/// statement for all of them costs a few ms. Its latency rows stay here (a
/// born-dismissed alert's, rare).
/// Without `bulk_by_statement`, m0005's, which counts every row.
fn mysql_insert_trigger(table: &str, bulk_by_statement: bool) -> String {
    let b = Dialect::MySql;
    let mut counts = add_counts(b, "NEW").join(";\n");
    if bulk_by_statement {
        counts = format!("IF NEW.check_run IS NULL OR NEW.check_run NOT LIKE '{BULK_STAMP}%' THEN\n{counts};\nEND IF");
    }
    let latencies = add_latencies(b).join(";\n");
    format!(
        "CREATE TRIGGER IF NOT EXISTS trg_{table}_stats_insert AFTER INSERT ON {table} FOR EACH ROW BEGIN\n\
         {counts};\n{latencies};\nEND"
    )
}

/// The `check_run` of a bulk run `run` (see [`BULK_STAMP`]).
pub fn bulk_stamp(run: &str) -> String {
    format!("{BULK_STAMP}{run}")
}

/// MySQL: the count rollups of the alerts `new` picks (a filter over
/// `{table} al`: one bulk run's rows, stamped [`BULK_STAMP`]), which [`mysql_insert_trigger`]
/// left out, one upsert per rollup for all of them, in key order (racing
/// writers lock rollup rows in one order). Empty on the other dialects:
/// their triggers count every row (PostgreSQL's per statement already).
pub fn counts_of_stamped(b: Dialect, table: &str, new: &str) -> Vec<String> {
    if b != Dialect::MySql {
        return Vec::new();
    }
    let hour = epoch_hour(b, "al.created_at");
    let (read, dismissed) = (is_set(b, "al.read_at"), is_set(b, "al.dismissed_at"));
    vec![
        format!(
            "INSERT INTO alert_stats_hourly (hour, alert_type, severity, alerts_total, alerts_read, alerts_dismissed) \
             SELECT g.h, g.t, g.s, g.n, g.r, g.d FROM (SELECT {hour} AS h, al.alert_type AS t, al.severity AS s, \
             COUNT(*) AS n, SUM({read}) AS r, SUM({dismissed}) AS d FROM {table} al WHERE {new} GROUP BY 1, 2, 3) g \
             ORDER BY g.h, g.t, g.s \
             ON DUPLICATE KEY UPDATE alerts_total = alerts_total + VALUES(alerts_total), \
             alerts_read = alerts_read + VALUES(alerts_read), alerts_dismissed = alerts_dismissed + VALUES(alerts_dismissed)"
        ),
        format!(
            "INSERT INTO alert_stats_staff_hourly (staff_id, hour, alerts_total) \
             SELECT g.st, g.h, g.n FROM (SELECT al.assigned_to_staff_id AS st, {hour} AS h, COUNT(*) AS n \
             FROM {table} al WHERE {new} GROUP BY 1, 2) g ORDER BY g.st, g.h \
             ON DUPLICATE KEY UPDATE alerts_total = alerts_total + VALUES(alerts_total)"
        ),
    ]
}

/// Migration `m0019`: on MySQL, the insert trigger leaves bulk-stamped rows'
/// counts to their writer ([`mysql_insert_trigger`]); it replaces m0005's
/// on a database created before. The other dialects are unchanged.
///
/// Instances of an older version still running during an upgrade would
/// insert stamped rows without counting them: stop them before migrating.
pub struct StampedRowsCountedByStatement;

impl MigrationName for StampedRowsCountedByStatement {
    fn name(&self) -> &str {
        "m0019_stamped_rows_counted_by_statement"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for StampedRowsCountedByStatement {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if Dialect::try_from(m.get_database_backend())? != Dialect::MySql {
            return Ok(());
        }
        let db = m.get_connection();
        db.execute_unprepared("DROP TRIGGER IF EXISTS trg_alerts_stats_insert").await?;
        db.execute_unprepared(&mysql_insert_trigger("alerts", true)).await?;
        Ok(())
    }
}

/// PostgreSQL: statement-level triggers over transition tables, one upsert
/// per rollup per statement. (Row-level upserts of one hot rollup row would
/// each leave a dead row version behind for the next to step over inside the
/// writing transaction: quadratic in the rows a statement writes.) Transition
/// tables allow one event per trigger and no column list, so each event has
/// its trigger, and an UPDATE keeps only the rows whose tracked columns changed.
fn postgres_triggers(table: &str) -> Vec<String> {
    let old = TRACKED.map(|c| format!("o.{c}")).join(", ");
    let new = TRACKED.map(|c| format!("n.{c}")).join(", ");
    let changed = |side: &str, sign: i32| {
        format!(
            "SELECT {side}.*, {sign} AS s FROM old_rows o JOIN new_rows n ON n.id = o.id \
             WHERE ({old}) IS DISTINCT FROM ({new})"
        )
    };
    let inserted = "SELECT n.*, 1 AS s FROM new_rows n".to_owned();
    let deleted = "SELECT o.*, -1 AS s FROM old_rows o".to_owned();
    let updated = format!("{} UNION ALL {}", changed("o", -1), changed("n", 1));
    // Most updates change no tracked column (a wake, a snooze, an
    // acknowledgement, an escalation step): one set difference tells, where
    // the five statements below would each join the transition tables again
    // (a fifth of a 5 000-row wake's UPDATE; docs/PERFORMANCE.md, "Waking
    // snoozed alerts"). Not `EXISTS` over the join: the planner, with no
    // statistics of transition tables, runs it as a nested loop (5 s for 5 000 rows).
    let keyed = format!("id, {}", TRACKED.join(", "));
    let mut on_update = vec![format!(
        "IF NOT EXISTS (SELECT {keyed} FROM old_rows EXCEPT ALL SELECT {keyed} FROM new_rows) THEN RETURN NULL; END IF"
    )];
    on_update.extend(postgres_apply(&updated, Some(&changed("o", -1)), Some(&changed("n", 1))));
    let events = [
        ("insert", "INSERT", "REFERENCING NEW TABLE AS new_rows", postgres_apply(&inserted, None, Some(&inserted))),
        ("delete", "DELETE", "REFERENCING OLD TABLE AS old_rows", postgres_apply(&deleted, Some(&deleted), None)),
        ("update", "UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows", on_update),
    ];
    events
        .into_iter()
        .flat_map(|(name, event, referencing, body)| {
            [
                format!(
                    "CREATE OR REPLACE FUNCTION {table}_stats_{name}() RETURNS trigger LANGUAGE plpgsql AS $$\n\
                     BEGIN\n{};\nRETURN NULL;\nEND $$",
                    body.join(";\n")
                ),
                format!(
                    "CREATE OR REPLACE TRIGGER trg_{table}_stats_{name} AFTER {event} ON {table} {referencing} \
                     FOR EACH STATEMENT EXECUTE FUNCTION {table}_stats_{name}()"
                ),
            ]
        })
        .collect()
}

/// One statement's rollup upkeep on PostgreSQL: `rows` are the alerts with
/// a sign `s` (+1 in, -1 out), summed per rollup key in key order (so that
/// concurrent writers lock rollup rows in one order); the latencies of
/// `removed` rows go, those of `added` rows come.
fn postgres_apply(rows: &str, removed: Option<&str>, added: Option<&str>) -> Vec<String> {
    let b = Dialect::Postgres;
    let hour = epoch_hour(b, "t.created_at");
    let signed = |x: &str| format!("SUM(t.s * {})", is_set(b, &format!("t.{x}")));
    let mut out = vec![
        format!(
            "INSERT INTO alert_stats_hourly (hour, alert_type, severity, alerts_total, alerts_read, alerts_dismissed) \
             SELECT {hour}, t.alert_type, t.severity, SUM(t.s), {}, {} FROM ({rows}) t \
             GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 \
             ON CONFLICT (hour, alert_type, severity) DO UPDATE SET \
             alerts_total = alert_stats_hourly.alerts_total + excluded.alerts_total, \
             alerts_read = alert_stats_hourly.alerts_read + excluded.alerts_read, \
             alerts_dismissed = alert_stats_hourly.alerts_dismissed + excluded.alerts_dismissed",
            signed("read_at"),
            signed("dismissed_at"),
        ),
        format!(
            "INSERT INTO alert_stats_staff_hourly (staff_id, hour, alerts_total) \
             SELECT t.assigned_to_staff_id, {hour}, SUM(t.s) FROM ({rows}) t GROUP BY 1, 2 ORDER BY 1, 2 \
             ON CONFLICT (staff_id, hour) DO UPDATE SET \
             alerts_total = alert_stats_staff_hourly.alerts_total + excluded.alerts_total"
        ),
    ];
    if let Some(removed) = removed {
        out.push(format!("DELETE FROM alert_latencies WHERE alert_id IN (SELECT t.id FROM ({removed}) t)"));
    }
    if let Some(added) = added {
        for (kind, col) in [("read", "read_at"), ("dismiss", "dismissed_at")] {
            out.push(format!(
                "INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket) \
                 SELECT t.id, '{kind}', t.assigned_to_staff_id, t.created_at, {} FROM ({added}) t \
                 WHERE t.{col} IS NOT NULL AND t.{col} >= t.created_at",
                bucket(b, "t.created_at", &format!("t.{col}"))
            ));
        }
    }
    out
}

/// The rollups of the alerts that exist already (an upgraded database).
pub fn backfill(b: Dialect) -> Vec<String> {
    let hour = epoch_hour(b, "created_at");
    let sum = |x: &str| as_int(b, &format!("SUM({})", is_set(b, x)));
    // Emptied first: a migration retried after a partial run starts afresh.
    let mut out: Vec<String> = ["alert_stats_hourly", "alert_stats_staff_hourly", "alert_latencies"]
        .map(|t| format!("DELETE FROM {t}"))
        .into();
    out.extend([
        format!(
            "INSERT INTO alert_stats_hourly (hour, alert_type, severity, alerts_total, alerts_read, alerts_dismissed) \
             SELECT {hour}, alert_type, severity, COUNT(*), {}, {} FROM alerts GROUP BY {hour}, alert_type, severity",
            sum("read_at"),
            sum("dismissed_at")
        ),
        format!(
            "INSERT INTO alert_stats_staff_hourly (staff_id, hour, alerts_total) \
             SELECT assigned_to_staff_id, {hour}, COUNT(*) FROM alerts GROUP BY assigned_to_staff_id, {hour}"
        ),
    ]);
    for (kind, col) in [("read", "read_at"), ("dismiss", "dismissed_at")] {
        out.push(format!(
            "INSERT INTO alert_latencies (alert_id, kind, staff_id, created_at, bucket) \
             SELECT id, '{kind}', assigned_to_staff_id, created_at, {} FROM alerts \
             WHERE {col} IS NOT NULL AND {col} >= created_at",
            bucket(b, "created_at", col)
        ));
    }
    out
}
