//! The statistics maths on fixed data, on every backend.
use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use convergeai_alerts::storage::entities::alert;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use serde_json::json;

use crate::harness::{Backend, TestApp};
use crate::{on_all_backends, spawn_app};

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
}

#[allow(clippy::too_many_arguments)]
fn row(
    staff: i64,
    alert_type: &str,
    severity: &str,
    created: DateTime<Utc>,
    read_after: Option<i64>,
    dismissed_after: Option<i64>,
) -> alert::ActiveModel {
    alert::ActiveModel {
        id: NotSet,
        alert_type: Set(alert_type.into()),
        severity: Set(severity.into()),
        title: Set("t".into()),
        message: Set("m".into()),
        resource_type: Set(Some("complaint".into())),
        resource_id: Set(Some(1)),
        assigned_to_staff_id: Set(staff),
        is_read: Set(read_after.is_some()),
        is_dismissed: Set(dismissed_after.is_some()),
        alert_metadata: Set(None),
        created_at: Set(created),
        read_at: Set(read_after.map(|s| created + TimeDelta::seconds(s))),
        dismissed_at: Set(dismissed_after.map(|s| created + TimeDelta::seconds(s))),
        expires_at: Set(None),
        ..Default::default()
    }
}

async fn fixture(app: &TestApp) -> (i64, i64) {
    let (a, _) = app.staff("a@example.com", "agent").await;
    let (b, _) = app.staff("b@example.com", "agent").await;
    // Agent A: 10 alerts on 3 days, read after 60…7200 s; 2 dismissed.
    let reads = [60, 120, 180, 240, 300, 600, 900, 1200, 3000, 7200];
    let mut rows = Vec::new();
    for (i, secs) in reads.iter().enumerate() {
        let (t, sev) = match i % 3 {
            0 => ("sla_breach", "critical"),
            1 => ("sla_at_risk", "warning"),
            _ => ("high_workload", "info"),
        };
        let dismissed = (i < 2).then_some(secs + 30);
        rows.push(row(a, t, sev, at(10 + (i as u32 % 3), 9), Some(*secs), dismissed));
    }
    // Agent B: 4 unread critical alerts on day 11, and one outside the range.
    for _ in 0..4 {
        rows.push(row(b, "critical_complaint", "critical", at(11, 15), None, None));
    }
    rows.push(row(b, "critical_complaint", "critical", at(20, 1), None, None));
    alert::Entity::insert_many(rows).exec_without_returning(&app.app.db).await.unwrap();
    (a, b)
}

async fn stats_maths_on_fixed_data(backend: Backend) {
    let app = spawn_app!(backend);
    let (a, b) = fixture(&app).await;
    let range = "from=2026-11-10T00:00:00Z&to=2026-11-13T00:00:00Z";
    let (status, s) = app.get(&format!("/api/v1/alerts/stats?{range}"), &app.admin_token().await).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["scope"], "all");
    assert_eq!(s["total"], 14);
    assert_eq!(
        s["by_type"],
        json!({"critical_complaint": 4, "high_workload": 3, "sla_at_risk": 3, "sla_breach": 4,
               "first_response_at_risk": 0, "first_response_breach": 0})
    );
    assert_eq!(s["by_severity"], json!({"critical": 8, "info": 3, "warning": 3}));
    assert_eq!(
        s["per_day"],
        json!([
            {"date": "2026-11-10", "total": 4, "info": 0, "warning": 0, "critical": 4},
            {"date": "2026-11-11", "total": 7, "info": 0, "warning": 3, "critical": 4},
            {"date": "2026-11-12", "total": 3, "info": 3, "warning": 0, "critical": 0},
        ])
    );
    assert_eq!(s["read_rate"], json!(10.0 / 14.0));
    assert_eq!(s["dismiss_rate"], json!(2.0 / 14.0));
    assert_eq!(s["time_to_read_seconds"], json!({"p50": 300, "p90": 3000}));
    assert_eq!(s["time_to_dismiss_seconds"], json!({"p50": 90, "p90": 150}));
    let staff = s["per_staff"].as_array().unwrap();
    assert_eq!(staff.len(), 2);
    assert_eq!(
        staff[0],
        json!({"staff_id": a, "full_name": "a", "alerts": 10, "unread": 0, "median_time_to_read_seconds": 300, "acknowledged": 0, "median_time_to_acknowledge_seconds": null})
    );
    assert_eq!(
        staff[1],
        json!({"staff_id": b, "full_name": "b", "alerts": 4, "unread": 4, "median_time_to_read_seconds": null, "acknowledged": 0, "median_time_to_acknowledge_seconds": null})
    );

    // An agent sees only their own figures.
    let (_, own) = app.get(&format!("/api/v1/alerts/stats?{range}"), &app.token(b)).await;
    assert_eq!(
        (own["scope"].clone(), own["total"].clone(), own["read_rate"].clone()),
        (json!("own"), json!(4), json!(0.0))
    );
    assert_eq!(own["time_to_read_seconds"], json!({"p50": null, "p90": null}));
    assert_eq!(own["per_staff"].as_array().unwrap().len(), 1);

    // An empty range: zeros, not errors.
    let (status, empty) =
        app.get("/api/v1/alerts/stats?from=2025-01-01T00:00:00Z&to=2025-01-02T00:00:00Z", &app.token(a)).await;
    assert_eq!((status, empty["total"].clone(), empty["read_rate"].clone()), (200, json!(0), json!(0.0)));
    assert_eq!(empty["per_day"].as_array().unwrap().len(), 1);

    for bad in [
        "from=yesterday",
        "from=2026-11-13T00:00:00Z&to=2026-11-10T00:00:00Z",
        "from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
    ] {
        let (status, body) = app.get(&format!("/api/v1/alerts/stats?{bad}"), &app.token(a)).await;
        assert_eq!(status, 422, "{bad}: {body}");
    }
    // Default range: the last 30 days before now.
    let (status, default) = app.get("/api/v1/alerts/stats", &app.token(a)).await;
    assert_eq!(status, 200);
    assert_eq!(default["per_day"].as_array().unwrap().len(), 31);
}

/// The bucket the triggers file a latency of `secs` seconds under.
fn bucket(secs: i64) -> i64 {
    match secs {
        s if s < 600 => s,
        s if s < 36_000 => s / 10 * 10,
        s if s < 864_000 => s / 300 * 300,
        s => s / 3600 * 3600,
    }
}

pub(crate) type Hourly = BTreeMap<(i64, String, String), (i64, i64, i64)>;
pub(crate) type Latencies = BTreeMap<(i64, String), (i64, i64)>;

/// What the rollups must hold, computed here from every row of `alerts`.
pub(crate) async fn expected_rollups(app: &TestApp) -> (Hourly, BTreeMap<(i64, i64), i64>, Latencies) {
    let (mut hourly, mut staff, mut latencies) = (Hourly::new(), BTreeMap::new(), Latencies::new());
    for a in alert::Entity::find().all(&app.app.db).await.unwrap() {
        let hour = a.created_at.timestamp().div_euclid(3600);
        let e = hourly.entry((hour, a.alert_type.clone(), a.severity.clone())).or_insert((0, 0, 0));
        e.0 += 1;
        e.1 += i64::from(a.read_at.is_some());
        e.2 += i64::from(a.dismissed_at.is_some());
        *staff.entry((a.assigned_to_staff_id, hour)).or_insert(0) += 1;
        for (kind, at) in [("read", a.read_at), ("dismiss", a.dismissed_at)] {
            if let Some(at) = at.filter(|at| *at >= a.created_at) {
                let secs = (at - a.created_at).num_seconds();
                latencies.insert((a.id, kind.to_owned()), (a.assigned_to_staff_id, bucket(secs)));
            }
        }
    }
    (hourly, staff, latencies)
}

/// What the rollups hold (rows emptied to zero by later writes left out).
pub(crate) async fn stored_rollups(app: &TestApp) -> (Hourly, BTreeMap<(i64, i64), i64>, Latencies) {
    let db = &app.app.db;
    let query = |sql: &str| Statement::from_string(db.get_database_backend(), sql.to_owned());
    let rows = |sql: &'static str| async move { db.query_all_raw(query(sql)).await.unwrap() };
    let get = |r: &sea_orm::QueryResult, c: &str| -> i64 { r.try_get("", c).unwrap() };
    let mut hourly = Hourly::new();
    for r in
        rows("SELECT * FROM alert_stats_hourly WHERE alerts_total <> 0 OR alerts_read <> 0 OR alerts_dismissed <> 0")
            .await
    {
        hourly.insert(
            (get(&r, "hour"), r.try_get("", "alert_type").unwrap(), r.try_get("", "severity").unwrap()),
            (get(&r, "alerts_total"), get(&r, "alerts_read"), get(&r, "alerts_dismissed")),
        );
    }
    let mut staff = BTreeMap::new();
    for r in rows("SELECT * FROM alert_stats_staff_hourly WHERE alerts_total <> 0").await {
        staff.insert((get(&r, "staff_id"), get(&r, "hour")), get(&r, "alerts_total"));
    }
    let mut latencies = Latencies::new();
    for r in rows("SELECT alert_id, kind, staff_id, bucket FROM alert_latencies").await {
        latencies
            .insert((get(&r, "alert_id"), r.try_get("", "kind").unwrap()), (get(&r, "staff_id"), get(&r, "bucket")));
    }
    (hourly, staff, latencies)
}

/// Every kind of write to `alerts` — inserts with and without read and
/// dismiss times, reads, dismissals and read-all through the API, updates
/// that move an alert to another hour, type or staff member, an update of an
/// untracked column, deletes — leaves the trigger-kept rollups equal to an
/// aggregate of the table.
async fn rollups_follow_every_write(backend: Backend) {
    let app = spawn_app!(backend);
    let (a, b) = fixture(&app).await;
    let db = &app.app.db;
    assert_eq!(stored_rollups(&app).await, expected_rollups(&app).await, "after inserts");
    assert!(!stored_rollups(&app).await.2.is_empty(), "the fixture has latencies");

    let token = app.token(b);
    let (_, list) = app.get("/api/v1/alerts?limit=10", &token).await;
    let ids: Vec<i64> = list["alerts"].as_array().unwrap().iter().map(|x| x["id"].as_i64().unwrap()).collect();
    assert!(ids.len() >= 4, "{list}");
    assert_eq!(app.put(&format!("/api/v1/alerts/{}/read", ids[0]), &token).await.0, 204);
    assert_eq!(app.put(&format!("/api/v1/alerts/{}/dismiss", ids[1]), &token).await.0, 204);
    assert_eq!(app.put("/api/v1/alerts/read-all", &token).await.0, 200);
    assert_eq!(stored_rollups(&app).await, expected_rollups(&app).await, "after the API's writes");

    use alert::Column as C;
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
    let moved = alert::Entity::update_many()
        .col_expr(C::CreatedAt, Expr::value(at(12, 23)))
        .col_expr(C::Severity, Expr::value("info"))
        .col_expr(C::AssignedToStaffId, Expr::value(a))
        .filter(C::Id.eq(ids[2]));
    moved.exec(db).await.unwrap();
    let untracked =
        alert::Entity::update_many().col_expr(C::ExpiresAt, Expr::value(at(30, 0))).filter(C::Id.eq(ids[3]));
    untracked.exec(db).await.unwrap();
    alert::Entity::delete_many()
        .filter(C::AssignedToStaffId.eq(a))
        .filter(C::IsDismissed.eq(true))
        .exec(db)
        .await
        .unwrap();
    assert_eq!(stored_rollups(&app).await, expected_rollups(&app).await, "after direct updates and deletes");

    alert::Entity::delete_many().exec(db).await.unwrap();
    let (hourly, staff, latencies) = stored_rollups(&app).await;
    assert!(hourly.is_empty() && staff.is_empty() && latencies.is_empty(), "nothing left after deleting everything");
}

/// An upgraded PostgreSQL database loses m0005's row-level trigger to
/// m0006's statement-level ones (replayed here over a stand-in for the old
/// trigger that would count every alert a thousand times); on the other
/// dialects the migration changes nothing. Either way the rollups then follow
/// the writes, and bulk statements keep them exact. m0018 then replaces the
/// update function of such a database with one that returns early, and m0019
/// MySQL's insert trigger with one that leaves stamped rows to their writer.
async fn upgrade_to_statement_triggers(backend: Backend) {
    let app = spawn_app!(backend);
    let db = &app.app.db;
    let run = |sql: &'static str| db.execute_unprepared(sql);
    if backend == Backend::Postgres {
        run("CREATE FUNCTION alerts_stats_rollup() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             UPDATE alert_stats_hourly SET alerts_total = alerts_total + 1000; RETURN NULL; END $$")
        .await
        .unwrap();
        run("CREATE TRIGGER trg_alerts_stats AFTER INSERT ON alerts FOR EACH ROW EXECUTE FUNCTION alerts_stats_rollup()")
            .await
            .unwrap();
    }
    run("DELETE FROM seaql_migrations WHERE version = 'm0006_statement_triggers'").await.unwrap();
    convergeai_alerts::storage::migrate(db).await.unwrap();
    if backend == Backend::Postgres {
        // A stand-in for the update function before m0018.
        run("CREATE OR REPLACE FUNCTION alerts_stats_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$")
            .await
            .unwrap();
    }
    run("DELETE FROM seaql_migrations WHERE version = 'm0018_stats_update_shortcut'").await.unwrap();
    convergeai_alerts::storage::migrate(db).await.unwrap();
    // m0019 again: MySQL's insert trigger is replaced, not duplicated.
    run("DELETE FROM seaql_migrations WHERE version = 'm0019_stamped_rows_counted_by_statement'").await.unwrap();
    convergeai_alerts::storage::migrate(db).await.unwrap();
    if backend == Backend::MySql {
        let body = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT ACTION_STATEMENT AS body FROM information_schema.TRIGGERS \
                 WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME = 'trg_alerts_stats_insert'",
            ))
            .await
            .unwrap()
            .unwrap();
        let body: String = body.try_get("", "body").unwrap();
        assert!(
            body.contains("IF NEW.check_run IS NULL OR NEW.check_run NOT LIKE"),
            "bulk rows are counted by their writer: {body}"
        );
    }

    fixture(&app).await;
    assert_eq!(stored_rollups(&app).await, expected_rollups(&app).await, "after inserts");
    if backend == Backend::Postgres {
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'alerts'::regclass AND NOT tgisinternal ORDER BY tgname",
            ))
            .await
            .unwrap();
        let names: Vec<String> = rows.iter().map(|r| r.try_get("", "tgname").unwrap()).collect();
        assert_eq!(names, ["trg_alerts_stats_delete", "trg_alerts_stats_insert", "trg_alerts_stats_update"]);
        // m0018: an update that changes no tracked column returns after one set difference.
        let source = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT prosrc FROM pg_proc WHERE proname = 'alerts_stats_update'",
            ))
            .await
            .unwrap()
            .unwrap();
        let source: String = source.try_get("", "prosrc").unwrap();
        assert!(source.trim_start().starts_with("BEGIN\nIF NOT EXISTS ("), "{source}");
    }
    alert::Entity::delete_many().exec(db).await.unwrap();
    assert_eq!(stored_rollups(&app).await, expected_rollups(&app).await, "after deleting everything");
}

/// A window that does not start or end on the hour: its whole hours come
/// from the rollups, its edges from `alerts`, and the two add up exactly —
/// the same figures as one staff member's own (computed from `alerts` alone).
async fn window_edges_count_exactly(backend: Backend) {
    let app = spawn_app!(backend);
    let (a, _) = app.staff("a@example.com", "agent").await;
    let t = |h: u32, m: u32, s: u32| Utc.with_ymd_and_hms(2026, 11, 10, h, m, s).unwrap();
    let created = [t(8, 10, 0), t(8, 40, 0), t(9, 0, 0), t(10, 59, 59), t(11, 0, 0), t(11, 20, 0)];
    let rows: Vec<_> = created.iter().map(|c| row(a, "sla_breach", "critical", *c, Some(60), None)).collect();
    alert::Entity::insert_many(rows).exec_without_returning(&app.app.db).await.unwrap();

    let range = "from=2026-11-10T08:30:00Z&to=2026-11-10T11:10:00Z";
    for token in [app.admin_token().await, app.token(a)] {
        let (status, s) = app.get(&format!("/api/v1/alerts/stats?{range}"), &token).await;
        assert_eq!(status, 200, "{s}");
        assert_eq!(s["total"], 4, "08:40, 09:00, 10:59:59 and 11:00: {s}");
        assert_eq!(s["per_staff"][0]["alerts"], 4, "{s}");
        assert_eq!(s["read_rate"], json!(1.0));
        assert_eq!(s["time_to_read_seconds"], json!({"p50": 60, "p90": 60}));
    }
    // Within one hour: no whole hour at all.
    let (_, s) = app
        .get("/api/v1/alerts/stats?from=2026-11-10T08:05:00Z&to=2026-11-10T08:50:00Z", &app.admin_token().await)
        .await;
    assert_eq!(s["total"], 2, "{s}");
}

/// More staff members than one median statement holds (100): each one's
/// median time to read is still right, and none is missing.
async fn medians_for_many_staff(backend: Backend) {
    use convergeai_alerts::storage::entities::staff;
    let app = spawn_app!(backend);
    let (first, _) = app.staff("first@example.com", "agent").await;
    let template = staff::Entity::find_by_id(first).one(&app.app.db).await.unwrap().unwrap();
    let people: Vec<staff::ActiveModel> = (0..149)
        .map(|i| staff::ActiveModel {
            id: NotSet,
            email: Set(format!("agent{i}@example.com")),
            full_name: Set(format!("Agent {i}")),
            ..sea_orm::IntoActiveModel::into_active_model(template.clone())
        })
        .map(|mut m| {
            m.id = NotSet;
            m
        })
        .collect();
    staff::Entity::insert_many(people).exec_without_returning(&app.app.db).await.unwrap();
    let ids: Vec<i64> = staff::Entity::find().all(&app.app.db).await.unwrap().iter().map(|s| s.id).collect();
    assert!(ids.len() >= 150, "{}", ids.len());
    // Staff member k read three alerts, after k, 2k and 3k + 60 seconds: median 2k.
    let rows: Vec<_> = ids
        .iter()
        .enumerate()
        .flat_map(|(k, id)| {
            let k = k as i64;
            [k, 2 * k, 3 * k + 60].map(|secs| row(*id, "sla_breach", "critical", at(10, 9), Some(secs), None))
        })
        .collect();
    for chunk in rows.chunks(300) {
        alert::Entity::insert_many(chunk.to_vec()).exec_without_returning(&app.app.db).await.unwrap();
    }
    let (status, s) = app
        .get("/api/v1/alerts/stats?from=2026-11-10T00:00:00Z&to=2026-11-11T00:00:00Z", &app.admin_token().await)
        .await;
    assert_eq!(status, 200, "{s}");
    let per_staff = s["per_staff"].as_array().unwrap();
    let medians: BTreeMap<i64, i64> = per_staff
        .iter()
        .filter(|r| r["alerts"] == 3)
        .map(|r| (r["staff_id"].as_i64().unwrap(), r["median_time_to_read_seconds"].as_i64().unwrap()))
        .collect();
    assert_eq!(medians.len(), ids.len(), "every staff member with alerts has a median");
    for (k, id) in ids.iter().enumerate() {
        assert_eq!(medians[id], 2 * k as i64, "staff member {id}");
    }
}

/// `per_day` counts the reader's days: the zone asked for, else the
/// caller's own, else UTC; a bad zone is a 422 naming it.
async fn days_are_the_readers(backend: Backend) {
    let app = spawn_app!(backend);
    let (a, b) = fixture(&app).await;
    let range = "from=2026-11-10T00:00:00Z&to=2026-11-13T00:00:00Z";
    let days = |s: &serde_json::Value| -> Vec<(String, i64)> {
        s["per_day"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["date"].as_str().unwrap().to_owned(), d["total"].as_i64().unwrap()))
            .collect()
    };
    let (_, utc) = app.get(&format!("/api/v1/alerts/stats?{range}"), &app.token(b)).await;
    assert_eq!(utc["time_zone"], "UTC");
    assert_eq!(days(&utc), [("2026-11-10".into(), 0), ("2026-11-11".into(), 4), ("2026-11-12".into(), 0)]);
    // B's four alerts came at 15:00 UTC on the 11th: 00:00 on the 12th in Tokyo.
    let (status, tokyo) = app.get(&format!("/api/v1/alerts/stats?{range}&time_zone=Asia/Tokyo"), &app.token(b)).await;
    assert_eq!(status, 200, "{tokyo}");
    assert_eq!(tokyo["time_zone"], "Asia/Tokyo");
    assert_eq!(
        days(&tokyo),
        [("2026-11-10".into(), 0), ("2026-11-11".into(), 0), ("2026-11-12".into(), 4), ("2026-11-13".into(), 0)],
        "the range's days in Tokyo, 09:00 on the 10th to 09:00 on the 13th"
    );
    // A's own zone is the default for A.
    let admin = app.admin_token().await;
    let tz = json!({"time_zone": "America/New_York"});
    assert_eq!(app.send(reqwest::Method::PATCH, &format!("/api/v1/staff/{a}"), Some(&admin), Some(tz)).await.0, 200);
    let (_, own) = app.get(&format!("/api/v1/alerts/stats?{range}"), &app.token(a)).await;
    assert_eq!(own["time_zone"], "America/New_York");
    assert_eq!(own["per_day"][0]["date"], "2026-11-09", "midnight UTC is the evening before in New York");
    let (status, body) = app.get(&format!("/api/v1/alerts/stats?{range}&time_zone=Mars/Base"), &admin).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("time_zone"), "{body}");
}

/// A supervisor (`alerts.team`) sees their team's figures — the staff they
/// supervise, and themselves — and nobody else's.
async fn supervisors_see_their_team(backend: Backend) {
    let app = spawn_app!(backend);
    let (a, b) = fixture(&app).await;
    let (sup, sup_token) = app.staff("sup@example.com", "supervisor").await;
    let (other_sup, _) = app.staff("other@example.com", "supervisor").await;
    let admin = app.admin_token().await;
    let (status, body) = app
        .send(reqwest::Method::PATCH, &format!("/api/v1/staff/{a}"), Some(&admin), Some(json!({"supervisor_id": sup})))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/staff/{b}"),
            Some(&admin),
            Some(json!({"supervisor_id": other_sup})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    alert::Entity::insert_many([row(sup, "sla_breach", "critical", at(11, 10), None, None)])
        .exec_without_returning(&app.app.db)
        .await
        .unwrap();
    let range = "from=2026-11-10T00:00:00Z&to=2026-11-13T00:00:00Z";
    let (status, team) = app.get(&format!("/api/v1/alerts/stats?{range}"), &sup_token).await;
    assert_eq!(status, 200, "{team}");
    assert_eq!((team["scope"].clone(), team["total"].clone()), (json!("team"), json!(11)), "a's 10 and their own 1");
    let mut staff: Vec<i64> =
        team["per_staff"].as_array().unwrap().iter().map(|s| s["staff_id"].as_i64().unwrap()).collect();
    staff.sort();
    assert_eq!(
        staff,
        {
            let mut v = vec![a, sup];
            v.sort();
            v
        },
        "not b, who is another supervisor's"
    );
    assert_eq!(team["time_to_read_seconds"], json!({"p50": 300, "p90": 3000}), "a's reads");
    // A supervisor with no one under them: their own figures, under the team scope.
    let (_, alone) = app.get(&format!("/api/v1/alerts/stats?{range}"), &app.token(other_sup)).await;
    assert_eq!((alone["scope"].clone(), alone["total"].clone()), (json!("team"), json!(4)), "b's 4 are theirs now");
    let (_, own) = app.get(&format!("/api/v1/alerts/stats?{range}"), &app.token(a)).await;
    assert_eq!(own["scope"], "own", "agents keep their own");
}

on_all_backends!(
    days_are_the_readers,
    supervisors_see_their_team,
    stats_maths_on_fixed_data,
    rollups_follow_every_write,
    upgrade_to_statement_triggers,
    window_edges_count_exactly,
    medians_for_many_staff
);
