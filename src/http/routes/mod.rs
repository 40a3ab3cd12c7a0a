pub mod alerts;
pub mod auth;
pub mod complaints;
pub mod console;
pub mod health;
pub mod rules;
pub mod subscriptions;
pub mod ws;
