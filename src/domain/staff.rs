//! Staff accounts: the CLI's and the team administration API's (`staff.manage`).
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::events::{Change, StaffEvent};
use super::paging::Paging;
use super::{App, DomainError, DomainResult, auth, wire};
use crate::storage::{self, entities::staff};

use super::vocab::Role;

pub struct CreateStaff {
    pub email: String,
    pub password: String,
    pub role: String,
    pub full_name: Option<String>,
    pub phone: Option<String>,
    pub supervisor_email: Option<String>,
}

/// A plausible address: one `@`, something on each side, no spaces.
pub fn parse_email(field: &str, raw: &str) -> DomainResult<String> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 255
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if valid { Ok(email) } else { Err(DomainError::invalid(field, format!("{raw:?} is not a valid email address"))) }
}

/// The most common passwords of 8 characters or more, one per line.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");
const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_CHARS: usize = 1024;

/// The one password rule, for every way a password is set (CLI and API): at
/// least 8 characters besides surrounding spaces, at most 1024, not one
/// character repeated, not the account's email or its name part, not one of
/// the most common passwords.
pub fn check_password(password: &str, email: &str) -> DomainResult<()> {
    let core = password.trim();
    let chars = core.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(DomainError::invalid(
            "password",
            format!("must have at least {MIN_PASSWORD_CHARS} characters besides surrounding spaces"),
        ));
    }
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(DomainError::invalid("password", format!("must be at most {MAX_PASSWORD_CHARS} characters")));
    }
    let lower = core.to_lowercase();
    let mut distinct = lower.chars();
    let first = distinct.next();
    if distinct.all(|c| Some(c) == first) {
        return Err(DomainError::invalid("password", "must not be one character repeated"));
    }
    let name = email.split('@').next().unwrap_or_default();
    if lower == email.to_lowercase() || lower == name.to_lowercase() {
        return Err(DomainError::invalid("password", "must not be the email address"));
    }
    if COMMON_PASSWORDS.lines().any(|common| !common.starts_with('#') && common == lower) {
        return Err(DomainError::invalid("password", "is one of the most common passwords; choose another"));
    }
    Ok(())
}

pub async fn create(app: &App, input: CreateStaff) -> DomainResult<staff::Model> {
    let email = parse_email("email", &input.email)?;
    check_password(&input.password, &email)?;
    let role = role_named(app, &input.role).await?;
    let supervisor_id = match input.supervisor_email {
        Some(sup) => {
            let sup_email = parse_email("supervisor", &sup)?;
            let supervisor = storage::staff::by_email(&app.db, &sup_email)
                .await?
                .ok_or_else(|| DomainError::invalid("supervisor", format!("no staff member with email {sup_email}")))?;
            Some(supervisor.id)
        }
        None => None,
    };
    let account = Account { email, password: input.password, role_id: role.id, supervisor_id, time_zone: None };
    insert(app, account, input.full_name, input.phone).await
}

/// An account's checked fields, to insert.
struct Account {
    email: String,
    password: String,
    role_id: i64,
    supervisor_id: Option<i64>,
    time_zone: Option<String>,
}

/// Inserts an active account (its name the email's local part when none is
/// given); a taken email is a 409 saying so.
async fn insert(
    app: &App,
    account: Account,
    full_name: Option<String>,
    phone: Option<String>,
) -> DomainResult<staff::Model> {
    let Account { email, password, role_id, supervisor_id, time_zone } = account;
    let full_name = full_name.unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
    let password_hash = auth::hash_password(password).await?;
    let new = storage::staff::NewStaff {
        email: email.clone(),
        full_name,
        phone,
        password_hash,
        role_id,
        supervisor_id,
        is_active: true,
        time_zone,
        now: app.clock.now(),
    };
    storage::staff::insert(&app.db, new).await.map_err(taken(&email))
}

/// A token for an existing, active staff member (the `token` command).
pub async fn token_for(app: &App, email: &str) -> DomainResult<auth::AccessToken> {
    let email = parse_email("email", email)?;
    let staff = storage::staff::by_email(&app.db, &email)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("no staff member with email {email}")))?;
    if !staff.is_active {
        return Err(DomainError::Unauthenticated(format!("staff member {email} is inactive")));
    }
    app.auth.issue(staff.id, app.clock.now())
}

/// Activates or deactivates an account (the `staff activate|deactivate`
/// commands): the same change as the API's, so a deactivation ends the
/// person's sessions at once on every instance that shares the event bus,
/// re-routes their complaints' alerts, and keeps the last active admin.
pub async fn set_active(app: &App, email: &str, active: bool) -> DomainResult<StaffMember> {
    let email = parse_email("email", email)?;
    let staff = storage::staff::by_email(&app.db, &email)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("no staff member with email {email}")))?;
    change(app, staff.id, StaffChanges { is_active: Some(active), ..Default::default() }).await
}

// ---------------------------------------------------------------- team administration

/// A staff member as the team administration API shows them (never a password).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffMember {
    pub id: i64,
    pub email: String,
    pub full_name: String,
    pub phone: Option<String>,
    /// `admin`, `supervisor` or `agent`
    pub role: String,
    pub supervisor_id: Option<i64>,
    pub is_active: bool,
    /// IANA zone; null: the organisation's
    pub time_zone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffPage {
    pub staff: Vec<StaffMember>,
    pub total: u64,
    pub page: u64,
    pub page_size: u64,
    pub total_pages: u64,
}

/// `GET /staff`: filters and a page.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct StaffQuery {
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    /// Only this role.
    pub role: Option<String>,
    /// Only active (true) or inactive (false) accounts.
    pub active: Option<bool>,
    /// Part of the name or email, case-insensitive (at most 100 characters).
    pub q: Option<String>,
    /// Only the staff this supervisor supervises.
    pub supervisor_id: Option<i64>,
}

/// A new account: the role and a first password (the person changes it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaffMember {
    pub email: String,
    pub password: String,
    pub role: String,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub supervisor_id: Option<i64>,
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// A change: absent keeps a field; `phone`, `supervisor_id` and `time_zone`
/// clear with `null`; `password` resets it and ends every session.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffChanges {
    #[serde(default, deserialize_with = "wire::not_null")]
    #[schema(nullable = false)]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "wire::not_null")]
    #[schema(nullable = false)]
    pub full_name: Option<String>,
    #[serde(default, deserialize_with = "wire::nullable")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "wire::not_null")]
    #[schema(nullable = false)]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "wire::nullable")]
    #[schema(value_type = Option<i64>)]
    pub supervisor_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "wire::not_null")]
    #[schema(nullable = false)]
    pub is_active: Option<bool>,
    #[serde(default, deserialize_with = "wire::nullable")]
    #[schema(value_type = Option<String>)]
    pub time_zone: Option<Option<String>>,
    #[serde(default, deserialize_with = "wire::not_null")]
    #[schema(nullable = false)]
    pub password: Option<String>,
}

const MAX_NAME_CHARS: usize = 100;
const MAX_QUERY_CHARS: usize = 100;

fn check_name(raw: &str) -> DomainResult<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            "full_name",
            format!("must be 1 to {MAX_NAME_CHARS} characters, no control characters"),
        ));
    }
    Ok(name.to_owned())
}

/// A phone number as SMS providers take it: `+`, then 6 to 15 digits (spaces, dots, dashes and brackets dropped).
fn check_phone(raw: &str) -> DomainResult<String> {
    let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')')).collect();
    let valid =
        digits.strip_prefix('+').is_some_and(|d| (6..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()));
    if valid {
        Ok(digits)
    } else {
        Err(DomainError::invalid(
            "phone",
            "must be an international number: + and 6 to 15 digits, e.g. +44 20 7946 0958",
        ))
    }
}

/// An IANA time zone name (`Europe/Berlin`).
pub fn check_time_zone(field: &str, raw: &str) -> DomainResult<String> {
    chrono_tz::Tz::from_str(raw.trim())
        .map(|tz| tz.name().to_owned())
        .map_err(|_| DomainError::invalid(field, format!("{raw:?} is not an IANA time zone (e.g. Europe/Berlin)")))
}

async fn role_named(app: &App, name: &str) -> DomainResult<crate::storage::entities::role::Model> {
    storage::staff::role_by_name(&app.db, name).await?.ok_or_else(|| {
        DomainError::invalid("role", format!("unknown role {name:?}; expected one of {}", Role::NAMES.join(", ")))
    })
}

/// The supervisor `id` names, if it is an active staff member other than `of`, and not supervised by `of`.
async fn check_supervisor(app: &App, id: i64, of: Option<i64>) -> DomainResult<i64> {
    if Some(id) == of {
        return Err(DomainError::invalid("supervisor_id", "a staff member cannot supervise themselves"));
    }
    let supervisor = storage::staff::by_id(&app.db, id)
        .await?
        .ok_or_else(|| DomainError::invalid("supervisor_id", format!("no staff member with id {id}")))?;
    if !supervisor.is_active {
        return Err(DomainError::invalid("supervisor_id", format!("{} is inactive", supervisor.email)));
    }
    if of.is_some() && supervisor.supervisor_id == of {
        return Err(DomainError::invalid(
            "supervisor_id",
            format!("{} is supervised by this staff member", supervisor.email),
        ));
    }
    Ok(supervisor.id)
}

/// A row as the API shows it, with its role's name.
fn member(row: staff::Model, role: String) -> StaffMember {
    StaffMember {
        id: row.id,
        email: row.email,
        full_name: row.full_name,
        phone: row.phone,
        role,
        supervisor_id: row.supervisor_id,
        is_active: row.is_active,
        time_zone: row.time_zone,
    }
}

/// [`member`], its role's name read.
async fn member_of(app: &App, row: staff::Model) -> DomainResult<StaffMember> {
    let role = storage::staff::role_name(&app.db, row.role_id).await?.unwrap_or_default();
    Ok(member(row, role))
}

pub async fn list(app: &App, query: StaffQuery) -> DomainResult<StaffPage> {
    let paging = Paging::new(query.page, query.page_size)?;
    let role_id = match &query.role {
        Some(name) => Some(role_named(app, name).await?.id),
        None => None,
    };
    if query.q.as_ref().is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS) {
        return Err(DomainError::invalid("q", format!("must be at most {MAX_QUERY_CHARS} characters")));
    }
    let filter = storage::staff::StaffFilter {
        role_id,
        active: query.active,
        text: query.q.map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty()),
        supervisor_id: query.supervisor_id,
    };
    let (rows, total) = storage::staff::page(&app.db, &filter, paging.offset(), paging.page_size).await?;
    let roles = storage::staff::role_names(&app.db).await?;
    let staff = rows
        .into_iter()
        .map(|row| {
            let role = roles.get(&row.role_id).cloned().unwrap_or_default();
            member(row, role)
        })
        .collect();
    Ok(StaffPage {
        staff,
        total,
        page: paging.page,
        page_size: paging.page_size,
        total_pages: paging.total_pages(total),
    })
}

/// A supervisor's team: the staff they supervise, and themselves.
pub async fn team_of(app: &App, supervisor: i64) -> DomainResult<Vec<i64>> {
    let mut team = storage::staff::supervised_by(&app.db, supervisor).await?;
    team.push(supervisor);
    Ok(team)
}

/// Someone a complaint can be assigned to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Assignee {
    pub id: i64,
    pub full_name: String,
    /// `admin`, `supervisor` or `agent`
    pub role: String,
    pub supervisor_id: Option<i64>,
}

/// The most assignees one list returns.
pub const MAX_ASSIGNEES: u64 = 1000;

/// The active staff a complaint can be assigned to, by name (for
/// `complaints.write`: whoever reassigns needs the names, not the accounts).
pub async fn assignees(app: &App) -> DomainResult<Vec<Assignee>> {
    let filter = storage::staff::StaffFilter { active: Some(true), ..Default::default() };
    let (rows, _) = storage::staff::page(&app.db, &filter, 0, MAX_ASSIGNEES).await?;
    let roles = storage::staff::role_names(&app.db).await?;
    Ok(rows
        .into_iter()
        .map(|row| Assignee {
            role: roles.get(&row.role_id).cloned().unwrap_or_default(),
            id: row.id,
            full_name: row.full_name,
            supervisor_id: row.supervisor_id,
        })
        .collect())
}

pub async fn get(app: &App, id: i64) -> DomainResult<StaffMember> {
    let row = storage::staff::by_id(&app.db, id).await?.ok_or_else(|| not_found(id))?;
    member_of(app, row).await
}

fn not_found(id: i64) -> DomainError {
    DomainError::NotFound(format!("no staff member with id {id}"))
}

fn taken(email: &str) -> impl FnOnce(sea_orm::DbErr) -> DomainError + '_ {
    move |e| match DomainError::from(e) {
        DomainError::Conflict(_) => DomainError::Conflict(format!("a staff member with email {email} already exists")),
        other => other,
    }
}

pub async fn add(app: &App, input: NewStaffMember) -> DomainResult<StaffMember> {
    let email = parse_email("email", &input.email)?;
    check_password(&input.password, &email)?;
    let role = role_named(app, &input.role).await?;
    let full_name = input.full_name.as_deref().map(check_name).transpose()?;
    let phone = input.phone.as_deref().map(check_phone).transpose()?;
    let time_zone = input.time_zone.as_deref().map(|z| check_time_zone("time_zone", z)).transpose()?;
    let supervisor_id = match input.supervisor_id {
        Some(id) => Some(check_supervisor(app, id, None).await?),
        None => None,
    };
    let account = Account { email, password: input.password, role_id: role.id, supervisor_id, time_zone };
    let row = insert(app, account, full_name, phone).await?;
    Ok(member(row, role.name))
}

/// Changes an account. A new role, a deactivation or a password reset ends
/// the person's sessions at once on every instance (a reset: all of them);
/// a new supervisor or a deactivation re-routes the alerts of their
/// complaints from the next check on.
pub async fn change(app: &App, id: i64, input: StaffChanges) -> DomainResult<StaffMember> {
    let before = storage::staff::by_id(&app.db, id).await?.ok_or_else(|| not_found(id))?;
    let email = input.email.as_deref().map(|e| parse_email("email", e)).transpose()?;
    let role_id = match &input.role {
        Some(name) => Some(role_named(app, name).await?.id),
        None => None,
    };
    let supervisor_id = match input.supervisor_id {
        Some(Some(sup)) => Some(Some(check_supervisor(app, sup, Some(id)).await?)),
        Some(None) => Some(None),
        None => None,
    };
    let password_hash = match &input.password {
        Some(password) => {
            check_password(password, email.as_deref().unwrap_or(&before.email))?;
            Some(auth::hash_password(password.clone()).await?)
        }
        None => None,
    };
    let changes = storage::staff::Changes {
        email: email.clone(),
        full_name: input.full_name.as_deref().map(check_name).transpose()?,
        phone: input.phone.map(|p| p.as_deref().map(check_phone).transpose()).transpose()?,
        role_id,
        supervisor_id,
        is_active: input.is_active,
        time_zone: input
            .time_zone
            .map(|z| z.as_deref().map(|z| check_time_zone("time_zone", z)).transpose())
            .transpose()?,
        password_hash,
        ..Default::default()
    };
    let now = app.clock.now();
    let admin = role_named(app, Role::Admin.as_str()).await?.id;
    let stops_being_admin = before.is_active
        && before.role_id == admin
        && (input.is_active == Some(false) || changes.role_id.is_some_and(|r| r != admin));
    let txn = storage::begin_write(&app.db).await?;
    if stops_being_admin {
        // The active admins locked, so two admins cannot demote each other at once and leave none.
        let admins = storage::staff::active_with_role_for_update(&txn, admin).await?;
        if admins.iter().all(|a| *a == id) {
            return Err(DomainError::Conflict(
                "this is the last active admin: make someone else an admin first, so the service keeps one".into(),
            ));
        }
    }
    storage::staff::update(&txn, id, changes, now).await.map_err(taken(email.as_deref().unwrap_or(&before.email)))?;
    txn.commit().await?;
    let after = storage::staff::by_id(&app.db, id).await?.ok_or_else(|| not_found(id))?;
    let deactivated = before.is_active && !after.is_active;
    if deactivated {
        // First: live connections close saying why.
        app.events.publish(StaffEvent { staff_id: id, change: Change::AccessRevoked });
    }
    if input.password.is_some() || deactivated {
        // Ended, not only refused while inactive: a reactivation starts afresh.
        auth::end_sessions(app, id, None).await?;
    }
    if !deactivated && (before.role_id != after.role_id || before.email != after.email) {
        app.events.publish(StaffEvent { staff_id: id, change: Change::SessionsChanged });
    }
    if before.is_active != after.is_active || before.supervisor_id != after.supervisor_id {
        // Who is told about their complaints changed: the next check reads them again.
        storage::sla::mark_unchecked_of(&app.db, id, now).await?;
    }
    member_of(app, after).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_rule() {
        let bad = |p: &str| check_password(p, "ada.lovelace@example.com").is_err();
        assert!(bad("        "), "whitespace only");
        assert!(bad("  short  "), "short besides spaces");
        assert!(bad("12345678") && bad("Password123") && bad("QWERTYUIOP"), "common, whatever the case");
        assert!(bad("aaaaaaaaaaaa"), "one character repeated");
        assert!(bad("ada.lovelace") && bad("Ada.Lovelace@example.com"), "the email");
        assert!(bad(&"x1".repeat(600)), "too long");
        assert!(!bad("correct horse battery") && !bad("demo-password") && !bad("x7#kq2!m"));
        assert!(
            COMMON_PASSWORDS
                .lines()
                .filter(|l| !l.starts_with('#'))
                .all(|l| l.len() >= MIN_PASSWORD_CHARS && l == l.to_lowercase())
        );
    }
}
