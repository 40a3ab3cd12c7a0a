//! Staff accounts.
use super::events::{Change, StaffEvent};
use super::{App, DomainError, DomainResult, auth};
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
    let role = storage::staff::role_by_name(&app.db, &input.role).await?.ok_or_else(|| {
        DomainError::invalid(
            "role",
            format!("unknown role {:?}; expected one of {}", input.role, Role::NAMES.join(", ")),
        )
    })?;
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
    let full_name = input.full_name.unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
    let password_hash = auth::hash_password(input.password).await?;
    let new = storage::staff::NewStaff {
        email: email.clone(),
        full_name,
        phone: input.phone,
        password_hash,
        role_id: role.id,
        supervisor_id,
        is_active: true,
        now: app.clock.now(),
    };
    storage::staff::insert(&app.db, new).await.map_err(|e| match DomainError::from(e) {
        DomainError::Conflict(_) => DomainError::Conflict(format!("a staff member with email {email} already exists")),
        other => other,
    })
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

/// Activates or deactivates an account. Deactivating ends the person's
/// access at once on this instance (and on every instance that shares its
/// event bus): cached permissions are dropped and open WebSockets close;
/// other instances notice within their periodic re-check.
pub async fn set_active(app: &App, email: &str, active: bool) -> DomainResult<staff::Model> {
    let email = parse_email("email", email)?;
    let updated = storage::staff::set_active(&app.db, &email, active, app.clock.now())
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("no staff member with email {email}")))?;
    if !active {
        app.auth.forget(updated.id);
        app.events.publish(StaffEvent { staff_id: updated.id, change: Change::AccessRevoked });
    }
    // Who is told about their complaints changed (or, their workload): the
    // next scheduled check reads those complaints again.
    storage::sla::mark_unchecked_of(&app.db, updated.id, app.clock.now()).await?;
    Ok(updated)
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
