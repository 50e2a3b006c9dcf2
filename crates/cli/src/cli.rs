//! Command-line grammar (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// mailstead — a self-hosted mail server in one program.
#[derive(Debug, Parser)]
#[command(name = "mailstead", version, about, propagate_version = true)]
pub struct Cli {
    /// Config file (default: $MAILSTEAD_CONFIG, else ./mailstead.toml).
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print results as JSON (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (first run: writes the config, data dir, certificate and admin).
    Serve,
    /// Configuration file commands.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Manage mail domains.
    #[command(subcommand)]
    Domain(DomainCmd),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCmd),
    /// Manage aliases (name@domain, @domain catch-all, pattern*@domain).
    #[command(subcommand)]
    Alias(AliasCmd),
    /// Manage app passwords (per-device login tokens).
    #[command(subcommand)]
    Token(TokenCmd),
    /// Inspect and act on the outbound queue.
    #[command(subcommand)]
    Queue(QueueCmd),
    /// Spam filter: train the classifier, score a message, per-account settings.
    #[command(subcommand)]
    Spam(SpamCmd),
}

/// `mailstead spam ...`
#[derive(Debug, Subcommand)]
pub enum SpamCmd {
    /// Train the Bayesian classifier from Maildirs, directories of messages or mbox files.
    ///
    /// Messages are keyed by the SHA-256 of their bytes: re-running with the same mail
    /// changes nothing, and a message given as the other class than before is moved over.
    /// Without --account only the global model learns.
    #[command(arg_required_else_help = true)]
    Train {
        /// Spam: a Maildir (with its Maildir++ subfolders), a directory of message files,
        /// an mbox file or one message file. Repeatable.
        #[arg(long, value_name = "PATH", num_args = 1.., required_unless_present = "ham")]
        spam: Vec<PathBuf>,
        /// Ham (wanted mail), in the same forms as --spam. Repeatable.
        #[arg(long, value_name = "PATH", num_args = 1..)]
        ham: Vec<PathBuf>,
        /// Also train this account's own model (the global model is always trained),
        /// as filing mail in Junk over IMAP does.
        #[arg(long, value_name = "ADDRESS")]
        account: Option<String>,
    },
    /// Show an account's spam settings; with options, change them first.
    Settings {
        /// The account's address.
        address: String,
        /// Filter this account's mail (file spam in Junk): true or false.
        #[arg(
            long,
            value_name = "BOOL",
            value_parser = clap::builder::BoolishValueParser::new()
        )]
        enabled: Option<bool>,
        /// Percent (0-100) of the reject score above which a message is spam to this
        /// account (Mailu's spam_threshold).
        #[arg(
            long,
            value_name = "PERCENT",
            value_parser = clap::value_parser!(u8).range(0..=100),
            allow_negative_numbers = true
        )]
        threshold: Option<u8>,
        /// Mark messages filed in Junk as read: true or false.
        #[arg(
            long,
            value_name = "BOOL",
            value_parser = clap::builder::BoolishValueParser::new()
        )]
        mark_read: Option<bool>,
    },
    /// Forget everything a classifier model learned (no question asked).
    Reset {
        /// The account's own model instead of the global one.
        #[arg(long, value_name = "ADDRESS")]
        account: Option<String>,
    },
    /// Score one message file offline: content rules and the classifier.
    ///
    /// No authentication (SPF, DKIM, DMARC, ARC) and no DNS blocklists: what needs the
    /// connection or DNS is left out. Informational: exits 0 whatever the score.
    Check {
        /// The message (an mbox file: its first message).
        file: PathBuf,
        /// Score as this account's copy would be: its own model when trained enough,
        /// and its threshold.
        #[arg(long, value_name = "ADDRESS")]
        account: Option<String>,
    },
    /// List every symbol with its weight: the defaults, and the config's filter.weights.
    Symbols,
}

/// `mailstead queue ...`
#[derive(Debug, Subcommand)]
pub enum QueueCmd {
    /// List queued messages with their pending recipients.
    List,
    /// Show one queued message: envelope, every recipient's status, attempts, last error.
    Show {
        /// Queue id (from `queue list`).
        id: i64,
    },
    /// Make a message (or, with --all, every message) due now.
    Retry {
        /// Queue id.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        /// Every queued message.
        #[arg(long)]
        all: bool,
    },
    /// Remove a message from the queue without sending any notification.
    Delete {
        /// Queue id.
        id: i64,
    },
}

/// `mailstead config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Check the config file; list every problem with its path; exit 1 if any.
    Check,
}

/// `mailstead domain ...`
#[derive(Debug, Subcommand)]
pub enum DomainCmd {
    /// Add a domain.
    Add {
        /// Domain name (Unicode names are converted to their ASCII form).
        name: String,
    },
    /// List domains.
    List,
    /// Show a domain with its alternatives, accounts and aliases.
    Show {
        /// Domain name.
        name: String,
    },
    /// Remove a domain (with accounts only with --force, deleting them and their mail).
    Remove {
        /// Domain name.
        name: String,
        /// Also delete its accounts, their mail, and its aliases.
        #[arg(long)]
        force: bool,
    },
    /// Add an alternative name: mail to user@ALTERNATIVE goes to user@DOMAIN.
    AddAlternative {
        /// The primary domain.
        domain: String,
        /// The alternative name.
        alternative: String,
    },
    /// Remove an alternative name.
    RemoveAlternative {
        /// The alternative name.
        alternative: String,
    },
    /// DKIM keys of a domain.
    #[command(subcommand)]
    Dkim(DkimCmd),
}

/// `mailstead domain dkim ...`
#[derive(Debug, Subcommand)]
pub enum DkimCmd {
    /// List the keys (selectors) with the TXT records to publish.
    List {
        /// Domain name.
        domain: String,
    },
    /// Add new RSA-2048 and Ed25519 keys (new selectors) and sign with them from now on;
    /// the old keys stop signing but stay listed, to keep in DNS until mail signed with
    /// them is delivered. Publish the new records right away.
    Rotate {
        /// Domain name.
        domain: String,
    },
    /// Remove a key (and then its DNS record).
    Remove {
        /// Domain name.
        domain: String,
        /// The selector.
        selector: String,
    },
}

/// Where a password comes from. Never from argv.
#[derive(Debug, Args)]
pub struct PasswordSource {
    /// Read the password from this file (first line); `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

/// `mailstead user ...`
#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Add a user (password from a prompt, --password-file, or piped stdin).
    Add {
        /// Address, e.g. alice@example.org.
        address: String,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
        /// Quota, e.g. 500M, 2G, or bytes (default unlimited).
        #[arg(long, value_parser = crate::input::parse_size)]
        quota: Option<u64>,
        /// Make a global administrator.
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// List users.
    List {
        /// Only this domain.
        #[arg(long)]
        domain: Option<String>,
    },
    /// Show a user with mailboxes, usage and app passwords.
    Show {
        /// Address.
        address: String,
    },
    /// Set a new password.
    Passwd {
        /// Address.
        address: String,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// Set or clear a user's quota: a size (500M, 2G, bytes) or `unlimited`.
    Quota {
        /// Address.
        address: String,
        /// New quota.
        #[arg(value_parser = crate::input::parse_quota)]
        quota: Quota,
    },
    /// Disable a user (no login, no delivery); mail is kept.
    Disable {
        /// Address.
        address: String,
    },
    /// Enable a disabled user.
    Enable {
        /// Address.
        address: String,
    },
    /// Remove a user and all their mail.
    Remove {
        /// Address.
        address: String,
    },
}

/// A quota argument: a size or no limit.
#[derive(Debug, Clone, Copy)]
pub enum Quota {
    /// At most this many octets.
    Bytes(u64),
    /// No limit.
    Unlimited,
}

/// `mailstead alias ...`
#[derive(Debug, Subcommand)]
pub enum AliasCmd {
    /// Add an alias: `mailstead alias add sales@example.org alice@example.org,bob@example.org`.
    Add {
        /// name@domain, @domain (catch-all) or pattern*@domain.
        alias: String,
        /// Destinations, comma-separated or as several arguments.
        #[arg(required = true, num_args = 1.., value_delimiter = ',')]
        destinations: Vec<String>,
    },
    /// List aliases.
    List {
        /// Only this domain.
        #[arg(long)]
        domain: Option<String>,
    },
    /// Remove an alias.
    Remove {
        /// The alias as written when added.
        alias: String,
    },
}

/// `mailstead token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Create an app password for a user; it is shown once.
    Add {
        /// The user.
        address: String,
        /// What it is for ("phone", "laptop").
        #[arg(long)]
        name: String,
    },
    /// List a user's app passwords.
    List {
        /// The user.
        address: String,
    },
    /// Revoke an app password.
    Revoke {
        /// The user.
        address: String,
        /// The token id shown by `token list`.
        id: i64,
    },
}
