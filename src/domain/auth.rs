//! Passwords (Argon2id), access tokens (HS256 JWT) and the permission check.
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
use argon2::{Argon2, PasswordHash, PasswordVerifier};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::TryRngCore;
use serde::{Deserialize, Serialize};

use super::throttle::Verdict;
use super::{App, DomainError, DomainResult};
use crate::storage;

/// The settings key under which a generated JWT secret is kept.
const JWT_SECRET_KEY: &str = "jwt_secret";
/// How long a staff member's role and permissions are trusted without a
/// database round trip. A deactivated account is refused within this time.
const PRINCIPAL_CACHE_TTL: Duration = Duration::from_secs(10);
/// Tolerated clock skew between the instance that issued a token and the one verifying it.
const CLOCK_LEEWAY_SECS: i64 = 5;

/// A secret that never shows in logs or `Debug` output.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
    /// `iat` to the microsecond: a password changed right after a sign-in
    /// ends the sessions before it and none after (tokens from before this
    /// claim count from their whole second).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat_us: Option<i64>,
}

/// An issued access token.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccessToken {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
}

/// Who is calling: a staff member (by access token) or a service (by API key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Staff(i64),
    ApiKey(i64),
}

/// The authenticated caller: who they are and what they may do.
#[derive(Debug, Clone)]
pub struct Principal {
    pub actor: Actor,
    /// A staff member's email; empty for an API key.
    pub email: String,
    /// A staff member's name; the key's name for an API key.
    pub full_name: String,
    /// A staff member's role; `api_key` for a key.
    pub role: String,
    pub permissions: Vec<String>,
    /// A staff member's sessions that ended before their tokens expired.
    pub sessions: Sessions,
    /// The zone a staff member chose to read times in; none: the organisation's.
    pub time_zone: Option<chrono_tz::Tz>,
}

/// Which of a staff member's unexpired tokens are no longer accepted.
#[derive(Debug, Clone, Default)]
pub struct Sessions {
    /// Tokens issued before this (Unix microseconds) are ended: the password was
    /// changed or reset, or every session was ended…
    pub valid_after: Option<i64>,
    /// … but the one hashed so (the session that changed the password).
    pub kept: Option<String>,
    /// Hashes of tokens signed out one by one, until they expire.
    pub signed_out: Vec<String>,
}

impl Sessions {
    /// Whether the token `hash`, issued at `issued_at`, still opens a session.
    fn accepts(&self, hash: &str, issued_at: i64) -> bool {
        let ended = self.valid_after.is_some_and(|after| issued_at < after) && self.kept.as_deref() != Some(hash);
        !ended && !self.signed_out.iter().any(|h| h == hash)
    }
}

/// A token's SHA-256 in hex: how a signed-out token is kept (never the token itself).
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(token.as_bytes()))
}

impl Principal {
    /// The zone this caller reads times in.
    pub fn zone(&self, organisation: chrono_tz::Tz) -> chrono_tz::Tz {
        self.time_zone.unwrap_or(organisation)
    }

    /// The staff member calling; an API key acts as no staff member: it owns
    /// no inbox, subscriptions or identity, so what needs one is forbidden.
    pub fn staff_id(&self) -> DomainResult<i64> {
        match self.actor {
            Actor::Staff(id) => Ok(id),
            Actor::ApiKey(_) => Err(DomainError::Forbidden(
                "an API key acts as no staff member: it has no inbox, subscriptions or identity of its own".into(),
            )),
        }
    }

    /// The staff member calling, if it is one.
    pub fn staff(&self) -> Option<i64> {
        match self.actor {
            Actor::Staff(id) => Some(id),
            Actor::ApiKey(_) => None,
        }
    }

    pub fn can(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }

    pub fn require(&self, permission: &str) -> DomainResult<()> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(DomainError::Forbidden(format!("missing permission {permission}")))
        }
    }
}

pub struct Auth {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Built once: HS256 only, `exp` and `sub` required (expiry is checked
    /// against the service clock in `verify`).
    validation: Validation,
    token_ttl_secs: i64,
    /// The one-tap acknowledge links, signed with a key of their own.
    pub ack_links: super::ack_links::AckLinks,
}

/// A token whose signature, algorithm and expiry were checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub staff_id: i64,
    /// Unix microseconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Staff members' principals, trusted for [`PRINCIPAL_CACHE_TTL`] without a
/// database round trip. The event bus drops an entry on every instance when
/// the person's access or sessions change, and everything when events may
/// have been missed; the time limit is the last resort.
#[derive(Default)]
pub struct PrincipalCache {
    entries: Mutex<HashMap<i64, (Instant, Arc<Principal>)>>,
}

impl PrincipalCache {
    fn get(&self, staff_id: i64) -> Option<Arc<Principal>> {
        let cache = self.entries.lock().ok()?;
        cache.get(&staff_id).filter(|(at, _)| at.elapsed() < PRINCIPAL_CACHE_TTL).map(|(_, p)| p.clone())
    }

    fn remember(&self, principal: Arc<Principal>) {
        if let Ok(mut cache) = self.entries.lock() {
            if cache.len() > 10_000 {
                cache.retain(|_, (at, _)| at.elapsed() < PRINCIPAL_CACHE_TTL);
            }
            if let Actor::Staff(staff_id) = principal.actor {
                cache.insert(staff_id, (Instant::now(), principal));
            }
        }
    }

    pub fn forget(&self, staff_id: i64) {
        if let Ok(mut cache) = self.entries.lock() {
            cache.remove(&staff_id);
        }
    }

    pub fn clear(&self) {
        if let Ok(mut cache) = self.entries.lock() {
            cache.clear();
        }
    }
}

/// Verified against when the email is unknown, so that answer takes as long
/// as a wrong password (Argon2id, default parameters, of a random password).
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$6fSRmj0hiAFhXTP56V7ZnSgOmOnRqlgHq/zSd8H1ouk";

impl Auth {
    pub fn new(secret: &Secret, token_ttl_secs: i64) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation: {
                let mut validation = Validation::new(Algorithm::HS256);
                validation.validate_exp = false;
                validation.set_required_spec_claims(&["exp", "sub"]);
                validation
            },
            token_ttl_secs,
            ack_links: super::ack_links::AckLinks::new(secret),
        }
    }

    /// The signing secret: the configured one, else the one kept in the
    /// database, generated with the OS CSPRNG by whichever instance got there first.
    pub async fn resolve_secret(
        db: &storage::Db,
        configured: Option<Secret>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<Secret> {
        if let Some(secret) = configured.filter(|s| !s.is_empty()) {
            return Ok(secret);
        }
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.try_fill_bytes(&mut bytes).map_err(|e| DomainError::Internal(e.to_string()))?;
        let candidate = hex(&bytes);
        Ok(Secret(storage::settings::get_or_insert(db, JWT_SECRET_KEY, &candidate, now).await?))
    }

    pub fn issue(&self, staff_id: i64, now: chrono::DateTime<chrono::Utc>) -> DomainResult<AccessToken> {
        let iat = now.timestamp();
        let claims = Claims {
            sub: staff_id.to_string(),
            iat,
            exp: iat + self.token_ttl_secs,
            iat_us: Some(now.timestamp_micros()),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| DomainError::Internal(format!("signing token: {e}")))?;
        Ok(AccessToken { access_token: token, token_type: "bearer", expires_in: self.token_ttl_secs })
    }

    /// Checks signature, algorithm (HS256 only: `none` and others are
    /// refused) and expiry against the service clock; returns the staff id
    /// and the expiry time.
    pub fn verify(&self, token: &str, now: chrono::DateTime<chrono::Utc>) -> DomainResult<(i64, i64)> {
        self.decode(token, now).map(|v| (v.staff_id, v.expires_at))
    }

    /// [`Auth::verify`], with the time the token was issued.
    pub fn decode(&self, token: &str, now: chrono::DateTime<chrono::Utc>) -> DomainResult<Verified> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| DomainError::Unauthenticated("invalid token".into()))?;
        if data.claims.exp + CLOCK_LEEWAY_SECS <= now.timestamp() {
            return Err(DomainError::Unauthenticated("token expired".into()));
        }
        let staff_id =
            data.claims.sub.parse::<i64>().map_err(|_| DomainError::Unauthenticated("invalid token".into()))?;
        let issued_at = data.claims.iat_us.unwrap_or(data.claims.iat.saturating_mul(1_000_000));
        Ok(Verified { staff_id, issued_at, expires_at: data.claims.exp })
    }
}

/// Resolves a bearer token to an active staff member with their
/// permissions, or an API key (`cai_…`) to its permissions. `address` is the
/// client's, recorded as a key's last use.
pub async fn authenticate(app: &App, token: &str, address: &str) -> DomainResult<Arc<Principal>> {
    if super::api_keys::is_api_key(token) {
        return super::api_keys::authenticate(app, token, address).await;
    }
    let verified = app.auth.decode(token, app.clock.now())?;
    session_principal(app, token, &verified).await
}

/// The principal of a verified staff token whose session has not ended
/// (signed out, or ended by a password change or reset).
pub async fn session_principal(app: &App, token: &str, verified: &Verified) -> DomainResult<Arc<Principal>> {
    let principal = load_principal(app, verified.staff_id).await?;
    if !principal.sessions.accepts(&token_hash(token), verified.issued_at) {
        return Err(DomainError::Unauthenticated("this session has ended; sign in again".into()));
    }
    Ok(principal)
}

pub async fn load_principal(app: &App, staff_id: i64) -> DomainResult<Arc<Principal>> {
    if let Some(principal) = app.events.principals.get(staff_id) {
        return Ok(principal);
    }
    let staff = storage::staff::by_id(&app.db, staff_id)
        .await?
        .ok_or_else(|| DomainError::Unauthenticated("unknown staff member".into()))?;
    if !staff.is_active {
        app.events.principals.forget(staff_id);
        return Err(DomainError::Unauthenticated("staff account is inactive".into()));
    }
    let role = storage::staff::role_name(&app.db, staff.role_id).await?.unwrap_or_default();
    let permissions = storage::staff::permissions_of_role(&app.db, staff.role_id).await?;
    let sessions = Sessions {
        valid_after: staff.sessions_valid_after.map(|t| t.timestamp_micros()),
        kept: staff.kept_session,
        signed_out: storage::sessions::signed_out_of(&app.db, staff_id, app.clock.now()).await?,
    };
    let time_zone = staff.time_zone.as_deref().and_then(|z| z.parse().ok());
    let principal = Arc::new(Principal {
        actor: Actor::Staff(staff_id),
        email: staff.email,
        full_name: staff.full_name,
        role,
        permissions,
        sessions,
        time_zone,
    });
    app.events.principals.remember(principal.clone());
    Ok(principal)
}

/// Ends the session of `token` (a verified staff token) on every instance:
/// it is refused from now on, until it would have expired anyway.
pub async fn sign_out(app: &App, token: &str) -> DomainResult<()> {
    let verified = app.auth.decode(token, app.clock.now())?;
    let expires_at = chrono::DateTime::from_timestamp(verified.expires_at + CLOCK_LEEWAY_SECS, 0)
        .ok_or_else(|| DomainError::Unauthenticated("invalid token".into()))?;
    storage::sessions::sign_out(&app.db, &token_hash(token), verified.staff_id, expires_at).await?;
    sessions_changed(app, verified.staff_id);
    Ok(())
}

/// Changes the caller's password (the current one confirms it is them) and
/// ends every other session of theirs; `token` (the caller's) stays valid.
pub async fn change_password(
    app: &App,
    staff_id: i64,
    token: &str,
    current_password: &str,
    new_password: &str,
) -> DomainResult<()> {
    if current_password.chars().count() > 1024 {
        return Err(DomainError::invalid("current_password", "is not your current password"));
    }
    let staff = storage::staff::by_id(&app.db, staff_id)
        .await?
        .ok_or_else(|| DomainError::Unauthenticated("unknown staff member".into()))?;
    if !verify_password(current_password.to_owned(), staff.password_hash.clone()).await? {
        return Err(DomainError::invalid("current_password", "is not your current password"));
    }
    super::staff::check_password(new_password, &staff.email).map_err(|e| e.renamed("new_password"))?;
    let hash = hash_password(new_password.to_owned()).await?;
    let changes = storage::staff::Changes { password_hash: Some(hash), ..Default::default() };
    storage::staff::update(&app.db, staff_id, changes, app.clock.now()).await?;
    end_sessions(app, staff_id, Some(&token_hash(token))).await
}

/// Ends every session of a staff member issued until now, but `kept` (the hash of a token).
pub async fn end_sessions(app: &App, staff_id: i64, kept: Option<&str>) -> DomainResult<()> {
    storage::sessions::end_sessions(&app.db, staff_id, app.clock.now(), kept).await?;
    sessions_changed(app, staff_id);
    Ok(())
}

/// Every instance drops the person's cached principal and re-checks their live connections.
fn sessions_changed(app: &App, staff_id: i64) {
    use super::events::{Change, StaffEvent};
    app.events.publish(StaffEvent { staff_id, change: Change::SessionsChanged });
}

/// Email and password to an access token. An unknown email, a wrong
/// password and an inactive account get the same answer after the same
/// work, so the answer never confirms a password or an account.
pub async fn login(app: &App, email: &str, password: &str, address: &str) -> DomainResult<AccessToken> {
    if email.chars().any(char::is_control) || email.len() > 255 {
        return Err(DomainError::invalid("email", "is not a valid email address"));
    }
    match app.login_throttle.check(email, address) {
        Verdict::Refuse(wait) => return Err(DomainError::Throttled(wait)),
        Verdict::Slow(delay) => tokio::time::sleep(delay).await,
        Verdict::Go => {}
    }
    let result = check_credentials(app, email, password).await;
    match &result {
        Ok(_) => app.login_throttle.succeeded(email, address),
        Err(DomainError::Unauthenticated(_)) => app.login_throttle.failed(email, address),
        Err(_) => {}
    }
    result
}

async fn check_credentials(app: &App, email: &str, password: &str) -> DomainResult<AccessToken> {
    let staff = storage::staff::by_email(&app.db, &email.trim().to_lowercase()).await?;
    let hash = staff.as_ref().map_or_else(|| DUMMY_HASH.to_owned(), |s| s.password_hash.clone());
    let password_ok = verify_password(password.to_owned(), hash).await?;
    match staff {
        Some(staff) if password_ok && staff.is_active => app.auth.issue(staff.id, app.clock.now()),
        _ => Err(DomainError::Unauthenticated("incorrect email or password".into())),
    }
}

/// Argon2 runs at once at most this many times (19 MiB and tens of
/// milliseconds each, on purpose): a burst of logins queues here instead of
/// filling the blocking pool's 512 threads and memory.
static PASSWORD_WORK: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Runs `work` on the blocking pool within [`PASSWORD_WORK`].
async fn password_work<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> DomainResult<T> {
    let _permit = PASSWORD_WORK.acquire().await.map_err(|e| DomainError::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(work).await.map_err(|e| DomainError::Internal(e.to_string()))
}

/// Argon2id with a random salt, on the blocking pool (it takes tens of milliseconds on purpose).
pub async fn hash_password(password: String) -> DomainResult<String> {
    password_work(move || hash_password_blocking(&password)).await?
}

fn hash_password_blocking(password: &str) -> DomainResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DomainError::Internal(format!("hashing password: {e}")))
}

pub async fn verify_password(password: String, hash: String) -> DomainResult<bool> {
    password_work(move || {
        PasswordHash::new(&hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
}

/// Lower-case hex of `bytes`.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
