#!/usr/bin/env bash
# A private Postfix instance playing a remote domain's outgoing MTA for inbound_e2e.rs:
# mail injected with its sendmail(1) is relayed to mailstead's MX at RELAY_PORT on
# 127.0.0.1, from SOURCE_IP, greeting as HOSTNAME (so SPF, iprev and the HELO check see
# a sender of its own). The machine's own Postfix (/etc/postfix) is not touched: the
# instance has its own config, queue and data directories under WORKDIR (see
# bench/lib/common.sh). Needs root, as Postfix's master does.
#
#   postfix_relay.sh start WORKDIR SMTPD_PORT RELAY_PORT SOURCE_IP HOSTNAME
#   postfix_relay.sh send WORKDIR MAIL_FROM RCPT FILE
#   postfix_relay.sh stop WORKDIR
#
# SMTPD_PORT: a free loopback port for the instance's own (unused) smtpd.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../../../bench/lib/common.sh
. "$here/../../../../bench/lib/common.sh"

[ $# -ge 2 ] || die "usage: $0 start|send|stop WORKDIR ..."
action=$1
work=$2
etc="$work/etc"

case $action in
start)
	[ $# -eq 6 ] || die "usage: $0 start WORKDIR SMTPD_PORT RELAY_PORT SOURCE_IP HOSTNAME"
	smtpd_port=$3 relay_port=$4 source_ip=$5 hostname=$6
	need_root
	command -v postfix >/dev/null || die "postfix is not installed (Debian package postfix)"
	mkdir -p "$etc" "$work/queue" "$work/data"
	chmod 755 "$work"
	chown postfix:postfix "$work/data"
	postfix_write_master_cf "$etc" "127.0.0.1:$smtpd_port"
	postfix_write_common_main_cf "$etc" "$work" postfix-test-relay
	# postconf -e edits in place (an appended duplicate would make `postfix check` fail).
	# Nothing is local: every recipient goes to the relay host, our MX, in clear text
	# (an MX need not offer TLS; the test is about authentication, not transport).
	postconf -c "$etc" -e \
		"myhostname = $hostname" \
		"mydestination =" \
		"relayhost = [127.0.0.1]:$relay_port" \
		"smtp_bind_address = $source_ip" \
		"smtp_tls_security_level = none" \
		"local_header_rewrite_clients =" \
		"bounce_queue_lifetime = 0" \
		"maximal_queue_lifetime = 1h" \
		"minimal_backoff_time = 1s" \
		"maximal_backoff_time = 2s" \
		"queue_run_delay = 1s"
	postfix_instance start "$etc"
	;;
send)
	[ $# -eq 5 ] || die "usage: $0 send WORKDIR MAIL_FROM RCPT FILE"
	# -C: this instance's configuration directory; -i: a line with a lone dot is data.
	sendmail -C "$etc" -i -f "$3" -- "$4" <"$5"
	;;
stop)
	[ -f "$etc/main.cf" ] && postfix_instance stop "$etc"
	;;
*) die "unknown action $action" ;;
esac
