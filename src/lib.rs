//! ConvergeAI Alerts: the alert system of a complaint-handling backend.
//!
//! Layers, outermost first: [`cli`] and [`http`] (transport) → [`domain`]
//! (services; no HTTP types) → [`storage`] (sea-orm entities, migrations and
//! queries). [`launch`] wires `serve` together.
pub mod cli;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod http;
pub mod import_file;
pub mod launch;
pub mod metrics;
pub mod realtime;
pub mod storage;
