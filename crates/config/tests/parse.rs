//! Behaviour of `Config::parse` / `Config::load`: defaults, environment overrides, secret
//! files, path resolution, and collecting every problem with its path.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use mailstead_config::{
    AuthSettings, BlobBackend, Config, ConfigErrors, ImapSettings, LogFormat, ServerSettings,
    StoreBackend, default_toml, locate,
};
use mailstead_types::Domain;

const BASE: &str = "/etc/mailstead";

fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    vars.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn parse(text: &str) -> Result<Config, ConfigErrors> {
    Config::parse(text, Path::new(BASE), &[])
}

fn parse_env(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    Config::parse(text, Path::new(BASE), &env(vars))
}

fn ok(text: &str) -> Config {
    parse(text).unwrap_or_else(|e| panic!("expected a valid config, got:\n{e}"))
}

fn errors(result: Result<Config, ConfigErrors>) -> ConfigErrors {
    match result {
        Ok(config) => panic!("expected issues, got a valid config: {config:?}"),
        Err(e) => e,
    }
}

fn paths(errors: &ConfigErrors) -> BTreeSet<&str> {
    errors.0.iter().map(|issue| issue.path.as_str()).collect()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

// --- defaults -------------------------------------------------------------------------------

#[test]
fn defaults_are_the_documented_values() {
    let config = Config::default();
    assert_eq!(config.server.data_dir, PathBuf::from("data"));
    assert_eq!(config.server.shutdown_grace_secs, 30);
    assert!(config.server.hostname.parse::<Domain>().is_ok());
    assert_eq!(config.store.backend, StoreBackend::Sqlite);
    assert_eq!(config.store.sqlite_path, None);
    assert_eq!(config.store.sqlite_readers, 4);
    assert_eq!(config.store.postgres_url, None);
    assert_eq!(config.store.postgres_pool_size, 16);
    assert_eq!(config.blobs.backend, BlobBackend::Fs);
    assert_eq!(config.http.listen, vec![addr("0.0.0.0:8080")]);
    assert!(config.api_token().is_none());
    assert!(config.postgres_password().is_none());
    assert_eq!(config.log.level, "info");
    assert_eq!(config.log.format, LogFormat::Text);
}

#[test]
fn imap_and_auth_defaults_are_the_documented_values() {
    let imap = ImapSettings::default();
    assert_eq!(imap.listen, vec![addr("0.0.0.0:2143")]);
    assert_eq!(imap.tls_listen, vec![addr("0.0.0.0:2993")]);
    assert_eq!(imap.max_message_size_bytes, 50 * 1024 * 1024);
    assert_eq!(imap.max_connections, 2000);
    assert_eq!(imap.max_connections_per_ip, 200);
    assert_eq!(imap.idle_timeout_secs, 1800);
    assert_eq!(imap.login_timeout_secs, 60);
    assert!(imap.plaintext_auth_on_loopback);
    assert_eq!(imap.max_bad_commands, 20);
    let auth = AuthSettings::default();
    assert_eq!(auth.failure_delay_ms, 1000);
    assert_eq!(auth.max_failures_per_ip, 10);
    assert_eq!(auth.slow_account_after, 5);
    assert_eq!(auth.account_delay_ms, 2000);
    assert_eq!(auth.window_secs, 900);
    let config = Config::default();
    assert_eq!((config.imap, config.auth), (imap, auth));
}

#[test]
fn empty_file_gives_the_defaults_with_paths_under_data_dir() {
    let config = ok("");
    let data = Path::new(BASE).join("data");
    assert_eq!(config.data_dir(), data);
    assert_eq!(config.sqlite_path(), data.join("mailstead.sqlite3"));
    assert_eq!(config.blob_path(), data.join("blobs"));
    assert_eq!(config.cert_path(), data.join("tls/cert.pem"));
    assert_eq!(config.key_path(), data.join("tls/key.pem"));
    let mut expected = Config::default();
    expected.server.data_dir = data;
    assert_eq!(config, expected);
}

#[test]
fn default_toml_parses_back_to_the_defaults() {
    let hostname = ServerSettings::default().hostname;
    let text = default_toml(&hostname);
    let direct: Config = toml::from_str(&text).expect("default_toml is valid TOML for Config");
    assert_eq!(direct, Config::default());
    assert_eq!(ok(&text), ok(""));
}

#[test]
fn default_toml_fills_in_the_hostname_and_documents_every_section() {
    let text = default_toml("mail.example.org");
    assert_eq!(ok(&text).server.hostname, "mail.example.org");
    for section in [
        "[server]", "[store]", "[blobs]", "[http]", "[smtp]", "[imap]", "[auth]", "[tls]", "[log]",
    ] {
        assert!(text.contains(section), "{section} missing from:\n{text}");
    }
    // Unset keys are shown commented out with an example.
    assert!(text.contains("# postgres_url = \"postgres://"), "{text}");
}

// --- paths ----------------------------------------------------------------------------------

#[test]
fn relative_paths_resolve_against_the_base_dir_and_absolute_paths_stay() {
    let config = ok(r#"
        [server]
        data_dir = "var"
        [store]
        sqlite_path = "db/meta.sqlite3"
        [blobs]
        path = "/srv/blobs"
        [tls]
        cert_path = "certs/fullchain.pem"
    "#);
    assert_eq!(config.data_dir(), Path::new("/etc/mailstead/var"));
    assert_eq!(
        config.sqlite_path(),
        Path::new("/etc/mailstead/db/meta.sqlite3")
    );
    assert_eq!(config.blob_path(), Path::new("/srv/blobs"));
    assert_eq!(
        config.cert_path(),
        Path::new("/etc/mailstead/certs/fullchain.pem")
    );
    assert_eq!(
        config.key_path(),
        Path::new("/etc/mailstead/var/tls/key.pem")
    );
}

#[test]
fn load_reads_the_file_and_resolves_paths_against_its_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("mailstead.toml");
    std::fs::write(&file, "[server]\ndata_dir = \"state\"\n").expect("write config");
    let config = Config::load(&file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.data_dir(), dir.path().join("state"));
    assert!(config.data_dir().is_absolute());
}

#[test]
fn load_of_a_missing_file_is_an_issue_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("absent.toml");
    let e = errors(Config::load(&file));
    assert_eq!(e.0.len(), 1);
    assert_eq!(e.0[0].path, file.display().to_string());
    assert!(e.0[0].message.contains("cannot read"), "{e}");
}

#[test]
fn locate_prefers_the_command_line_argument() {
    assert_eq!(
        locate(Some(Path::new("/opt/mail.toml"))),
        PathBuf::from("/opt/mail.toml")
    );
    // Without an argument: $MAILSTEAD_CONFIG when set (we cannot set it here: the test
    // binary's threads share the environment), else ./mailstead.toml.
    let expected = match std::env::var_os("MAILSTEAD_CONFIG") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from("mailstead.toml"),
    };
    assert_eq!(locate(None), expected);
}

// --- environment overrides ------------------------------------------------------------------

#[test]
fn env_override_sets_an_enum() {
    let config = parse_env(
        "",
        &[
            ("MAILSTEAD_STORE_BACKEND", "postgres"),
            ("MAILSTEAD_STORE_POSTGRES_URL", "postgres://m@db/m"),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.store.backend, StoreBackend::Postgres);
    assert_eq!(
        config.store.postgres_url.as_deref(),
        Some("postgres://m@db/m")
    );
}

#[test]
fn env_override_sets_a_list_written_as_toml() {
    let config = parse_env(
        "",
        &[(
            "MAILSTEAD_HTTP_LISTEN",
            r#"["127.0.0.1:8081", "[::1]:8081"]"#,
        )],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.http.listen,
        vec![addr("127.0.0.1:8081"), addr("[::1]:8081")]
    );
}

#[test]
fn env_override_sets_a_list_written_comma_separated() {
    let config = parse_env(
        "",
        &[("MAILSTEAD_HTTP_LISTEN", "127.0.0.1:8081, 127.0.0.1:8082")],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.http.listen,
        vec![addr("127.0.0.1:8081"), addr("127.0.0.1:8082")]
    );
}

#[test]
fn env_override_sets_the_imap_listen_list() {
    let config = parse_env("", &[("MAILSTEAD_IMAP_LISTEN", r#"["127.0.0.1:1143"]"#)])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.imap.listen, vec![addr("127.0.0.1:1143")]);
    assert_eq!(config.imap.tls_listen, vec![addr("0.0.0.0:2993")]);
}

#[test]
fn env_override_sets_a_bool() {
    let config = parse_env(
        "",
        &[("MAILSTEAD_IMAP_PLAINTEXT_AUTH_ON_LOOPBACK", "false")],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!config.imap.plaintext_auth_on_loopback);
}

#[test]
fn env_override_of_a_bool_with_a_non_bool_is_an_issue_named_after_the_variable() {
    let e = errors(parse_env(
        "",
        &[("MAILSTEAD_IMAP_PLAINTEXT_AUTH_ON_LOOPBACK", "no")],
    ));
    assert_eq!(
        paths(&e),
        BTreeSet::from(["MAILSTEAD_IMAP_PLAINTEXT_AUTH_ON_LOOPBACK"])
    );
}

#[test]
fn env_override_sets_an_integer() {
    let config = parse_env("", &[("MAILSTEAD_SERVER_SHUTDOWN_GRACE_SECS", "5")])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.server.shutdown_grace_secs, 5);
}

#[test]
fn env_override_sets_a_path() {
    let config = parse_env("", &[("MAILSTEAD_SERVER_DATA_DIR", "/srv/mail")])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.data_dir(), Path::new("/srv/mail"));
}

#[test]
fn env_override_of_a_string_key_keeps_digits_as_text() {
    let config =
        parse_env("", &[("MAILSTEAD_HTTP_API_TOKEN", "12345")]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.api_token().map(|t| t.expose().as_str()),
        Some("12345")
    );
}

#[test]
fn env_override_wins_over_the_file() {
    let config = parse_env(
        "[log]\nlevel = \"warn\"\nformat = \"text\"\n",
        &[("MAILSTEAD_LOG_FORMAT", "json")],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.log.format, LogFormat::Json);
    assert_eq!(config.log.level, "warn");
}

#[test]
fn env_override_for_an_unknown_key_is_an_issue_named_after_the_variable() {
    let e = errors(parse_env("", &[("MAILSTEAD_STORE_CACHE_SIZE", "10")]));
    assert_eq!(paths(&e), BTreeSet::from(["MAILSTEAD_STORE_CACHE_SIZE"]));
    assert!(e.0[0].message.contains("unknown field"), "{e}");
}

#[test]
fn env_override_with_a_bad_value_is_an_issue_named_after_the_variable() {
    let e = errors(parse_env("", &[("MAILSTEAD_STORE_BACKEND", "mysql")]));
    assert_eq!(paths(&e), BTreeSet::from(["MAILSTEAD_STORE_BACKEND"]));
    assert!(e.0[0].message.contains("store.backend"), "{e}");
}

#[test]
fn mailstead_variables_outside_the_known_sections_are_ignored() {
    let config = parse_env(
        "",
        &[
            ("MAILSTEAD_CONFIG", "/etc/other.toml"),
            ("MAILSTEAD_LOG", "debug"),
            ("MAILSTEAD_SMTPD_PORT", "25"),
            ("HTTP_LISTEN", "nonsense"),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config, ok(""));
}

// --- secrets --------------------------------------------------------------------------------

#[test]
fn secret_file_is_read_without_one_trailing_newline() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("pg"), "s3cret\n").expect("write secret");
    std::fs::write(dir.path().join("token"), "tok\n\n").expect("write secret");
    let config = Config::parse(
        "[store]\npostgres_password_file = \"pg\"\n[http]\napi_token_file = \"token\"\n",
        dir.path(),
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.postgres_password().map(|s| s.expose().as_str()),
        Some("s3cret")
    );
    // Only one newline is dropped: the rest is the secret.
    assert_eq!(
        config.api_token().map(|s| s.expose().as_str()),
        Some("tok\n")
    );
}

#[test]
fn secret_and_secret_file_both_set_is_an_issue() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("pg"), "s3cret").expect("write secret");
    let e = errors(Config::parse(
        "[store]\npostgres_password = \"x\"\npostgres_password_file = \"pg\"\n",
        dir.path(),
        &[],
    ));
    assert_eq!(paths(&e), BTreeSet::from(["store.postgres_password"]));
    assert!(e.0[0].message.contains("not both"), "{e}");
}

#[test]
fn unreadable_secret_file_is_an_issue_naming_the_file() {
    let e = errors(parse("[http]\napi_token_file = \"missing-token\"\n"));
    assert_eq!(paths(&e), BTreeSet::from(["http.api_token_file"]));
    assert!(
        e.0[0].message.contains("/etc/mailstead/missing-token"),
        "{e}"
    );
}

#[test]
fn empty_secret_is_an_issue() {
    let e = errors(parse("[http]\napi_token = \"\"\n"));
    assert_eq!(paths(&e), BTreeSet::from(["http.api_token"]));
}

#[test]
fn debug_of_a_config_never_shows_a_secret() {
    let config = ok("[store]\npostgres_password = \"hunter2\"\n");
    assert!(!format!("{config:?}").contains("hunter2"));
}

// --- every problem, with its path -----------------------------------------------------------

#[test]
fn broken_file_reports_every_problem_with_its_path() {
    let text = r#"
[server]
shutdown_grace_secs = "soon"

[store]
backend = "postgres"
cache_size = 10

[http]
listen = ["127.0.0.1:8080", "localhost:80"]

[smtpd]
port = 25

[log]
format = "xml"
level = "info debug"
"#;
    let e = errors(parse(text));
    assert_eq!(
        paths(&e),
        BTreeSet::from([
            "smtpd",                      // unknown section
            "server.shutdown_grace_secs", // wrong type
            "store.cache_size",           // unknown key
            "store.postgres_url",         // postgres without url
            "http.listen[1]",             // bad socket address
            "log.format",                 // bad enum value
            "log.level",                  // not a filter directive
        ]),
        "{e}"
    );
    let message = |path| e.find(path).map(|i| i.message.as_str()).unwrap_or_default();
    assert!(message("smtpd").contains("unknown section"), "{e}");
    assert!(message("store.cache_size").contains("unknown field"), "{e}");
    assert!(message("log.format").contains("unknown variant"), "{e}");
    assert!(
        message("server.shutdown_grace_secs").contains("invalid type"),
        "{e}"
    );
    assert!(message("http.listen[1]").contains("socket address"), "{e}");
    // Display: one "path: message" per line.
    assert_eq!(e.to_string().lines().count(), e.0.len());
    assert!(
        e.to_string()
            .lines()
            .any(|l| l.starts_with("store.cache_size: "))
    );
}

#[test]
fn toml_syntax_error_is_one_issue_with_line_and_column() {
    let e = errors(parse(
        "[server]\nhostname = \"a.example\"\ndata_dir = data\n",
    ));
    assert_eq!(e.0.len(), 1, "{e}");
    assert_eq!(e.0[0].path, "line 3, column 12", "{e}");
    assert!(e.0[0].message.starts_with("invalid TOML"), "{e}");
}

#[test]
fn section_that_is_not_a_table_is_an_issue() {
    let e = errors(parse("store = \"sqlite\"\n"));
    assert_eq!(paths(&e), BTreeSet::from(["store"]));
}

#[test]
fn a_key_that_failed_to_parse_is_not_reported_twice() {
    // postgres_url has the wrong type: that is the issue, not "required for postgres".
    let e = errors(parse("[store]\nbackend = \"postgres\"\npostgres_url = 5\n"));
    assert_eq!(e.0.len(), 1, "{e}");
    assert_eq!(e.0[0].path, "store.postgres_url");
    assert!(e.0[0].message.contains("invalid type"), "{e}");
}

// --- semantic rules -------------------------------------------------------------------------

#[test]
fn postgres_store_with_url_is_valid() {
    let config = ok(
        "[store]\nbackend = \"postgres\"\npostgres_url = \"postgres://m@db/m\"\n\
                     [blobs]\nbackend = \"postgres\"\n",
    );
    assert_eq!(config.blobs.backend, BlobBackend::Postgres);
}

#[test]
fn postgres_store_without_url_is_an_issue() {
    let e = errors(parse("[store]\nbackend = \"postgres\"\n"));
    assert_eq!(paths(&e), BTreeSet::from(["store.postgres_url"]));
}

#[test]
fn postgres_blobs_need_the_postgres_store() {
    let e = errors(parse("[blobs]\nbackend = \"postgres\"\n"));
    assert_eq!(paths(&e), BTreeSet::from(["blobs.backend"]));
}

#[test]
fn empty_listen_list_is_an_issue() {
    let e = errors(parse("[http]\nlisten = []\n"));
    assert_eq!(paths(&e), BTreeSet::from(["http.listen"]));
}

#[test]
fn duplicate_listen_address_is_an_issue_at_the_repeat() {
    let e = errors(parse(
        "[http]\nlisten = [\"127.0.0.1:80\", \"[::1]:80\", \"127.0.0.1:80\"]\n",
    ));
    assert_eq!(paths(&e), BTreeSet::from(["http.listen[2]"]));
    assert!(e.0[0].message.contains("http.listen[0]"), "{e}");
}

#[test]
fn invalid_log_level_is_an_issue() {
    for level in ["", "info debug", "debug!"] {
        let e = errors(parse(&format!("[log]\nlevel = {level:?}\n")));
        assert_eq!(paths(&e), BTreeSet::from(["log.level"]), "level {level:?}");
    }
    assert_eq!(
        ok("[log]\nlevel = \"info,mailstead_smtp=debug\"\n")
            .log
            .level,
        "info,mailstead_smtp=debug"
    );
}

#[test]
fn shutdown_grace_outside_1_to_3600_is_an_issue() {
    for secs in [0, 3601] {
        let e = errors(parse(&format!("[server]\nshutdown_grace_secs = {secs}\n")));
        assert_eq!(paths(&e), BTreeSet::from(["server.shutdown_grace_secs"]));
    }
    assert_eq!(
        ok("[server]\nshutdown_grace_secs = 3600\n")
            .server
            .shutdown_grace_secs,
        3600
    );
}

#[test]
fn zero_sqlite_readers_is_an_issue() {
    let e = errors(parse("[store]\nsqlite_readers = 0\n"));
    assert_eq!(paths(&e), BTreeSet::from(["store.sqlite_readers"]));
}

#[test]
fn hostname_is_stored_in_ascii_lower_case() {
    let config = ok("[server]\nhostname = \"Mail.Bücher.Example\"\n");
    assert_eq!(config.server.hostname, "mail.xn--bcher-kva.example");
}

#[test]
fn invalid_hostname_is_an_issue() {
    let e = errors(parse("[server]\nhostname = \"mail_server..example\"\n"));
    assert_eq!(paths(&e), BTreeSet::from(["server.hostname"]));
}

// --- [imap] and [auth] ----------------------------------------------------------------------

#[test]
fn imap_and_auth_sections_are_read() {
    let config = ok(r#"
        [imap]
        listen = ["127.0.0.1:143"]
        tls_listen = ["127.0.0.1:993", "[::1]:993"]
        max_message_size_bytes = 1048576
        max_connections = 10
        max_connections_per_ip = 2
        idle_timeout_secs = 3600
        login_timeout_secs = 30
        plaintext_auth_on_loopback = false
        max_bad_commands = 5
        [auth]
        failure_delay_ms = 0
        max_failures_per_ip = 3
        slow_account_after = 2
        account_delay_ms = 0
        window_secs = 60
    "#);
    assert_eq!(
        config.imap,
        ImapSettings {
            listen: vec![addr("127.0.0.1:143")],
            tls_listen: vec![addr("127.0.0.1:993"), addr("[::1]:993")],
            max_message_size_bytes: 1024 * 1024,
            max_connections: 10,
            max_connections_per_ip: 2,
            idle_timeout_secs: 3600,
            login_timeout_secs: 30,
            plaintext_auth_on_loopback: false,
            max_bad_commands: 5,
        }
    );
    assert_eq!(
        config.auth,
        AuthSettings {
            failure_delay_ms: 0,
            max_failures_per_ip: 3,
            slow_account_after: 2,
            account_delay_ms: 0,
            window_secs: 60,
        }
    );
}

#[test]
fn empty_imap_listen_lists_disable_the_listeners() {
    let config = ok("[imap]
listen = []
tls_listen = []
");
    assert!(config.imap.listen.is_empty());
    assert!(config.imap.tls_listen.is_empty());
}

#[test]
fn unknown_imap_key_is_an_issue() {
    let e = errors(parse(
        "[imap]
port = 143
",
    ));
    assert_eq!(paths(&e), BTreeSet::from(["imap.port"]));
    assert!(e.0[0].message.contains("unknown field"), "{e}");
}

/// `(section, key, min)` of every integer key with a lower bound in `[imap]` and `[auth]`.
const IMAP_AUTH_MINIMUMS: [(&str, &str, u64); 9] = [
    ("imap", "max_message_size_bytes", 1024),
    ("imap", "max_connections", 1),
    ("imap", "max_connections_per_ip", 1),
    ("imap", "idle_timeout_secs", 60),
    ("imap", "login_timeout_secs", 1),
    ("imap", "max_bad_commands", 1),
    ("auth", "max_failures_per_ip", 1),
    ("auth", "slow_account_after", 1),
    ("auth", "window_secs", 1),
];

#[test]
fn imap_and_auth_values_below_their_minimum_are_issues() {
    for (section, key, min) in IMAP_AUTH_MINIMUMS {
        let path = format!("{section}.{key}");
        let e = errors(parse(&format!("[{section}]\n{key} = {}\n", min - 1)));
        assert_eq!(paths(&e), BTreeSet::from([path.as_str()]), "{path}");
        assert_eq!(e.0[0].message, format!("must be at least {min}"), "{path}");
        // The minimum itself is fine.
        parse(&format!("[{section}]\n{key} = {min}\n"))
            .unwrap_or_else(|e| panic!("{path} = {min}: {e}"));
    }
}

#[test]
fn auth_delays_may_be_zero() {
    let config = ok("[auth]\nfailure_delay_ms = 0\naccount_delay_ms = 0\n");
    assert_eq!(
        (config.auth.failure_delay_ms, config.auth.account_delay_ms),
        (0, 0)
    );
}

#[test]
fn duplicate_imap_listen_address_is_an_issue_at_the_repeat() {
    let e = errors(parse(
        "[imap]\nlisten = [\"127.0.0.1:143\", \"127.0.0.1:143\"]\n\
         tls_listen = [\"[::1]:993\", \"127.0.0.1:993\", \"[::1]:993\"]\n",
    ));
    assert_eq!(
        paths(&e),
        BTreeSet::from(["imap.listen[1]", "imap.tls_listen[2]"]),
        "{e}"
    );
    let message = |path| e.find(path).map(|i| i.message.as_str()).unwrap_or_default();
    assert!(message("imap.listen[1]").contains("imap.listen[0]"), "{e}");
    assert!(
        message("imap.tls_listen[2]").contains("imap.tls_listen[0]"),
        "{e}"
    );
}

#[test]
fn listener_address_shared_between_sections_is_an_issue_naming_both_paths() {
    // Each pair of lists: (the first list, its address), (the later list that repeats it).
    let cases = [
        ("http.listen[0]", "smtp.listen[0]"),
        ("http.listen[0]", "imap.listen[0]"),
        ("http.listen[0]", "imap.tls_listen[0]"),
        ("smtp.listen[0]", "imap.listen[0]"),
        ("smtp.listen[0]", "imap.tls_listen[0]"),
        ("imap.listen[0]", "imap.tls_listen[0]"),
    ];
    for (first, repeat) in cases {
        // Dotted keys, so that two keys of [imap] need no shared table header.
        let text = format!(
            "{} = [\"127.0.0.1:1143\"]\n{} = [\"127.0.0.1:1143\"]\n",
            first.trim_end_matches("[0]"),
            repeat.trim_end_matches("[0]"),
        );
        let e = errors(parse(&text));
        assert_eq!(paths(&e), BTreeSet::from([repeat]), "{text}\n{e}");
        assert_eq!(
            e.0[0].message,
            format!("127.0.0.1:1143 is already listed as {first}"),
            "{text}"
        );
    }
}

#[test]
fn listener_collision_is_checked_against_env_overrides_too() {
    let e = errors(parse_env(
        "",
        &[("MAILSTEAD_IMAP_TLS_LISTEN", "0.0.0.0:8080")],
    ));
    assert_eq!(paths(&e), BTreeSet::from(["imap.tls_listen[0]"]), "{e}");
    assert!(e.0[0].message.contains("http.listen[0]"), "{e}");
}

#[test]
fn port_zero_listeners_never_collide() {
    let config = ok(r#"
        [http]
        listen = ["127.0.0.1:0"]
        [smtp]
        listen = ["127.0.0.1:0", "127.0.0.1:0"]
        [imap]
        listen = ["127.0.0.1:0"]
        tls_listen = ["127.0.0.1:0"]
    "#);
    assert_eq!(config.imap.tls_listen, vec![addr("127.0.0.1:0")]);
}

#[test]
fn a_listen_list_that_failed_to_parse_is_not_checked_for_collisions() {
    // imap.listen is wrong, so only that is reported, not a collision with its default.
    let e = errors(parse("[imap]\nlisten = \"everywhere\"\n"));
    assert_eq!(paths(&e), BTreeSet::from(["imap.listen"]), "{e}");
}

#[test]
fn submission_queue_and_dns_defaults_are_the_documented_values() {
    let c = ok("");
    assert_eq!(c.submission.listen, vec![addr("0.0.0.0:2587")]);
    assert_eq!(c.submission.tls_listen, vec![addr("0.0.0.0:2465")]);
    assert_eq!(c.queue.remote_port, 25);
    assert_eq!(c.queue.retry_initial_secs, 300);
    assert_eq!(c.queue.retry_max_secs, 4 * 3600);
    assert_eq!(c.queue.give_up_after_secs, 5 * 24 * 3600);
    assert!(c.queue.smarthost.is_none());
    assert!(c.dns.nameservers.is_empty());
}

#[test]
fn queue_and_submission_rules_are_checked() {
    let e = errors(parse(
        r#"
[submission]
relay_networks = ["10.0.0.0/8", "not-a-net", "10.0.0.0/33"]
listen = ["127.0.0.1:2525"]
[smtp]
listen = ["127.0.0.1:2525"]
[queue]
retry_initial_secs = 100000
retry_max_secs = 10
smarthost = "relay.example"
smarthost_password = "x"
domain_smarthosts = { "partner.example" = "mx.partner.example:25", "bad domain" = "x:1", "ok.example" = "nohost" }
[dns]
nameservers = ["127.0.0.1:5353"]
"#,
    ));
    let p = paths(&e);
    for expected in [
        "submission.relay_networks[1]",
        "submission.relay_networks[2]",
        "submission.listen[0]",
        "queue.retry_initial_secs",
        "queue.smarthost",
        "queue.smarthost_username",
        "queue.domain_smarthosts.bad domain",
        "queue.domain_smarthosts.ok.example",
    ] {
        assert!(p.contains(expected), "missing {expected} in {p:?}");
    }
    assert!(!p.contains("submission.relay_networks[0]"));
    assert!(!p.contains("queue.domain_smarthosts.partner.example"));
}

#[test]
fn a_complete_queue_section_parses() {
    let c = ok(r#"
[queue]
smarthost = "[2001:db8::1]:465"
smarthost_tls = "implicit"
smarthost_username = "relay-user"
smarthost_password = "s3cret"
tls_required_domains = ["Bank.Example"]
[dns]
nameservers = ["127.0.0.1:5353"]
"#);
    assert_eq!(
        mailstead_config::parse_host_port(c.queue.smarthost.as_deref().unwrap_or_default()),
        Some(("2001:db8::1".to_owned(), 465))
    );
    assert_eq!(
        c.queue.smarthost_tls,
        mailstead_config::SmarthostTls::Implicit
    );
    assert_eq!(c.queue.tls_required_domains[0].as_str(), "bank.example");
    assert_eq!(c.dns.nameservers, vec![addr("127.0.0.1:5353")]);
}
