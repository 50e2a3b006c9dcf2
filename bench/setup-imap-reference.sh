#!/usr/bin/env bash
# The reference IMAP server for mailstead's IMAP benchmarks and for validating the
# real-client IMAP tests: Debian's Dovecot alone (no Postfix), in a private config
# dir, on 127.0.0.1 only. Separate from setup-reference.sh's Dovecot (which serves the
# SMTP benchmark on 2643) so that both can run at once and the SMTP reference keeps
# Dovecot's stock limits.
#
#   bench/setup-imap-reference.sh start WORKDIR   install if needed, configure, start
#   bench/setup-imap-reference.sh stop  WORKDIR   stop (port free again)
#   bench/setup-imap-reference.sh status WORKDIR  exit 0 when it runs
#   bench/setup-imap-reference.sh pid   WORKDIR   print the master pid
#   bench/setup-imap-reference.sh mem   WORKDIR   print one JSON object: the memory of
#                                                  the master and all its descendants
#   bench/setup-imap-reference.sh clean WORKDIR   stop, then delete WORKDIR
#
# Users: user@bench.test, user1..user9@bench.test, alice@example.org and
# bob@example.org, all with the random password in WORKDIR/dovecot/password. Mail
# lives in WORKDIR/dovecot/mail/<domain>/<user>/Maildir, owned by the system's `mail`
# user (no account is created on the machine).
#
# What is configured, and why:
#   - IMAP on 127.0.0.1:$REF_IMAP_PORT (default 2644), no imaps listener.
#   - Dovecot's default `disable_plaintext_auth = yes`: LOGIN and AUTHENTICATE PLAIN
#     work on loopback without STARTTLS because Dovecot treats a connection whose
#     remote address is local as secure (mailstead's policy too). STARTTLS is offered
#     with a self-signed certificate made at start (openssl), so clients can test it.
#   - Limits raised for the idle-connection benchmark (1,000 connections of one user
#     from one address; stock limits are 10 per user+IP and 100 login processes):
#     mail_max_userip_connections, the imap and imap-login process limits and
#     default_client_limit. The process model itself is Dovecot's default
#     ("high-security" login processes, one imap process per connection).
#   - Special-use mailboxes Drafts, Sent, Junk, Trash (auto-subscribed), as Debian's
#     stock 15-mailboxes.conf defines them.
#
# Environment:
#   REF_IMAP_PORT=2644
#   REF_IMAP_LAYOUT=maildir++   Dovecot's default Maildir++ layout, hierarchy delimiter
#                               "."; `fs` gives LAYOUT=fs with delimiter "/" (like
#                               mailstead's), for checking clients with both
#   REF_IMAP_QUOTA=0            1: quota + imap_quota plugins (1 GiB per user), so the
#                               QUOTA extension is advertised
#   REF_IMAP_TLS=1              0: no certificate, no STARTTLS
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"

usage() { echo "usage: $0 start|stop|status|pid|mem|clean WORKDIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
work=$2
case $work in /*) ;; *) work="$PWD/$work" ;; esac

IMAP_PORT=${REF_IMAP_PORT:-2644}
LAYOUT=${REF_IMAP_LAYOUT:-maildir++}
QUOTA=${REF_IMAP_QUOTA:-0}
TLS=${REF_IMAP_TLS:-1}
USERS=(user@bench.test user1@bench.test user2@bench.test user3@bench.test user4@bench.test
	user5@bench.test user6@bench.test user7@bench.test user8@bench.test user9@bench.test
	alice@example.org bob@example.org)
# Connections of one user from one address, and processes per service: room for the
# 1,000-connection idle benchmark plus the other benchmark connections.
MAX_CONNS=2000

dc_dir="$work/dovecot"

ensure_dovecot() {
	local missing=()
	command -v dovecot >/dev/null || missing+=(dovecot-core)
	[ -x /usr/lib/dovecot/imap ] || missing+=(dovecot-imapd)
	command -v openssl >/dev/null || missing+=(openssl)
	if [ "${#missing[@]}" -gt 0 ]; then
		log "installing: ${missing[*]}"
		apt-get update -q >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
	fi
	stop_system_instances
}

configure() {
	mkdir -p "$dc_dir/run" "$dc_dir/state" "$dc_dir/mail"
	chown mail:mail "$dc_dir/mail"
	[ -s "$dc_dir/password" ] || { head -c 12 /dev/urandom | base64 | tr -d '/+=' >"$dc_dir/password"; chmod 600 "$dc_dir/password"; }
	local pw u
	pw=$(cat "$dc_dir/password")
	: >"$dc_dir/users"
	for u in "${USERS[@]}"; do
		echo "$u:{PLAIN}$pw::::::" >>"$dc_dir/users"
	done
	chmod 640 "$dc_dir/users"
	chgrp dovecot "$dc_dir/users"

	local location="maildir:~/Maildir" plugins="" ssl_block="ssl = no"
	[ "$LAYOUT" = fs ] && location="maildir:~/Maildir:LAYOUT=fs"
	if [ "$TLS" = 1 ]; then
		if [ ! -s "$dc_dir/tls/cert.pem" ]; then
			mkdir -p "$dc_dir/tls"
			openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
				-keyout "$dc_dir/tls/key.pem" -out "$dc_dir/tls/cert.pem" 2>/dev/null
			chmod 600 "$dc_dir/tls/key.pem"
		fi
		ssl_block="ssl = yes
ssl_cert = <$dc_dir/tls/cert.pem
ssl_key = <$dc_dir/tls/key.pem"
	fi
	if [ "$QUOTA" = 1 ]; then
		plugins="mail_plugins = \$mail_plugins quota
protocol imap {
  mail_plugins = \$mail_plugins imap_quota
}
plugin {
  quota = maildir:User quota
  quota_rule = *:storage=1G
}"
	fi
	cat >"$dc_dir/dovecot.conf" <<EOF
# Generated by mailstead bench/setup-imap-reference.sh; run as: dovecot -c $dc_dir/dovecot.conf
instance_name = mailstead-bench-imap
base_dir = $dc_dir/run
state_dir = $dc_dir/state
log_path = $dc_dir/dovecot.log
protocols = imap
listen = 127.0.0.1
$ssl_block
# Dovecot's default, spelt out: plaintext authentication only on secured connections,
# and a connection from a local address counts as secured.
disable_plaintext_auth = yes
auth_mechanisms = plain login
mail_location = $location
first_valid_uid = 8
first_valid_gid = 8
default_client_limit = $((MAX_CONNS * 2))
mail_max_userip_connections = $MAX_CONNS
$plugins
namespace inbox {
  inbox = yes
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dc_dir/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $dc_dir/users
  default_fields = uid=mail gid=mail home=$dc_dir/mail/%d/%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
  process_limit = $MAX_CONNS
}
service imap {
  process_limit = $MAX_CONNS
}
EOF
}

running() {
	[ -s "$dc_dir/run/master.pid" ] && kill -0 "$(cat "$dc_dir/run/master.pid")" 2>/dev/null
}

start() {
	need_root
	ensure_dovecot
	mkdir -p "$work"
	chmod 755 "$work"
	if running; then
		log "dovecot ($dc_dir) already running"
	else
		configure
		# Dovecot checks its fd limit against the client limits at start.
		ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
		# Detach Dovecot's kept stderr from ours (see setup-reference.sh).
		dovecot -c "$dc_dir/dovecot.conf" </dev/null >>"$dc_dir/startup.log" 2>&1 || {
			cat "$dc_dir/startup.log" >&2
			die "dovecot failed to start"
		}
	fi
	wait_port_listen "$IMAP_PORT"
	log "reference IMAP up: Dovecot $(dovecot --version | cut -d' ' -f1) on 127.0.0.1:$IMAP_PORT (layout $LAYOUT, password in $dc_dir/password)"
}

stop() {
	if running; then
		local pid
		pid=$(cat "$dc_dir/run/master.pid")
		doveadm -c "$dc_dir/dovecot.conf" stop >/dev/null 2>&1 || kill "$pid"
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	wait_port_free "$IMAP_PORT" || true
}

case $action in
start) start ;;
stop) stop ;;
status) running ;;
pid) running && cat "$dc_dir/run/master.pid" ;;
mem)
	running || die "dovecot ($dc_dir) is not running"
	"$here/imap-mem.sh" --tree "$(cat "$dc_dir/run/master.pid")"
	;;
clean)
	stop
	rm -rf "$work"
	;;
*) usage ;;
esac
