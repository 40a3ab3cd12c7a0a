//! Versioned schema migrations, embedded in the binary and applied by
//! `migrate` and at `serve` start. sea-orm-migration records what ran in
//! `seaql_migrations`, so applying them twice is a no-op.
//!
//! The column types that differ per dialect are chosen in [`pk`] and [`ts`]
//! and nowhere else.
use super::dialect::Dialect;
use sea_orm_migration::prelude::*;
use serde_json::json;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(InitialSchema),
            Box::new(EngineTables),
            Box::new(DeliveryOutbox),
            Box::new(StatsIndex),
            Box::new(super::rollups::StatsRollups),
            Box::new(super::rollups::StatementTriggers),
            Box::new(DedupInAlerts),
            Box::new(CloseIndexes),
            Box::new(ApiKeys),
            Box::new(ComplaintExternalId),
            Box::new(SlaCalendars),
            Box::new(AlertEvents),
            Box::new(Sessions),
            Box::new(EscalationStepIndex),
            Box::new(Snooze),
            Box::new(PersonalDelivery),
            Box::new(Digests),
            Box::new(super::rollups::StatsUpdateShortcut),
            Box::new(super::rollups::StampedRowsCountedByStatement),
        ]
    }
}

/// Auto-increment 64-bit id. SQLite only auto-increments a column declared
/// exactly `INTEGER PRIMARY KEY` (which is 64-bit there).
fn pk(dialect: Dialect, name: &'static str) -> ColumnDef {
    let mut col = ColumnDef::new(name);
    match dialect {
        Dialect::Sqlite => col.integer(),
        Dialect::MySql | Dialect::Postgres => col.big_integer(),
    };
    col.not_null().auto_increment().primary_key().take()
}

/// A UTC timestamp with microseconds. MySQL's `TIMESTAMP` has no fraction by
/// default and converts through the session time zone, so it gets
/// `DATETIME(6)` holding UTC; PostgreSQL gets `timestamptz`; SQLite stores
/// RFC 3339 text, which sorts correctly because every value is UTC.
pub(super) fn ts(dialect: Dialect, name: &'static str) -> ColumnDef {
    let mut col = ColumnDef::new(name);
    match dialect {
        Dialect::MySql => col.custom("DATETIME(6)"),
        Dialect::Sqlite | Dialect::Postgres => col.timestamp_with_time_zone(),
    };
    col
}

/// A table. On MySQL: utf8mb4 whatever the server default, and a binary
/// collation so that equality and uniqueness are case- and accent-sensitive
/// as on SQLite and PostgreSQL.
pub(super) fn table(dialect: Dialect) -> TableCreateStatement {
    let mut table = Table::create();
    if dialect == Dialect::MySql {
        table.character_set("utf8mb4").collate("utf8mb4_bin");
    }
    table
}

fn id_ref(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).big_integer().take()
}

fn fk(from: (&'static str, &'static str), to: (&'static str, &'static str)) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(format!("fk_{}_{}", from.0, from.1)).from(from.0, from.1).to(to.0, to.1).take()
}

pub(super) fn index(name: &'static str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for col in cols {
        idx.col(*col);
    }
    idx.take()
}

struct InitialSchema;

impl MigrationName for InitialSchema {
    fn name(&self) -> &str {
        "m0001_initial_schema"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for InitialSchema {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let b = Dialect::try_from(m.get_database_backend())?;
        let string = |name: &'static str, len: u32| ColumnDef::new(name).string_len(len).not_null().take();
        let string_null = |name: &'static str, len: u32| ColumnDef::new(name).string_len(len).null().take();
        let boolean =
            |name: &'static str, default: bool| ColumnDef::new(name).boolean().not_null().default(default).take();
        let json_col = |name: &'static str| ColumnDef::new(name).json().not_null().take();

        m.create_table(
            table(b)
                .table("settings")
                .col(ColumnDef::new("key").string_len(100).not_null().primary_key())
                .col(ColumnDef::new("value").text().not_null())
                .col(ts(b, "updated_at").not_null())
                .take(),
        )
        .await?;

        m.create_table(
            table(b)
                .table("roles")
                .col(pk(b, "id"))
                .col(string("name", 50).unique_key().take())
                .col(string_null("description", 255))
                .take(),
        )
        .await?;
        m.create_table(
            table(b)
                .table("permissions")
                .col(pk(b, "id"))
                .col(string("name", 100).unique_key().take())
                .col(string_null("description", 255))
                .take(),
        )
        .await?;
        m.create_table(
            table(b)
                .table("role_permissions")
                .col(id_ref("role_id").not_null())
                .col(id_ref("permission_id").not_null())
                .primary_key(Index::create().col("role_id").col("permission_id"))
                .foreign_key(fk(("role_permissions", "role_id"), ("roles", "id")).on_delete(ForeignKeyAction::Cascade))
                .foreign_key(
                    fk(("role_permissions", "permission_id"), ("permissions", "id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;

        m.create_table(
            table(b)
                .table("staff")
                .col(pk(b, "id"))
                .col(string("email", 255).unique_key().take())
                .col(string("full_name", 255))
                .col(string_null("phone", 50))
                .col(string("password_hash", 255))
                .col(id_ref("role_id").not_null())
                .col(id_ref("supervisor_id").null())
                .col(boolean("is_active", true))
                .col(ts(b, "created_at").not_null())
                .col(ts(b, "updated_at").not_null())
                .foreign_key(&mut fk(("staff", "role_id"), ("roles", "id")))
                .foreign_key(fk(("staff", "supervisor_id"), ("staff", "id")).on_delete(ForeignKeyAction::SetNull))
                .take(),
        )
        .await?;
        m.create_index(index("idx_staff_role", "staff", &["role_id", "is_active"])).await?;
        m.create_index(index("idx_staff_supervisor", "staff", &["supervisor_id"])).await?;

        m.create_table(
            table(b)
                .table("complaints")
                .col(pk(b, "id"))
                .col(string("title", 255))
                .col(ColumnDef::new("description").text().not_null())
                .col(string("customer_name", 255))
                .col(string_null("customer_email", 255))
                .col(string("priority", 20))
                .col(string("status", 20))
                .col(id_ref("assigned_to_staff_id").null())
                .col(ts(b, "sla_deadline").null())
                .col(ts(b, "created_at").not_null())
                .col(ts(b, "updated_at").not_null())
                .col(ts(b, "resolved_at").null())
                .foreign_key(
                    fk(("complaints", "assigned_to_staff_id"), ("staff", "id")).on_delete(ForeignKeyAction::SetNull),
                )
                .take(),
        )
        .await?;
        // The SLA scan: open complaints by deadline; the workload scan: open by assignee.
        m.create_index(index("idx_complaints_status_deadline", "complaints", &["status", "sla_deadline"])).await?;
        m.create_index(index("idx_complaints_assignee_status", "complaints", &["assigned_to_staff_id", "status"]))
            .await?;
        m.create_index(index("idx_complaints_priority_status", "complaints", &["priority", "status"])).await?;
        m.create_index(index("idx_complaints_created", "complaints", &["created_at"])).await?;

        m.create_table(
            table(b)
                .table("alerts")
                .col(pk(b, "id"))
                .col(string("alert_type", 50))
                .col(string("severity", 20))
                .col(string("title", 255))
                .col(ColumnDef::new("message").text().not_null())
                .col(string_null("resource_type", 50))
                .col(id_ref("resource_id").null())
                .col(id_ref("assigned_to_staff_id").not_null())
                .col(boolean("is_read", false))
                .col(boolean("is_dismissed", false))
                .col(ColumnDef::new("alert_metadata").json().null())
                .col(ts(b, "created_at").not_null())
                .col(ts(b, "read_at").null())
                .col(ts(b, "dismissed_at").null())
                .col(ts(b, "expires_at").null())
                .foreign_key(
                    fk(("alerts", "assigned_to_staff_id"), ("staff", "id")).on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        // The inbox: one staff member's undismissed alerts, newest first.
        m.create_index(index(
            "idx_alerts_inbox",
            "alerts",
            &["assigned_to_staff_id", "is_dismissed", "created_at", "id"],
        ))
        .await?;
        // The unread badge, answered from the index alone.
        m.create_index(index(
            "idx_alerts_unread",
            "alerts",
            &["assigned_to_staff_id", "is_read", "is_dismissed", "expires_at"],
        ))
        .await?;
        m.create_index(index("idx_alerts_resource", "alerts", &["resource_type", "resource_id", "alert_type"])).await?;
        m.create_index(index("idx_alerts_expires", "alerts", &["expires_at"])).await?;

        m.create_table(
            table(b)
                .table("alert_rules")
                .col(pk(b, "id"))
                .col(string("rule_name", 100).unique_key().take())
                .col(string("rule_type", 20))
                .col(boolean("is_enabled", true))
                .col(json_col("conditions"))
                .col(json_col("alert_config"))
                .col(id_ref("created_by_staff_id").null())
                .col(ts(b, "created_at").not_null())
                .col(ts(b, "updated_at").not_null())
                .foreign_key(
                    fk(("alert_rules", "created_by_staff_id"), ("staff", "id")).on_delete(ForeignKeyAction::SetNull),
                )
                .take(),
        )
        .await?;

        m.create_table(
            table(b)
                .table("alert_subscriptions")
                .col(pk(b, "id"))
                .col(id_ref("staff_id").not_null())
                .col(string("alert_type", 50))
                .col(boolean("is_enabled", true))
                .col(json_col("delivery_channels"))
                .col(ts(b, "created_at").not_null())
                .col(ts(b, "updated_at").not_null())
                .foreign_key(
                    fk(("alert_subscriptions", "staff_id"), ("staff", "id")).on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.create_index(
            index("uq_alert_subscriptions_staff_type", "alert_subscriptions", &["staff_id", "alert_type"])
                .unique()
                .take(),
        )
        .await?;

        seed_defaults(m).await
    }
}

/// The engine's bookkeeping: dedup claims and scheduler leases.
struct EngineTables;

impl MigrationName for EngineTables {
    fn name(&self) -> &str {
        "m0002_engine_tables"
    }
}

/// The jobs of the scheduler, one lease row each.
pub const JOBS: [&str; 4] = ["sla_check", "critical_check", "workload_check", "cleanup"];

#[async_trait::async_trait]
impl MigrationTrait for EngineTables {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let b = Dialect::try_from(m.get_database_backend())?;
        // One row per (alert type, resource, recipient): the unique key that
        // serialises racing checkers. `window_start` and `version` (what the
        // alert is about: deadline and priority) decide whether a new alert is due.
        m.create_table(
            table(b)
                .table("alert_dedup")
                .col(pk(b, "id"))
                .col(ColumnDef::new("alert_type").string_len(50).not_null())
                .col(ColumnDef::new("resource_type").string_len(50).not_null())
                .col(id_ref("resource_id").not_null())
                .col(id_ref("recipient_staff_id").not_null())
                .col(ts(b, "window_start").not_null())
                .col(ColumnDef::new("version").string_len(100).not_null())
                .col(ColumnDef::new("claimed_by").string_len(40).not_null())
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "uq_alert_dedup_key",
                "alert_dedup",
                &["alert_type", "resource_type", "resource_id", "recipient_staff_id"],
            )
            .unique()
            .take(),
        )
        .await?;
        m.create_index(index("idx_alert_dedup_claimed", "alert_dedup", &["claimed_by"])).await?;
        m.create_index(index("idx_alert_dedup_window", "alert_dedup", &["window_start"])).await?;

        m.create_table(
            table(b)
                .table("job_leases")
                .col(ColumnDef::new("name").string_len(50).not_null().primary_key())
                .col(ColumnDef::new("holder").string_len(100).not_null())
                .col(ts(b, "expires_at").not_null())
                .take(),
        )
        .await?;
        let epoch = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        let mut insert = Query::insert();
        insert.into_table("job_leases").columns(["name", "holder", "expires_at"]);
        for job in JOBS {
            insert.values_panic([job.into(), "".into(), epoch.into()]);
        }
        m.get_connection().execute(&insert).await?;
        Ok(())
    }
}

/// The notification outbox: one row per (alert, channel) to deliver,
/// written in the alert's transaction.
struct DeliveryOutbox;

impl MigrationName for DeliveryOutbox {
    fn name(&self) -> &str {
        "m0003_delivery_outbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for DeliveryOutbox {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let b = Dialect::try_from(m.get_database_backend())?;
        m.create_table(
            table(b)
                .table("notification_deliveries")
                .col(pk(b, "id"))
                .col(id_ref("alert_id").not_null())
                .col(id_ref("staff_id").not_null())
                .col(ColumnDef::new("channel").string_len(20).not_null())
                .col(ColumnDef::new("status").string_len(20).not_null())
                .col(ColumnDef::new("attempts").integer().not_null().default(0))
                .col(ts(b, "next_attempt_at").not_null())
                .col(ts(b, "claimed_until").null())
                .col(ColumnDef::new("last_error").text().null())
                .col(ts(b, "created_at").not_null())
                .col(ts(b, "updated_at").not_null())
                .col(ts(b, "sent_at").null())
                .foreign_key(
                    fk(("notification_deliveries", "alert_id"), ("alerts", "id")).on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    fk(("notification_deliveries", "staff_id"), ("staff", "id")).on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        // The dispatcher's scan: due rows by status and time.
        m.create_index(index("idx_deliveries_due", "notification_deliveries", &["status", "next_attempt_at"])).await?;
        m.create_index(index("idx_deliveries_alert", "notification_deliveries", &["alert_id"])).await?;
        Ok(())
    }
}

/// The statistics read every alert of a time window: an index that holds
/// every column they aggregate, led by `created_at`, lets them read a range
/// of it instead of the table (where the planner otherwise chose a skip scan
/// of the inbox index and a table lookup per alert: 10x slower at 1 M).
struct StatsIndex;

impl MigrationName for StatsIndex {
    fn name(&self) -> &str {
        "m0004_stats_index"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for StatsIndex {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            "created_at",
            "assigned_to_staff_id",
            "alert_type",
            "severity",
            "is_read",
            "is_dismissed",
            "read_at",
            "dismissed_at",
            "expires_at",
        ];
        m.create_index(index("idx_alerts_stats", "alerts", &columns)).await
    }
}

/// The dedup key moves into `alerts`: the alert that holds its key's window
/// is marked `dedup_open = 1` (NULL once its window passed or its complaint's
/// deadline or priority changed), and a unique index over (`dedup_open`,
/// type, resource, recipient) lets one open alert per key exist, NULLs being
/// distinct on every dialect. The engine then writes each alert once, not a
/// dedup row and an alert. `dedup_version` is what the alert was about
/// (deadline and priority); `check_run` tells one check's new alerts apart.
/// Each step is skipped when done, so a run cut short (MySQL DDL does not
/// roll back) can be retried.
struct DedupInAlerts;

impl MigrationName for DedupInAlerts {
    fn name(&self) -> &str {
        "m0007_dedup_in_alerts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for DedupInAlerts {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            ColumnDef::new("dedup_open").small_integer().null().take(),
            ColumnDef::new("dedup_version").string_len(100).null().take(),
            ColumnDef::new("check_run").string_len(40).null().take(),
        ];
        for column in columns {
            let name = column.get_column_name();
            if !m.has_column("alerts", &name).await? {
                // One column per statement: SQLite adds one at a time.
                m.alter_table(Table::alter().table("alerts").add_column(column).take()).await?;
            }
        }
        if m.has_table("alert_dedup").await? {
            // The latest alert of each key with a dedup row holds its window.
            let key = |a: &str| {
                format!(
                    "d.alert_type = {a}.alert_type AND d.resource_type = {a}.resource_type \
                     AND d.resource_id = {a}.resource_id AND d.recipient_staff_id = {a}.assigned_to_staff_id"
                )
            };
            let sql = format!(
                "UPDATE alerts SET dedup_open = 1, dedup_version = (SELECT d.version FROM alert_dedup d WHERE {}) \
                 WHERE id IN (SELECT id FROM (SELECT MAX(a.id) AS id FROM alerts a JOIN alert_dedup d ON {} \
                 GROUP BY a.alert_type, a.resource_type, a.resource_id, a.assigned_to_staff_id) latest)",
                key("alerts"),
                key("a")
            );
            m.get_connection().execute_unprepared(&sql).await?;
        }
        if !m.has_index("alerts", "idx_alerts_dedup").await? {
            let key = ["dedup_open", "alert_type", "resource_type", "resource_id", "assigned_to_staff_id"];
            m.create_index(index("idx_alerts_dedup", "alerts", &key).unique().take()).await?;
        }
        m.drop_table(Table::drop().table("alert_dedup").if_exists().take()).await
    }
}

/// API keys for services (SPEC 12): only a hash of each secret is kept,
/// looked up by it (unique); revoking sets `revoked_at`, so the list keeps
/// who had access.
struct ApiKeys;

impl MigrationName for ApiKeys {
    fn name(&self) -> &str {
        "m0009_api_keys"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ApiKeys {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let b = Dialect::try_from(m.get_database_backend())?;
        m.create_table(
            table(b)
                .table("api_keys")
                .if_not_exists()
                .col(pk(b, "id"))
                .col(ColumnDef::new("name").string_len(100).not_null())
                .col(ColumnDef::new("key_prefix").string_len(16).not_null())
                .col(ColumnDef::new("key_hash").string_len(64).not_null())
                .col(ColumnDef::new("permissions").json().not_null())
                .col(id_ref("created_by_staff_id").null())
                .col(ts(b, "created_at").not_null())
                .col(ts(b, "expires_at").null())
                .col(ts(b, "revoked_at").null())
                .col(ts(b, "last_used_at").null())
                .col(ColumnDef::new("last_used_address").string_len(64).null())
                .foreign_key(
                    fk(("api_keys", "created_by_staff_id"), ("staff", "id")).on_delete(ForeignKeyAction::SetNull),
                )
                .take(),
        )
        .await?;
        m.create_index(index("idx_api_keys_hash", "api_keys", &["key_hash"]).unique().if_not_exists().take()).await
    }
}

/// Complaints by the host's own id (SPEC 12): `external_id`, unique when
/// set (NULLs are distinct on every backend), and the host's `updated_at` of
/// the last write it sent, so an out-of-order retry cannot roll a complaint back.
struct ComplaintExternalId;

impl MigrationName for ComplaintExternalId {
    fn name(&self) -> &str {
        "m0010_complaint_external_id"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ComplaintExternalId {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let b = Dialect::try_from(m.get_database_backend())?;
        // One column per statement: SQLite adds one at a time.
        if !m.has_column("complaints", "external_id").await? {
            let column = ColumnDef::new("external_id").string_len(255).null().take();
            m.alter_table(Table::alter().table("complaints").add_column(column).take()).await?;
        }
        if !m.has_column("complaints", "external_updated_at").await? {
            let column = ts(b, "external_updated_at").null().take();
            m.alter_table(Table::alter().table("complaints").add_column(column).take()).await?;
        }
        let unique =
            index("idx_complaints_external_id", "complaints", &["external_id"]).unique().if_not_exists().take();
        m.create_index(unique).await
    }
}

/// SLA policies on business calendars (SPEC 8): calendars (with every
/// revision kept, so time a complaint used on old hours stays counted on
/// them), policies, each complaint's clock, the wall-clock moments its
/// at-risk rules come due (`sla_points`), the revision of the SLA settings
/// the clocks were projected with, and the seeded `24x7` calendar, `default`
/// policy and disabled first-response rules.
struct SlaCalendars;

impl MigrationName for SlaCalendars {
    fn name(&self) -> &str {
        "m0011_sla_calendars"
    }
}

/// The id of the seeded, always-open calendar and of its first revision.
pub const CALENDAR_24X7: i64 = 1;

#[async_trait::async_trait]
impl MigrationTrait for SlaCalendars {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let b = Dialect::try_from(m.get_database_backend())?;
        let db = m.get_connection();
        let now = crate::domain::Clock::default().now();
        m.create_table(
            table(b)
                .table("sla_calendars")
                .if_not_exists()
                .col(pk(b, "id"))
                .col(ColumnDef::new("name").string_len(100).not_null())
                .col(ColumnDef::new("time_zone").string_len(64).not_null())
                .col(ColumnDef::new("weekly_hours").json().not_null())
                .col(ColumnDef::new("holidays").json().not_null())
                .col(id_ref("revision_id").not_null())
                .col(ts(b, "created_at").not_null())
                .col(ts(b, "updated_at").not_null())
                .take(),
        )
        .await?;
        m.create_index(index("idx_sla_calendars_name", "sla_calendars", &["name"]).unique().if_not_exists().take())
            .await?;
        m.create_table(
            table(b)
                .table("sla_calendar_revisions")
                .if_not_exists()
                .col(pk(b, "id"))
                .col(id_ref("calendar_id").not_null())
                .col(ColumnDef::new("time_zone").string_len(64).not_null())
                .col(ColumnDef::new("weekly_hours").json().not_null())
                .col(ColumnDef::new("holidays").json().not_null())
                .col(ts(b, "created_at").not_null())
                .take(),
        )
        .await?;
        m.create_table(
            table(b)
                .table("sla_policies")
                .if_not_exists()
                .col(pk(b, "id"))
                .col(ColumnDef::new("name").string_len(100).not_null())
                .col(ColumnDef::new("position").integer().not_null())
                .col(ColumnDef::new("match_priorities").json().not_null())
                .col(ColumnDef::new("match_statuses").json().null())
                .col(id_ref("calendar_id").not_null())
                .col(ColumnDef::new("first_response_minutes").big_integer().null())
                .col(ColumnDef::new("resolution_minutes").big_integer().null())
                .col(ColumnDef::new("pause_statuses").json().not_null())
                .col(ts(b, "created_at").not_null())
                .col(ts(b, "updated_at").not_null())
                .foreign_key(&mut fk(("sla_policies", "calendar_id"), ("sla_calendars", "id")))
                .take(),
        )
        .await?;
        m.create_index(index("idx_sla_policies_name", "sla_policies", &["name"]).unique().if_not_exists().take())
            .await?;
        // One row: the revision of the SLA settings (policies, calendars,
        // at-risk rules); a complaint projected with an older one is re-projected.
        m.create_table(
            table(b)
                .table("sla_revision")
                .if_not_exists()
                .col(ColumnDef::new("id").integer().not_null().primary_key())
                .col(ColumnDef::new("revision").big_integer().not_null())
                .take(),
        )
        .await?;
        // When each at-risk rule's point comes for a running clock.
        m.create_table(
            table(b)
                .table("sla_points")
                .if_not_exists()
                .col(id_ref("complaint_id").not_null())
                .col(id_ref("rule_id").not_null())
                .col(ts(b, "due_at").not_null())
                // Working seconds left to the due time when the point comes (for the alert's words).
                .col(ColumnDef::new("working_left").big_integer().not_null())
                .primary_key(Index::create().col("complaint_id").col("rule_id"))
                .take(),
        )
        .await?;
        m.create_index(index("idx_sla_points_rule_due", "sla_points", &["rule_id", "due_at"]).if_not_exists().take())
            .await?;

        // The clock of each complaint. One column per statement: SQLite adds one at a time.
        let columns = [
            ts(b, "first_responded_at").null().take(),
            id_ref("sla_policy_id").null().take(),
            id_ref("sla_calendar_revision_id").null().take(),
            ColumnDef::new("sla_revision").big_integer().not_null().default(0).take(),
            ts(b, "sla_clock_at").null().take(),
            ColumnDef::new("sla_used_seconds").big_integer().not_null().default(0).take(),
            ts(b, "sla_paused_since").null().take(),
            ts(b, "first_response_due_at").null().take(),
            ColumnDef::new("sla_deadline_explicit").boolean().not_null().default(false).take(),
            ts(b, "sla_unchecked_since").null().take(),
            // The due times in the calendar's own zone, for the alerts' words (NULL on the 24x7 calendar).
            ColumnDef::new("sla_due_text").string_len(100).null().take(),
            ColumnDef::new("first_response_due_text").string_len(100).null().take(),
        ];
        for mut column in columns {
            let name = column.get_column_name();
            if !m.has_column("complaints", &name).await? {
                m.alter_table(Table::alter().table("complaints").add_column(&mut column).take()).await?;
            }
        }
        // The incremental check: open windows over by time, by type; each job's watermark.
        if !m.has_index("alerts", "idx_alerts_created").await? {
            m.create_index(index("idx_alerts_created", "alerts", &["created_at", "alert_type"])).await?;
        }
        if !m.has_column("job_leases", "checked_until").await? {
            let column = ts(b, "checked_until").null().take();
            m.alter_table(Table::alter().table("job_leases").add_column(column).take()).await?;
        }
        for (name, cols) in [
            ("idx_complaints_sla_revision", &["sla_revision", "id"][..]),
            ("idx_complaints_first_response_due", &["first_response_due_at"][..]),
            ("idx_complaints_unchecked", &["sla_unchecked_since"][..]),
        ] {
            if !m.has_index("complaints", name).await? {
                m.create_index(index(name, "complaints", cols)).await?;
            }
        }

        // Seeds (each once: MySQL DDL does not roll back, so a rerun must not fail).
        let seeded = db
            .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
                b.backend(),
                "SELECT COUNT(*) FROM sla_revision".to_owned(),
            ))
            .await?
            .map(|r| r.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0);
        if seeded > 0 {
            return Ok(());
        }
        let always = json!({"mon": [["00:00", "24:00"]], "tue": [["00:00", "24:00"]], "wed": [["00:00", "24:00"]],
            "thu": [["00:00", "24:00"]], "fri": [["00:00", "24:00"]], "sat": [["00:00", "24:00"]], "sun": [["00:00", "24:00"]]});
        let mut insert = Query::insert();
        insert.into_table("sla_calendar_revisions").columns([
            "id",
            "calendar_id",
            "time_zone",
            "weekly_hours",
            "holidays",
            "created_at",
        ]);
        insert.values_panic([
            CALENDAR_24X7.into(),
            CALENDAR_24X7.into(),
            "UTC".into(),
            always.clone().into(),
            json!([]).into(),
            now.into(),
        ]);
        db.execute(&insert).await?;
        let mut insert = Query::insert();
        insert.into_table("sla_calendars").columns([
            "id",
            "name",
            "time_zone",
            "weekly_hours",
            "holidays",
            "revision_id",
            "created_at",
            "updated_at",
        ]);
        insert.values_panic([
            CALENDAR_24X7.into(),
            "24x7".into(),
            "UTC".into(),
            always.into(),
            json!([]).into(),
            CALENDAR_24X7.into(),
            now.into(),
            now.into(),
        ]);
        db.execute(&insert).await?;
        // `resolution_minutes` NULL: the ALERTS_SLA_HOURS figure of the complaint's priority.
        let mut insert = Query::insert();
        insert.into_table("sla_policies").columns([
            "id",
            "name",
            "position",
            "match_priorities",
            "calendar_id",
            "pause_statuses",
            "created_at",
            "updated_at",
        ]);
        insert.values_panic([
            1.into(),
            "default".into(),
            1000.into(),
            json!(["low", "medium", "high", "critical"]).into(),
            CALENDAR_24X7.into(),
            json!(["pending"]).into(),
            now.into(),
            now.into(),
        ]);
        db.execute(&insert).await?;
        let mut insert = Query::insert();
        insert.into_table("sla_revision").columns(["id", "revision"]).values_panic([1.into(), 1.into()]);
        db.execute(&insert).await?;
        let mut insert = Query::insert();
        insert.into_table("permissions").columns(["id", "name", "description"]).values_panic([
            6.into(),
            "sla.manage".into(),
            "Manage SLA policies and business calendars".into(),
        ]);
        db.execute(&insert).await?;
        let mut insert = Query::insert();
        insert.into_table("role_permissions").columns(["role_id", "permission_id"]).values_panic([1.into(), 6.into()]);
        db.execute(&insert).await?;

        insert_rules(db, first_response_rules(), false, now).await?;
        if b == Dialect::Postgres {
            for table in ["sla_calendars", "sla_calendar_revisions", "sla_policies", "permissions"] {
                db.execute_unprepared(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                ))
                .await?;
            }
        }
        Ok(())
    }
}

/// The first-response rules, seeded disabled (SPEC 8).
pub fn first_response_rules() -> Vec<(&'static str, &'static str, serde_json::Value, serde_json::Value)> {
    let config = |alert_type: &str, severity: &str| {
        json!({
            "alert_type": alert_type,
            "severity": severity,
            "recipients": ["assignee"],
            "unassigned_recipients": ["role:supervisor", "role:admin"],
            "dedup_window_hours": 24,
            "expires_after_hours": 168,
            "mandatory": false
        })
    };
    vec![
        (
            "first_response_at_risk",
            "first_response",
            json!({"sla_state": "at_risk", "threshold_percent": 80, "statuses": ["open", "in_progress"]}),
            config("first_response_at_risk", "warning"),
        ),
        (
            "first_response_breached",
            "first_response",
            json!({"sla_state": "breached", "statuses": ["open", "in_progress"]}),
            config("first_response_breach", "critical"),
        ),
    ]
}

/// MySQL only: two narrow indexes holding what closing the dedup windows
/// reads, so that the close reads neither an alert's nor a complaint's row:
/// `idx_alerts_window`, when each open window began and what it was about,
/// and `idx_complaints_version`, each complaint's deadline and priority by
/// id. InnoDB's buffer pool bypasses the OS cache: reading the rows instead
/// costs a disk read per window once the tables outgrow the pool (the
/// default 128 MiB at ~1 M complaints). SQLite and PostgreSQL read those
/// rows through the OS cache and do without them.
struct CloseIndexes;

impl MigrationName for CloseIndexes {
    fn name(&self) -> &str {
        "m0008_close_indexes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CloseIndexes {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if Dialect::try_from(m.get_database_backend())? != Dialect::MySql {
            return Ok(());
        }
        let indexes = [
            (
                "idx_alerts_window",
                "alerts",
                &["dedup_open", "alert_type", "resource_type", "resource_id", "created_at", "dedup_version"][..],
            ),
            ("idx_complaints_version", "complaints", &["id", "sla_deadline", "priority"][..]),
        ];
        for (name, table, columns) in indexes {
            // Each skipped when there: MySQL DDL does not roll back.
            if !m.has_index(table, name).await? {
                m.create_index(index(name, table, columns)).await?;
            }
        }
        Ok(())
    }
}

/// Roles, permissions and the four default rules of the seed.
async fn seed_defaults(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = m.get_connection();
    let now = crate::domain::Clock::default().now();

    let roles = [
        (1, "admin", "Full access, manages rules and staff"),
        (2, "supervisor", "Oversees agents and their complaints"),
        (3, "agent", "Handles assigned complaints"),
    ];
    let mut insert = Query::insert();
    insert.into_table("roles").columns(["id", "name", "description"]);
    for (id, name, description) in roles {
        insert.values_panic([id.into(), name.into(), description.into()]);
    }
    db.execute(&insert).await?;

    let permissions = [
        (1, "alerts.read", "Read and act on one's own alerts"),
        (2, "alerts.manage", "Manage alert rules and run checks"),
        (3, "complaints.read", "Read complaints"),
        (4, "complaints.write", "Create and update complaints"),
        (5, "staff.manage", "Manage staff accounts"),
    ];
    let mut insert = Query::insert();
    insert.into_table("permissions").columns(["id", "name", "description"]);
    for (id, name, description) in permissions {
        insert.values_panic([id.into(), name.into(), description.into()]);
    }
    db.execute(&insert).await?;

    // admin: all; supervisor: alerts.read, complaints.read, complaints.write; agent: alerts.read, complaints.read.
    let grants: [(i64, i64); 10] = [(1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (2, 1), (2, 3), (2, 4), (3, 1), (3, 3)];
    let mut insert = Query::insert();
    insert.into_table("role_permissions").columns(["role_id", "permission_id"]);
    for (role, permission) in grants {
        insert.values_panic([role.into(), permission.into()]);
    }
    db.execute(&insert).await?;

    insert_rules(db, default_rules(), true, now).await?;

    // PostgreSQL sequences do not move when ids are given explicitly.
    if Dialect::try_from(m.get_database_backend())? == Dialect::Postgres {
        for table in ["roles", "permissions"] {
            db.execute_unprepared(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            ))
            .await?;
        }
    }
    Ok(())
}

/// Seeded rules (name, type, conditions, config), enabled or not.
async fn insert_rules(
    db: &SchemaManagerConnection<'_>,
    rules: Vec<(&'static str, &'static str, serde_json::Value, serde_json::Value)>,
    enabled: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    let mut insert = Query::insert();
    insert.into_table("alert_rules").columns([
        "rule_name",
        "rule_type",
        "is_enabled",
        "conditions",
        "alert_config",
        "created_at",
        "updated_at",
    ]);
    for (name, rule_type, conditions, config) in rules {
        insert.values_panic([
            name.into(),
            rule_type.into(),
            enabled.into(),
            conditions.into(),
            config.into(),
            now.into(),
            now.into(),
        ]);
    }
    db.execute(&insert).await.map(|_| ())
}

/// Acknowledgement and escalation (SPEC 9): an alert event (one rule firing
/// for one resource in one dedup window) with its acknowledgement,
/// resolution and escalation state; each alert names its event and carries
/// the event's acknowledgement and resolution (the inbox reads them without
/// a join); escalation policies, and the seeded `breach-default` on
/// `sla_breach_critical`.
struct AlertEvents;

impl MigrationName for AlertEvents {
    fn name(&self) -> &str {
        "m0012_alert_events"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AlertEvents {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let b = Dialect::try_from(m.get_database_backend())?;
        let db = m.get_connection();
        let now = crate::domain::Clock::default().now();
        m.create_table(
            table(b)
                .table("escalation_policies")
                .if_not_exists()
                .col(pk(b, "id"))
                .col(ColumnDef::new("name").string_len(100).not_null())
                .col(ColumnDef::new("steps").json().not_null())
                .col(ColumnDef::new("repeat_policy").json().null())
                .col(ColumnDef::new("ack_timeout_minutes").big_integer().null())
                .col(ts(b, "created_at").not_null())
                .col(ts(b, "updated_at").not_null())
                .take(),
        )
        .await?;
        m.create_index(
            index("idx_escalation_policies_name", "escalation_policies", &["name"]).unique().if_not_exists().take(),
        )
        .await?;
        m.create_table(
            table(b)
                .table("alert_events")
                .if_not_exists()
                .col(pk(b, "id"))
                .col(id_ref("rule_id").not_null())
                .col(ColumnDef::new("alert_type").string_len(50).not_null())
                .col(ColumnDef::new("resource_type").string_len(50).not_null())
                .col(id_ref("resource_id").not_null())
                // 1 while the event takes new recipients' alerts; NULL once its window is over.
                .col(ColumnDef::new("event_open").small_integer().null())
                .col(ts(b, "started_at").not_null())
                .col(ts(b, "acknowledged_at").null())
                .col(id_ref("acknowledged_by").null())
                .col(ts(b, "resolved_at").null())
                // The policy as it was when the event began, and where the event is in it.
                .col(ColumnDef::new("policy").json().null())
                .col(ColumnDef::new("next_step").integer().null())
                .col(ts(b, "next_step_at").null())
                .col(ColumnDef::new("cycle").integer().not_null().default(0))
                // The escalation run that claimed the event's due step (its alerts carry the same stamp).
                .col(ColumnDef::new("step_run").string_len(24).null())
                .take(),
        )
        .await?;
        for (name, cols, unique) in [
            ("idx_alert_events_open", &["event_open", "alert_type", "resource_type", "resource_id"][..], true),
            ("idx_alert_events_next", &["next_step_at"][..], false),
            ("idx_alert_events_resource", &["resource_type", "resource_id"][..], false),
            ("idx_alert_events_step_run", &["step_run"][..], false),
            ("idx_alert_events_started", &["started_at"][..], false),
        ] {
            if !m.has_index("alert_events", name).await? {
                let mut idx = index(name, "alert_events", cols);
                if unique {
                    idx.unique();
                }
                m.create_index(idx).await?;
            }
        }
        let columns = [
            id_ref("event_id").null().take(),
            ts(b, "acknowledged_at").null().take(),
            id_ref("acknowledged_by").null().take(),
            // Who acknowledged, as named then (the inbox and its live feed read no staff row).
            ColumnDef::new("acknowledged_by_name").string_len(100).null().take(),
            ts(b, "resolved_at").null().take(),
            ColumnDef::new("escalation_step").integer().not_null().default(0).take(),
            // When the recipient's one-tap acknowledge link was used (it works once).
            ts(b, "ack_link_used_at").null().take(),
        ];
        for mut column in columns {
            let name = column.get_column_name();
            if !m.has_column("alerts", &name).await? {
                m.alter_table(Table::alter().table("alerts").add_column(&mut column).take()).await?;
            }
        }
        if !m.has_index("alerts", "idx_alerts_event").await? {
            m.create_index(index("idx_alerts_event", "alerts", &["event_id"])).await?;
        }
        if b == Dialect::Postgres {
            // The statistics trigger of an UPDATE joins its transition tables by
            // id; with no statistics on them PostgreSQL may nest the loops:
            // quadratic in the rows updated (a run linking 25 000 new alerts to
            // their events took minutes).
            db.execute_unprepared("ALTER FUNCTION alerts_stats_update() SET enable_nestloop = off").await?;
        }

        // Seeds (once: MySQL DDL does not roll back, so a rerun must not fail).
        let count = |sql: &str| {
            let statement = sea_orm_migration::sea_orm::Statement::from_string(b.backend(), sql.to_owned());
            async move {
                let row = db.query_one_raw(statement).await?;
                row.map(|r| r.try_get_by_index::<i64>(0)).transpose().map(|n| n.unwrap_or(0))
            }
        };
        if count("SELECT COUNT(*) FROM job_leases WHERE name = 'escalation'").await? == 0 {
            let mut insert = Query::insert();
            insert.into_table("job_leases").columns(["name", "holder", "expires_at"]);
            insert.values_panic(["escalation".into(), "".into(), chrono::DateTime::<chrono::Utc>::UNIX_EPOCH.into()]);
            db.execute(&insert).await?;
        }
        let seeded = db
            .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
                b.backend(),
                "SELECT COUNT(*) FROM escalation_policies".to_owned(),
            ))
            .await?
            .map(|r| r.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0);
        if seeded > 0 {
            return Ok(());
        }
        let mut insert = Query::insert();
        insert.into_table("escalation_policies").columns(["name", "steps", "created_at", "updated_at"]);
        insert.values_panic([
            BREACH_DEFAULT.into(),
            json!([
                {"after_minutes": 30, "targets": ["assignee_supervisor"], "working_hours_only": false},
                {"after_minutes": 60, "targets": ["role:admin"], "working_hours_only": false}
            ])
            .into(),
            now.into(),
            now.into(),
        ]);
        db.execute(&insert).await?;
        // The breach rule names it (its other settings as an admin left them).
        let row = db
            .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
                b.backend(),
                "SELECT alert_config FROM alert_rules WHERE rule_name = 'sla_breach_critical'".to_owned(),
            ))
            .await?;
        if let Some(row) = row {
            let mut config: serde_json::Value = row.try_get_by_index(0)?;
            if let Some(object) = config.as_object_mut() {
                object.insert("escalation_policy".into(), json!(BREACH_DEFAULT));
                let update = Query::update()
                    .table("alert_rules")
                    .value("alert_config", config)
                    .and_where(Expr::col("rule_name").eq("sla_breach_critical"))
                    .take();
                db.execute(&update).await?;
            }
        }
        Ok(())
    }
}

/// Accounts that can be signed out for real (SPEC 11): tokens signed out
/// one by one (kept by their SHA-256 until they expire), and per staff
/// member a time before which every token is ended (password changed or
/// reset) but the one session kept (the one that changed it); a staff
/// member's time zone; the `alerts.team` permission of supervisors and admins.
struct Sessions;

impl MigrationName for Sessions {
    fn name(&self) -> &str {
        "m0013_sessions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Sessions {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let b = Dialect::try_from(m.get_database_backend())?;
        m.create_table(
            table(b)
                .table("signed_out_tokens")
                .if_not_exists()
                .col(ColumnDef::new("token_hash").string_len(64).not_null().primary_key())
                .col(id_ref("staff_id").not_null())
                .col(ts(b, "expires_at").not_null())
                .take(),
        )
        .await?;
        for (name, cols) in
            [("idx_signed_out_staff", &["staff_id", "expires_at"][..]), ("idx_signed_out_expiry", &["expires_at"][..])]
        {
            if !m.has_index("signed_out_tokens", name).await? {
                m.create_index(index(name, "signed_out_tokens", cols)).await?;
            }
        }
        let columns = [
            ts(b, "sessions_valid_after").null().take(),
            ColumnDef::new("kept_session").string_len(64).null().take(),
            ColumnDef::new("time_zone").string_len(64).null().take(),
        ];
        for mut column in columns {
            let name = column.get_column_name();
            if !m.has_column("staff", &name).await? {
                m.alter_table(Table::alter().table("staff").add_column(&mut column).take()).await?;
            }
        }
        // Supervisors read their team's statistics (admins read everyone's already).
        let db = m.get_connection();
        let seeded = db
            .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
                b.backend(),
                "SELECT COUNT(*) FROM permissions WHERE name = 'alerts.team'".to_owned(),
            ))
            .await?
            .map(|r| r.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0);
        if seeded == 0 {
            let mut insert = Query::insert();
            insert.into_table("permissions").columns(["id", "name", "description"]).values_panic([
                7.into(),
                "alerts.team".into(),
                "Read the alert statistics of one's team".into(),
            ]);
            db.execute(&insert).await?;
            let mut insert = Query::insert();
            insert.into_table("role_permissions").columns(["role_id", "permission_id"]);
            for role in [1, 2] {
                insert.values_panic([role.into(), 7.into()]);
            }
            db.execute(&insert).await?;
            if b == Dialect::Postgres {
                db.execute_unprepared(
                    "SELECT setval(pg_get_serial_sequence('permissions', 'id'), (SELECT MAX(id) FROM permissions))",
                )
                .await?;
            }
        }
        Ok(())
    }
}

/// The statistics' "events that reached each escalation step" read the
/// escalation alerts of a window (`escalation_step > 0`, rare) through this
/// index instead of every alert of the window.
struct EscalationStepIndex;

impl MigrationName for EscalationStepIndex {
    fn name(&self) -> &str {
        "m0014_escalation_step_index"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for EscalationStepIndex {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if !m.has_index("alerts", "idx_alerts_escalation_step").await? {
            m.create_index(index("idx_alerts_escalation_step", "alerts", &["escalation_step", "created_at"])).await?;
        }
        Ok(())
    }
}

/// Snooze (SPEC 10): `alerts.snoozed_until` (hidden from the inbox and its
/// counts until then) and `snoozed_at` (when it was snoozed: only an alert
/// newer than that wakes it early); the `snooze_wake` job's lease. Two
/// indexes over the snoozed alerts only, partial where the dialect has
/// partial indexes (SQLite, PostgreSQL; MySQL indexes the NULLs too):
/// `idx_alerts_snoozed` for the wake job's due range, and
/// `idx_alerts_snoozed_staff` for one person's snoozed alerts (the
/// `status=snoozed` list, and what the inbox counts take out), so the
/// unread badge keeps its covering index.
struct Snooze;

impl MigrationName for Snooze {
    fn name(&self) -> &str {
        "m0015_snooze"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Snooze {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let b = Dialect::try_from(m.get_database_backend())?;
        for mut column in [ts(b, "snoozed_until").null().take(), ts(b, "snoozed_at").null().take()] {
            let name = column.get_column_name();
            if !m.has_column("alerts", &name).await? {
                m.alter_table(Table::alter().table("alerts").add_column(&mut column).take()).await?;
            }
        }
        let db = m.get_connection();
        let indexes = [
            ("idx_alerts_snoozed", "snoozed_until"),
            ("idx_alerts_snoozed_staff", "assigned_to_staff_id, snoozed_until"),
        ];
        for (name, columns) in indexes {
            if m.has_index("alerts", name).await? {
                continue;
            }
            let sql = match b {
                Dialect::Sqlite | Dialect::Postgres => {
                    format!("CREATE INDEX {name} ON alerts ({columns}) WHERE snoozed_until IS NOT NULL")
                }
                Dialect::MySql => format!("CREATE INDEX {name} ON alerts ({columns})"),
            };
            db.execute_unprepared(&sql).await?;
        }
        let statement = sea_orm_migration::sea_orm::Statement::from_string(
            b.backend(),
            "SELECT COUNT(*) FROM job_leases WHERE name = 'snooze_wake'".to_owned(),
        );
        let seeded = db.query_one_raw(statement).await?.map(|r| r.try_get_by_index::<i64>(0)).transpose()?;
        if seeded.unwrap_or(0) == 0 {
            let mut insert = Query::insert();
            insert.into_table("job_leases").columns(["name", "holder", "expires_at"]);
            insert.values_panic(["snooze_wake".into(), "".into(), chrono::DateTime::<chrono::Utc>::UNIX_EPOCH.into()]);
            db.execute(&insert).await?;
        }
        Ok(())
    }
}

/// The seeded escalation policy of `sla_breach_critical`.
pub const BREACH_DEFAULT: &str = "breach-default";

/// The seed's four rules, with the thresholds of SPEC section 5.
pub fn default_rules() -> Vec<(&'static str, &'static str, serde_json::Value, serde_json::Value)> {
    vec![
        (
            "sla_breach_critical",
            "sla",
            json!({"sla_state": "breached", "statuses": ["open", "in_progress"]}),
            json!({
                "alert_type": "sla_breach",
                "severity": "critical",
                "recipients": ["assignee", "assignee_supervisor"],
                "unassigned_recipients": ["role:supervisor", "role:admin"],
                "dedup_window_hours": 24,
                "expires_after_hours": 168,
                "mandatory": true
            }),
        ),
        (
            "sla_at_risk",
            "sla",
            json!({"sla_state": "at_risk", "threshold_percent": 80, "statuses": ["open", "in_progress"]}),
            json!({
                "alert_type": "sla_at_risk",
                "severity": "warning",
                "recipients": ["assignee"],
                "unassigned_recipients": ["role:supervisor", "role:admin"],
                "dedup_window_hours": 24,
                "expires_after_hours": 168,
                "mandatory": false
            }),
        ),
        (
            "critical_complaint_created",
            "event",
            json!({"priority": "critical"}),
            json!({
                "alert_type": "critical_complaint",
                "severity": "critical",
                "recipients": ["assignee", "assignee_supervisor"],
                "unassigned_recipients": ["role:supervisor", "role:admin"],
                "dedup_window_hours": 24,
                "expires_after_hours": 168,
                "mandatory": false
            }),
        ),
        (
            "high_workload_warning",
            "threshold",
            json!({"metric": "open_assigned_complaints", "threshold": 10}),
            json!({
                "alert_type": "high_workload",
                "severity": "warning",
                "recipients": ["assignee", "assignee_supervisor"],
                "unassigned_recipients": [],
                "dedup_window_hours": 24,
                "expires_after_hours": 168,
                "mandatory": false
            }),
        ),
    ]
}

/// Personal delivery (SPEC 10): a staff member's quiet hours (weekly periods
/// in their zone, JSON), do-not-disturb (`dnd_until`) and what happens to what
/// arrives meanwhile (`quiet_hours_delivery`: `summary`, the default when
/// null, or `each`). On the outbox: `deferred_until`, the end of the quiet
/// hours a row was put off to (status `deferred` while a summary will carry
/// it); `summary_until`, set on the one summary row of a (person, channel,
/// end of quiet hours), unique, so racing dispatchers create one summary;
/// `carried_by`, the summary row whose message carried a deferred row. The
/// seeded breach and critical rules bypass quiet hours.
struct PersonalDelivery;

impl MigrationName for PersonalDelivery {
    fn name(&self) -> &str {
        "m0016_personal_delivery"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for PersonalDelivery {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let b = Dialect::try_from(m.get_database_backend())?;
        let staff_columns = [
            ColumnDef::new("quiet_hours").json().null().take(),
            ts(b, "dnd_until").null().take(),
            ColumnDef::new("quiet_hours_delivery").string_len(10).null().take(),
        ];
        for mut column in staff_columns {
            let name = column.get_column_name();
            if !m.has_column("staff", &name).await? {
                m.alter_table(Table::alter().table("staff").add_column(&mut column).take()).await?;
            }
        }
        let outbox_columns = [
            ts(b, "deferred_until").null().take(),
            ts(b, "summary_until").null().take(),
            id_ref("carried_by").null().take(),
        ];
        for mut column in outbox_columns {
            let name = column.get_column_name();
            if !m.has_column("notification_deliveries", &name).await? {
                m.alter_table(Table::alter().table("notification_deliveries").add_column(&mut column).take()).await?;
            }
        }
        // One summary per (person, channel, end of quiet hours); NULLs (every other row) do not collide.
        if !m.has_index("notification_deliveries", "idx_deliveries_summary").await? {
            m.create_index(
                index("idx_deliveries_summary", "notification_deliveries", &["staff_id", "channel", "summary_until"])
                    .unique()
                    .take(),
            )
            .await?;
        }
        // The rows a summary carries.
        if !m.has_index("notification_deliveries", "idx_deliveries_deferred").await? {
            m.create_index(index(
                "idx_deliveries_deferred",
                "notification_deliveries",
                &["staff_id", "channel", "deferred_until"],
            ))
            .await?;
        }
        // What the organisation marks urgent reaches people in their quiet hours.
        let db = m.get_connection();
        for name in ["sla_breach_critical", "critical_complaint_created"] {
            let select = Query::select()
                .columns(["id", "alert_config"])
                .from("alert_rules")
                .and_where(Expr::col("rule_name").eq(name))
                .take();
            let Some(row) = db.query_one(&select).await? else { continue };
            let id: i64 = row.try_get("", "id")?;
            let mut config: serde_json::Value = row.try_get("", "alert_config")?;
            let Some(object) = config.as_object_mut() else { continue };
            if object.contains_key("bypass_quiet_hours") {
                continue;
            }
            object.insert("bypass_quiet_hours".into(), serde_json::Value::Bool(true));
            let update = Query::update()
                .table("alert_rules")
                .value("alert_config", config)
                .and_where(Expr::col("id").eq(id))
                .take();
            db.execute(&update).await?;
        }
        Ok(())
    }
}

/// Digests (SPEC 10): a subscription's `delivery_mode` (`instant`, the
/// default, `hourly` or `daily`) and its `daily_at` (`HH:MM` in the person's
/// zone, for `daily`). On the outbox, `deferred_for` says why a row was put
/// off (`quiet_hours`, `hourly`, `daily`), on the rows a summary carries and
/// on the summary row itself: a digest's message reads as one. The summary
/// machinery of m0016 is the digest's: one row per (person, channel, end of
/// window) under its unique index.
struct Digests;

impl MigrationName for Digests {
    fn name(&self) -> &str {
        "m0017_digests"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Digests {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            (
                "alert_subscriptions",
                ColumnDef::new("delivery_mode").string_len(10).not_null().default("instant").take(),
            ),
            ("alert_subscriptions", ColumnDef::new("daily_at").string_len(5).null().take()),
            ("notification_deliveries", ColumnDef::new("deferred_for").string_len(12).null().take()),
        ];
        for (table, mut column) in columns {
            let name = column.get_column_name();
            if !m.has_column(table, &name).await? {
                m.alter_table(Table::alter().table(table).add_column(&mut column).take()).await?;
            }
        }
        Ok(())
    }
}
