#!/usr/bin/env bash
# Summarises the per-message lines of both sides of the spam accuracy benchmark (the
# OUT of bench/spam/spamassassin.sh and the --messages file of the crossval example):
# false-positive and false-negative rates, pooled over all folds, overall and per
# corpus folder, for each classifier:
#
#   spamassassin        SpamAssassin's verdict (rules + Bayes, required_score 5.0)
#   spamassassin-bayes  SpamAssassin's Bayes probability alone, spam when > 0.5
#   mailstead           our verdict (content rules + Bayes) at the threshold the
#                       crossval run used (default 80: score > 12 of 15)
#   mailstead-bayes     our Bayes probability alone, spam when > 0.5
#
# FP rate = ham classified spam / ham; FN rate = spam classified ham / spam. A message
# a side could not classify (an "error" line) counts as classified ham.
#
# Out: one JSON line per classifier in SUMMARY (appended), and a Markdown table on stdout.
# Usage: bench/spam/table.sh SUMMARY MESSAGES.jsonl...
set -euo pipefail

summary=${1:?usage: table.sh SUMMARY MESSAGES.jsonl...}
shift
[ "$#" -gt 0 ] || { echo "usage: table.sh SUMMARY MESSAGES.jsonl..." >&2; exit 2; }

jq -cs '
	def rate(a; b): if b == 0 then null else (a / b * 10000 | round / 100) end;
	def judged(mode):
		if mode == "spamassassin" or mode == "mailstead" then (.spam // false)
		else ((.bayes_p // 0) > 0.5) end;
	def side(mode): if (mode | startswith("spamassassin")) then "spamassassin" else "mailstead" end;
	def folder: .file | split("/")[0];
	. as $all
	| ["spamassassin", "spamassassin-bayes", "mailstead", "mailstead-bayes"][] as $mode
	| [$all[] | select(.side == side($mode)) | . + {judged: judged($mode)}] as $m
	| select($m | length > 0)
	| ($m | map(select(.class == "ham"))) as $ham
	| ($m | map(select(.class == "spam"))) as $spam
	| ($ham | map(select(.judged)) | length) as $fp
	| ($spam | map(select(.judged | not)) | length) as $fn
	| {
		summary: true, classifier: $mode, threshold: ($m[0].threshold // null),
		messages: ($m | length), errors: ($m | map(select(.error)) | length),
		ham: ($ham | length), false_positives: $fp, fp_rate_pct: rate($fp; $ham | length),
		spam: ($spam | length), false_negatives: $fn, fn_rate_pct: rate($fn; $spam | length),
		folders: ($m | group_by(folder) | map(
			(.[0] | folder) as $f
			| if .[0].class == "ham" then
				{key: $f, value: {messages: length, false_positives: (map(select(.judged)) | length),
					fp_rate_pct: rate(map(select(.judged)) | length; length)}}
			else
				{key: $f, value: {messages: length, false_negatives: (map(select(.judged | not)) | length),
					fn_rate_pct: rate(map(select(.judged | not)) | length; length)}}
			end) | from_entries)
	}
' "$@" | tee -a "$summary" | jq -r '
	def cell(n; of; r): "\(n) / \(of) (\(r)%)";
	(if .classifier == "mailstead" and .threshold then " (threshold \(.threshold))" else "" end) as $t
	| .folders as $f
	| "| \(.classifier)\($t) | \(cell(.false_positives; .ham; .fp_rate_pct)) | \(cell($f["easy-ham-1"].false_positives; $f["easy-ham-1"].messages; $f["easy-ham-1"].fp_rate_pct)) | \(cell($f["hard-ham-1"].false_positives; $f["hard-ham-1"].messages; $f["hard-ham-1"].fp_rate_pct)) | \(cell(.false_negatives; .spam; .fn_rate_pct)) |"
' | {
	echo "| classifier | false positives (all ham) | easy-ham-1 | hard-ham-1 | false negatives (spam-1) |"
	echo "|---|---|---|---|---|"
	cat
}
