#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""promtool check metrics on real scrapes: the estimator on this machine with the
default activity source, and RAPL on a two-socket fixture. Any finding fails."""

import time

from kepler_test import Agent, check, copy_fixture, finish, parse, promtool_check, value

# The agent's own process_* families, as docs/metrics.md lists them, against what the
# kernel says about the same process.
with Agent("--monitor.interval=500ms") as agent:
    started = time.time()
    agent.wait_ready()
    time.sleep(1.3)
    m = parse(agent.scrape_text()[2])
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                 "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                 "process_start_time_seconds"):
        check(value(m, name) is not None, f"{name} is exported")
    start = value(m, "process_start_time_seconds") or 0
    check(abs(start - started) < 5, f"process_start_time_seconds {start:.1f} is when the agent "
          f"started ({started:.1f})")
    with open(f"/proc/{agent.proc.pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) * 1024
    got = value(m, "process_resident_memory_bytes") or 0
    check(0.5 < got / rss < 2, f"process_resident_memory_bytes {got:.0f} ~ VmRSS {rss}")

for what, args in (
    ("this machine (default sources)", ["--monitor.interval=500ms"]),
    ("rapl-2socket fixture", [f"--host.sysfs={copy_fixture('rapl-2socket')}",
                              "--monitor.interval=500ms", "--activity.source=procfs"]),
):
    with Agent(*args) as agent:
        agent.wait_ready()
        time.sleep(1.3)
        status, headers, text = agent.scrape_text()
        check(status == 200 and headers.get("Content-Type", "").startswith("text/plain; "
              "version=0.0.4"), f"{what}: 200 with the 0.0.4 content type")
        promtool_check(text, what)
        status, headers, gz = agent.scrape_text(gzip_ok=True)
        check(headers.get("Content-Encoding") == "gzip" and "kepler_node_info" in gz,
              f"{what}: gzip body when accepted")
        promtool_check(gz, f"{what} (gzip)")

finish()
