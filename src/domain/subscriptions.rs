//! The caller's subscriptions: which channels deliver which alert type.
use serde_json::Value;

use super::views::{self, Subscription};
use super::vocab::{AlertType, Channel, DeliveryMode};
use super::{App, DomainError, DomainResult};
use crate::storage;

pub async fn list(app: &App, staff_id: i64) -> DomainResult<Vec<Subscription>> {
    Ok(views::all(storage::subscriptions::of_staff(&app.db, staff_id).await?))
}

/// `PUT /alerts/subscriptions/{alert_type}`: what to receive and how.
#[derive(Debug, Clone)]
pub struct SubscriptionChange {
    pub is_enabled: bool,
    pub delivery_channels: Vec<String>,
    /// `instant` when left out.
    pub delivery_mode: Option<String>,
    pub daily_at: Option<String>,
}

/// Creates or replaces the caller's subscription; channels are validated and
/// de-duplicated. A digest is refused for a type the organisation marks
/// urgent (`bypass_quiet_hours`): that goes at once, whatever a person chose.
pub async fn put(app: &App, staff_id: i64, alert_type: &str, change: SubscriptionChange) -> DomainResult<Subscription> {
    AlertType::parse("alert_type", alert_type)?;
    let SubscriptionChange { is_enabled, delivery_channels: channels, delivery_mode, daily_at } = change;
    let mode = match delivery_mode.as_deref() {
        Some(raw) => DeliveryMode::parse("delivery_mode", raw)?,
        None => DeliveryMode::Instant,
    };
    let daily_at = super::digest::validate(mode, daily_at.as_deref())?;
    let mut unique: Vec<Channel> = Vec::with_capacity(channels.len());
    for channel in channels {
        let channel = Channel::parse("delivery_channels", &channel)?;
        if !unique.contains(&channel) {
            unique.push(channel);
        }
    }
    let specs = super::rules::enabled_specs(app).await?;
    let of_type = || specs.iter().filter(|s| s.config.alert_type == alert_type);
    if !unique.contains(&Channel::InApp) && of_type().any(|s| s.config.mandatory) {
        return Err(DomainError::invalid(
            "delivery_channels",
            format!("in_app cannot be switched off for {alert_type}: a rule marks it mandatory"),
        ));
    }
    if mode != DeliveryMode::Instant && of_type().any(|s| s.config.bypass_quiet_hours) {
        return Err(DomainError::invalid(
            "delivery_mode",
            format!(
                "{alert_type} alerts are marked urgent by a rule (bypass_quiet_hours): they go at once, never in a digest"
            ),
        ));
    }
    let channels = Value::from(unique.iter().map(|c| c.as_str()).collect::<Vec<_>>());
    let row = storage::subscriptions::Row { is_enabled, channels, delivery_mode: mode.as_str(), daily_at };
    let saved = storage::subscriptions::upsert(&app.db, staff_id, alert_type, row, app.clock.now()).await?;
    Ok(saved.into())
}

pub async fn delete(app: &App, staff_id: i64, alert_type: &str) -> DomainResult<()> {
    AlertType::parse("alert_type", alert_type)?;
    if storage::subscriptions::delete(&app.db, staff_id, alert_type).await? {
        Ok(())
    } else {
        Err(DomainError::NotFound(format!("no subscription to {alert_type}")))
    }
}
