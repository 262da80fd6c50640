#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Process churn: short-lived processes paced at a target rate for PACED_S, then two
bursts flat out for BURST_S each, while the agent runs with eBPF activity, a RAPL
fixture advancing at known power and --monitor.interval=1s, scraped twice a second
throughout. Every phase is bounded by time, not by a process count, so that a slow or
busy machine finishes it in the same time; floors on the processes created keep the
test meaningful there:

  - over all phases, at least pid_max processes, and the pids seen wrapped at least
    once (a series keyed by a pid that a new process takes again)
  - each burst tracks more processes at once than the tables start with (so they
    grow, and must shrink again)

What it checks:

  - energy is conserved at every scrape: the sum of kepler_process_cpu_watts over
    every series (running, terminated and comm="other") equals
    kepler_node_cpu_active_watts within 0.1 %, per zone; and on counters: the sum of
    kepler_process_cpu_joules_total equals kepler_node_cpu_active_joules_total to the
    microjoule per series (the text's resolution), though processes get their own
    series, lose them when dropped, and pids are reused
  - no counter decreases, no eBPF map drops, no stage errors
  - memory returns to its baseline: terminated processes are dropped once scraped,
    so VmRSS a few intervals after a churn is within 4 MiB of VmRSS before it, and
    kepler_exporter_processes is back to the processes alive (plus what the kernel
    forked in the last seconds: other work on the machine); a second burst as long
    as the first does not raise VmRSS above the first one's peak (no leak)

The churn is the burner's forker (fork + _exit, one child at a time) in rounds, plus
a Python posix_spawn loop of /bin/true so that exec (a comm change) is in the mix.
Needs root and kernel BTF (exit 77 otherwise)."""

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from kepler_test import Agent, CounterWriter, check, copy_fixture, finish, series, value

# meson test sets MALLOC_PERTURB_, which writes every allocation and so makes memory
# resident that would not be: the VmRSS figures here are for the agent as it runs.
os.environ.pop("MALLOC_PERTURB_", None)

# About 75 s of churn and at most 50 s of settling: well under meson's 300 s even when
# a round of forks takes twice as long, since a phase ends on time, not on a count.
PACED_S = 40.0
PACED_RATE = 1_500  # processes a second the paced phase aims at (about 60,000)
BURST_S = 15.0
ROUND = 500  # forks per burner run: a phase overshoots its time by one round at most
SETTLE_S = 5.0
RECENT_S = 3.0  # a terminated process is gone from the export this long after it exits
CONSERVATION_TOL = 0.001
RSS_RETURN_KIB = 4 * 1024
# The agent's per-process tables start with room for 1,024 (src/activity/bpf.c,
# src/workload/process.c): a burst must track more at once, so that they grow.
TABLE_INITIAL = 1_024
with open("/proc/sys/kernel/pid_max") as f:
    PID_MAX = int(f.read())

if os.geteuid() != 0:
    print("skipped: eBPF activity needs root")
    sys.exit(77)
if not os.path.exists("/sys/kernel/btf/vmlinux"):
    print("skipped: no kernel BTF (/sys/kernel/btf/vmlinux)")
    sys.exit(77)


def tool(env, name):
    path = os.environ.get(env)
    if path:
        return path
    return os.path.join(os.path.dirname(os.environ.get("KEPLER_BIN", "build/src/kepler")),
                        "..", "tests", "tools", name)


BURNER = tool("BURNER", "burner")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def live_processes():
    return sum(1 for d in os.listdir("/proc") if d.isdigit())


def forks_total():
    """Processes and threads the kernel has created since boot, in every namespace."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("processes "):
                return int(line.split()[1])
    raise RuntimeError("no processes line in /proc/stat")


def conservation(m, zone):
    """(sum of process watts, node active watts) for zone."""
    procs = sum(v for ls, v in series(m, "kepler_process_cpu_watts").items()
                if ("zone", zone) in ls)
    return procs, value(m, "kepler_node_cpu_active_watts", zone=zone)


def counter_conservation(m, zone):
    """(sum of process joules, node active joules, process series) for zone."""
    procs = [v for ls, v in series(m, "kepler_process_cpu_joules_total").items()
             if ("zone", zone) in ls]
    return sum(procs), value(m, "kepler_node_cpu_active_joules_total", zone=zone), len(procs)


root = copy_fixture("rapl-1socket")
# eBPF looks for the kernel's BTF and online CPUs under host.sysfs: the real ones.
os.symlink("/sys/kernel", os.path.join(root, "kernel"))
os.symlink("/sys/devices", os.path.join(root, "devices"))
base = os.path.join(root, "class", "powercap")
writer = CounterWriter({os.path.join(base, "intel-rapl:0"): 40.0,
                        os.path.join(base, "intel-rapl:0:0"): 25.0})
writer.start()
# Configured idle power, so that active power is well above zero whatever the load.
config = "power: {idle: {package: 10, core: 5}}\n"

with Agent(f"--host.sysfs={root}", "--monitor.interval=1s", "--activity.source=ebpf",
           config=config) as agent:
    agent.wait_ready()
    pid = agent.proc.pid
    scrapes = []
    bad_conservation = []
    bad_counters = []
    stop = threading.Event()

    def scraper():
        while not stop.wait(0.5):
            try:
                m = agent.scrape()
            except Exception as e:  # noqa: BLE001 - a failed scrape is a finding
                scrapes.append(e)
                continue
            scrapes.append(m)
            for zone in ("package", "core"):
                procs, node = conservation(m, zone)
                if node is None or (node > 0 and abs(procs - node) / node > CONSERVATION_TOL) \
                        or (node == 0 and procs != 0):
                    bad_conservation.append((zone, procs, node))
                procs, node, n = counter_conservation(m, zone)
                if node is None or abs(procs - node) > 1e-6 * (n + 1):
                    bad_counters.append((zone, procs, node))

    th = threading.Thread(target=scraper, daemon=True)
    th.start()
    time.sleep(4.0)
    rss0 = rss_kib(pid)
    m0 = agent.scrape()
    procs0 = value(m0, "kepler_exporter_processes")
    print(f"before: VmRSS {rss0} KiB, {procs0:.0f} processes tracked")

    @dataclass
    class Churn:
        processes: int  # forks, burner runs and spawns of /bin/true
        seconds: float
        rss_peak: int  # KiB
        tracked_peak: float  # kepler_exporter_processes, the most in one scrape

        def rate(self):
            return self.processes / self.seconds

    spawned_pids = []  # every pid posix_spawn returned, in order: shows pid_max wrapping

    def churn(seconds, rate=0):
        """Forks in rounds of ROUND for seconds, at rate a second (0: flat out), with
        posix_spawn of /bin/true alongside."""
        spawn_stop = threading.Event()
        spawned = 0

        def spawn_true():
            nonlocal spawned
            while not spawn_stop.is_set():
                p = os.posix_spawn("/bin/true", ["true"], os.environ)
                os.waitpid(p, 0)
                spawned_pids.append(p)
                spawned += 1
                if rate:
                    time.sleep(0.01)

        first_scrape = len(scrapes)
        sp = threading.Thread(target=spawn_true, daemon=True)
        t0 = time.monotonic()
        end = t0 + seconds
        sp.start()
        forks, runs, peak = 0, 0, rss_kib(pid)
        while time.monotonic() < end:
            r = subprocess.run([BURNER, "--linger", "0", "forker", str(ROUND), "0"],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                check(False, f"burner forker: exit {r.returncode}: {r.stderr}")
                break
            forks += ROUND
            runs += 1
            peak = max(peak, rss_kib(pid))
            if rate:
                time.sleep(max(0.0, min(end, t0 + forks / rate) - time.monotonic()))
        spawn_stop.set()
        sp.join()
        took = time.monotonic() - t0
        tracked = max((value(s, "kepler_exporter_processes") for s in scrapes[first_scrape:]
                       if not isinstance(s, Exception)), default=0)
        return Churn(forks + runs + spawned, took, peak, tracked)

    def settle():
        """RSS a few intervals after a churn, then the processes tracked once they are
        back to the processes alive. Other work on this machine starts and ends
        processes too, in this pid namespace or not, and the agent sees them all: a
        tracked count may exceed the processes alive by those that the kernel forked in
        the last RECENT_S (a terminated process is exported at the next interval and
        dropped once scraped). Polls for up to 10 s.
        Returns (VmRSS, processes tracked, bound on processes tracked)."""
        time.sleep(SETTLE_S)
        rss = rss_kib(pid)
        history = [(time.monotonic(), forks_total())]
        deadline = history[0][0] + 10
        while True:
            time.sleep(0.5)
            now, forks = time.monotonic(), forks_total()
            history.append((now, forks))
            live = live_processes()
            tracked = value(agent.scrape(), "kepler_exporter_processes")
            since = max((f for t, f in history if t <= now - RECENT_S), default=history[0][1])
            bound = live + (forks_total() - since) + 50
            if tracked <= bound or now > deadline:
                return rss, tracked, bound

    # ---- paced: PACED_RATE a second for PACED_S ----
    paced = churn(PACED_S, PACED_RATE)
    rss1, procs1, bound1 = settle()
    print(f"paced churn: {paced.processes} processes in {paced.seconds:.1f} s "
          f"({paced.rate():.0f}/s, aiming at {PACED_RATE}/s), up to "
          f"{paced.tracked_peak:.0f} tracked; VmRSS {rss0} -> peak {paced.rss_peak} -> "
          f"{rss1} KiB ({rss1 - rss0:+d} KiB) {SETTLE_S:.0f} s later, {procs1:.0f} tracked")
    check(rss1 - rss0 < RSS_RETURN_KIB,
          f"paced churn: VmRSS back within {RSS_RETURN_KIB} KiB of its baseline "
          f"({rss0} -> {rss1} KiB)")
    check(procs1 <= bound1,
          f"paced churn: processes tracked back to those alive and those just ended "
          f"({procs1:.0f} tracked, at most {bound1})")

    # ---- bursts: flat out for BURST_S, twice ----
    burst1 = churn(BURST_S)
    rss2, _, _ = settle()
    print(f"burst: {burst1.processes} processes in {burst1.seconds:.1f} s "
          f"({burst1.rate():.0f}/s), up to {burst1.tracked_peak:.0f} tracked; "
          f"VmRSS peak {burst1.rss_peak} -> {rss2} KiB {SETTLE_S:.0f} s later")
    burst2 = churn(BURST_S)
    rss3, procs3, bound3 = settle()
    print(f"second burst: {burst2.processes} processes in {burst2.seconds:.1f} s "
          f"({burst2.rate():.0f}/s), up to {burst2.tracked_peak:.0f} tracked; "
          f"VmRSS peak {burst2.rss_peak} -> {rss3} KiB")
    check(rss3 <= max(burst1.rss_peak, rss2) + 1024,
          f"no leak: a second burst as long as the first does not raise VmRSS above the "
          f"first's peak ({burst1.rss_peak} KiB then {burst2.rss_peak} KiB, {rss3} KiB after)")
    check(rss3 - rss0 < RSS_RETURN_KIB,
          f"burst: VmRSS back within {RSS_RETURN_KIB} KiB of its baseline after the burst "
          f"({rss0} -> peak {burst2.rss_peak} -> {rss3} KiB)")
    check(procs3 <= bound3,
          f"burst: processes tracked back to those alive and those just ended "
          f"({procs3:.0f} tracked, at most {bound3})")

    # ---- enough churn to mean something ----
    total = paced.processes + burst1.processes + burst2.processes
    wraps = sum(1 for a, b in zip(spawned_pids, spawned_pids[1:]) if b < a)
    check(total >= PID_MAX and wraps >= 1,
          f"enough processes to wrap pid_max: {total} created, at least {PID_MAX}; "
          f"the pids of /bin/true wrapped {wraps} time(s)")
    for name, b in (("burst", burst1), ("second burst", burst2)):
        check(b.tracked_peak > TABLE_INITIAL,
              f"{name}: more than {TABLE_INITIAL} processes tracked at once, the tables grew "
              f"({b.tracked_peak:.0f})")
    stop.set()
    th.join()
    m1 = agent.scrape()

    failed = [s for s in scrapes if isinstance(s, Exception)]
    good = [s for s in scrapes if not isinstance(s, Exception)]
    check(not failed, f"every scrape answered ({len(good)} ok, {len(failed)} failed: {failed[:2]})")
    check(len(good) >= 20, f"scraped throughout ({len(good)} scrapes)")
    check(not bad_conservation,
          f"energy conserved at every scrape: sum of process watts = node active watts "
          f"within {CONSERVATION_TOL:.1%} ({len(bad_conservation)} off: {bad_conservation[:3]})")
    check(not bad_counters,
          f"and on counters: sum of process joules = node active joules at every scrape "
          f"({len(bad_counters)} off: {bad_counters[:3]})")
    # A process series is keyed by pid: once pid_max wraps (checked above), a new process can take the pid, comm and state of
    # one dropped since the last scrape, and its series starts again from zero, as a
    # counter of a new process must (Prometheus reads it as a counter reset). Every
    # other counter never decreases.
    decreased, reused = [], 0
    for prev, cur in zip(good, good[1:]):
        for key, v in cur.items():
            if key[0].endswith("_total") and key in prev and v < prev[key]:
                if key[0].startswith("kepler_process_") and ("state", "terminated") in key[1]:
                    reused += 1
                else:
                    decreased.append((key, prev[key], v))
    print(f"process series restarted by pid reuse: {reused}")
    check(not decreased, f"no counter decreased ({decreased[:3]})")
    # 40 W metered, 10 W configured idle: 30 W active. (A single interval can read less
    # when the fixture's writer thread is starved by the churn; the median cannot.)
    active = sorted(conservation(s, "package")[1] for s in good
                    if value(s, "kepler_exporter_intervals_total") >= 3)
    med = active[len(active) // 2]
    check(abs(med - 30.0) / 30.0 < 0.05, f"active package power ~30 W (median {med:.2f} W)")
    dropped = value(m1, "kepler_exporter_bpf_dropped_total")
    check(dropped == 0, f"no eBPF map drops ({dropped})")
    errors = {dict(ls)["stage"]: v for ls, v in series(m1, "kepler_exporter_errors_total").items()}
    check(not any(errors.values()), f"no stage errors ({errors})")
    check(agent.stop() == 0, f"clean exit on SIGTERM ({agent.proc.returncode})")
writer.stop()

finish()
