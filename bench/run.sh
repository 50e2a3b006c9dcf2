#!/usr/bin/env bash
# Side-by-side inbound SMTP benchmark, one run on this machine:
#   1. reference: Postfix -> LMTP -> Dovecot (bench/setup-reference.sh)
#   2. mailstead with SQLite + filesystem blobs       (when MAILSTEAD_BIN is set)
#   3. mailstead with PostgreSQL                      (when MAILSTEAD_BIN is set)
# Each target gets the same smtp-source load (bench/smtp-load.sh), from a fresh state,
# after a small warm-up, with the other targets stopped. Results: one JSON line per
# run in $WORK/results.jsonl, and a Markdown table on stdout with the ratios to the
# reference measured in this same run.
#
# Environment (all optional):
#   SESSIONS="20"        space-separated list: one measured run per value and target
#   MESSAGES=20000       messages per measured run (QUICK=1: 2000)
#   SIZE=4096            body bytes per message
#   REUSE=0              1: all messages of a session over one connection (-d)
#   WARMUP=200           messages sent (and not measured) before each run; 0: none
#   WORK=/tmp/mailstead-bench   work directory (wiped per target)
#   MAILSTEAD_BIN        path to the mailstead binary; unset: mailstead is skipped
#   MAILSTEAD_SMTP_PORT=2725, MAILSTEAD_HTTP_PORT=2780
#   PG_ADMIN_URL=postgres://postgres@127.0.0.1:5432/postgres   where a fresh database
#                        is created for the PostgreSQL run (and dropped after)
#   PG_BLOBS=postgres    blob backend of the PostgreSQL run: postgres or fs
#   TARGETS="reference sqlite postgres"   which targets to run
#   MAILSTEAD_COUNT_CMD  command printing mailstead's stored message count; default:
#                        SELECT count(*) FROM messages (sqlite3 / psql). It can use
#                        $BENCH_MS_DIR, $BENCH_MS_BACKEND, $BENCH_MS_DB_URL.
#
# Examples:
#   QUICK=1 bench/run.sh
#   SESSIONS="10 20" bench/run.sh
#   MAILSTEAD_BIN=target/release/mailstead SESSIONS="10 20" bench/run.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"

SESSIONS=${SESSIONS:-20}
if [ "${QUICK:-0}" = 1 ]; then MESSAGES=${MESSAGES:-2000}; else MESSAGES=${MESSAGES:-20000}; fi
SIZE=${SIZE:-4096}
REUSE=${REUSE:-0}
WARMUP=${WARMUP:-200}
WORK=${WORK:-/tmp/mailstead-bench}
MS_SMTP_PORT=${MAILSTEAD_SMTP_PORT:-2725}
MS_HTTP_PORT=${MAILSTEAD_HTTP_PORT:-2780}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PG_BLOBS=${PG_BLOBS:-postgres}
TARGETS=${TARGETS:-reference sqlite postgres}
REF_SMTP_PORT=${REF_SMTP_PORT:-2625}
RCPT=user@bench.test

need_root
ensure_packages
command -v jq >/dev/null || apt-get install -y -q jq >/dev/null
if [ -n "${MAILSTEAD_BIN:-}" ]; then
	# mailstead runs from its own work dir: make the path absolute first.
	MAILSTEAD_BIN=$(realpath "$MAILSTEAD_BIN")
	command -v sqlite3 >/dev/null || apt-get install -y -q sqlite3 >/dev/null
	command -v psql >/dev/null || apt-get install -y -q postgresql-client >/dev/null
fi
mkdir -p "$WORK"
results="$WORK/results.jsonl"
: >"$results"
reuse_flag=()
label_suffix=''
if [ "$REUSE" = 1 ]; then reuse_flag=(--reuse); label_suffix=' reuse'; fi

# A few unmeasured messages first, so that every target has its processes, pools and
# caches up before the clock starts (Postfix and Dovecot spawn workers on demand).
warmup() {
	local port=$1 count_cmd=$2 sessions=$3
	[ "$WARMUP" -gt 0 ] || return 0
	"$here/smtp-load.sh" --target "127.0.0.1:$port" --count-cmd "$count_cmd" \
		--sessions "$sessions" --messages "$WARMUP" --size "$SIZE" --to "$RCPT" \
		"${reuse_flag[@]}" --settle 0 --timeout 120 --label warm-up >/dev/null 2>"$WORK/warmup.log" || {
		log "warning: warm-up on port $port did not complete:"
		tail -n 5 "$WORK/warmup.log" >&2
	}
}

# The measured load, identical for every target. Extra args: --pid/--proc, --label.
load() {
	local port=$1 count_cmd=$2 sessions=$3
	shift 3
	# Start from the same page-cache state: flush what earlier runs left dirty.
	sync
	wait_quiet
	"$here/smtp-load.sh" --target "127.0.0.1:$port" --count-cmd "$count_cmd" \
		--sessions "$sessions" --messages "$MESSAGES" --size "$SIZE" --to "$RCPT" \
		"${reuse_flag[@]}" "$@" >"$WORK/last.json"
}

run_reference() {
	local s=$1 dir=$ref_dir pp dp
	"$here/setup-reference.sh" clean "$dir"
	"$here/setup-reference.sh" start "$dir"
	pp=$("$here/setup-reference.sh" pids "$dir" | sed -n 1p)
	dp=$("$here/setup-reference.sh" pids "$dir" | sed -n 2p)
	# Same count as `setup-reference.sh count`, without a script's start-up per poll.
	local count_cmd="find '$dir/dovecot/mail' -type f \\( -path '*/Maildir/new/*' -o -path '*/Maildir/cur/*' \\) 2>/dev/null | wc -l"
	warmup "$REF_SMTP_PORT" "$count_cmd" "$s"
	load "$REF_SMTP_PORT" "$count_cmd" "$s" \
		--pid "$pp" --pid "$dp" --label "postfix+dovecot s=$s$label_suffix" ||
		log "reference run (sessions=$s) failed"
	"$here/setup-reference.sh" stop "$dir"
}

ms_pid=''
stop_mailstead() {
	if [ -n "$ms_pid" ] && kill -0 "$ms_pid" 2>/dev/null; then
		kill -TERM "$ms_pid"
		for _ in $(seq 100); do kill -0 "$ms_pid" 2>/dev/null || break; sleep 0.1; done
		# Still there after 10 s (longer than a clean shutdown takes): cut it.
		if kill -0 "$ms_pid" 2>/dev/null; then kill -KILL "$ms_pid"; fi
		wait "$ms_pid" 2>/dev/null || true
	fi
	ms_pid=''
	wait_port_free "$MS_SMTP_PORT" || true
}
ref_dir="$WORK/ref"
cleanup() {
	stop_mailstead
	"$here/setup-reference.sh" stop "$ref_dir" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# run_mailstead BACKEND SESSIONS: BACKEND is sqlite or postgres.
run_mailstead() {
	local backend=$1 s=$2
	local dir="$WORK/mailstead-$backend" db="" db_url="" count_cmd
	rm -rf "$dir"
	mkdir -p "$dir"
	export MAILSTEAD_CONFIG="$dir/mailstead.toml"
	export MAILSTEAD_SMTP_LISTEN="[\"127.0.0.1:$MS_SMTP_PORT\"]"
	export MAILSTEAD_HTTP_LISTEN="[\"127.0.0.1:$MS_HTTP_PORT\"]"
	export MAILSTEAD_SERVER_HOSTNAME=mailstead-bench.localdomain
	# All load comes from 127.0.0.1: allow every session of the run from that one address
	# (the reference Postfix allows 50 per client by default, more than any run here).
	export MAILSTEAD_SMTP_MAX_CONNECTIONS_PER_IP=200
	unset MAILSTEAD_STORE_BACKEND MAILSTEAD_STORE_POSTGRES_URL MAILSTEAD_BLOBS_BACKEND
	if [ "$backend" = postgres ]; then
		db="mailstead_bench_$(date +%s)_$$"
		psql -qAt "$PG_ADMIN_URL" -c "CREATE DATABASE $db" >/dev/null
		db_url="${PG_ADMIN_URL%/*}/$db"
		export MAILSTEAD_STORE_BACKEND=postgres MAILSTEAD_STORE_POSTGRES_URL="$db_url"
		export MAILSTEAD_BLOBS_BACKEND="$PG_BLOBS"
	fi
	export BENCH_MS_DIR="$dir" BENCH_MS_BACKEND="$backend" BENCH_MS_DB_URL="$db_url"
	if [ -n "${MAILSTEAD_COUNT_CMD:-}" ]; then
		count_cmd=$MAILSTEAD_COUNT_CMD
	elif [ "$backend" = postgres ]; then
		count_cmd="psql -qAt '$db_url' -c 'SELECT count(*) FROM messages'"
	else
		count_cmd="sqlite3 -cmd '.timeout 5000' '$dir/data/mailstead.sqlite3' 'SELECT count(*) FROM messages'"
	fi

	(cd "$dir" && exec "$MAILSTEAD_BIN" serve) >"$dir/serve.log" 2>&1 &
	ms_pid=$!
	for _ in $(seq 300); do
		ss -Hltn "sport = :$MS_SMTP_PORT" | grep -q . && break
		kill -0 "$ms_pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! ss -Hltn "sport = :$MS_SMTP_PORT" | grep -q .; then
		log "mailstead ($backend) does not listen on 127.0.0.1:$MS_SMTP_PORT; last log lines:"
		tail -n 15 "$dir/serve.log" >&2 || true
		stop_mailstead
		[ -z "$db" ] || psql -qAt "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $db" >/dev/null || true
		return 1
	fi
	printf '%s\n' "$(head -c 12 /dev/urandom | base64 | tr -d '/+=')" >"$dir/password"
	"$MAILSTEAD_BIN" domain add bench.test >/dev/null
	local u
	for u in user user1 user2 user3 user4 user5 user6 user7 user8 user9; do
		"$MAILSTEAD_BIN" user add "$u@bench.test" --password-file "$dir/password" >/dev/null
	done

	# CPU: the mailstead process tree; with PostgreSQL also the server backends
	# connected to this run's database (resolved after the warm-up opened the pool).
	# PostgreSQL's shared background work (WAL writer, checkpointer) is not counted.
	warmup "$MS_SMTP_PORT" "$count_cmd" "$s"
	local pids=(--pid "$ms_pid") bp
	if [ -n "$db" ]; then
		for bp in $(psql -qAt "$PG_ADMIN_URL" -c "SELECT pid FROM pg_stat_activity WHERE datname = '$db'"); do
			pids+=(--pid "$bp")
		done
	fi
	load "$MS_SMTP_PORT" "$count_cmd" "$s" "${pids[@]}" --label "mailstead $backend s=$s$label_suffix" ||
		log "mailstead ($backend, sessions=$s) run failed"
	stop_mailstead
	[ -z "$db" ] || psql -qAt "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $db" >/dev/null || true
}

# Each run goes through `measure_retrying` (lib/common.sh): repeated when disturbed by other load.

for s in $SESSIONS; do
	for t in $TARGETS; do
		case $t in
		reference) measure_retrying run_reference "$s" ;;
		sqlite | postgres)
			if [ -z "${MAILSTEAD_BIN:-}" ]; then
				log "skipping mailstead ($t): MAILSTEAD_BIN is not set"
				continue
			fi
			[ -x "$MAILSTEAD_BIN" ] || die "MAILSTEAD_BIN=$MAILSTEAD_BIN is not executable"
			measure_retrying run_mailstead "$t" "$s" || log "mailstead ($t) skipped: see above"
			;;
		*) die "unknown target $t" ;;
		esac
	done
done

# Markdown summary; ratio = end-to-end rate / the reference's at the same sessions.
# "other CPU s": busy CPU time of anything but the server and smtp-source during the
# run (polling, kernel threads such as the ext4 journal, other users); a large value
# means the run was disturbed.
echo
echo "| run | sessions | messages | accepted msg/s | end-to-end msg/s | readable after s | CPU s / 1000 msgs | x reference (end to end) | other CPU s |"
echo "|---|---|---|---|---|---|---|---|---|"
jq -rs '
	(map(select(.label | startswith("postfix"))) | map({key: (.sessions|tostring), value: .end_to_end_per_second}) | from_entries) as $ref
	| .[] | "| \(.label)\(if .ok then "" else " (INCOMPLETE)" end)\(if .disturbed then " (DISTURBED)" else "" end) | \(.sessions) | \(.delivered)/\(.messages) | \(.accepted_per_second) | \(.end_to_end_per_second) | \(.end_to_end_seconds) | \(.server_cpu_seconds_per_1000) | \(if $ref[.sessions|tostring] then ((.end_to_end_per_second / $ref[.sessions|tostring] * 100 | round) / 100 | tostring) else "-" end) | \(.other_cpu_seconds) |"
' "$results"
echo
log "raw results: $results"
