#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Signals and liveness: SIGTERM and SIGINT stop within a second, SIGHUP re-reads
the configuration (an invalid one is logged and the old one kept), /healthz; and
the stdout exporter."""

import os
import signal
import time

from kepler_test import Agent, FIXTURES, check, finish, series, value

empty = os.path.join(FIXTURES, "sysfs", "empty")
common = [f"--host.sysfs={empty}", "--activity.source=procfs"]

for sig in (signal.SIGTERM, signal.SIGINT):
    agent = Agent(*common, "--monitor.interval=5s").wait_ready()
    t0 = time.monotonic()
    agent.signal(sig)
    rc = agent.proc.wait(5)
    took = time.monotonic() - t0
    check(rc == 0 and took < 1.0, f"{sig.name}: exit {rc} after {took:.3f}s")

config = "monitor:\n  interval: 500ms\nexporter:\n  prometheus:\n    metricsLevel: [node, process]\n"
with Agent(*common, config=config) as agent:
    agent.wait_ready()
    time.sleep(1.2)
    status, _, body = agent.get("/healthz")
    check(status == 200, f"/healthz 200 while the loop runs ({status})")
    status, _, body = agent.get("/")
    check(status == 200 and b'href="metrics"' in body, "/ links /metrics")
    status, _, _ = agent.get("/nope")
    check(status == 404, f"unknown path 404 ({status})")
    m = agent.scrape()
    check(series(m, "kepler_process_cpu_seconds_total"), "process level enabled")

    with open(agent.config_path, "w") as f:
        f.write("monitor:\n  interval: 500ms\nexporter:\n  prometheus:\n    metricsLevel: [node]\n")
    agent.signal(signal.SIGHUP)
    time.sleep(1.5)
    m = agent.scrape()
    check(not series(m, "kepler_process_cpu_seconds_total"), "SIGHUP applied metricsLevel")
    check(series(m, "kepler_node_cpu_joules_total"), "node level still there")

    with open(agent.config_path, "w") as f:
        f.write("monitor:\n  interval: never\n")
    agent.signal(signal.SIGHUP)
    time.sleep(1.2)
    check(agent.proc.poll() is None, "an invalid config on SIGHUP does not stop the agent")
    check("keeping the running configuration" in agent.output(), "and it is logged")
    before = agent.scrape()
    time.sleep(1.2)
    after = agent.scrape()
    n0 = value(before, "kepler_exporter_intervals_total")
    n1 = value(after, "kepler_exporter_intervals_total")
    check(n1 >= n0 + 1, f"the old 500ms interval keeps running ({n0} -> {n1})")

# exporter.stdout: the node's power and the interval's top consumers, each interval.
with Agent(*common, "--monitor.interval=300ms", "--exporter.stdout") as agent:
    agent.wait_ready()
    time.sleep(1.2)
    out = agent.output()
    tables = out.count("--- interval ")
    check(tables >= 2 and "zone          watts       idle     active" in out and
          "\npackage " in out and "pid      comm" in out,
          f"--exporter.stdout prints a table each interval ({tables} so far)")

finish()
