//! API keys for services (SPEC 12): a name, permissions no wider than their
//! creator's, an optional expiry. The secret (`cai_` and 43 characters of
//! 256 random bits) is shown once, at creation; only its SHA-256 is kept (a
//! secret that random needs no slow hash). Every request with a key reads
//! its row, so a revoked or expired key is refused at once on every instance.
use std::sync::Arc;

use base64::Engine;
use chrono::{DateTime, Utc};
use rand::TryRngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::auth::{Actor, Principal};
use super::vocab::not_one_of;
use super::{App, DomainError, DomainResult};
use crate::storage::{self, entities::api_key};

/// What every key starts with, so that it is recognised (here, and by secret scanners).
pub const PREFIX: &str = "cai_";
/// Characters of a key shown in lists, prefix included.
const SHOWN: usize = 12;

pub fn is_api_key(token: &str) -> bool {
    token.starts_with(PREFIX)
}

fn hash(secret: &str) -> String {
    super::auth::hex(&Sha256::digest(secret.as_bytes()))
}

/// A key as listed: never its secret.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub permissions: Vec<String>,
    /// The key's first characters, to tell it apart.
    pub key_prefix: String,
    pub created_by_staff_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_address: Option<String>,
}

fn permissions_of(row: &api_key::Model) -> Vec<String> {
    row.permissions.as_array().into_iter().flatten().filter_map(|p| p.as_str().map(str::to_owned)).collect()
}

impl From<api_key::Model> for ApiKey {
    fn from(row: api_key::Model) -> Self {
        Self {
            permissions: permissions_of(&row),
            id: row.id,
            name: row.name,
            key_prefix: row.key_prefix,
            created_by_staff_id: row.created_by_staff_id,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            last_used_at: row.last_used_at,
            last_used_address: row.last_used_address,
        }
    }
}

/// A key just created: the only time its secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    pub id: i64,
    pub name: String,
    pub permissions: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The secret: send it as `Authorization: Bearer <key>`. It cannot be shown again.
    pub key: String,
}

pub struct NewApiKey {
    pub name: String,
    pub permissions: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Creates a key. `creator` is `None` for the operator's CLI (any
/// permissions); a caller may grant only permissions they hold.
pub async fn create(app: &App, creator: Option<&Principal>, new: NewApiKey) -> DomainResult<CreatedApiKey> {
    let now = app.clock.now();
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(DomainError::invalid("name", "must be 1 to 100 characters, without control characters"));
    }
    if new.permissions.is_empty() {
        return Err(DomainError::invalid("permissions", "must name at least one permission"));
    }
    if new.permissions.len() > 32 {
        return Err(DomainError::invalid("permissions", "must name at most 32 permissions"));
    }
    let known = storage::staff::permission_names(&app.db).await?;
    let mut permissions: Vec<String> = Vec::with_capacity(new.permissions.len());
    for p in new.permissions {
        if !known.contains(&p) {
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            return Err(not_one_of("permissions", &p, &known));
        }
        if let Some(creator) = creator
            && !creator.can(&p)
        {
            return Err(DomainError::invalid(
                "permissions",
                format!("{p:?} is wider than the caller's own permissions"),
            ));
        }
        if !permissions.contains(&p) {
            permissions.push(p);
        }
    }
    let expires_at = new.expires_at.map(|t| super::time::check("expires_at", t)).transpose()?;
    if expires_at.is_some_and(|t| t <= now) {
        return Err(DomainError::invalid("expires_at", "must be in the future"));
    }
    let mut random = [0u8; 32];
    rand::rngs::OsRng.try_fill_bytes(&mut random).map_err(|e| DomainError::Internal(e.to_string()))?;
    let secret = format!("{PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random));
    let row = storage::api_keys::insert(
        &app.db,
        storage::api_keys::NewApiKey {
            name: name.to_owned(),
            key_prefix: secret.chars().take(SHOWN).collect(),
            key_hash: hash(&secret),
            permissions: permissions.clone(),
            created_by_staff_id: creator.and_then(Principal::staff),
            expires_at,
            now,
        },
    )
    .await?;
    Ok(CreatedApiKey { id: row.id, name: row.name, permissions, expires_at, key: secret })
}

pub async fn list(app: &App) -> DomainResult<Vec<ApiKey>> {
    Ok(storage::api_keys::list(&app.db).await?.into_iter().map(ApiKey::from).collect())
}

/// Revokes a key: refused from the next request on, on every instance.
pub async fn revoke(app: &App, id: i64) -> DomainResult<()> {
    if storage::api_keys::revoke(&app.db, id, app.clock.now()).await? {
        Ok(())
    } else {
        Err(DomainError::NotFound(format!("API key {id} not found")))
    }
}

/// The key's principal, if it is known, not revoked and not expired; one
/// answer for all three, as for a bad token.
pub async fn authenticate(app: &App, secret: &str, address: &str) -> DomainResult<Arc<Principal>> {
    let now = app.clock.now();
    let refused = || DomainError::Unauthenticated("invalid API key".into());
    if secret.len() > 200 {
        return Err(refused());
    }
    let row = storage::api_keys::by_hash(&app.db, &hash(secret)).await?.ok_or_else(refused)?;
    if row.revoked_at.is_some() || row.expires_at.is_some_and(|t| t <= now) {
        return Err(refused());
    }
    // Bookkeeping: a failure to record the use does not refuse the request.
    if let Err(e) = storage::api_keys::touch(&app.db, row.id, address, now).await {
        tracing::warn!(key = row.id, error = %e, "could not record an API key's use");
    }
    Ok(Arc::new(Principal {
        actor: Actor::ApiKey(row.id),
        email: String::new(),
        full_name: row.name.clone(),
        role: "api_key".into(),
        permissions: permissions_of(&row),
        sessions: Default::default(),
        time_zone: None,
    }))
}
