# SPDX-License-Identifier: Apache-2.0
"""What the whole-agent benchmarks share: the agent's CPU time and memory as the
kernel counts them, its /metrics, and waiting for its intervals."""

import http.client
import os
import subprocess
import time


def cpu_seconds(pid):
    """Time on CPU of all the process's threads, at ns resolution (schedstat), not ticks."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            total += int(f.read().split()[0])
    return total / 1e9


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS:")) / 1024


def scrape(port):
    """(seconds the scrape took, body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    t = time.perf_counter()
    c.request("GET", "/metrics")
    body = c.getresponse().read()
    dt = time.perf_counter() - t
    c.close()
    return dt, body


def samples(port, name):
    """The lines of one family in a scrape."""
    return [ln for ln in scrape(port)[1].decode().splitlines()
            if ln.startswith(name + " ") or ln.startswith(name + "{")]


def intervals_done(port):
    lines = samples(port, "kepler_exporter_intervals_total")
    return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0


def wait_intervals(port, n):
    n0 = intervals_done(port)
    while intervals_done(port) < n0 + n:
        time.sleep(0.1)


def start_agent(kepler, port, interval_s, args, env=None):
    """The agent on 127.0.0.1:port, once it answers."""
    p = subprocess.Popen([kepler, f"--web.listen-address=127.0.0.1:{port}",
                          f"--monitor.interval={interval_s}s", *args],
                         env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    for _ in range(400):
        try:
            scrape(port)
            return p
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise SystemExit("kepler did not answer")


def cpu_per_interval(p, port, n):
    """The agent's CPU time per interval, in ms, over the next n intervals."""
    n0, c0 = intervals_done(port), cpu_seconds(p.pid)
    wait_intervals(port, n)
    n1, c1 = intervals_done(port), cpu_seconds(p.pid)
    return (c1 - c0) / max(n1 - n0, 1) * 1000
