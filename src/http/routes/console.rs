//! The web console, served from assets embedded in the binary (being written).
use axum::Router;

use crate::domain::App;

pub fn routes() -> Router<App> {
    Router::new()
}
