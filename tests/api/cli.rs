//! The binary itself: every command, its help and its error cases.
use std::process::{Command, Output, Stdio};

use crate::harness::{Backend, TestDb};
use crate::on_all_backends;

const BIN: &str = env!("CARGO_BIN_EXE_convergeai-alerts");

fn run(url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", url)
        .env_remove("ALERTS_JWT_SECRET")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run binary")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// One line, starting `error:`, and a non-zero status.
fn assert_one_line_error(out: &Output, needle: &str) {
    assert!(!out.status.success());
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: ") && err.contains(needle), "{err:?} should mention {needle:?}");
}

async fn cli_commands_and_their_errors(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else { return };
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let out = run(&url, &["migrate"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let out = run(&url, &["migrate"]);
        assert!(out.status.success(), "migrate is idempotent: {}", stderr(&out));

        let out = run(
            &url,
            &[
                "staff",
                "create",
                "--email",
                "boss@example.com",
                "--password",
                "tulip-ledger-42",
                "--role",
                "supervisor",
                "--name",
                "Bo Ss",
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("created staff member boss@example.com"));
        let out = run(
            &url,
            &[
                "staff",
                "create",
                "--email",
                "a@example.com",
                "--password",
                "tulip-ledger-42",
                "--role",
                "agent",
                "--supervisor",
                "boss@example.com",
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));

        let dup = run(
            &url,
            &["staff", "create", "--email", "A@example.com", "--password", "tulip-ledger-42", "--role", "agent"],
        );
        assert_one_line_error(&dup, "already exists");
        let no_sup = run(
            &url,
            &[
                "staff",
                "create",
                "--email",
                "c@example.com",
                "--password",
                "tulip-ledger-42",
                "--role",
                "agent",
                "--supervisor",
                "ghost@example.com",
            ],
        );
        assert_one_line_error(&no_sup, "no staff member with email ghost@example.com");
        let short =
            run(&url, &["staff", "create", "--email", "d@example.com", "--password", "short", "--role", "agent"]);
        assert_one_line_error(&short, "at least 8 characters");
        for weak in ["        ", "12345678", "Password123"] {
            let out =
                run(&url, &["staff", "create", "--email", "d@example.com", "--password", weak, "--role", "agent"]);
            assert!(!out.status.success(), "{weak:?} is refused");
            assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
            assert!(stderr(&out).starts_with("error: password: "), "{}", stderr(&out));
        }
        let bad_email = run(
            &url,
            &["staff", "create", "--email", "not-an-email", "--password", "tulip-ledger-42", "--role", "agent"],
        );
        assert_one_line_error(&bad_email, "not a valid email");
        let bad_role = run(
            &url,
            &["staff", "create", "--email", "e@example.com", "--password", "tulip-ledger-42", "--role", "boss"],
        );
        assert!(!bad_role.status.success());
        assert!(stderr(&bad_role).contains("invalid value 'boss' for '--role <ROLE>'"), "{}", stderr(&bad_role));

        let token = run(&url, &["token", "--email", "a@example.com"]);
        assert!(token.status.success(), "{}", stderr(&token));
        let token = String::from_utf8(token.stdout).unwrap();
        assert_eq!(token.trim().split('.').count(), 3, "a JWT on stdout: {token}");
        assert_one_line_error(&run(&url, &["token", "--email", "ghost@example.com"]), "no staff member");

        let out = run(&url, &["staff", "deactivate", "--email", "boss@example.com"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("deactivated staff member boss@example.com"));
        assert_one_line_error(&run(&url, &["token", "--email", "boss@example.com"]), "inactive");
        let out = run(&url, &["staff", "activate", "--email", "boss@example.com"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(run(&url, &["token", "--email", "boss@example.com"]).status.success());
        assert_one_line_error(&run(&url, &["staff", "deactivate", "--email", "ghost@example.com"]), "no staff member");
        token.trim().to_owned()
    })
    .await
    .map(|token| async move {
        // The token printed by one process verifies in another: the generated secret is shared.
        let mut config = crate::harness::common_config(&db.url);
        config.jwt_secret = None;
        let app = convergeai_alerts::cli::open(&config).await.unwrap();
        let (staff_id, _) = app.auth.verify(&token, app.clock.now()).expect("token verifies");
        let staff = convergeai_alerts::storage::staff::by_email(&app.db, "a@example.com").await.unwrap().unwrap();
        assert_eq!(staff_id, staff.id);
        let boss = convergeai_alerts::storage::staff::by_email(&app.db, "boss@example.com").await.unwrap().unwrap();
        assert_eq!(staff.supervisor_id, Some(boss.id));
        assert_eq!(boss.full_name, "Bo Ss");
        assert!(staff.password_hash.starts_with("$argon2id$"), "Argon2id hash stored");
    })
    .unwrap()
    .await;
}

on_all_backends!(cli_commands_and_their_errors);

#[test]
fn unreachable_database_and_bad_url_are_one_line_errors() {
    assert_one_line_error(
        &run("postgres://nobody@127.0.0.1:1/none", &["migrate"]),
        "cannot connect to postgres://nobody@127.0.0.1:1/none",
    );
    assert_one_line_error(
        &run("mysql://root:hunter2@127.0.0.1:1/none", &["migrate"]),
        "mysql://root:***@127.0.0.1:1/none",
    );
    assert!(
        !stderr(&run("mysql://root:hunter2@127.0.0.1:1/none", &["migrate"])).contains("hunter2"),
        "password never printed"
    );
    assert_one_line_error(&run("ftp://example.com/db", &["migrate"]), "unsupported database URL");
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["migrate", "--help"],
        &["staff", "create", "--help"],
        &["token", "--help"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage:"), "{args:?}: {text}");
    }
    let out = Command::new(BIN).args(["serve", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--bind") && text.contains("--database-url"), "{text}");
}

/// `serve` migrates, listens, answers, and exits 0 on SIGTERM.
#[test]
fn serve_starts_on_a_fresh_sqlite_file_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("serve.db").display());
    let mut child = Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("server printed its address").unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let body = plain_http::blocking_get(&format!("http://{address}/ready"));
    assert_eq!(body, r#"{"status":"ready"}"#);
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
}

mod plain_http {
    /// A plain HTTP/1.1 GET without an async runtime.
    pub fn blocking_get(url: &str) -> String {
        use std::io::{Read, Write};
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_once('/').unwrap();
        let mut stream = std::net::TcpStream::connect(host).unwrap();
        write!(stream, "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned()
    }
}
