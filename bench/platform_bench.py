#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The platform at 10,000 live processes (each waking once a second, so each is in
every interval's activity), side by side in the same run: no platform zone
(power.platform.estimate false), the estimated platform (the default on a node
without a platform meter), and a metered one (RAPL's psys on a fixture, the model
fitted to it each interval). The agent's CPU per interval, the attribution stage
alone as the agent times it (kepler_exporter_stage_cpu_seconds{stage="attribution"}:
the platform's share is split there), resident memory, the scrape's size, and
"attributed": the process series' platform energy ("other" included) over the
node's platform active energy (1: every joule).

usage: platform_bench.py BUILDDIR [PROCESSES] [INTERVALS]   (as root)
"""

import os
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import cpu_per_interval, rss_mib, samples, scrape, start_agent, wait_intervals

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from kepler_test import CounterWriter, cgroup2_mount, copy_fixture  # noqa: E402

build = sys.argv[1] if len(sys.argv) > 1 else "build"
n_procs = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
intervals = int(sys.argv[3]) if len(sys.argv) > 3 else 8
INTERVAL = 2.0
KEPLER = os.path.join(build, "src", "kepler")


def total(port, name):
    return sum(float(ln.rsplit(" ", 1)[1]) for ln in samples(port, name))


def run(port, args):
    p = start_agent(KEPLER, port, INTERVAL, args)
    try:
        wait_intervals(port, 2)
        cpu_ms = cpu_per_interval(p, port, intervals)
        stage = []
        for _ in range(intervals):
            wait_intervals(port, 1)
            stage += [float(ln.rsplit(" ", 1)[1]) * 1000
                      for ln in samples(port, "kepler_exporter_stage_cpu_seconds")
                      if 'stage="attribution"' in ln]
        body = scrape(port)[1]
        active = total(port, "kepler_node_platform_active_joules_total")
        share = total(port, "kepler_process_platform_joules_total") / active if active else 0
        return (cpu_ms, sum(stage) / len(stage), max(stage), rss_mib(p.pid), len(body) / 1024,
                share)
    finally:
        p.terminate()
        p.wait(10)


mount = cgroup2_mount()
cg = tempfile.mkdtemp(prefix="kepler-platform-bench-", dir=mount)
sl = subprocess.Popen([os.path.join(build, "bench", "sleepers"), str(n_procs), cg],
                      stdout=subprocess.PIPE, text=True)
writer = None
try:
    if not sl.stdout.readline().startswith("ready"):
        raise SystemExit("sleepers did not start")
    rapl = copy_fixture("rapl-1socket")
    base = os.path.join(rapl, "class", "powercap")
    writer = CounterWriter({os.path.join(base, "intel-rapl:0"): 40.0,
                            os.path.join(base, "intel-rapl:1"): 150.0}, period=0.05)
    writer.start()
    empty = copy_fixture("empty")
    off = os.path.join(tempfile.mkdtemp(prefix="kepler-platform-bench-"), "config.yaml")
    with open(off, "w") as f:
        f.write("power: {platform: {estimate: false}}\n")
    common = ["--activity.source=ebpf"]
    runs = (
        ("none", [f"--host.sysfs={empty}", f"--config.file={off}"], False),
        ("estimated", [f"--host.sysfs={empty}"], True),
        ("psys meter", [f"--host.sysfs={rapl}"], True),
    )
    print(f"{n_procs} processes waking every second, interval {INTERVAL:g}s, "
          f"{intervals} intervals measured per run")
    print(f"{'platform':>10} {'CPU/interval':>13} {'attribution':>12} {'max':>8} {'RSS':>9} "
          f"{'body':>9} {'attributed':>10}")
    port = 28900 + os.getpid() % 300
    for name, args, has in runs:
        cpu, stage, stage_max, rss, kib, share = run(port, common + args)
        port += 1
        print(f"{name:>10} {cpu:>10.2f} ms {stage:>9.2f} ms {stage_max:>5.2f} ms "
              f"{rss:>5.1f} MiB {kib:>5.0f} KiB {share if has else float('nan'):>10.4f}",
              flush=True)
finally:
    if writer:
        writer.stop()
    sl.terminate()
    sl.wait()
    for _ in range(50):  # the sleepers' children leave their cgroup as they are reaped
        try:
            os.rmdir(cg)
            break
        except OSError:
            time.sleep(0.1)
