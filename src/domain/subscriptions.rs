//! The caller's subscriptions: which channels deliver which alert type.
use serde_json::Value;

use super::views::{self, Subscription};
use super::vocab::{AlertType, Channel};
use super::{App, DomainError, DomainResult};
use crate::storage;

pub async fn list(app: &App, staff_id: i64) -> DomainResult<Vec<Subscription>> {
    Ok(views::all(storage::subscriptions::of_staff(&app.db, staff_id).await?))
}

/// Creates or replaces the caller's subscription; channels are validated and de-duplicated.
pub async fn put(
    app: &App,
    staff_id: i64,
    alert_type: &str,
    is_enabled: bool,
    channels: Vec<String>,
) -> DomainResult<Subscription> {
    AlertType::parse("alert_type", alert_type)?;
    let mut unique: Vec<Channel> = Vec::with_capacity(channels.len());
    for channel in channels {
        let channel = Channel::parse("delivery_channels", &channel)?;
        if !unique.contains(&channel) {
            unique.push(channel);
        }
    }
    if !unique.contains(&Channel::InApp) && mandatory(app, alert_type).await? {
        return Err(DomainError::invalid(
            "delivery_channels",
            format!("in_app cannot be switched off for {alert_type}: a rule marks it mandatory"),
        ));
    }
    let channels = Value::from(unique.iter().map(|c| c.as_str()).collect::<Vec<_>>());
    let saved =
        storage::subscriptions::upsert(&app.db, staff_id, alert_type, is_enabled, channels, app.clock.now()).await?;
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

/// Whether an enabled rule marks in-app delivery of `alert_type` mandatory.
async fn mandatory(app: &App, alert_type: &str) -> DomainResult<bool> {
    let specs = super::rules::enabled_specs(app).await?;
    Ok(specs.iter().any(|s| s.config.alert_type == alert_type && s.config.mandatory))
}
