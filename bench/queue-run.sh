#!/usr/bin/env bash
# Side-by-side OUTBOUND benchmark, one run on this machine: messages submitted per second
# until all are delivered to a remote sink.
#   1. reference: a private Postfix relaying everything to the sink
#      (relayhost = [127.0.0.2]:SINK_PORT, mynetworks = 127.0.0.0/8)
#   2. mailstead (SQLite + files) relaying through its smarthost setting to the same
#      sink; the load comes from a relay network (`[submission] relay_networks`), the
#      counterpart of Postfix's mynetworks, so the same smtp-source load drives both.
# The sink is Postfix's smtp-sink on 127.0.0.2:SINK_PORT; "delivered" is its count of
# completed DATA commands. Each target gets the same smtp-source load (smtp-load.sh)
# from a fresh state, with the other target stopped.
#
# mailstead's sender domain is local and has DKIM keys (as a real deployment), so every
# message is DKIM-signed twice (RSA-2048 + Ed25519); Postfix signs nothing. DKIM=0 sends
# from a domain without keys instead (like for like).
#
# Environment (all optional):
#   SESSIONS="20"  MESSAGES=10000 (QUICK=1: 1000)  SIZE=4096  WARMUP=200  DKIM=1
#   WORK=/tmp/mailstead-bench-queue   MAILSTEAD_BIN (unset: only the reference runs)
#   SINK_PORT=2526  REF_SMTP_PORT=2625  MAILSTEAD_SUBMISSION_PORT=2727
#   CONCURRENCY=20  connections to the sink at once, both targets (Postfix's
#                   default_destination_concurrency_limit is 20)
#   TARGETS="reference sqlite"
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"

SESSIONS=${SESSIONS:-20}
if [ "${QUICK:-0}" = 1 ]; then MESSAGES=${MESSAGES:-1000}; else MESSAGES=${MESSAGES:-10000}; fi
SIZE=${SIZE:-4096}
WARMUP=${WARMUP:-200}
DKIM=${DKIM:-1}
WORK=${WORK:-/tmp/mailstead-bench-queue}
SINK_PORT=${SINK_PORT:-2526}
REF_SMTP_PORT=${REF_SMTP_PORT:-2625}
MS_PORT=${MAILSTEAD_SUBMISSION_PORT:-2727}
CONCURRENCY=${CONCURRENCY:-20}
TARGETS=${TARGETS:-reference sqlite}
RCPT=user@sink.test

need_root
ensure_packages
command -v jq >/dev/null || apt-get install -y -q jq >/dev/null
if [ -n "${MAILSTEAD_BIN:-}" ]; then MAILSTEAD_BIN=$(realpath "$MAILSTEAD_BIN"); fi
mkdir -p "$WORK"
results="$WORK/results.jsonl"
: >"$results"

# --- the sink ---------------------------------------------------------------------------
sink_pid=''
start_sink() {
	stop_sink
	: >"$WORK/sink.out"
	# -c: a running "sess= quit= mesg=" counter on stdout; backlog 256.
	smtp-sink -u nobody -c "127.0.0.2:$SINK_PORT" 256 >"$WORK/sink.out" 2>&1 &
	sink_pid=$!
	for _ in $(seq 100); do
		ss -Hltn "sport = :$SINK_PORT" | grep -q . && return 0
		sleep 0.05
	done
	die "smtp-sink does not listen on 127.0.0.2:$SINK_PORT"
}
stop_sink() {
	if [ -n "$sink_pid" ]; then kill "$sink_pid" 2>/dev/null || true; wait "$sink_pid" 2>/dev/null || true; fi
	sink_pid=''
}
# How many messages the sink has received (the last counter it printed).
sink_count_cmd="tail -c 300 '$WORK/sink.out' | tr '\\r' '\\n' | grep -o 'mesg=[0-9]*' | tail -n 1 | cut -d= -f2 | grep . || echo 0"

load() {
	local port=$1 from=$2 s=$3
	shift 3
	sync
	wait_quiet
	"$here/smtp-load.sh" --target "127.0.0.1:$port" --count-cmd "$sink_count_cmd" \
		--sessions "$s" --messages "$MESSAGES" --size "$SIZE" --to "$RCPT" --from "$from" \
		"$@" >"$WORK/last.json"
}
warmup() {
	local port=$1 from=$2 s=$3
	[ "$WARMUP" -gt 0 ] || return 0
	"$here/smtp-load.sh" --target "127.0.0.1:$port" --count-cmd "$sink_count_cmd" \
		--sessions "$s" --messages "$WARMUP" --size "$SIZE" --to "$RCPT" --from "$from" \
		--settle 0 --timeout 120 --label warm-up >/dev/null 2>"$WORK/warmup.log" || {
		log "warning: warm-up on port $port did not complete:"
		tail -n 5 "$WORK/warmup.log" >&2
	}
}

# --- reference: Postfix relaying to the sink --------------------------------------------
ref_dir="$WORK/ref"
run_reference() {
	local s=$1 etc="$ref_dir/etc"
	postfix_instance stop "$etc" 2>/dev/null || true
	rm -rf "$ref_dir"
	mkdir -p "$etc" "$ref_dir/queue" "$ref_dir/data"
	chmod 755 "$ref_dir"
	chown postfix:postfix "$ref_dir/data"
	postfix_write_master_cf "$etc" "127.0.0.1:$REF_SMTP_PORT"
	postfix_write_common_main_cf "$etc" "$ref_dir" postfix-bench-relay
	cat >>"$etc/main.cf" <<EOT
relayhost = [127.0.0.2]:$SINK_PORT
smtp_tls_security_level = may
default_destination_concurrency_limit = $CONCURRENCY
EOT
	start_sink
	postfix_instance start "$etc"
	wait_port_listen "$REF_SMTP_PORT"
	local pid
	pid=$(tr -d ' ' <"$ref_dir/queue/pid/master.pid")
	warmup "$REF_SMTP_PORT" load@example.org "$s"
	load "$REF_SMTP_PORT" load@example.org "$s" --pid "$pid" --label "postfix relay s=$s" ||
		log "reference run (sessions=$s) failed"
	postfix_instance stop "$etc"
	stop_sink
}

# --- mailstead ----------------------------------------------------------------------------
ms_pid=''
stop_mailstead() {
	if [ -n "$ms_pid" ] && kill -0 "$ms_pid" 2>/dev/null; then
		kill -TERM "$ms_pid"
		for _ in $(seq 100); do kill -0 "$ms_pid" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$ms_pid" 2>/dev/null; then kill -KILL "$ms_pid"; fi
		wait "$ms_pid" 2>/dev/null || true
	fi
	ms_pid=''
}
cleanup() {
	stop_mailstead
	postfix_instance stop "$ref_dir/etc" >/dev/null 2>&1 || true
	stop_sink
}
trap cleanup EXIT

run_mailstead() {
	local s=$1 dir="$WORK/mailstead-sqlite" from
	rm -rf "$dir"
	mkdir -p "$dir"
	export MAILSTEAD_CONFIG="$dir/mailstead.toml"
	export MAILSTEAD_SERVER_HOSTNAME=mailstead-bench.localdomain
	export MAILSTEAD_HTTP_LISTEN='["127.0.0.1:2781"]'
	export MAILSTEAD_SMTP_LISTEN='[]' MAILSTEAD_IMAP_LISTEN='[]' MAILSTEAD_IMAP_TLS_LISTEN='[]'
	export MAILSTEAD_SUBMISSION_LISTEN="[\"127.0.0.1:$MS_PORT\"]" MAILSTEAD_SUBMISSION_TLS_LISTEN='[]'
	export MAILSTEAD_SUBMISSION_RELAY_NETWORKS='["127.0.0.0/8"]'
	export MAILSTEAD_SUBMISSION_MAX_CONNECTIONS_PER_IP=200 MAILSTEAD_SUBMISSION_SEND_RATE_PER_HOUR=0
	export MAILSTEAD_QUEUE_SMARTHOST="127.0.0.2:$SINK_PORT" MAILSTEAD_QUEUE_SMARTHOST_TLS=none
	export MAILSTEAD_QUEUE_MAX_PER_DOMAIN=$CONCURRENCY MAILSTEAD_QUEUE_MAX_CONCURRENT=$((CONCURRENCY * 2))
	start_sink
	(cd "$dir" && exec "$MAILSTEAD_BIN" serve) >"$dir/serve.log" 2>&1 &
	ms_pid=$!
	for _ in $(seq 300); do
		ss -Hltn "sport = :$MS_PORT" | grep -q . && break
		kill -0 "$ms_pid" 2>/dev/null || break
		sleep 0.1
	done
	ss -Hltn "sport = :$MS_PORT" | grep -q . || { tail -n 15 "$dir/serve.log" >&2; die "mailstead does not listen on $MS_PORT"; }
	if [ "$DKIM" = 1 ]; then
		"$MAILSTEAD_BIN" domain add bench.test >/dev/null
		from=load@bench.test
	else
		from=load@example.org
	fi
	warmup "$MS_PORT" "$from" "$s"
	local label="mailstead sqlite s=$s"
	[ "$DKIM" = 1 ] && label="$label dkim"
	load "$MS_PORT" "$from" "$s" --pid "$ms_pid" --label "$label" ||
		log "mailstead run (sessions=$s) failed"
	stop_mailstead
	stop_sink
}


for s in $SESSIONS; do
	for t in $TARGETS; do
		case $t in
		reference) measure_retrying run_reference "$s" ;;
		sqlite)
			[ -n "${MAILSTEAD_BIN:-}" ] || { log "skipping mailstead: MAILSTEAD_BIN is not set"; continue; }
			measure_retrying run_mailstead "$s"
			;;
		*) die "unknown target $t" ;;
		esac
	done
done

echo
echo "| run | sessions | delivered | accepted msg/s | submitted-to-delivered msg/s | all delivered after s | CPU s / 1000 msgs | x reference | other CPU s |"
echo "|---|---|---|---|---|---|---|---|---|"
jq -rs '
	(map(select(.label | startswith("postfix"))) | map({key: (.sessions|tostring), value: .end_to_end_per_second}) | from_entries) as $ref
	| .[] | "| \(.label)\(if .ok then "" else " (INCOMPLETE)" end)\(if .disturbed then " (DISTURBED)" else "" end) | \(.sessions) | \(.delivered)/\(.messages) | \(.accepted_per_second) | \(.end_to_end_per_second) | \(.end_to_end_seconds) | \(.server_cpu_seconds_per_1000) | \(if $ref[.sessions|tostring] then ((.end_to_end_per_second / $ref[.sessions|tostring] * 100 | round) / 100 | tostring) else "-" end) | \(.other_cpu_seconds) |"
' "$results"
echo
log "raw results: $results"
