//! End-to-end tests of the built `mailstead` binary: first run, admin commands against a
//! running server's config, restart, graceful shutdown, `config check`, refused input.
//! Run on SQLite and on PostgreSQL (a fresh database per test, dropped afterwards).

mod support;

use std::path::PathBuf;

use serde_json::Value;
use support::{Install, PgDb};

fn names(v: &Value, field: &str) -> Vec<String> {
    v.as_array()
        .expect("json array")
        .iter()
        .map(|x| x[field].as_str().expect("string field").to_string())
        .collect()
}

/// The scenario of the foundation issue: first run, CLI changes while the server runs,
/// SIGTERM → exit 0, restart, everything found again.
fn first_run_cli_restart(install: &Install) {
    let server = install.serve();
    assert!(
        install.path().join("mailstead.toml").exists(),
        "config written"
    );
    let admin = server
        .banner_value("mailstead: created admin account")
        .expect("admin created");
    assert_eq!(admin, "admin@example.org");
    let password = server
        .banner_value("mailstead: admin password:")
        .expect("password shown");
    assert!(
        password.len() >= 20,
        "generated password too short: {password}"
    );
    let listening = server
        .banner_value("mailstead: listening http")
        .expect("http listed");
    assert_eq!(listening, format!("127.0.0.1:{}", install.http_port));

    let (code, body) = server.get("/health/live");
    assert_eq!(code, 200, "{body}");
    let (code, body) = server.get("/health/ready");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"ready\""), "{body}");

    // Admin commands against the same config while the server runs.
    install.ok(&["domain", "add", "example.net"], "");
    install.ok(&["domain", "add", "Bücher.example"], "");
    install.ok(
        &["user", "add", "bob@example.net", "--name", "Bob"],
        "correct horse battery\n",
    );
    install.ok(
        &["user", "add", "carol@example.net", "--quota", "1G"],
        "staple-staple-staple\n",
    );
    install.ok(
        &[
            "alias",
            "add",
            "team@example.net",
            "bob@example.net,carol@example.net",
        ],
        "",
    );
    install.ok(&["alias", "add", "@example.net", "bob@example.net"], "");
    let token = install.json(&["token", "add", "bob@example.net", "--name", "phone"]);
    assert_eq!(token["token"].as_str().map(str::len), Some(32), "{token}");

    let users = install.json(&["user", "list"]);
    assert_eq!(
        names(&users, "address"),
        ["admin@example.org", "bob@example.net", "carol@example.net"]
    );

    let status = server.stop(15);
    assert!(status.success(), "SIGTERM must exit 0, got {status:?}");

    // Restart: no new admin, everything still there.
    let server = install.serve();
    assert_eq!(
        server.banner_value("mailstead: created admin account"),
        None
    );
    assert_eq!(server.banner_value("mailstead: admin password:"), None);
    let (code, _) = server.get("/health/ready");
    assert_eq!(code, 200);
    let domains = install.json(&["domain", "list"]);
    assert_eq!(
        names(&domains, "name"),
        ["example.net", "example.org", "xn--bcher-kva.example"]
    );
    let aliases = install.json(&["alias", "list"]);
    assert_eq!(
        names(&aliases, "alias"),
        ["@example.net", "team@example.net"]
    );
    let bob = install.json(&["user", "show", "bob@example.net"]);
    assert_eq!(bob["account"]["display_name"], "Bob");
    let mailboxes: Vec<&str> = bob["mailboxes"]
        .as_array()
        .expect("mailboxes")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    for want in ["INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"] {
        assert!(
            mailboxes.contains(&want),
            "{want} missing from {mailboxes:?}"
        );
    }
    assert_eq!(bob["app_passwords"].as_array().map(Vec::len), Some(1));
    let carol = install.json(&["user", "show", "carol@example.net"]);
    assert_eq!(carol["account"]["quota_bytes"], 1u64 << 30);

    let status = server.stop(2);
    assert!(status.success(), "SIGINT must exit 0, got {status:?}");
}

#[test]
fn first_run_then_cli_then_restart_on_sqlite() {
    let install = Install::new(&[]);
    first_run_cli_restart(&install);
    assert!(install.path().join("data/mailstead.sqlite3").exists());
    assert!(install.path().join("data/tls/cert.pem").exists());
    assert!(install.path().join("data/tls/key.pem").exists());
}

#[test]
fn first_run_then_cli_then_restart_on_postgres() {
    let db = PgDb::new();
    let install = Install::on_postgres(&db);
    first_run_cli_restart(&install);
    assert!(
        !install.path().join("data/mailstead.sqlite3").exists(),
        "sqlite not used"
    );
}

#[test]
fn postgres_password_comes_from_a_file() {
    let db = PgDb::new();
    let install = Install::new(&[]);
    // Trust auth accepts any password: what is checked is that the file is read and the
    // server starts with it, and that an unreadable file is named in the error.
    let secret = install.path().join("pg-password");
    std::fs::write(&secret, "s3cret\n").expect("write secret");
    let url = db.url();
    let secret_s = secret.display().to_string();
    let mut install = install;
    install.env.extend([
        (
            "MAILSTEAD_STORE_BACKEND".to_string(),
            "postgres".to_string(),
        ),
        ("MAILSTEAD_STORE_POSTGRES_URL".to_string(), url),
        (
            "MAILSTEAD_STORE_POSTGRES_PASSWORD_FILE".to_string(),
            secret_s,
        ),
    ]);
    let server = install.serve();
    assert_eq!(server.get("/health/ready").0, 200);
    drop(server);
    std::fs::remove_file(&secret).expect("remove secret");
    let err = install.refused(&["domain", "list"], "");
    assert!(err.contains("pg-password"), "{err}");
}

#[test]
fn config_check_lists_every_problem() {
    let install = Install::new(&[]);
    let cfg = install.path().join("broken.toml");
    std::fs::write(
        &cfg,
        r#"
[server]
shutdown_grace_secs = "soon"
colour = "blue"

[store]
backend = "oracle"

[http]
listen = ["not-an-address"]

[smtpd]
port = 25
"#,
    )
    .expect("write config");
    let out = install.cli_without_overrides(&[
        "--config",
        cfg.to_str().expect("utf-8 path"),
        "config",
        "check",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    for path in [
        "server.shutdown_grace_secs",
        "server.colour",
        "store.backend",
        "http.listen",
        "smtpd",
    ] {
        assert!(text.contains(path), "{path} not reported in:\n{text}");
    }
    assert!(text.contains("5 problem(s)"), "{text}");

    // Environment overrides are applied before the check, and a bad one is named.
    let out = install.cli(
        &[
            "--config",
            cfg.to_str().expect("utf-8 path"),
            "config",
            "check",
        ],
        "",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("server.shutdown_grace_secs"),
        "overridden by env:\n{text}"
    );

    let json = install.cli_without_overrides(&[
        "--config",
        cfg.to_str().expect("utf-8 path"),
        "config",
        "check",
        "--json",
    ]);
    assert_eq!(json.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(v["problems"].as_array().map(Vec::len), Some(5), "{v}");

    // A good file passes.
    let good = install.path().join("good.toml");
    std::fs::write(&good, "[server]\nhostname = \"mail.example.org\"\n").expect("write");
    let out = install.cli_without_overrides(&[
        "--config",
        good.to_str().expect("utf-8 path"),
        "config",
        "check",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn bad_input_is_refused_with_one_line_and_changes_nothing() {
    let install = Install::new(&[]);
    // First run creates config, store and admin; stop it and work offline.
    install.serve().stop(15);
    install.ok(&["domain", "add", "example.net"], "");
    install.ok(
        &["user", "add", "bob@example.net"],
        "correct horse battery\n",
    );
    install.ok(&["alias", "add", "a@example.net", "bob@example.net"], "");
    install.ok(&["alias", "add", "b@example.net", "a@example.net"], "");
    let before = (
        install.json(&["domain", "list"]),
        install.json(&["user", "list"]),
        install.json(&["alias", "list"]),
    );

    let cases: &[(&[&str], &str, &str)] = &[
        (&["domain", "add", "bad domain"], "", "invalid label"),
        (&["domain", "add", "--", "-x.example"], "", "invalid label"),
        (&["domain", "add", "192.168.0.1"], "", "IP address"),
        (&["domain", "add", "example.net"], "", "already exists"),
        (&["domain", "remove", "example.net"], "", "--force"),
        (&["domain", "show", "nowhere.example"], "", "does not exist"),
        (
            &["user", "add", "not-an-address"],
            "correct horse battery\n",
            "local-part@domain",
        ),
        (
            &["user", "add", "x@nowhere.example"],
            "correct horse battery\n",
            "does not exist",
        ),
        (
            &["user", "add", "bob@example.net"],
            "correct horse battery\n",
            "already exists",
        ),
        (
            &["user", "add", "short@example.net"],
            "short\n",
            "at least 8",
        ),
        (
            &["user", "add", "a@example.net"],
            "correct horse battery\n",
            "already exists",
        ),
        (
            &["user", "passwd", "nobody@example.net"],
            "correct horse battery\n",
            "does not exist",
        ),
        (
            &["user", "remove", "nobody@example.net"],
            "",
            "does not exist",
        ),
        (
            &["alias", "add", "a@example.net", "bob@example.net"],
            "",
            "already exists",
        ),
        (
            &["alias", "add", "c@example.net", "ghost@example.net"],
            "",
            "no account or alias",
        ),
        (
            &["alias", "add", "a2@example.net", "not an address"],
            "",
            "local-part@domain",
        ),
        (
            &["alias", "remove", "zzz@example.net"],
            "",
            "does not exist",
        ),
        (
            &["token", "revoke", "bob@example.net", "999"],
            "",
            "does not exist",
        ),
    ];
    for (args, stdin, want) in cases {
        let err = install.refused(args, stdin);
        assert!(err.contains(want), "{args:?}: expected {want:?} in {err:?}");
    }
    // The password never comes from argv: there is no such flag.
    let out = install.cli(&["user", "add", "eve@example.net", "--password", "x"], "");
    assert_eq!(out.status.code(), Some(2), "clap usage error expected");

    let after = (
        install.json(&["domain", "list"]),
        install.json(&["user", "list"]),
        install.json(&["alias", "list"]),
    );
    assert_eq!(before, after, "refused commands changed something");

    // Alias loops: a → bob, b → a. Re-pointing a at b would close a → b → a.
    install.ok(&["alias", "remove", "a@example.net"], "");
    let err = install.refused(&["alias", "add", "a@example.net", "b@example.net"], "");
    assert!(err.contains("loop"), "{err}");
    install.ok(&["alias", "add", "a@example.net", "bob@example.net"], "");
    // A longer one: c → b → a; a → c would close a → c → b → a.
    install.ok(&["alias", "add", "c@example.net", "b@example.net"], "");
    install.ok(&["alias", "remove", "a@example.net"], "");
    let err = install.refused(&["alias", "add", "a@example.net", "c@example.net"], "");
    assert!(err.contains("loop"), "{err}");
    // An alias to itself.
    let err = install.refused(&["alias", "add", "d@example.net", "d@example.net"], "");
    assert!(
        err.contains("itself") || err.contains("no account or alias"),
        "{err}"
    );

    // --force removes a domain with accounts.
    install.ok(&["domain", "remove", "example.net", "--force"], "");
    assert_eq!(
        names(&install.json(&["user", "list"]), "address"),
        ["admin@example.org"]
    );
}

#[test]
fn admin_commands_without_config_say_how_to_start() {
    let install = Install::new(&[]);
    let err = install.refused(&["domain", "list"], "");
    assert!(err.contains("mailstead serve"), "{err}");
    assert!(
        !PathBuf::from(install.path()).join("data").exists(),
        "nothing created"
    );
}
