#!/usr/bin/env bash
# One load run with Postfix's smtp-source against an SMTP server, measured three ways:
#   - accepted: wall time until smtp-source has had its last 250 (and exited);
#   - end to end: wall time until the server's side counts all N messages as
#     delivered and readable (--count-cmd prints that count);
#   - CPU: user+system seconds the server's processes spent over the run.
#
# usage: bench/smtp-load.sh --target HOST:PORT --count-cmd 'CMD' [options]
#   --target HOST:PORT   where smtp-source connects (loopback only)
#   --count-cmd 'CMD'    shell command printing how many messages the server holds
#                        readable now (e.g. `bench/setup-reference.sh count DIR`);
#                        polled after smtp-source ends until it reaches start + N
#   --sessions N         parallel SMTP sessions (default 20)
#   --messages N         messages in all (default 20000)
#   --size BYTES         message body size (default 4096; headers come on top)
#   --to ADDR            recipient (default user@bench.test)
#   --from ADDR          sender (default load@example.org)
#   --reuse              send every message of a session over one connection
#                        (smtp-source -d); default is one connection per message,
#                        smtp-source's own default
#   --pid PID            a server process; it and all its descendants are counted
#                        (repeatable)
#   --proc NAME          every process whose name (/proc/PID/comm) is NAME when the
#                        run starts, with its descendants (repeatable)
#   --label TEXT         name of this run in the output (default: the target)
#   --timeout SECONDS    give up waiting for delivery after this (default 900)
#   --settle SECONDS     wait after the last delivery before the final CPU reading,
#                        so bookkeeping after delivery is counted (default 1)
#   --json-out FILE      also append the JSON line to FILE
#
# Prints one JSON line on stdout and one human line on stderr. Exit 1 when
# smtp-source failed or not all messages arrived in time (the JSON says so).
#
# How CPU is counted: the sum over the process trees of utime+stime+cutime+cstime
# from /proc/PID/stat, read before and after. A short-lived child (Postfix's smtpd,
# cleanup, Dovecot's lmtp, ...) that exits during the run has its times added to its
# parent's cutime/cstime when reaped, so nothing is lost by sampling only twice.
set -euo pipefail

die() { printf 'smtp-load.sh: error: %s\n' "$*" >&2; exit 2; }

target='' count_cmd='' sessions=20 messages=20000 size=4096
to=user@bench.test from=load@example.org reuse=0 label='' timeout=900 settle=1
json_out=''
pids=() procs=()
while [ $# -gt 0 ]; do
	case $1 in
	--target) target=$2; shift 2 ;;
	--count-cmd) count_cmd=$2; shift 2 ;;
	--sessions) sessions=$2; shift 2 ;;
	--messages) messages=$2; shift 2 ;;
	--size) size=$2; shift 2 ;;
	--to) to=$2; shift 2 ;;
	--from) from=$2; shift 2 ;;
	--reuse) reuse=1; shift ;;
	--pid) pids+=("$2"); shift 2 ;;
	--proc) procs+=("$2"); shift 2 ;;
	--label) label=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--settle) settle=$2; shift 2 ;;
	--json-out) json_out=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $1" ;;
	esac
done
[ -n "$target" ] || die "--target HOST:PORT is required"
[ -n "$count_cmd" ] || die "--count-cmd is required"
case ${target%:*} in
127.* | localhost | '[::1]') ;;
*) die "only loopback targets are allowed (got $target)" ;;
esac
[ -x /usr/sbin/smtp-source ] || die "/usr/sbin/smtp-source missing (Debian package postfix)"
command -v jq >/dev/null || die "jq missing (apt-get install jq)"
[ -n "$label" ] || label=$target

# Resolve --proc names to pids now; processes started later are counted only as
# descendants of these.
for name in "${procs[@]}"; do
	for f in /proc/[0-9]*/comm; do
		[ "$(cat "$f" 2>/dev/null)" = "$name" ] && { p=${f#/proc/}; pids+=("${p%/comm}"); }
	done
done
[ "${#pids[@]}" -gt 0 ] || echo "smtp-load.sh: warning: no server process given (--pid/--proc): CPU not measured" >&2

# Clock ticks used by every process in the trees rooted at the given pids.
tree_ticks() {
	# Processes come and go while we read: a vanished /proc entry makes cat fail,
	# which must not end the script (pipefail + set -e).
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v roots="$*" '
	{
		pid = $1
		rest = $0
		sub(/^.*\) /, "", rest)          # drop "pid (comm) ", comm may hold spaces
		split(rest, f, " ")
		ppid[pid] = f[2]
		ticks[pid] = f[12] + f[13] + f[14] + f[15]   # utime stime cutime cstime
	}
	END {
		n = split(roots, r, " ")
		for (i = 1; i <= n; i++) root[r[i]] = 1
		total = 0
		for (p in ticks) {
			q = p
			for (depth = 0; depth < 64 && (q in ppid); depth++) {
				if (q in root) { total += ticks[p]; break }
				q = ppid[q]
			}
		}
		print total
	}'
}

# Busy clock ticks of the whole machine (all CPUs), to see whether something besides
# the server and smtp-source ran during the measurement.
machine_ticks() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

count_now() {
	local c
	c=$(eval "$count_cmd" 2>/dev/null) || true
	c=${c##*$'\n'}     # last line
	c=${c//[!0-9]/}    # digits only
	echo "${c:-0}"
}

hz=$(getconf CLK_TCK)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

base=$(count_now)
goal=$((base + messages))
args=(-s "$sessions" -m "$messages" -l "$size" -f "$from" -t "$to" -M load.localdomain)
[ "$reuse" -eq 1 ] && args+=(-d)

cpu0=$(tree_ticks "${pids[@]}")
mach0=$(machine_ticks)
t0=$EPOCHREALTIME
# bash's `time` keyword gives the client's own CPU (it shares the 2 cores).
rc=0
{
	TIMEFORMAT='%U %S'
	time /usr/sbin/smtp-source "${args[@]}" "inet:$target" >"$tmp/out" 2>&1
} 2>"$tmp/time" || rc=$?
t1=$EPOCHREALTIME
if [ "$rc" -ne 0 ]; then
	echo "smtp-load.sh: smtp-source exited $rc:" >&2
	tail -n 5 "$tmp/out" >&2
fi

# Poll until every message is readable on the server's side. Counting can be costly
# (a directory walk over 20,000 files takes ~30 ms) and the server may still be busy
# delivering, so the poll interval adapts: half the time the remaining messages need
# at the rate seen since the last poll, between 0.05 s and 2 s. Few polls while far
# from the goal, fine steps near it.
delivered=$(count_now)
deadline=$(awk -v t="$t1" -v d="$timeout" 'BEGIN { printf "%.0f", t + d }')
prev_n=$delivered prev_t=$t1
while [ "$delivered" -lt "$goal" ]; do
	if [ "${EPOCHREALTIME%.*}" -ge "$deadline" ]; then
		echo "smtp-load.sh: timeout: $((delivered - base)) of $messages delivered after ${timeout}s" >&2
		break
	fi
	now=$EPOCHREALTIME
	sleep "$(awk -v left="$((goal - delivered))" -v dn="$((delivered - prev_n))" \
		-v dt="$(awk -v a="$now" -v b="$prev_t" 'BEGIN { print a - b }')" 'BEGIN {
		s = (dn > 0 && dt > 0) ? left / (dn / dt) / 2 : 0.2
		if (s < 0.05) s = 0.05
		if (s > 2) s = 2
		printf "%.3f", s }')"
	prev_n=$delivered prev_t=$now
	delivered=$(count_now)
done
t2=$EPOCHREALTIME
sleep "$settle"
cpu1=$(tree_ticks "${pids[@]}")
mach1=$(machine_ticks)

read -r cu cs <"$tmp/time" || { cu=0; cs=0; }
ok=true
{ [ "$rc" -eq 0 ] && [ "$delivered" -ge "$goal" ]; } || ok=false
json=$(awk -v label="$label" -v target="$target" -v s="$sessions" -v m="$messages" \
	-v size="$size" -v reuse="$reuse" -v t0="$t0" -v t1="$t1" -v t2="$t2" \
	-v c0="$cpu0" -v c1="$cpu1" -v m0="$mach0" -v m1="$mach1" -v hz="$hz" -v cu="$cu" -v cs="$cs" \
	-v got="$((delivered - base))" -v ok="$ok" -v rc="$rc" \
	-v date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" 'BEGIN {
	acc = t1 - t0; e2e = t2 - t0; cpu = (c1 - c0) / hz
	printf "{\"label\":\"%s\",\"target\":\"%s\",\"date\":\"%s\",\"ok\":%s,", label, target, date, ok
	printf "\"smtp_source_exit\":%d,\"sessions\":%d,\"messages\":%d,\"delivered\":%d,", rc, s, m, got
	printf "\"size\":%d,\"reuse_connections\":%s,", size, (reuse ? "true" : "false")
	printf "\"accepted_seconds\":%.3f,\"end_to_end_seconds\":%.3f,", acc, e2e
	printf "\"accepted_per_second\":%.1f,\"end_to_end_per_second\":%.1f,", m / acc, got / e2e
	printf "\"server_cpu_seconds\":%.2f,\"server_cpu_seconds_per_1000\":%.3f,", cpu, cpu * 1000 / m
	printf "\"client_cpu_seconds\":%.2f,", cu + cs
	# Everything else that ran on the machine meanwhile (polling, kernel threads,
	# other users): should be small for a clean measurement.
	printf "\"other_cpu_seconds\":%.2f}\n", (m1 - m0) / hz - cpu - cu - cs
}')
echo "$json"
[ -z "$json_out" ] || echo "$json" >>"$json_out"
echo "$json" | jq -r '"\(.label): \(.delivered)/\(.messages) msgs, \(.sessions) sessions, \(.size) B: accepted in \(.accepted_seconds) s (\(.accepted_per_second)/s), readable in \(.end_to_end_seconds) s (\(.end_to_end_per_second)/s end to end), server CPU \(.server_cpu_seconds) s = \(.server_cpu_seconds_per_1000) s per 1000 msgs, client CPU \(.client_cpu_seconds) s, other CPU \(.other_cpu_seconds) s"' >&2
[ "$ok" = true ] || exit 1
