//! The first import of a host's complaints (issue 21, SPEC 12):
//! `import complaints FILE [--dry-run]`, JSON lines or CSV; bad lines are
//! reported with their numbers and never stop the rest; a rerun changes
//! nothing; alerts come from the next check.
use std::process::{Command, Output};

use crate::harness::{Backend, TestDb};
use crate::on_all_backends;

fn run(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_convergeai-alerts"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run binary")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn complaints(url: &str) -> Vec<convergeai_alerts::storage::entities::complaint::Model> {
    use sea_orm::{EntityTrait, QueryOrder};
    let db = convergeai_alerts::storage::connect(url, &Default::default()).await.unwrap();
    use convergeai_alerts::storage::entities::complaint;
    complaint::Entity::find().order_by_asc(complaint::Column::Id).all(&db).await.unwrap()
}

async fn alert_count(url: &str) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let db = convergeai_alerts::storage::connect(url, &Default::default()).await.unwrap();
    convergeai_alerts::storage::entities::alert::Entity::find().count(&db).await.unwrap()
}

async fn mixed_lines_dry_run_and_rerun(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else { return };
    let url = db.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("complaints.jsonl");
    let lines = [
        r#"{"external_id":"HD-1","title":"Payment taken twice","customer_name":"Ada","priority":"critical","assigned_to_email":"agent@example.com"}"#,
        r#"{"external_id":"HD-2","title":"Late parcel","customer_name":"Grace","sla_deadline":"2026-01-01T00:00:00Z"}"#,
        r#"{"external_id":"HD-3","title":"","customer_name":"Alan"}"#,
        r#"not json"#,
        "",
        r#"{"external_id":"HD-4","title":"Wrong invoice","customer_name":"Edsger","priority":"urgent"}"#,
        r#"{"external_id":"HD-5","title":"Ghost","customer_name":"Barbara","assigned_to_email":"ghost@example.com"}"#,
        r#"{"external_id":"HD-6","title":"Refund","customer_name":"Donald","status":"resolved"}"#,
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let file = file.to_string_lossy().into_owned();
    let cli = |args: &[&str]| {
        let (url, args) = (url.clone(), args.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>());
        async move {
            tokio::task::spawn_blocking(move || run(&url, &args.iter().map(String::as_str).collect::<Vec<_>>()))
                .await
                .unwrap()
        }
    };
    let staff = ["staff", "create", "--email", "agent@example.com", "--password", "tulip-ledger-42", "--role", "agent"];
    let made = cli(&staff).await;
    assert!(made.status.success(), "{}", text(&made.stderr));
    let dry = cli(&["import", "complaints", &file, "--dry-run"]).await;

    // The dry run counts and reports, and writes nothing.
    assert!(!dry.status.success(), "lines were rejected");
    assert!(
        text(&dry.stdout).contains("7 lines") && text(&dry.stdout).contains("3 would be created"),
        "{}",
        text(&dry.stdout)
    );
    let report = text(&dry.stderr);
    for (line, why) in [
        (3, "title: must not be empty"),
        (4, "expected"),
        (6, "priority:"),
        (7, "assigned_to_email: no active staff member"),
    ] {
        assert!(
            report.contains(&format!("line {line}: ")) && report.contains(why),
            "line {line} ({why}) in:\n{report}"
        );
    }
    assert!(report.trim_end().ends_with("error: 4 of 7 lines rejected (the others were taken)"), "{report}");
    assert!(complaints(&url).await.is_empty(), "a dry run writes nothing");

    // The real import takes the good lines despite the bad ones, and raises no alert yet.
    let real = cli(&["import", "complaints", &file]).await;
    assert!(text(&real.stdout).contains("3 were created, 0 updated, 0 unchanged"), "{}", text(&real.stdout));
    let stored = complaints(&url).await;
    let ids: Vec<_> = stored.iter().map(|c| c.external_id.clone().unwrap_or_default()).collect();
    assert_eq!(ids, ["HD-1", "HD-2", "HD-6"]);
    assert!(stored[0].assigned_to_staff_id.is_some(), "assigned by email");
    assert!(stored[2].resolved_at.is_some(), "resolved on the way in");
    assert_eq!(alert_count(&url).await, 0, "alerts come from the next check, not one per line");

    // A rerun changes nothing.
    let again = cli(&["import", "complaints", &file]).await;
    assert!(text(&again.stdout).contains("0 were created, 0 updated, 3 unchanged"), "{}", text(&again.stdout));
    assert_eq!(complaints(&url).await, stored);

    // The next check raises the imported complaints' alerts.
    let check = cli(&["check"]).await;
    assert!(check.status.success(), "{}", text(&check.stderr));
    assert!(alert_count(&url).await > 0, "{}", text(&check.stdout));
}

/// CSV with a header row; an updated line updates.
async fn csv_files_import_and_update(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else { return };
    let url = db.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.csv");
    let second = dir.path().join("second.csv");
    std::fs::write(
        &first,
        "external_id,title,customer_name,priority\nA-1,\"Broken, twice\",Ada,high\nA-2,Late,Grace,\n",
    )
    .unwrap();
    std::fs::write(
        &second,
        "external_id,title,customer_name,priority\nA-1,\"Broken, twice\",Ada,critical\nA-3,New,Alan,low\n",
    )
    .unwrap();
    let (first, second) = (first.to_string_lossy().into_owned(), second.to_string_lossy().into_owned());
    let url_for = url.clone();
    let (a, b) = tokio::task::spawn_blocking(move || {
        (run(&url_for, &["import", "complaints", &first]), run(&url_for, &["import", "complaints", &second]))
    })
    .await
    .unwrap();
    assert!(a.status.success(), "{}", text(&a.stderr));
    assert!(text(&a.stdout).contains("2 were created"), "{}", text(&a.stdout));
    assert!(b.status.success(), "{}", text(&b.stderr));
    assert!(text(&b.stdout).contains("1 were created, 1 updated, 0 unchanged"), "{}", text(&b.stdout));
    let stored = complaints(&url).await;
    assert_eq!(stored.len(), 3);
    assert_eq!((stored[0].title.as_str(), stored[0].priority.as_str()), ("Broken, twice", "critical"));
    assert_eq!(stored[1].priority, "medium", "an empty cell is absent");
}

on_all_backends!(mixed_lines_dry_run_and_rerun, csv_files_import_and_update);
