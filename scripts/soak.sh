#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Soak: the agent from <builddir> (default build) for <seconds> (default 300), with
# process churn (a background spawner of /bin/true at a modest rate) and a scrape
# every second. Every 10 s it prints elapsed time, VmRSS, processes tracked and the
# p50 scrape latency of the last 10 s; at the end a verdict: "flat" when the mean
# VmRSS of the last quarter is within 10 % or 2 MiB of the first quarter's (the
# first 30 s, or a tenth of the run if shorter, are warm-up and not counted).
# Exit status 0 when flat and the agent exited cleanly, 1 otherwise.
#
#   scripts/soak.sh [builddir] [seconds] [extra kepler flags...]
set -eu
build=${1:-build}
seconds=${2:-300}
[ $# -ge 1 ] && shift
[ $# -ge 1 ] && shift
kepler="$build/src/kepler"
if [ ! -x "$kepler" ]; then
	echo "soak: $kepler not found (build first: ninja -C $build)" >&2
	exit 2
fi
exec python3 - "$kepler" "$seconds" "$@" <<'PY'
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

kepler, seconds, extra = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
SPAWN_RATE = 50  # processes a second
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
log = tempfile.TemporaryFile(mode="w+")
agent = subprocess.Popen([kepler, f"--web.listen-address=127.0.0.1:{port}",
                          "--monitor.interval=1s", *extra], stdout=log, stderr=subprocess.STDOUT)
url = f"http://127.0.0.1:{port}/metrics"


def rss_kib():
    with open(f"/proc/{agent.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def scrape():
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=5) as r:
        body = r.read()
    return time.perf_counter() - t, body


def fail(msg):
    print(f"soak: {msg}", file=sys.stderr)
    log.seek(0)
    sys.stderr.write(log.read()[-4000:])
    if agent.poll() is None:
        agent.kill()
    sys.exit(1)


deadline = time.monotonic() + 30
while True:
    if agent.poll() is not None:
        fail(f"kepler exited {agent.returncode} at start")
    try:
        scrape()
        break
    except OSError:
        if time.monotonic() > deadline:
            fail("kepler not ready after 30 s")
        time.sleep(0.1)

stop = threading.Event()
spawned = [0]


def spawner():
    while not stop.wait(1.0 / SPAWN_RATE):
        pid = os.posix_spawn("/bin/true", ["true"], os.environ)
        os.waitpid(pid, 0)
        spawned[0] += 1


threading.Thread(target=spawner, daemon=True).start()
print(f"soak: {kepler} for {seconds:.0f} s, {SPAWN_RATE} processes/s of churn, a scrape a second")
print(f"{'time s':>7} {'RSS KiB':>9} {'processes':>10} {'p50 ms':>7} {'p99 ms':>7} {'spawned':>8}")
t0 = time.monotonic()
samples, window, failures = [], [], 0
next_sample = t0 + 10
while True:
    now = time.monotonic()
    if agent.poll() is not None:
        stop.set()
        fail(f"kepler exited {agent.returncode} during the soak")
    try:
        d, body = scrape()
        window.append(d * 1000)
        tracked = next((float(l.split()[1]) for l in body.decode().splitlines()
                        if l.startswith("kepler_exporter_processes ")), float("nan"))
    except OSError as e:
        failures += 1
        print(f"soak: scrape failed: {e}", file=sys.stderr)
    if now >= next_sample:
        rss = rss_kib()
        window.sort()
        p50 = window[len(window) // 2] if window else float("nan")
        p99 = window[min(len(window) - 1, int(len(window) * 0.99))] if window else float("nan")
        samples.append((now - t0, rss))
        print(f"{now - t0:7.0f} {rss:9d} {tracked:10.0f} {p50:7.2f} {p99:7.2f} {spawned[0]:8d}",
              flush=True)
        window = []
        next_sample += 10
    if now - t0 >= seconds:
        break
    time.sleep(max(0.0, 1.0 - (time.monotonic() - now)))
stop.set()

agent.send_signal(signal.SIGTERM)
try:
    rc = agent.wait(10)
except subprocess.TimeoutExpired:
    agent.kill()
    rc = "killed (no exit 10 s after SIGTERM)"

warm = min(30.0, seconds / 10)
kept = [rss for t, rss in samples if t > warm]
if len(kept) < 4:
    print(f"soak: too short for a verdict ({len(kept)} samples after {warm:.0f} s of warm-up)")
    sys.exit(0 if rc == 0 and not failures else 1)
q = max(1, len(kept) // 4)
first, last = statistics.mean(kept[:q]), statistics.mean(kept[-q:])
growth = last - first
flat = growth <= max(0.10 * first, 2048)
print(f"soak: {spawned[0]} processes spawned, {failures} failed scrapes, kepler exit {rc}")
print(f"soak: VmRSS first quarter {first:.0f} KiB, last quarter {last:.0f} KiB "
      f"({growth:+.0f} KiB): {'flat' if flat else 'GROWING'}")
sys.exit(0 if flat and rc == 0 and not failures else 1)
PY
