#!/usr/bin/env bash
# A private Postfix instance playing the MX of one domain for queue_e2e.rs: it listens on
# LISTEN_IP:PORT, offers STARTTLS (a self-signed certificate made here) and delivers
# every address of DOMAIN into one Maildir, WORKDIR/mail/inbox/ (virtual delivery, as
# user nobody). The machine's own Postfix (/etc/postfix) is not touched: the instance
# has its own config, queue and data directories under WORKDIR (see bench/lib/common.sh).
# Needs root, as Postfix's master does.
#
#   postfix_mx.sh start WORKDIR LISTEN_IP PORT DOMAIN
#   postfix_mx.sh stop WORKDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../../../bench/lib/common.sh
. "$here/../../../../bench/lib/common.sh"

[ $# -ge 2 ] || die "usage: $0 start WORKDIR LISTEN_IP PORT DOMAIN | stop WORKDIR"
action=$1
work=$2
etc="$work/etc"

case $action in
start)
	[ $# -eq 5 ] || die "usage: $0 start WORKDIR LISTEN_IP PORT DOMAIN"
	ip=$3 port=$4 domain=$5
	need_root
	command -v postfix >/dev/null || die "postfix is not installed (Debian package postfix)"
	command -v openssl >/dev/null || die "openssl is not installed (Debian package openssl)"
	mkdir -p "$etc" "$work/queue" "$work/data" "$work/mail"
	chmod 755 "$work"
	chown postfix:postfix "$work/data"
	chown nobody:nogroup "$work/mail"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mx.$domain" \
		-keyout "$etc/key.pem" -out "$etc/cert.pem" 2>/dev/null
	postfix_write_master_cf "$etc" "$ip:$port"
	postfix_write_common_main_cf "$etc" "$work" postfix-test-mx
	# postconf -e edits in place (an appended duplicate would make `postfix check` fail).
	# inet_interfaces stays 127.0.0.1 (Postfix refuses 127.0.0.5, which is no interface
	# address of its own); master.cf binds the smtpd service to $ip:$port explicitly.
	postconf -c "$etc" -e \
		"virtual_mailbox_domains = $domain" \
		"virtual_mailbox_base = $work/mail" \
		"virtual_mailbox_maps = static:inbox/" \
		"virtual_uid_maps = static:$(id -u nobody)" \
		"virtual_gid_maps = static:$(id -g nobody)" \
		"virtual_minimum_uid = 1" \
		"smtpd_tls_security_level = may" \
		"smtpd_tls_cert_file = $etc/cert.pem" \
		"smtpd_tls_key_file = $etc/key.pem" \
		"smtpd_tls_received_header = yes"
	postfix_instance start "$etc"
	;;
stop)
	[ -f "$etc/main.cf" ] && postfix_instance stop "$etc"
	;;
*) die "unknown action $action" ;;
esac
