//! Property tests: rule validation never panics and names the field; the
//! SLA "at risk" SQL agrees with the arithmetic it stands for.
use chrono::TimeDelta;
use convergeai_alerts::domain::{DomainError, rules};
use convergeai_alerts::storage::engine::{Scope, SlaMetric, Source, matching_complaints};
use convergeai_alerts::storage::entities::complaint;
use proptest::prelude::*;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ActiveModelTrait, EntityTrait};
use serde_json::{Value, json};

use crate::harness::{Backend, TestApp};

/// Arbitrary JSON, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        "[a-z_]{0,12}".prop_map(Value::from),
        prop_oneof![Just("at_risk"), Just("breached"), Just("critical"), Just("open"), Just("sla_breach")]
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("sla_state".to_owned()),
                    Just("threshold_percent".to_owned()),
                    Just("statuses".to_owned()),
                    Just("priority".to_owned()),
                    Just("metric".to_owned()),
                    Just("threshold".to_owned()),
                    Just("alert_type".to_owned()),
                    Just("severity".to_owned()),
                    Just("recipients".to_owned()),
                    "[a-z]{1,8}",
                ],
                inner,
                0..5,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn validation_never_panics_and_names_a_field(
        rule_type in prop_oneof![Just("sla".to_owned()), Just("event".to_owned()), Just("threshold".to_owned()), "[a-z]{0,6}"],
        conditions in any_json(),
        config in any_json(),
    ) {
        match rules::validate(&rule_type, &conditions, &config) {
            Ok(_) => {}
            Err(DomainError::Invalid { field, message }) => {
                prop_assert!(
                    field == "rule_type" || field.starts_with("conditions") || field.starts_with("alert_config"),
                    "field {field:?}: {message}"
                );
                prop_assert!(!message.is_empty());
            }
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    #[test]
    fn workload_threshold_range(threshold in -1_000_000i64..2_000_000) {
        let result = rules::validate(
            "threshold",
            &json!({"metric": "open_assigned_complaints", "threshold": threshold}),
            &json!({"alert_type": "high_workload", "severity": "warning"}),
        );
        let valid = (0..=1_000_000).contains(&threshold);
        prop_assert_eq!(result.is_ok(), valid);
        if let Err(DomainError::Invalid { field, .. }) = result {
            prop_assert_eq!(field, "conditions.threshold");
        }
    }

    #[test]
    fn at_risk_threshold_range(percent in -50.0f64..150.0) {
        let result = rules::validate(
            "sla",
            &json!({"sla_state": "at_risk", "threshold_percent": percent}),
            &json!({"alert_type": "sla_at_risk", "severity": "warning"}),
        );
        prop_assert_eq!(result.is_ok(), percent > 0.0 && percent < 100.0);
    }
}

/// Whether the SQL predicates select a complaint created `elapsed_s` ago
/// with an SLA window of `window_s`, at `percent` %: (at risk, breached),
/// and what the arithmetic says they should be.
async fn sla_case(app: &TestApp, window_s: i64, elapsed_s: i64, percent: u32) -> ((bool, bool), (bool, bool)) {
    let statuses = vec!["open".to_owned(), "in_progress".to_owned()];
    let now = app.app.clock.now();
    let created = now - TimeDelta::seconds(elapsed_s);
    let deadline = created + TimeDelta::seconds(window_s);
    let row = complaint::ActiveModel {
        id: NotSet,
        title: Set("p".into()),
        description: Set(String::new()),
        customer_name: Set("c".into()),
        customer_email: Set(None),
        priority: Set("medium".into()),
        status: Set("open".into()),
        assigned_to_staff_id: Set(None),
        sla_deadline: Set(Some(deadline)),
        created_at: Set(created),
        updated_at: Set(now),
        resolved_at: Set(None),
        external_id: Set(None),
        external_updated_at: Set(None),
        ..Default::default()
    }
    .insert(&app.app.db)
    .await
    .unwrap();
    let share = f64::from(percent) / 100.0;
    // The at-risk point a clock with this deadline gets (rule 999's).
    let point = convergeai_alerts::domain::sla::wall_share_point(created, deadline, share);
    let points = vec![(row.id, vec![(999, point, (deadline - point).num_seconds())])];
    convergeai_alerts::storage::sla::replace_points(&app.app.db, &points).await.unwrap();
    let scope = Scope::Complaint(row.id);
    let db = &app.app.db;
    let matches =
        |source: Source| async move { !matching_complaints(db, &source, 999, now, scope).await.unwrap().is_empty() };
    let metric = SlaMetric::Resolution;
    let at_risk = matches(Source::SlaAtRisk { statuses: statuses.clone(), metric }).await;
    let breached = matches(Source::SlaBreached { statuses, metric }).await;
    convergeai_alerts::storage::sla::replace_points(&app.app.db, &[(row.id, vec![])]).await.unwrap();
    complaint::Entity::delete_by_id(row.id).exec(&app.app.db).await.unwrap();
    let expect_breached = deadline <= now;
    let expect_at_risk = !expect_breached && elapsed_s as f64 >= share * window_s as f64;
    ((at_risk, breached), (expect_at_risk, expect_breached))
}

/// For random SLA windows, elapsed times and thresholds, the SQL predicates
/// (on SQLite here; the same statement runs on every backend in the engine
/// tests) select a complaint exactly when the arithmetic says so.
#[test]
fn sla_predicates_match_the_arithmetic() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let app = rt.block_on(TestApp::spawn(Backend::Sqlite)).unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases: 200, ..ProptestConfig::default() });
    runner
        .run(&(60i64..=30 * 86_400, 0i64..=40 * 86_400, 1u32..=99), |(window_s, elapsed_s, percent)| {
            let (got, expected) = rt.block_on(sla_case(&app, window_s, elapsed_s, percent));
            prop_assert_eq!(got, expected, "window {} s, elapsed {} s, {}%", window_s, elapsed_s, percent);
            Ok(())
        })
        .unwrap();
}

/// Exactly at the threshold (and a second either side), where rounding
/// would show: at risk from the very second the share is reached.
#[test]
fn sla_predicates_at_the_exact_threshold() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let app = rt.block_on(TestApp::spawn(Backend::Sqlite)).unwrap();
    rt.block_on(async {
        for (window_s, percent) in [(100, 80), (3_600, 80), (36_000, 75), (86_400, 90), (30 * 86_400, 37), (700, 1)] {
            let at = window_s * i64::from(percent) / 100;
            assert_eq!(window_s * i64::from(percent) % 100, 0, "an exact threshold");
            for elapsed_s in [at - 1, at, at + 1] {
                let (got, expected) = sla_case(&app, window_s, elapsed_s, percent).await;
                assert_eq!(got, expected, "window {window_s} s, elapsed {elapsed_s} s, {percent}%");
                assert_eq!(got.0, elapsed_s >= at, "window {window_s} s, elapsed {elapsed_s} s, {percent}%");
            }
        }
    });
}
