//! Staff accounts.
use super::{App, DomainError, DomainResult, auth};
use crate::storage::{self, entities::staff};

pub use super::vocab::ROLES;

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

pub async fn create(app: &App, input: CreateStaff) -> DomainResult<staff::Model> {
    let email = parse_email("email", &input.email)?;
    if input.password.chars().count() < 8 {
        return Err(DomainError::invalid("password", "must be at least 8 characters"));
    }
    let role = storage::staff::role_by_name(&app.db, &input.role).await?.ok_or_else(|| {
        DomainError::invalid("role", format!("unknown role {:?}; expected one of {}", input.role, ROLES.join(", ")))
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
