#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# scripts/fuzz.sh BUILDDIR SECONDS [HARNESS...]
#
# Runs every libFuzzer harness built in BUILDDIR (meson -Dfuzz=true, see
# docs/fuzzing.md) for SECONDS each, starting from the committed seeds in
# tests/fuzz/corpus/<name>/ copied into a scratch corpus under
# BUILDDIR/fuzz/<name>/corpus (which grows run to run; the committed corpus
# stays small). Prints one line per harness and exits 1 if any harness found
# a crash, leak, timeout or failed invariant; the input that did it is left
# in BUILDDIR/fuzz/<name>/ (crash-*, leak-*, timeout-*, oom-*) with the log
# in BUILDDIR/fuzz/<name>/log; BUILDDIR/fuzz/results has "name ok|FAIL" per
# harness. Exits 2 on usage errors or when nothing is built.
set -u

usage() {
	echo "usage: $0 BUILDDIR SECONDS [HARNESS...]" >&2
	exit 2
}

[ $# -ge 2 ] || usage
build=$1
secs=$2
shift 2
case $secs in '' | *[!0-9]*) usage ;; esac
[ "$secs" -gt 0 ] || usage

src=$(cd "$(dirname "$0")/.." && pwd)
bindir=$build/tests/fuzz
if [ ! -d "$bindir" ]; then
	echo "fuzz: no harnesses in $bindir (configure with CC=clang meson setup $build -Dfuzz=true ...)" >&2
	exit 2
fi

if [ $# -gt 0 ]; then
	names=("$@")
else
	names=()
	for f in "$bindir"/fuzz_*; do
		[ -f "$f" ] && [ -x "$f" ] && names+=("$(basename "$f")")
	done
fi
if [ ${#names[@]} -eq 0 ]; then
	echo "fuzz: no harnesses built in $bindir" >&2
	exit 2
fi

# LeakSanitizer runs under libFuzzer; a leak is a finding like a crash.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}

# Seconds since boot: a clock that cannot be set.
uptime_s() {
	local up
	read -r up _ </proc/uptime
	echo "${up%.*}"
}

failed=0
n_failed=0
# One "name ok|FAIL" line per harness, for scripts/test.sh's summary.
mkdir -p "$build/fuzz"
results=$build/fuzz/results
: >"$results"
for name in "${names[@]}"; do
	name=${name#fuzz_}
	exe=$bindir/fuzz_$name
	work=$build/fuzz/$name
	seeds=$src/tests/fuzz/corpus/$name
	dict=$src/tests/fuzz/dict/$name.dict
	if [ ! -x "$exe" ]; then
		printf '%-14s %12s runs %5s s  %s\n' "$name" "-" "-" "MISSING ($exe)"
		failed=1
		n_failed=$((n_failed + 1))
		echo "$name FAIL" >>"$results"
		continue
	fi
	mkdir -p "$work/corpus"
	rm -f "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* "$work"/slow-unit-*
	[ -d "$seeds" ] && cp -n "$seeds"/* "$work/corpus/" 2>/dev/null
	args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
	      -artifact_prefix="$work/")
	[ -f "$dict" ] && args+=(-dict="$dict")
	# libFuzzer times -max_total_time on the wall clock; should the clock be set back
	# meanwhile, timeout (a relative timer) still ends the run, as an interrupt.
	start=$(uptime_s)
	# In a subshell whose stderr is the log, so bash's "Aborted" notice goes there too.
	(timeout --preserve-status -s INT -k 10 $((secs + 30)) "$exe" "${args[@]}" "$work/corpus"; exit $?) \
		>"$work/log" 2>&1
	rc=$?
	elapsed=$(($(uptime_s) - start))
	[ $rc -eq 72 ] && grep -q 'run interrupted' "$work/log" && rc=0
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
	artifact=$(ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null | head -n 1)
	if [ $rc -eq 0 ] && [ -z "$artifact" ]; then
		result=ok
	else
		failed=1
		n_failed=$((n_failed + 1))
		what=$(grep -m1 -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant failed|.*runtime error)' "$work/log")
		result="FAIL rc=$rc ${artifact:-no input saved} ${what:+($what)}"
	fi
	printf '%-14s %12s runs %5s s  %s\n' "$name" "${runs:-?}" "$elapsed" "$result"
	echo "$name ${result%% *}" >>"$results"
done
echo "fuzz: ${#names[@]} harnesses, $n_failed failed (${secs} s each; logs and inputs in $build/fuzz/)"
exit $failed
