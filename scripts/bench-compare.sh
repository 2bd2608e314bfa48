#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Compare two builds of iommusim-bench on a shared machine: run them in turns
# (A, B, A, B, ...) so that a noisy period slows both, then print, per
# benchmark and build, every round's median and best (ns per item, sorted)
# and their middle values (the lower of the two middle ones for an even
# number of rounds). See docs/bench.md.
set -eu

usage() {
	cat <<EOF
Usage: $0 [options] BENCH_A BENCH_B [NAME or GLOB...]
Run two iommusim-bench binaries in alternating rounds and compare them.

  BENCH_A, BENCH_B   paths to the two iommusim-bench binaries
  NAME or GLOB       benchmarks to run (default: translate.vtd.walk)

Options:
  --rounds N         rounds, each one run of A then one of B (default 6)
  --repetitions N    repetitions per run (default 5)
  --min-time S       seconds per repetition (default 0.2)
  --help             print this help and exit

Each run prints its median and best (fastest repetition) time per item; the
summary lists them per build, sorted, with the middle value of each list.
Exit status: 0 done, 1 a benchmark run failed, 2 usage error.
EOF
}

rounds=6 reps=5 mintime=0.2
while [ $# -gt 0 ]; do
	case "$1" in
	--help | -h) usage; exit 0 ;;
	--rounds) [ $# -ge 2 ] || { usage >&2; exit 2; }; rounds=$2; shift 2 ;;
	--repetitions) [ $# -ge 2 ] || { usage >&2; exit 2; }; reps=$2; shift 2 ;;
	--min-time) [ $# -ge 2 ] || { usage >&2; exit 2; }; mintime=$2; shift 2 ;;
	--*) echo "$0: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	*) break ;;
	esac
done
if [ $# -lt 2 ]; then
	usage >&2
	exit 2
fi
a=$1 b=$2
shift 2
case "$rounds" in '' | *[!0-9]* | 0) echo "$0: --rounds wants a positive integer" >&2; exit 2 ;; esac
case "$reps" in '' | *[!0-9]* | 0 | 1) echo "$0: --repetitions wants an integer >= 2" >&2; exit 2 ;; esac
for x in "$a" "$b"; do
	if [ ! -x "$x" ]; then
		echo "$0: '$x' is not an executable" >&2
		exit 2
	fi
done
[ $# -gt 0 ] || set -- translate.vtd.walk

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# one run: "name median best" per benchmark (times in ns per item)
run() {
	bin=$1
	shift
	if ! "$bin" "$@" --repetitions "$reps" --min-time "$mintime" >"$tmp/out" 2>"$tmp/err"; then
		echo "$0: $bin failed:" >&2
		cat "$tmp/err" >&2
		exit 1
	fi
	awk '/_median /{n=$1; sub(/_median$/, "", n); m[n]=$2; o[++k]=n}
	     /_best /{n=$1; sub(/_best$/, "", n); b[n]=$2}
	     END {for (i = 1; i <= k; i++) print o[i], m[o[i]], b[o[i]]}' "$tmp/out"
}

i=1
while [ "$i" -le "$rounds" ]; do
	# (not in a pipeline: a failing run must end the script)
	run "$a" "$@" >"$tmp/one"
	sed 's/^/A /' "$tmp/one" >>"$tmp/results"
	run "$b" "$@" >"$tmp/one"
	sed 's/^/B /' "$tmp/one" >>"$tmp/results"
	i=$((i + 1))
done

echo "A: $a"
echo "B: $b"
echo "$rounds alternating rounds, $reps repetitions of ${mintime}s; ns per item, sorted"
for name in $(awk '{print $2}' "$tmp/results" | awk '!seen[$0]++'); do
	echo "$name"
	for side in A B; do
		for col in 3 4; do
			label=median
			[ "$col" = 4 ] && label=best
			awk -v s="$side" -v n="$name" -v c="$col" '$1 == s && $2 == n {print $c}' \
				"$tmp/results" | sort -g | awk -v s="$side" -v l="$label" '
				{v[NR] = $1} END {
					line = ""; for (i = 1; i <= NR; i++) line = line " " v[i]
					printf "  %s %-6s middle %-10s all:%s\n", s, l, v[int((NR + 1) / 2)], line }'
		done
	done
done
