//! The statistics maths on fixed data, on every backend.
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use convergeai_alerts::storage::entities::alert;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::EntityTrait;
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
    assert_eq!(s["by_type"], json!({"critical_complaint": 4, "high_workload": 3, "sla_at_risk": 3, "sla_breach": 4}));
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
        json!({"staff_id": a, "full_name": "a", "alerts": 10, "unread": 0, "median_time_to_read_seconds": 300})
    );
    assert_eq!(
        staff[1],
        json!({"staff_id": b, "full_name": "b", "alerts": 4, "unread": 4, "median_time_to_read_seconds": null})
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

on_all_backends!(stats_maths_on_fixed_data);
