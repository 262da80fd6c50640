#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every test: unit and integration suites on the normal build, the unit suite
# again under AddressSanitizer + UndefinedBehaviorSanitizer. Ends with the line
# "N passed, N failed, N skipped".
set -u
build=${1:-build}
asan=${2:-build-asan}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

meson test -C "$build" --print-errorlogs --num-processes 2
meson test -C "$asan" --suite unit --print-errorlogs --num-processes 2

python3 - "$build/meson-logs/testlog.json" "$asan/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
for path, tag in zip(sys.argv[1:], ("", " [asan]")):
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
            skipped += 1
            print(f"skipped: {t['name']}{tag}")
        else:
            failed += 1
            print(f"FAILED: {t['name']}{tag} ({r})")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
PY
