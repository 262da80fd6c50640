#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Process churn: 100,000 short-lived processes paced over a minute, then two bursts
of 50,000 flat out (about 8,000 a second here), while the agent runs with eBPF
activity, a RAPL fixture advancing at known power and --monitor.interval=1s, scraped
twice a second throughout.

  - energy is conserved at every scrape: the sum of kepler_process_cpu_watts over
    every series (running, terminated and comm="other") equals
    kepler_node_cpu_active_watts within 0.1 %, per zone
  - no counter decreases, no eBPF map drops
  - memory returns to its baseline: terminated processes are dropped once scraped,
    so VmRSS a few intervals after a churn is within 4 MiB of VmRSS before it, and
    kepler_exporter_processes is back to the processes alive; a second identical
    burst does not raise VmRSS above the first one's peak (no leak)

The churn is the burner's forker (fork + _exit, one child at a time) in rounds, plus
a Python posix_spawn loop of /bin/true so that exec (a comm change) is in the mix.
Needs root and kernel BTF (exit 77 otherwise)."""

import os
import subprocess
import sys
import threading
import time

from kepler_test import Agent, CounterWriter, check, copy_fixture, finish, series, value

# meson test sets MALLOC_PERTURB_, which writes every allocation and so makes memory
# resident that would not be: the VmRSS figures here are for the agent as it runs.
os.environ.pop("MALLOC_PERTURB_", None)

N_FORKS = 100_000
N_BURST = 50_000
ROUND = 5_000
PACED_S = 60.0
SETTLE_S = 5.0
CHURN_BUDGET_S = 150
CONSERVATION_TOL = 0.001
RSS_RETURN_KIB = 4 * 1024

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


def conservation(m, zone):
    """(sum of process watts, node active watts) for zone."""
    procs = sum(v for ls, v in series(m, "kepler_process_cpu_watts").items()
                if ("zone", zone) in ls)
    return procs, value(m, "kepler_node_cpu_active_watts", zone=zone)


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

    th = threading.Thread(target=scraper, daemon=True)
    th.start()
    time.sleep(4.0)
    rss0 = rss_kib(pid)
    m0 = agent.scrape()
    procs0 = value(m0, "kepler_exporter_processes")
    print(f"before: VmRSS {rss0} KiB, {procs0:.0f} processes tracked")

    def churn(n_forks, seconds):
        """n_forks forks in rounds of ROUND, paced to take about seconds (0: flat out),
        and posix_spawn of /bin/true alongside. Returns (processes, seconds, RSS peak)."""
        spawned = [0]
        spawn_stop = threading.Event()

        def spawn_true():
            while not spawn_stop.is_set():
                p = os.posix_spawn("/bin/true", ["true"], os.environ)
                os.waitpid(p, 0)
                spawned[0] += 1
                if seconds:
                    time.sleep(0.01)

        sp = threading.Thread(target=spawn_true, daemon=True)
        t0 = time.monotonic()
        sp.start()
        forks, peak, rounds = 0, rss_kib(pid), n_forks // ROUND
        for i in range(rounds):
            if time.monotonic() - t0 > CHURN_BUDGET_S:
                break
            r = subprocess.run([BURNER, "--linger", "0", "forker", str(ROUND), "0"],
                               capture_output=True, text=True, timeout=CHURN_BUDGET_S)
            if r.returncode != 0:
                check(False, f"burner forker: exit {r.returncode}: {r.stderr}")
                break
            forks += ROUND
            peak = max(peak, rss_kib(pid))
            if seconds:
                time.sleep(max(0.0, t0 + (i + 1) * seconds / rounds - time.monotonic()))
        spawn_stop.set()
        sp.join()
        took = time.monotonic() - t0
        total = forks + spawned[0] + forks // ROUND
        check(forks == n_forks, f"{forks} of {n_forks} forks within {CHURN_BUDGET_S} s")
        return total, took, peak

    def settle():
        """RSS a few intervals after a churn; processes tracked and alive once the
        tracked count is back to the processes alive (other work on this machine comes
        and goes too, so poll for up to 10 s rather than compare one instant)."""
        time.sleep(SETTLE_S)
        rss = rss_kib(pid)
        deadline = time.monotonic() + 10
        while True:
            tracked = value(agent.scrape(), "kepler_exporter_processes")
            live = live_processes()
            if tracked <= live + 50 or time.monotonic() > deadline:
                return rss, tracked, live
            time.sleep(0.5)

    # ---- paced: 100,000 processes over about a minute ----
    total, took, peak = churn(N_FORKS, PACED_S)
    tracked = max(value(s, "kepler_exporter_processes") for s in scrapes[-10:]
                  if not isinstance(s, Exception))
    rss1, procs1, live1 = settle()
    print(f"paced churn: {total} processes in {took:.1f} s ({total / took:.0f}/s), up to "
          f"{tracked:.0f} tracked; VmRSS {rss0} -> peak {peak} -> {rss1} KiB "
          f"({rss1 - rss0:+d} KiB) {SETTLE_S:.0f} s later, {procs1:.0f} tracked")
    check(rss1 - rss0 < RSS_RETURN_KIB,
          f"paced churn: VmRSS back within {RSS_RETURN_KIB} KiB of its baseline "
          f"({rss0} -> {rss1} KiB)")
    check(procs1 <= live1 + 50,
          f"paced churn: processes tracked back to those alive ({procs1:.0f} tracked, "
          f"{live1} alive)")

    # ---- a burst: flat out, twice ----
    total, took, peak = churn(N_BURST, 0)
    tracked = max(value(s, "kepler_exporter_processes") for s in scrapes[-10:]
                  if not isinstance(s, Exception))
    rss2, procs2, live2 = settle()
    print(f"burst: {total} processes in {took:.1f} s ({total / took:.0f}/s), up to "
          f"{tracked:.0f} tracked; VmRSS peak {peak} -> {rss2} KiB {SETTLE_S:.0f} s later")
    total, took, peak2 = churn(N_BURST, 0)
    rss3, procs3, live3 = settle()
    print(f"second burst: {total} processes in {took:.1f} s; VmRSS peak {peak2} -> {rss3} KiB")
    check(rss3 <= max(peak, rss2) + 1024,
          f"no leak: a second identical burst does not raise VmRSS above the first's peak "
          f"({peak} KiB then {peak2} KiB)")
    check(rss3 - rss0 < RSS_RETURN_KIB,
          f"burst: VmRSS back within {RSS_RETURN_KIB} KiB of its baseline after the burst "
          f"({rss0} -> peak {peak2} -> {rss3} KiB)")
    check(procs3 <= live3 + 50,
          f"burst: processes tracked back to those alive ({procs3:.0f} tracked, {live3} alive)")
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
    # A process series is keyed by pid: once pid_max wraps (100,000 processes here
    # against a pid_max of 32,768), a new process can take the pid, comm and state of
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
