//! One integration-test binary (one link step) holding every API, storage
//! and CLI test; each runs once per backend.
mod admin;
mod alerts;
mod api_keys;
mod auth;
mod browser;
mod channels;
mod cli;
mod complaint_sync;
mod complaints;
mod concurrency;
mod contract;
mod delivery;
mod engine;
mod escalation;
mod faults;
mod fuzz;
mod golden_sql;
mod harness;
mod hostile;
mod import;
mod observability;
mod properties;
mod realtime;
mod sla;
mod stats;
mod storage;
