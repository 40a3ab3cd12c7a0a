//! Per-channel, per-alert-type message templates (minijinja).
