//! A throwaway database for one test or one benchmark run: a SQLite file in
//! a temporary folder, or a database of a random name on a MariaDB/MySQL or
//! PostgreSQL server, dropped afterwards. One helper for the test harness
//! (`tests/api/harness.rs`) and the benchmarks (`examples/*_bench.rs`),
//! included by path in each.
#![allow(dead_code)] // each includer uses part of it

use std::path::PathBuf;

use sea_orm::{ConnectionTrait, Database};

pub struct ScratchDb {
    /// The URL to connect to.
    pub url: String,
    /// `sqlite`, `mariadb` or `postgres`.
    pub backend_name: &'static str,
    place: Place,
}

enum Place {
    Dir(PathBuf),
    Server { server_url: String, name: String, postgres: bool },
}

/// `prefix` and ten random lower-case letters and digits: a valid database name on every server.
fn name(prefix: &str) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let suffix: String =
        (0..10).map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)])).collect();
    format!("{prefix}_{suffix}")
}

async fn exec(server_url: &str, sql: &str) -> Result<(), String> {
    let server = Database::connect(server_url).await.map_err(|e| format!("connecting to the database server: {e}"))?;
    server.execute_unprepared(sql).await.map_err(|e| format!("{sql}: {e}"))?;
    let _ = server.close().await;
    Ok(())
}

impl ScratchDb {
    /// A fresh database next to `server_url` (`sqlite:` for a file), its name led by `prefix`.
    pub async fn create(server_url: &str, prefix: &str) -> Result<ScratchDb, String> {
        let server_url = server_url.replacen("mariadb://", "mysql://", 1);
        let name = name(prefix);
        if server_url.starts_with("sqlite:") {
            let dir = std::env::temp_dir().join(&name);
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let url = format!("sqlite://{}", dir.join("alerts.db").display());
            return Ok(ScratchDb { url, backend_name: "sqlite", place: Place::Dir(dir) });
        }
        let postgres = server_url.starts_with("postgres");
        exec(&server_url, &format!("CREATE DATABASE {name}")).await?;
        let mut url = url::Url::parse(&server_url).map_err(|e| e.to_string())?;
        url.set_path(&format!("/{name}"));
        Ok(ScratchDb {
            url: url.to_string(),
            backend_name: if postgres { "postgres" } else { "mariadb" },
            place: Place::Server { server_url, name, postgres },
        })
    }

    /// Removes the database (its file, or the database on its server).
    pub async fn remove(&self) -> Result<(), String> {
        match &self.place {
            Place::Dir(dir) => std::fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display())),
            Place::Server { server_url, name, postgres } => {
                let force = if *postgres { " WITH (FORCE)" } else { "" };
                exec(server_url, &format!("DROP DATABASE IF EXISTS {name}{force}")).await
            }
        }
    }

    /// [`Self::remove`] from synchronous code (a `Drop`), on a thread of its own.
    pub fn remove_blocking(&self) -> Result<(), String> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| e.to_string())?;
                    runtime.block_on(self.remove())
                })
                .join()
                .unwrap_or_else(|_| Err("the removal thread panicked".into()))
        })
    }
}
