//! The ceiling for the inbox benchmark (`bench/inbox.sh`): a bare axum 0.8
//! server on the same tokio multi-thread runtime as the service (built the
//! same way as in `src/cli.rs`), with one route `GET /bare` answering
//! `{"unread_count":0}`: no database, no auth, no middleware.
//!
//! ```sh
//! cargo run --release --example bare_axum -- 127.0.0.1:8901
//! ```
use axum::{Json, Router, routing::get};
use serde_json::{Value, json};

async fn bare() -> Json<Value> {
    Json(json!({ "unread_count": 0 }))
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8901".to_owned());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let app = Router::new().route("/bare", get(bare));
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        eprintln!("bare_axum listening on http://{}", listener.local_addr()?);
        axum::serve(listener, app).await
    })
}
