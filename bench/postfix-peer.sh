#!/usr/bin/env bash
# A small private Postfix that plays a peer MTA on the Internet: it accepts mail on
# 127.0.0.1:2626 and relays everything (in particular bench.test and example.org) to
# [127.0.0.1]:TARGET_PORT over SMTP, offering STARTTLS opportunistically as real MTAs
# do (smtp_tls_security_level = may: TLS when offered, any certificate accepted).
# For the end-to-end test "Postfix relays to mailstead as a peer MTA".
#
#   bench/postfix-peer.sh start WORKDIR TARGET_PORT   configure (again) and start
#   bench/postfix-peer.sh stop WORKDIR                stop (port 2626 free again)
#   bench/postfix-peer.sh status WORKDIR              exit 0 while running
#   bench/postfix-peer.sh flush WORKDIR               retry the deferred queue now
#   bench/postfix-peer.sh queue WORKDIR               list the queue (postqueue -p)
#   bench/postfix-peer.sh clean WORKDIR               stop, then delete WORKDIR
#
# WORKDIR gets etc/ (main.cf, master.cf, transport), queue/, data/ and maillog, the
# log to read for "status=sent (250 ...)" lines. PEER_SMTP_PORT overrides 2626.
# Retry timers are short (seconds, not Postfix's minutes) so that a test that starts
# the peer before its target does not wait long.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"

usage() { echo "usage: $0 start WORKDIR TARGET_PORT | stop|status|flush|queue|clean WORKDIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
action=$1
work=$2
case $work in /*) ;; *) work="$PWD/$work" ;; esac
PORT=${PEER_SMTP_PORT:-2626}
etc="$work/etc"

configure() {
	local target=$1
	mkdir -p "$etc" "$work/queue" "$work/data"
	chmod 755 "$work"
	chown postfix:postfix "$work/data"
	postfix_write_master_cf "$etc" "127.0.0.1:$PORT"
	postfix_write_common_main_cf "$etc" "$work" postfix-bench-peer
	cat >"$etc/transport" <<EOF
bench.test	smtp:[127.0.0.1]:$target
example.org	smtp:[127.0.0.1]:$target
EOF
	cat >>"$etc/main.cf" <<EOF
# Relay for the test domains (explicit routes, brackets: no MX lookup), and send
# anything else to the same place, so no mail ever leaves the machine.
relay_domains = bench.test, example.org
transport_maps = texthash:$etc/transport
relayhost = [127.0.0.1]:$target
smtp_tls_security_level = may
smtp_tls_loglevel = 1
# Test-friendly retries: seconds instead of minutes.
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 15s
EOF
}

case $action in
start)
	[ $# -eq 3 ] || usage
	need_root
	ensure_packages
	if postfix -c "$etc" status >/dev/null 2>&1; then
		log "peer already running ($etc); stop it first to change TARGET_PORT"
	else
		configure "$3"
		postfix_instance start "$etc"
	fi
	wait_port_listen "$PORT"
	log "peer MTA up: 127.0.0.1:$PORT relays to [127.0.0.1]:$3 (log: $work/maillog)"
	;;
stop)
	[ -f "$etc/main.cf" ] && postfix_instance stop "$etc"
	wait_port_free "$PORT" || true
	;;
status) postfix -c "$etc" status ;;
flush) postqueue -c "$etc" -f ;;
queue) postqueue -c "$etc" -p ;;
clean)
	[ -f "$etc/main.cf" ] && postfix_instance stop "$etc"
	wait_port_free "$PORT" || true
	rm -rf "$work"
	;;
*) usage ;;
esac
