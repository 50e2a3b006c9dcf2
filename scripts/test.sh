#!/usr/bin/env bash
# Runs every test level of mailstead, installing what the tests need first.
#
#   scripts/test.sh            everything (what .ci/run runs)
#   SKIP_INSTALL=1 scripts/test.sh   skip apt/pip/cargo installs (they are idempotent anyway)
#
# Levels: formatting, clippy -D warnings, unit + known-answer + fuzz-corpus replay, session
# and store conformance tests on SQLite and PostgreSQL, end-to-end tests of the built binary,
# doc tests, rustdoc with warnings denied, generated docs up to date, cargo-deny.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

log() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_deps() {
    local apt_pkgs=()
    command -v psql >/dev/null || apt_pkgs+=(postgresql postgresql-client)
    command -v pg_ctlcluster >/dev/null || apt_pkgs+=(postgresql-common)
    command -v python3 >/dev/null || apt_pkgs+=(python3 python3-pip)
    # Real SMTP peers for the end-to-end tests: swaks, and Postfix for smtp-source and as
    # a relaying MTA (its own config dirs on loopback ports; the system instance stays off).
    command -v swaks >/dev/null || apt_pkgs+=(swaks)
    command -v smtp-source >/dev/null || [ -x /usr/sbin/smtp-source ] || apt_pkgs+=(postfix)
    # IMAP end-to-end: mbsync (isync) as a real two-way sync client.
    command -v mbsync >/dev/null || apt_pkgs+=(isync)
    # Outbound end-to-end: a real DNS server on loopback serving MX records.
    command -v unbound >/dev/null || [ -x /usr/sbin/unbound ] || apt_pkgs+=(unbound)
    if [ ${#apt_pkgs[@]} -gt 0 ]; then
        log "apt-get install ${apt_pkgs[*]}"
        as_root apt-get update -qq
        echo "postfix postfix/main_mailer_type select No configuration" | as_root debconf-set-selections
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_pkgs[@]}"
    fi
    # dkimpy (with PyNaCl for Ed25519) verifies our DKIM signatures independently.
    # dnspython: the queue end-to-end tests look the keys up in their own unbound.
    python3 -c 'import dkim, nacl, dns.resolver' 2>/dev/null || {
        log "pip install dkimpy pynacl dnspython"
        python3 -m pip install -q dkimpy pynacl dnspython
    }
    # A system unbound started by the package would hold port 53; tests run their own.
    if command -v systemctl >/dev/null 2>&1; then as_root systemctl stop unbound >/dev/null 2>&1 || true; fi
    # A system Postfix started by the package would hold port 25; tests never use it.
    if command -v postfix >/dev/null && as_root postfix status >/dev/null 2>&1; then
        as_root postfix stop >/dev/null 2>&1 || true
    fi
    if ! command -v cargo-deny >/dev/null; then
        log "cargo install cargo-deny"
        cargo install --locked cargo-deny
    fi
}

# PostgreSQL on 127.0.0.1:5432 with trust auth for local tests; started if not running.
start_postgres() {
    if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
        return
    fi
    log "starting PostgreSQL"
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1 || true)
    if [ -z "$version" ]; then
        echo "no PostgreSQL cluster found under /etc/postgresql" >&2
        exit 1
    fi
    if ! pg_lsclusters -h | awk '{print $2}' | grep -qx main; then
        as_root pg_createcluster "$version" main
    fi
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do
        pg_isready -h 127.0.0.1 -p 5432 -q && return
        sleep 1
    done
    echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2
    exit 1
}

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
    install_deps
fi
start_postgres
export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
psql "$TEST_POSTGRES_URL" -qtAc 'select 1' >/dev/null

export CARGO_TERM_COLOR=never
export RUST_BACKTRACE=1

log "rustfmt"
cargo fmt --all -- --check

log "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "build (binary used by the end-to-end tests)"
cargo build --workspace --locked --bins

log "tests (unit, known-answer, fuzz corpora, store conformance on SQLite and PostgreSQL, end-to-end)"
cargo test --workspace --locked --all-targets

log "doc tests"
cargo test --workspace --locked --doc

log "rustdoc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

log "generated docs up to date"
git -C "$ROOT" diff --exit-code -- docs/config.md

log "cargo-deny (licenses, bans, sources)"
cargo deny --locked check licenses bans sources

log "all test levels passed"
