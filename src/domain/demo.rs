//! `serve --demo`: sample staff and complaints in every SLA state, so a
//! newcomer sees alerts in the first minute. Idempotent: a second run finds
//! the demo admin and adds nothing.
use chrono::TimeDelta;

use super::staff::{self, CreateStaff};
use super::vocab::RuleType;
use super::{App, DomainResult, engine, sla};
use crate::storage;

/// (title, customer, priority, status, assignee, created hours ago, deadline hours from now)
type DemoComplaint = (String, &'static str, &'static str, &'static str, Option<i64>, i64, i64);

pub const DEMO_PASSWORD: &str = "demo-password";

/// A demo account as the sign-in page of a demo server lists it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DemoAccount {
    pub email: String,
    pub role: &'static str,
    /// What signing in as it shows.
    pub shows: &'static str,
}

/// The demo accounts of `load`'s list, with what each shows.
pub fn described(accounts: &[(String, &'static str)]) -> Vec<DemoAccount> {
    accounts
        .iter()
        .map(|(email, role)| DemoAccount {
            email: email.clone(),
            role,
            shows: match *role {
                "admin" => "everything: rules, SLA calendars, escalation policies, the team, everyone's analytics",
                "supervisor" => "the agents' breaches and escalations, the SLA board, the team's analytics",
                _ => "an agent's own inbox and settings",
            },
        })
        .collect()
}
const ADMIN: &str = "admin@demo.local";

/// Creates the demo data unless it exists; returns the accounts to print.
pub async fn load(app: &App) -> DomainResult<Vec<(String, &'static str)>> {
    let accounts = vec![
        (ADMIN.to_owned(), "admin"),
        ("supervisor@demo.local".to_owned(), "supervisor"),
        ("agent1@demo.local".to_owned(), "agent"),
        ("agent2@demo.local".to_owned(), "agent"),
        ("agent3@demo.local".to_owned(), "agent"),
    ];
    if storage::staff::by_email(&app.db, ADMIN).await?.is_some() {
        return Ok(accounts);
    }
    let mut ids = Vec::new();
    for (email, role) in &accounts {
        let supervisor = (*role == "agent").then(|| "supervisor@demo.local".to_owned());
        let name = match *role {
            "admin" => "Ada Admin".to_owned(),
            "supervisor" => "Sam Supervisor".to_owned(),
            _ => format!("Agent {}", email.chars().nth(5).unwrap_or('x')),
        };
        let created = staff::create(
            app,
            CreateStaff {
                email: email.clone(),
                password: DEMO_PASSWORD.into(),
                role: (*role).into(),
                full_name: Some(name),
                phone: None,
                supervisor_email: supervisor,
            },
        )
        .await?;
        ids.push(created.id);
    }
    let (agent1, agent2, agent3) = (ids[2], ids[3], ids[4]);
    let now = app.clock.now();
    let h = TimeDelta::hours;
    let mut rows: Vec<DemoComplaint> = vec![
        ("Invoice shows the wrong address".into(), "Grace Hopper", "medium", "open", Some(agent1), 1, 71),
        ("Refund not received after 2 weeks".into(), "Alan Turing", "high", "in_progress", Some(agent1), 20, 2),
        ("Router keeps dropping the connection".into(), "Ada Lovelace", "high", "open", Some(agent2), 30, -6),
        ("Payment taken twice".into(), "Edsger Dijkstra", "critical", "open", Some(agent2), 0, 4),
        ("Account locked, cannot log in".into(), "Barbara Liskov", "critical", "open", None, 0, 4),
        ("Parcel delivered to the wrong house".into(), "Donald Knuth", "low", "resolved", Some(agent1), 50, -2),
    ];
    for i in 1..=12 {
        rows.push((format!("Follow-up request {i}"), "Ken Thompson", "medium", "open", Some(agent3), 2, 70));
    }
    for (title, customer, priority, status, assignee, age, deadline) in rows {
        let resolved = status == "resolved";
        storage::complaints::insert(
            &app.db,
            storage::complaints::NewComplaintRow {
                title,
                description: "Demo complaint".into(),
                customer_name: customer.into(),
                customer_email: None,
                priority: priority.into(),
                status: status.into(),
                assigned_to_staff_id: assignee,
                created_at: now - h(age),
                updated_at: now,
                resolved_at: resolved.then(|| now - h(10)),
                external_id: None,
                external_updated_at: None,
                first_responded_at: None,
                // A deadline of its own; revision 0: the check projects the rest of the clock.
                clock: storage::complaints::ClockColumns {
                    sla_deadline: Some(now + h(deadline)),
                    sla_deadline_explicit: true,
                    ..Default::default()
                },
                unchecked_since: Some(now),
            },
        )
        .await?;
    }
    business_hours(app, [agent1, agent2, agent3]).await?;
    engine::check_all(app).await?;
    Ok(accounts)
}

/// A support desk's business calendar (Berlin, a lunch break, the Christmas
/// and New Year holidays), a policy putting medium and low complaints on it
/// with a first-response target, the first-response rules switched on, and
/// complaints whose clocks run, wait on the customer, met their first
/// response and missed both targets. Their clocks are projected by the
/// check that follows (revision 0).
async fn business_hours(app: &App, [agent1, agent2, agent3]: [i64; 3]) -> DomainResult<()> {
    let day = || vec![["09:00".to_owned(), "12:30".to_owned()], ["13:30".to_owned(), "17:30".to_owned()]];
    let weekly = ["mon", "tue", "wed", "thu", "fri"].into_iter().map(|d| (d.to_owned(), day())).collect();
    let holiday = |date: &str, end: Option<&str>, name: &str| super::calendar::HolidaySpec {
        date: date.into(),
        end_date: end.map(str::to_owned),
        name: name.into(),
        yearly: true,
    };
    let calendar = sla::create_calendar(
        app,
        sla::NewCalendar {
            name: "Support desk (Berlin)".into(),
            time_zone: "Europe/Berlin".into(),
            weekly_hours: weekly,
            holidays: vec![
                holiday("2026-12-24", Some("2026-12-26"), "Christmas"),
                holiday("2027-01-01", None, "New Year's Day"),
            ],
        },
    )
    .await?;
    sla::create_policy(
        app,
        sla::NewPolicy {
            name: "Standard support, business hours".into(),
            position: Some(100),
            matches: sla::PolicyMatch { priorities: vec!["medium".into(), "low".into()], statuses: None },
            calendar_id: Some(calendar.id),
            targets: sla::Targets { first_response_minutes: Some(120), resolution_minutes: Some(16 * 60) },
            pause_statuses: None,
        },
    )
    .await?;
    for rule in super::rules::list(app, Some(RuleType::FirstResponse.as_str()), false).await? {
        super::rules::update(app, rule.id, super::rules::RuleChanges { is_enabled: Some(true), ..Default::default() })
            .await?;
    }
    let now = app.clock.now();
    let h = TimeDelta::hours;
    // (title, customer, priority, status, assignee, created hours ago, first response hours ago)
    let rows = [
        ("Warranty question about a blender", "Margaret Hamilton", "medium", "open", agent3, 1, None),
        ("Waiting for photos of the damage", "Frances Allen", "medium", "pending", agent3, 5, Some(4)),
        ("Delivery slot needs changing", "John Backus", "low", "in_progress", agent1, 30, Some(29)),
        ("Subscription cancelled by mistake", "Radia Perlman", "medium", "open", agent2, 200, None),
    ];
    for (title, customer, priority, status, assignee, age, responded) in rows {
        let row = storage::complaints::NewComplaintRow {
            title: title.into(),
            description: "Demo complaint on business hours".into(),
            customer_name: customer.into(),
            customer_email: None,
            priority: priority.into(),
            status: status.into(),
            assigned_to_staff_id: Some(assignee),
            created_at: now - h(age),
            updated_at: now,
            resolved_at: None,
            external_id: None,
            external_updated_at: None,
            first_responded_at: responded.map(|r| now - h(r)),
            clock: storage::complaints::ClockColumns::default(),
            unchecked_since: Some(now),
        };
        storage::complaints::insert(&app.db, row).await?;
    }
    Ok(())
}
