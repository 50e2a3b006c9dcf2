#!/usr/bin/env bash
# The SpamAssassin side of the spam accuracy benchmark: K-fold cross-validation of
# SpamAssassin (Debian's package) with its Bayes trained on the same folds as ours.
#
# For each fold F of CORPUS/folds.tsv:
#   1. a private site config dir WORK/fold-F/etc: a copy of /etc/spamassassin (the
#      plugin .pre files and Debian's local.cf) plus zz_bench.cf below: Bayes on, a
#      fresh Bayes DB in WORK/fold-F/bayes, no auto-learning, no auto-expiry, no
#      network tests (no RBLs, no Razor, Pyzor or DCC, no DNS);
#   2. `sa-learn --spam` and `sa-learn --ham` on the messages of the other folds;
#   3. a spamd of its own on 127.0.0.1:SPAMD_PORT with `--local`, that config dir and
#      2 children, and `spamc -R -E -x` for each message of fold F, 2 at a time;
#   4. that spamd stopped (by its pid file).
#
# Out: one JSON line per message in OUT:
#   {"side":"spamassassin","fold":0,"class":"spam","file":"spam-1/00001.…",
#    "score":12.1,"spam":true,"bayes":"BAYES_99","bayes_p":1.0}
# `spam` is SpamAssassin's own verdict at required_score 5.0 (spamc's exit code);
# `bayes`/`bayes_p` the BAYES_* rule that fired and its probability (null: none).
# And one timing line per fold on stdout:
#   {"side":"spamassassin","fold":0,"learn_messages":2925,"learn_seconds":…,
#    "classify_messages":325,"classify_seconds":…}
#
# Usage: bench/spam/spamassassin.sh CORPUS WORK OUT
# Environment: SPAMD_PORT=2783, FOLDS_ONLY="0 1" (a subset of the folds, for trials)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../lib/common.sh
. "$here/lib/common.sh"

corpus=$(realpath "${1:?usage: spamassassin.sh CORPUS WORK OUT}")
work=${2:?usage: spamassassin.sh CORPUS WORK OUT}
out=${3:?usage: spamassassin.sh CORPUS WORK OUT}
port=${SPAMD_PORT:-2783}
folds_file="$corpus/folds.tsv"
[ -s "$folds_file" ] || die "no $folds_file (run bench/spam/corpus.sh first)"
for cmd in spamd spamc sa-learn; do
	command -v "$cmd" >/dev/null || die "$cmd not found (apt-get install spamassassin spamc)"
done
# spamd drops to this user; the Debian package creates it.
spamd_user=debian-spamd
id "$spamd_user" >/dev/null 2>&1 || spamd_user=nobody

mkdir -p "$work"
work=$(realpath "$work")
: >"$out"
nfolds=$(cut -f1 "$folds_file" | sort -n | tail -n 1)
nfolds=$((nfolds + 1))
folds=${FOLDS_ONLY:-$(seq 0 $((nfolds - 1)))}
spamd_pid=
trap 'stop_spamd' EXIT

stop_spamd() {
	if [ -n "$spamd_pid" ] && kill -0 "$spamd_pid" 2>/dev/null; then
		kill "$spamd_pid" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$spamd_pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	spamd_pid=
}

# Seconds from A to B (date +%s.%N), as a JSON number.
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# Prints one JSON line for one message (run by xargs, 2 at a time).
# Args: PORT FOLD CLASS FILE (relative to the corpus dir, which is the cwd)
classify_one() {
	local port=$1 fold=$2 class=$3 file=$4 report rc
	rc=0
	report=$(spamc -d 127.0.0.1 -p "$port" -R -E -x -s 10485760 -t 300 <"$file") || rc=$?
	if [ "$rc" -gt 1 ]; then
		printf '{"side":"spamassassin","fold":%d,"class":"%s","file":"%s","error":%d}\n' \
			"$fold" "$class" "$file" "$rc"
		return 0
	fi
	# First line "12.1/5.0"; a BAYES_nn rule line, and on the next line "[score: 0.9999]".
	printf '%s\n' "$report" | awk -v fold="$fold" -v class="$class" -v file="$file" -v rc="$rc" '
		NR == 1 { split($1, s, "/"); score = s[1] }
		$2 ~ /^BAYES_[0-9]+$/ && bayes == "" { bayes = $2; want = 1; next }
		want && /\[score: / { p = $0; sub(/.*\[score: /, "", p); sub(/\].*/, "", p); want = 0 }
		END {
			printf "{\"side\":\"spamassassin\",\"fold\":%d,\"class\":\"%s\",\"file\":\"%s\",\"score\":%s,\"spam\":%s,\"bayes\":%s,\"bayes_p\":%s}\n",
				fold, class, file, score + 0, (rc == 1 ? "true" : "false"),
				(bayes == "" ? "null" : "\"" bayes "\""), (p == "" ? "null" : p + 0)
		}'
}
export -f classify_one

for fold in $folds; do
	fdir="$work/fold-$fold"
	rm -rf "$fdir"
	mkdir -p "$fdir/etc" "$fdir/bayes" "$fdir/home"
	cp /etc/spamassassin/*.pre /etc/spamassassin/*.cf "$fdir/etc/"
	cat >"$fdir/etc/zz_bench.cf" <<EOF
# mailstead bench/spam: fold $fold. Bayes on, trained by sa-learn only, no network.
use_bayes 1
bayes_auto_learn 0
bayes_auto_expire 0
bayes_learn_to_journal 0
bayes_path $fdir/bayes/bayes
bayes_file_mode 0777
skip_rbl_checks 1
use_razor2 0
use_pyzor 0
dns_available no
ifplugin Mail::SpamAssassin::Plugin::DCC
use_dcc 0
endif
EOF
	awk -F'\t' -v f="$fold" -v d="$corpus" '$1 != f && $2 == "spam" { print d "/" $3 }' "$folds_file" >"$fdir/train-spam.txt"
	awk -F'\t' -v f="$fold" -v d="$corpus" '$1 != f && $2 == "ham" { print d "/" $3 }' "$folds_file" >"$fdir/train-ham.txt"
	awk -F'\t' -v f="$fold" '$1 == f { print $1 "\t" $2 "\t" $3 }' "$folds_file" >"$fdir/test.tsv"
	nlearn=$(cat "$fdir/train-spam.txt" "$fdir/train-ham.txt" | wc -l)
	ntest=$(wc -l <"$fdir/test.tsv")

	log "fold $fold: sa-learn on $nlearn messages"
	t0=$(date +%s.%N)
	sa-learn --siteconfigpath="$fdir/etc" --spam --no-sync -f "$fdir/train-spam.txt" >"$fdir/learn.log" 2>&1
	sa-learn --siteconfigpath="$fdir/etc" --ham --no-sync -f "$fdir/train-ham.txt" >>"$fdir/learn.log" 2>&1
	sa-learn --siteconfigpath="$fdir/etc" --sync >>"$fdir/learn.log" 2>&1
	t1=$(date +%s.%N)
	sa-learn --siteconfigpath="$fdir/etc" --dump magic >"$fdir/magic.txt" 2>/dev/null || true
	chown -R "$spamd_user:" "$fdir/bayes" "$fdir/home"

	log "fold $fold: spamd + spamc on $ntest messages"
	wait_port_free "$port" || die "port $port busy"
	spamd --siteconfigpath="$fdir/etc" --local --nouser-config --username="$spamd_user" \
		--helper-home-dir="$fdir/home" --listen="127.0.0.1:$port" --allowed-ips=127.0.0.1 \
		--max-children=2 --min-children=2 --pidfile="$fdir/spamd.pid" --syslog=stderr \
		--daemonize 2>"$fdir/spamd.log" || die "spamd failed to start: $(tail -n 5 "$fdir/spamd.log")"
	spamd_pid=$(cat "$fdir/spamd.pid")
	wait_port_listen "$port"
	t2=$(date +%s.%N)
	# shellcheck disable=SC2016 # $0..$3 are bash -c's arguments, expanded there.
	(cd "$corpus" && tr '\t' '\n' <"$fdir/test.tsv" |
		xargs -d '\n' -n 3 -P 2 bash -c 'classify_one "$0" "$1" "$2" "$3"' "$port") >"$fdir/messages.jsonl"
	t3=$(date +%s.%N)
	stop_spamd
	errors=$(grep -c '"error"' "$fdir/messages.jsonl" || true)
	[ "$errors" -eq 0 ] || log "warning: fold $fold: $errors messages not classified (spamc error)"
	cat "$fdir/messages.jsonl" >>"$out"
	jq -nc --argjson fold "$fold" --argjson nl "$nlearn" --argjson nt "$ntest" \
		--argjson lt "$(seconds "$t0" "$t1")" --argjson ct "$(seconds "$t2" "$t3")" \
		--argjson e "$errors" \
		'{side: "spamassassin", fold: $fold, learn_messages: $nl, learn_seconds: $lt,
		  classify_messages: $nt, classify_seconds: $ct, errors: $e}'
done
