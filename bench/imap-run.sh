#!/usr/bin/env bash
# Side-by-side IMAP benchmark, one run on this machine:
#   1. dovecot: Debian's Dovecot, maildir (bench/setup-imap-reference.sh)
#   2. mailstead (when MAILSTEAD_BIN is set): its own data dir and config, SQLite
# Each target, from a fresh state and with the other stopped, gets the same load from
# bench/imap-load (a small Rust program, built here on first use):
#   populate  APPEND $MESSAGES messages of the deterministic corpus (pipelined)
#   fetch     FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE), then FETCH 1:* BODY.PEEK[],
#             $ROUNDS rounds each, every response parsed and counted
#   search    SEARCH TEXT xylophonist and UID SEARCH BODY xylophonist, $ROUNDS rounds
#             (the word is in exactly 1 message of 2,000: 5 hits in 10,000)
#   idle      $IDLE_CONNS connections in IDLE on INBOX; the server's memory before and
#             while they idle (all Dovecot processes summed; mailstead's one process),
#             then one APPEND that every idler must be told of
# Results: one JSON line per measurement in $WORK/results.jsonl and appended to
# $RESULTS, and a Markdown table on stdout with the ratios mailstead / Dovecot.
#
# Environment (all optional):
#   MESSAGES=10000  ROUNDS=3  IDLE_CONNS=1000  SEED=1    (QUICK=1: 2000, 2, 200)
#   WORK=/tmp/mailstead-bench-imap    work directory (wiped per target)
#   RESULTS=bench/results/imap-<UTC date>.jsonl   where the JSON lines are appended
#                                     (RESULTS=none: nowhere)
#   TARGETS="dovecot mailstead"
#   STEPS="fetch search idle"        what runs after populate (which always does)
#   MAILSTEAD_BIN       path to the mailstead binary; unset: mailstead is skipped
#   MAILSTEAD_IMAP_PORT=2743, MAILSTEAD_IMAPS_PORT=2793, MAILSTEAD_SMTP_PORT=2745,
#   MAILSTEAD_HTTP_PORT=2781          mailstead's listeners, all on 127.0.0.1
#   REF_IMAP_PORT=2644                Dovecot's IMAP port
#   IMAP_LOAD=bench/imap-load/target/release/imap-load   the load generator
#   QUIET_SECS=10, QUIET_WAIT=900     wait for a quiet machine before each step
#   MAILSTEAD_IMAP_MAX_CONNECTIONS, MAILSTEAD_IMAP_MAX_CONNECTIONS_PER_IP: default
#   max(2000, IDLE_CONNS + 200), as Dovecot's limits are raised for the idle step.
#   Any other MAILSTEAD_* variable set by the caller reaches mailstead as it is.
#
# Both servers run with the page cache warm (populate has just written the mail), and
# with Dovecot's inotify instance limit out of the way: fs.inotify.max_user_instances
# is raised for the run (Dovecot's imap processes, one per connection, each want an
# inotify instance for IDLE, or fall back to polling every 30 s) and restored after.
#
# Examples:
#   QUICK=1 bench/imap-run.sh
#   MAILSTEAD_BIN=target/release/mailstead bench/imap-run.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"

if [ "${QUICK:-0}" = 1 ]; then
	MESSAGES=${MESSAGES:-2000} ROUNDS=${ROUNDS:-2} IDLE_CONNS=${IDLE_CONNS:-200}
else
	MESSAGES=${MESSAGES:-10000} ROUNDS=${ROUNDS:-3} IDLE_CONNS=${IDLE_CONNS:-1000}
fi
SEED=${SEED:-1}
WORK=${WORK:-/tmp/mailstead-bench-imap}
RESULTS=${RESULTS:-$here/results/imap-$(date -u +%Y-%m-%d).jsonl}
TARGETS=${TARGETS:-dovecot mailstead}
STEPS=${STEPS:-fetch search idle}
MS_IMAP_PORT=${MAILSTEAD_IMAP_PORT:-2743}
MS_IMAPS_PORT=${MAILSTEAD_IMAPS_PORT:-2793}
MS_SMTP_PORT=${MAILSTEAD_SMTP_PORT:-2745}
MS_HTTP_PORT=${MAILSTEAD_HTTP_PORT:-2781}
REF_IMAP_PORT=${REF_IMAP_PORT:-2644}
export REF_IMAP_PORT
IMAP_LOAD=${IMAP_LOAD:-$here/imap-load/target/release/imap-load}
USER_ADDR=user@bench.test

need_root
command -v jq >/dev/null || apt-get install -y -q jq >/dev/null
if [ ! -x "$IMAP_LOAD" ]; then
	command -v cargo >/dev/null || die "cargo is needed to build $here/imap-load"
	log "building the load generator (bench/imap-load)"
	cargo build --release --quiet --manifest-path "$here/imap-load/Cargo.toml"
fi
if [ -n "${MAILSTEAD_BIN:-}" ]; then
	MAILSTEAD_BIN=$(realpath "$MAILSTEAD_BIN")
	[ -x "$MAILSTEAD_BIN" ] || die "MAILSTEAD_BIN=$MAILSTEAD_BIN is not executable"
fi

# Room for the idle connections: the client's sockets here, the servers' in their
# processes (Dovecot's master raises its own soft limit to what it inherits).
want_fds=$((IDLE_CONNS * 2 + 1024))
[ "$(ulimit -Hn)" -ge "$want_fds" ] || die "ulimit -Hn is $(ulimit -Hn); $want_fds file descriptors are needed"
# (-S: bash's plain `ulimit -n` would lower the hard limit too, under Dovecot's feet.)
ulimit -Sn "$want_fds"
# An idle Dovecot imap process holds several inotify instances (the mailbox's cur/ and
# new/, its index files): measured 4-5, all counted against the `mail` user.
inotify=/proc/sys/fs/inotify/max_user_instances
old_inotify=$(cat "$inotify")
want_inotify=$((IDLE_CONNS * 8 + 1024))
if [ "$old_inotify" -lt "$want_inotify" ]; then
	echo "$want_inotify" >"$inotify" || log "warning: could not raise $inotify (Dovecot's IDLE will poll)"
fi

mkdir -p "$WORK"
results="$WORK/results.jsonl"
: >"$results"
run_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)

ms_pid='' target='' out=''
common=()
stop_mailstead() {
	if [ -n "$ms_pid" ] && kill -0 "$ms_pid" 2>/dev/null; then
		kill -TERM "$ms_pid"
		for _ in $(seq 150); do kill -0 "$ms_pid" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$ms_pid" 2>/dev/null; then kill -KILL "$ms_pid"; fi
		wait "$ms_pid" 2>/dev/null || true
	fi
	ms_pid=''
	wait_port_free "$MS_IMAP_PORT" || true
}
cleanup() {
	stop_mailstead
	"$here/setup-imap-reference.sh" stop "$WORK/dovecot" >/dev/null 2>&1 || true
	[ "$(cat "$inotify")" = "$old_inotify" ] || echo "$old_inotify" >"$inotify" || true
}
trap cleanup EXIT

# step NAME ARGS...: one imap-load run against the current target ($target, $common),
# its JSON lines appended to $out.
# Each line gets the machine's 1-minute load average at the end of the step: a high one
# after populate, fetch or search means other work ran alongside (worth repeating). After
# idle it is mostly the server's own: Dovecot wakes its 1,000 imap processes at once for
# the new message, each rescanning the Maildir.
step() {
	local name=$1 rc=0
	shift
	wait_quiet
	log "$target: $name"
	"$IMAP_LOAD" "$@" "${common[@]}" >"$WORK/step.jsonl" || rc=$?
	jq -c --argjson l "$(cut -d' ' -f1 /proc/loadavg)" '. + {loadavg_1m: $l}' "$WORK/step.jsonl" >>"$out"
	if [ "$rc" -ne 0 ]; then
		log "$target: $name FAILED"
		return 1
	fi
}

has_step() { case " $STEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# measure TARGET VERSION ADDR PASS_FILE MEM_CMD: the whole load against one server; a
# failed step ends it (what was measured so far is kept).
measure() {
	target=$1
	local version=$2
	out="$WORK/$target.jsonl"
	: >"$out"
	load_steps "$3" "$4" "$5"
	jq -c --arg d "$run_date" --arg v "$version" '. + {date: $d, server_version: $v}' "$out" >>"$results"
}

# load_steps ADDR PASS_FILE MEM_CMD: populate, then the steps in $STEPS.
load_steps() {
	local addr=$1 pass_file=$2 mem_cmd=$3
	common=(--addr "$addr" --user "$USER_ADDR" --pass-file "$pass_file" --label "$target")
	step populate populate --count "$MESSAGES" --seed "$SEED" || return 0
	if has_step fetch; then
		step "fetch meta" fetch --what meta --rounds "$ROUNDS" || return 0
		step "fetch bodies" fetch --what bodies --rounds "$ROUNDS" || return 0
	fi
	if has_step search; then
		step search search --rounds "$ROUNDS" || return 0
	fi
	if has_step idle; then
		step "idle x$IDLE_CONNS" idle --conns "$IDLE_CONNS" --measure-cmd "$mem_cmd" || return 0
	fi
}

run_dovecot() {
	local dir="$WORK/dovecot"
	"$here/setup-imap-reference.sh" clean "$dir"
	"$here/setup-imap-reference.sh" start "$dir"
	measure dovecot "dovecot $(dovecot --version | cut -d' ' -f1)" "127.0.0.1:$REF_IMAP_PORT" \
		"$dir/dovecot/password" "$here/setup-imap-reference.sh mem $dir"
	"$here/setup-imap-reference.sh" stop "$dir"
}

run_mailstead() {
	local dir="$WORK/mailstead"
	rm -rf "$dir"
	mkdir -p "$dir"
	export MAILSTEAD_CONFIG="$dir/mailstead.toml"
	export MAILSTEAD_SMTP_LISTEN="[\"127.0.0.1:$MS_SMTP_PORT\"]"
	export MAILSTEAD_HTTP_LISTEN="[\"127.0.0.1:$MS_HTTP_PORT\"]"
	export MAILSTEAD_IMAP_LISTEN="[\"127.0.0.1:$MS_IMAP_PORT\"]"
	export MAILSTEAD_IMAP_TLS_LISTEN="[\"127.0.0.1:$MS_IMAPS_PORT\"]"
	export MAILSTEAD_SERVER_HOSTNAME=mailstead-bench.localdomain
	# Room for the idle connections, all from 127.0.0.1 (Dovecot's limits are raised
	# likewise in setup-imap-reference.sh); a caller's own values win.
	local limit=$((IDLE_CONNS + 200))
	[ "$limit" -ge 2000 ] || limit=2000
	export MAILSTEAD_IMAP_MAX_CONNECTIONS=${MAILSTEAD_IMAP_MAX_CONNECTIONS:-$limit}
	export MAILSTEAD_IMAP_MAX_CONNECTIONS_PER_IP=${MAILSTEAD_IMAP_MAX_CONNECTIONS_PER_IP:-$limit}
	(cd "$dir" && exec "$MAILSTEAD_BIN" serve) >"$dir/serve.log" 2>&1 &
	ms_pid=$!
	for _ in $(seq 300); do
		ss -Hltn "sport = :$MS_IMAP_PORT" | grep -q . && break
		kill -0 "$ms_pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! ss -Hltn "sport = :$MS_IMAP_PORT" | grep -q .; then
		log "mailstead does not listen on 127.0.0.1:$MS_IMAP_PORT (IMAP); last log lines:"
		tail -n 15 "$dir/serve.log" >&2 || true
		stop_mailstead
		return 1
	fi
	head -c 12 /dev/urandom | base64 | tr -d '/+=' >"$dir/password"
	"$MAILSTEAD_BIN" domain add bench.test >/dev/null
	"$MAILSTEAD_BIN" user add "$USER_ADDR" --password-file "$dir/password" >/dev/null
	measure mailstead "$("$MAILSTEAD_BIN" --version 2>/dev/null | head -n 1)" "127.0.0.1:$MS_IMAP_PORT" \
		"$dir/password" "$here/imap-mem.sh $ms_pid"
	stop_mailstead
}

for t in $TARGETS; do
	case $t in
	dovecot) run_dovecot ;;
	mailstead)
		if [ -z "${MAILSTEAD_BIN:-}" ]; then
			log "skipping mailstead: MAILSTEAD_BIN is not set"
			continue
		fi
		run_mailstead || log "mailstead skipped: see above"
		;;
	*) die "unknown target $t" ;;
	esac
done

if [ "$RESULTS" != none ]; then
	mkdir -p "$(dirname "$RESULTS")"
	cat "$results" >>"$RESULTS"
fi

# The table: one row per measure, the median of the rounds where there are rounds;
# ratio = mailstead / Dovecot (for times and memory lower is better, for msg/s higher).
echo
echo "| measure ($MESSAGES messages, $IDLE_CONNS idle connections) | Dovecot | mailstead | mailstead / Dovecot |"
echo "|---|---|---|---|"
jq -rs '
	def median: sort | if length == 0 then null else .[(length - 1) / 2 | floor] end;
	def pick($t; f): [.[] | select(.label == $t) | f | select(. != null)];
	def row($name; f):
		(pick("dovecot"; f) | median) as $d | (pick("mailstead"; f) | median) as $m
		| "| \($name) | \($d // "-") | \($m // "-") | \(if $d and $m and $d != 0 then (($m / $d * 100 | round) / 100) else "-" end) |";
	row("APPEND msg/s (pipelined)"; select(.cmd == "populate") | .messages_per_second),
	row("FETCH meta, first round ms"; select(.cmd == "fetch" and .what == "meta" and .round == 1) | .ms),
	row("FETCH meta ms (median)"; select(.cmd == "fetch" and .what == "meta") | .ms),
	row("FETCH BODY.PEEK[] all ms (median)"; select(.cmd == "fetch" and .what == "bodies") | .ms),
	row("SEARCH TEXT ms (median)"; select(.cmd == "search" and .key == "TEXT") | .ms),
	row("UID SEARCH BODY ms (median)"; select(.cmd == "search" and .key == "UID BODY") | .ms),
	row("idle: KB RSS per connection"; select(.cmd == "idle") | .rss_kb_per_conn),
	row("idle: KB PSS per connection"; select(.cmd == "idle") | .pss_kb_per_conn),
	row("idle: server RSS with all idling, MB"; select(.cmd == "idle") | (.after.rss_kb // null) | if . then (. / 1024 | round) else null end),
	row("idle: ms to log in and IDLE all"; select(.cmd == "idle") | .connect_ms),
	row("idle: ms until all told of a new message (median)"; select(.cmd == "idle") | .notify_ms_median),
	"| checks failed | \(pick("dovecot"; select(.ok == false)) | length) | \(pick("mailstead"; select(.ok == false)) | length) | |"
' "$results"
echo
log "raw results: $results$([ "$RESULTS" = none ] || echo ", appended to $RESULTS")"
