#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The whole agent at 1,000 and 10,000 live processes spread over 100 containers,
eBPF activity side by side with the procfs fallback in the same run: CPU per
interval, resident memory, scrape latency p50/p99, body size and series count.

usage: agent_bench.py BUILDDIR [SIZES] [INTERVALS]   (as root)
"""

import os
import statistics
import subprocess
import sys
import time
import uuid

from benchlib import cpu_per_interval, rss_mib, scrape, start_agent, wait_intervals

build = sys.argv[1] if len(sys.argv) > 1 else "build"
sizes = [int(x) for x in (sys.argv[2] if len(sys.argv) > 2 else "1000,10000").split(",")]
intervals = int(sys.argv[3]) if len(sys.argv) > 3 else 8
INTERVAL = 2.0
KEPLER = os.path.join(build, "src", "kepler")
SLEEPERS = os.path.join(build, "bench", "sleepers")


def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[fields.index("-") + 1] == "cgroup2":
                return fields[4]
    raise SystemExit("no cgroup v2 hierarchy")


def run_agent(source, port):
    p = start_agent(KEPLER, port, INTERVAL, [f"--activity.source={source}"])
    # Warm up: every live process seen and resolved once.
    wait_intervals(port, 2)
    # CPU per interval over a quiet window (no scrapes but the two that time it).
    cpu_ms = cpu_per_interval(p, port, intervals)
    lat, body = [], b""
    for _ in range(200):
        dt, body = scrape(port)
        lat.append(dt * 1000)
    lat.sort()
    res = {
        "cpu_ms": cpu_ms,
        "rss_mib": rss_mib(p.pid),
        "p50": statistics.median(lat),
        "p99": lat[int(len(lat) * 0.99) - 1],
        "body_kib": len(body) / 1024,
        "series": sum(1 for l in body.decode().splitlines() if l and not l.startswith("#")),
    }
    p.terminate()
    p.wait(10)
    return res


mount = cgroup2_mount()
base = os.path.join(mount, f"kepler-bench-{os.getpid()}.slice")
os.mkdir(base)
dirs = []
for _ in range(100):
    d = os.path.join(base, f"docker-{uuid.uuid4().hex}{uuid.uuid4().hex}.scope")
    os.mkdir(d)
    dirs.append(d)

print(f"interval {INTERVAL:g}s, {intervals} intervals measured per run, 100 containers, "
      f"maxProcesses 200 (default)")
print(f"{'processes':>9} {'source':>7} {'CPU/interval':>13} {'RSS':>9} {'scrape p50':>11} "
      f"{'p99':>9} {'body':>9} {'series':>7}")
port = 28400 + os.getpid() % 1000
try:
    for n in sizes:
        sl = subprocess.Popen([SLEEPERS, str(n), *dirs], stdout=subprocess.PIPE, text=True)
        if not sl.stdout.readline().startswith("ready"):
            raise SystemExit("sleepers did not start")
        time.sleep(2)
        for source in ("ebpf", "procfs"):
            r = run_agent(source, port)
            port += 1
            print(f"{n:>9} {source:>7} {r['cpu_ms']:>10.1f} ms {r['rss_mib']:>5.1f} MiB "
                  f"{r['p50']:>8.2f} ms {r['p99']:>6.2f} ms {r['body_kib']:>5.0f} KiB "
                  f"{r['series']:>7}", flush=True)
        sl.terminate()
        sl.wait()
        time.sleep(1)
finally:
    time.sleep(0.5)
    for d in dirs:
        try:
            os.rmdir(d)
        except OSError as e:
            print(f"note: {d}: {e}")
    os.rmdir(base)
