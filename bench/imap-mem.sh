#!/usr/bin/env bash
# Memory of a server's processes, for the idle-connection benchmark: one JSON object
#   {"processes":N,"rss_kb":SUM,"pss_kb":SUM}
# summed over the given pids (with --tree: each pid and all its descendants).
#
# usage: bench/imap-mem.sh [--tree] PID...
#
# rss_kb is the sum of VmRSS (/proc/PID/status): what `ps` shows, and what the
# benchmark reports. For a multi-process server (Dovecot: master, config, log, anvil,
# auth, imap-login, one imap per connection) it counts the shared libraries and shared
# mappings once per process, so pss_kb (proportional set size, /proc/PID/smaps_rollup,
# shared pages divided among their sharers) is given too; for a one-process server
# both are nearly the same. Needs root for other users' smaps_rollup.
set -euo pipefail

tree=0
if [ "${1:-}" = --tree ]; then tree=1; shift; fi
[ $# -gt 0 ] || { echo "usage: $0 [--tree] PID..." >&2; exit 2; }

pids=("$@")
if [ "$tree" = 1 ]; then
	# Parent of every process, then a breadth-first walk from the given pids.
	declare -A children=()
	for f in /proc/[0-9]*/status; do
		p=${f#/proc/}
		p=${p%/status}
		pp=$(awk '$1 == "PPid:" { print $2; exit }' "$f" 2>/dev/null) || continue
		[ -n "$pp" ] && children[$pp]+=" $p"
	done
	queue=("$@")
	pids=()
	while [ "${#queue[@]}" -gt 0 ]; do
		p=${queue[0]}
		queue=("${queue[@]:1}")
		pids+=("$p")
		for c in ${children[$p]:-}; do queue+=("$c"); done
	done
fi

n=0 rss=0 pss=0
for p in "${pids[@]}"; do
	[ -r "/proc/$p/status" ] || continue
	r=$(awk '$1 == "VmRSS:" { print $2; exit }' "/proc/$p/status" 2>/dev/null || true)
	s=$(awk '$1 == "Pss:" { print $2; exit }' "/proc/$p/smaps_rollup" 2>/dev/null || true)
	[ -n "$r" ] || continue # a kernel thread or a process that just ended
	n=$((n + 1))
	rss=$((rss + r))
	pss=$((pss + ${s:-0}))
done
printf '{"processes":%d,"rss_kb":%d,"pss_kb":%d}\n' "$n" "$rss" "$pss"
