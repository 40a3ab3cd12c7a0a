//! The caller's subscriptions: which channels deliver which alert type.
use serde_json::Value;

use super::vocab::{self, one_of};
use super::{App, DomainError, DomainResult};
use crate::storage::{self, entities::alert_subscription};

pub async fn list(app: &App, staff_id: i64) -> DomainResult<Vec<alert_subscription::Model>> {
    Ok(storage::subscriptions::of_staff(&app.db, staff_id).await?)
}

/// Creates or replaces the caller's subscription; channels are validated and de-duplicated.
pub async fn put(
    app: &App,
    staff_id: i64,
    alert_type: &str,
    is_enabled: bool,
    channels: Vec<String>,
) -> DomainResult<alert_subscription::Model> {
    one_of("alert_type", alert_type, &vocab::ALERT_TYPES)?;
    let mut unique: Vec<String> = Vec::with_capacity(channels.len());
    for channel in channels {
        one_of("delivery_channels", &channel, &vocab::CHANNELS)?;
        if !unique.contains(&channel) {
            unique.push(channel);
        }
    }
    if !unique.iter().any(|c| c == "in_app") && mandatory(app, alert_type).await? {
        return Err(DomainError::invalid(
            "delivery_channels",
            format!("in_app cannot be switched off for {alert_type}: a rule marks it mandatory"),
        ));
    }
    let channels = Value::from(unique);
    Ok(storage::subscriptions::upsert(&app.db, staff_id, alert_type, is_enabled, channels, app.clock.now()).await?)
}

pub async fn delete(app: &App, staff_id: i64, alert_type: &str) -> DomainResult<()> {
    one_of("alert_type", alert_type, &vocab::ALERT_TYPES)?;
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
