//! One integration-test binary (one link step) holding every API, storage
//! and CLI test; each runs once per backend.
mod auth;
mod cli;
mod harness;
mod storage;
