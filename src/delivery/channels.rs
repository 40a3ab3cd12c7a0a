//! Email (SMTP), SMS (HTTP provider API) and signed webhooks.
//! (Being written: see the delivery issue.)
use super::{Channel, DeliveryConfig, Notification, SendError};

pub struct Channels {}

impl Channels {
    pub fn new(_config: &DeliveryConfig) -> Result<Self, String> {
        Ok(Self {})
    }

    pub async fn send(&self, channel: Channel, _notification: &Notification) -> Result<(), SendError> {
        Err(SendError::Skipped(format!("{} is not configured", channel.as_str())))
    }
}
