#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every test: unit and integration suites on the normal build, the unit suite
# again under AddressSanitizer + UndefinedBehaviorSanitizer. Ends with the line
# "N passed, N failed, N skipped". As root on a kernel with BTF (CI) every test
# can run, so a skip there is a failure; elsewhere it stays a skip.
#
# TEST_LOAD=N runs the whole suite beside N busy loops of tests/tools/burner
# (make test-loaded: one per CPU), each forking short-lived children that burn
# 20 ms of CPU, as a compile does; the loops stop when the suite ends, whatever
# its result.
set -u
build=${1:-build}
asan=${2:-build-asan}
fuzz=${3:-}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

load=""
stop_load() {
	# Each loop kills its own burner on TERM (below): only these pids are signalled.
	if [ -n "$load" ]; then
		# shellcheck disable=SC2086 # a list of pids
		kill $load 2>/dev/null
		# shellcheck disable=SC2086
		wait $load 2>/dev/null
		load=""
	fi
}
trap stop_load EXIT
trap 'exit 130' INT TERM
i=0
while [ "$i" -lt "${TEST_LOAD:-0}" ]; do
	(
		child=""
		trap '[ -n "$child" ] && kill "$child" 2>/dev/null; exit 0' TERM
		while :; do
			"$build/tests/tools/burner" --linger 0 forker 200 20 >/dev/null &
			child=$!
			wait "$child"
		done
	) &
	load="$load $!"
	i=$((i + 1))
done
[ -n "$load" ] && echo "load: $TEST_LOAD burner loop(s) beside the suite, pids$load"

meson test -C "$build" --print-errorlogs --num-processes 2
# The ASan + UBSan build runs several times slower (unit/bpf: about 3 s plain, 80-100 s
# under ASan on two cores, mostly in fork): twice the timeouts of tests/unit/meson.build.
meson test -C "$asan" --suite unit --print-errorlogs --num-processes 2 --timeout-multiplier 2
# Each libFuzzer harness briefly, so that CI keeps them alive (make fuzz runs them longer).
[ -n "$fuzz" ] && ./scripts/fuzz.sh "$fuzz" "${FUZZ_SHORT_SECONDS:-10}"

[ "$(id -u)" -eq 0 ] && [ -e /sys/kernel/btf/vmlinux ] && strict=1 || strict=0

python3 - "$strict" "$build/meson-logs/testlog.json" "$asan/meson-logs/testlog.json" \
	"${fuzz:+$fuzz/fuzz/results}" <<'PY'
import json, sys
strict = sys.argv.pop(1) == "1"
passed = failed = skipped = 0
for path, tag in zip(sys.argv[1:3], ("", " [asan]")):
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        print(f"missing test log {path}: {e}")
        failed += 1
        continue
    for line in lines:
        t = json.loads(line)
        r = t["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            out = [l for l in (t.get("stdout") or "").splitlines() if l.strip()]
            why = out[-1].strip() if out else "no reason printed"
            if strict:
                failed += 1
                print(f"FAILED: {t['name']}{tag} skipped as root with kernel BTF: {why}")
            else:
                skipped += 1
                print(f"skipped: {t['name']}{tag}: {why}")
        else:
            failed += 1
            print(f"FAILED: {t['name']}{tag} ({r})")
if len(sys.argv) > 3 and sys.argv[3]:
    try:
        for line in open(sys.argv[3]).read().splitlines():
            name, res = line.split()[:2]
            if res == "ok":
                passed += 1
            else:
                failed += 1
                print(f"FAILED: fuzz_{name} [fuzz]")
    except OSError as e:
        print(f"missing fuzz results {sys.argv[3]}: {e}")
        failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
PY
