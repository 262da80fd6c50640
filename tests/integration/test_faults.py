#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Faults under the real binary: a RAPL fixture whose counters advance in real time
at known power, while the test breaks what the agent reads.

  - a meter file that turns into a FIFO (the reader must not block);
  - a meter file that turns to garbage ("abc", "", "-5", a number beyond 64 bits,
    one beyond max_energy_range_uj, "12 34"), into a directory, or jumps backwards
    (a small decrease, a decrease to 0): not a wrap
  - every meter lost (every energy_uj gone; then the whole powercap directory)
  - the procfs root removed, then an empty directory, then restored
  - the agent's wall clock (CLOCK_REALTIME) stepped an hour forward and back, through
    libfaketime in the agent alone (the machine's clock is never touched)
  - the eBPF process map filling up (skipped: no knob for its size yet)

In every phase the agent keeps serving, counts the fault (meter_read_errors_total,
errors_total{stage=...}), never exports a decreasing counter, a negative, NaN or
absurd value (absurd: a watts gauge above 100 kW, or a joules counter rising faster
than 100 kW between two scrapes), and resumes when the fault clears. Where the
meter recovers, the energy the fault hid is carried by the next good read: the
exported total matches the fixture's true energy within 5 %."""

import datetime
import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from kepler_test import Agent, CounterWriter, check, copy_fixture, finish, series, value

INTERVAL = 0.5
MAX_WATTS = 100e3


class FaultWriter(threading.Thread):
    """Advances energy_uj files at known power, like kepler_test.CounterWriter, while
    the test breaks them: a zone on hold is not written (its true energy keeps
    growing, as the hardware's would), and a shift moves a counter's origin."""

    def __init__(self, zones, period=0.01):
        super().__init__(daemon=True)
        self.zones = {}
        for path, watts in zones.items():
            with open(os.path.join(path, "max_energy_range_uj")) as f:
                max_range = int(f.read())
            with open(os.path.join(path, "energy_uj")) as f:
                start = int(f.read())
            self.zones[path] = {"watts": watts, "max": max_range, "start": start, "shift": 0}
        self.lock = threading.Lock()
        self.held = set()
        self.period = period
        self.stopped = threading.Event()
        self.t0 = time.monotonic()

    def true_uj(self, path, now=None):
        """Energy the zone really used since the writer started (never shifted)."""
        now = time.monotonic() if now is None else now
        return int(self.zones[path]["watts"] * (now - self.t0) * 1e6)

    def raw(self, path, now=None):
        z = self.zones[path]
        return (z["start"] + z["shift"] + self.true_uj(path, now)) % (z["max"] + 1)

    def write_raw(self, path, text):
        tmp = os.path.join(path, ".energy_uj.tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, os.path.join(path, "energy_uj"))

    def run(self):
        while not self.stopped.is_set():
            with self.lock:
                now = time.monotonic()
                for path in self.zones:
                    if path not in self.held:
                        self.write_raw(path, f"{self.raw(path, now)}\n")
            time.sleep(self.period)

    def hold(self, path, action):
        """Stop writing path's counter, then break it: action(energy_uj path)."""
        with self.lock:
            self.held.add(path)
            action(os.path.join(path, "energy_uj"))

    def release(self, path, undo=None):
        with self.lock:
            if undo:
                undo(os.path.join(path, "energy_uj"))
            self.held.discard(path)
            self.write_raw(path, f"{self.raw(path)}\n")

    def shift_to(self, path, raw_value):
        """From now on the counter reads raw_value and advances from there."""
        with self.lock:
            z = self.zones[path]
            z["shift"] += raw_value - self.raw(path)
            self.write_raw(path, f"{self.raw(path)}\n")

    def stop(self):
        self.stopped.set()
        self.join()


class Scraper(threading.Thread):
    """Scrapes /metrics every 0.2 s; every sample is (monotonic time, phase, metrics or
    the error that stopped the scrape)."""

    def __init__(self, agent):
        super().__init__(daemon=True)
        self.agent = agent
        self.phase = "start"
        self.samples = []
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(0.2):
            t = time.monotonic()
            try:
                m = self.agent.scrape()
            except Exception as e:  # noqa: BLE001 - any failure is the finding
                m = e
            self.samples.append((t, self.phase, m))

    def of(self, phase):
        return [(t, m) for t, p, m in self.samples if p == phase]

    def stop(self):
        self.stopped.set()
        self.join()


def insane(samples):
    """What is wrong in a run of (time, metrics) scrapes: a failed scrape, a negative
    (but for a model coefficient), NaN or infinite kepler_* value, watts above 100 kW, a counter that decreased or
    rose faster than 100 kW (joules). Returns a list of findings (empty: sane)."""
    bad = []
    prev = None
    for t, m in samples:
        if isinstance(m, Exception):
            bad.append(f"scrape failed: {m}")
            continue
        for (name, labels), v in m.items():
            if not name.startswith("kepler_"):
                continue
            # A fitted model's coefficient may be negative (docs/power.md); nothing else.
            signed = name == "kepler_node_platform_model_coefficient"
            if math.isnan(v) or math.isinf(v) or (v < 0 and not signed):
                bad.append(f"{name}{dict(labels)} = {v}")
            elif name.endswith("_watts") and v > MAX_WATTS:
                bad.append(f"{name}{dict(labels)} = {v:.0f} W")
        if prev:
            pt, pm = prev
            dt = max(t - pt, INTERVAL)
            for key, v in m.items():
                if not key[0].endswith("_total") or key not in pm:
                    continue
                if v < pm[key]:
                    bad.append(f"{key[0]}{dict(key[1])} decreased {pm[key]} -> {v}")
                elif key[0].endswith("_joules_total") and (v - pm[key]) / dt > MAX_WATTS:
                    bad.append(f"{key[0]}{dict(key[1])} rose {v - pm[key]:.0f} J in {dt:.2f} s")
        prev = (t, m)
    return bad


def good(samples):
    return [(t, m) for t, m in samples if not isinstance(m, Exception)]


def errs(m, zone):
    return value(m, "kepler_exporter_meter_read_errors_total", zone=zone) or 0


def stage(m, name):
    return value(m, "kepler_exporter_errors_total", stage=name) or 0


def joules(m, zone):
    return value(m, "kepler_node_cpu_joules_total", zone=zone)


def report(what, samples, note=""):
    bad = insane(samples)
    found = ": " + "; ".join(bad[:3]) if bad else ""
    check(not bad, f"{what}: sane ({len(samples)} scrapes){found}{note}")


def wait_intervals(n=3):
    time.sleep(n * INTERVAL + 0.1)


# ---- the fixture and the agent ----
root = copy_fixture("rapl-1socket")
base = os.path.join(root, "class", "powercap")
PKG, CORE, UNC, PSYS = (os.path.join(base, d) for d in
                        ("intel-rapl:0", "intel-rapl:0:0", "intel-rapl:0:1", "intel-rapl:1"))
WATTS = {PKG: 20.0, CORE: 10.0, UNC: 2.0, PSYS: 30.0}
ZONE_OF = {PKG: "package", CORE: "core", UNC: "uncore", PSYS: "psys"}
with open(os.path.join(PKG, "max_energy_range_uj")) as f:
    PKG_MAX = int(f.read())



# ---- the wall clock steps (CLOCK_REALTIME), on the agent alone ----
# libfaketime (Debian's faketime package) in the agent only: with FAKETIME_NO_CACHE it
# reads its offset from FAKETIME_TIMESTAMP_FILE at every clock call, and with
# DONT_FAKE_MONOTONIC it leaves CLOCK_MONOTONIC alone, so rewriting the file steps the
# agent's CLOCK_REALTIME and nothing else on the machine.
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
LOG_TIME = re.compile(r"^time=(\S+) level=\S+ msg=\"reload: ", re.M)


def agent_clock_offset(a):
    """The agent's CLOCK_REALTIME minus ours, from the timestamp of the line it logs on
    a reload (SIGHUP): the only thing the agent reads CLOCK_REALTIME for."""
    seen = len(LOG_TIME.findall(a.output()))
    t = time.time()
    a.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        stamps = LOG_TIME.findall(a.output())
        if len(stamps) > seen:
            logged = datetime.datetime.strptime(stamps[seen], "%Y-%m-%dT%H:%M:%S.%fZ")
            return logged.replace(tzinfo=datetime.timezone.utc).timestamp() - t
        time.sleep(0.05)
    raise RuntimeError(f"no reload logged within 5 s: {a.output()[-500:]}")


def clock_phase():
    """Step the agent's wall clock an hour forward and back, 3 intervals each: rates and
    /healthz use CLOCK_MONOTONIC, so nothing may change."""
    tag = "clock step"
    if not check(os.path.exists(FAKETIME_LIB), f"{tag}: {FAKETIME_LIB} (apt install faketime)"):
        return
    offset_file = os.path.join(root, "faketime")

    def step_to(seconds):
        tmp = offset_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{seconds:+d}\n")
        os.replace(tmp, offset_file)

    step_to(0)
    a = Agent(f"--host.sysfs={root}", f"--monitor.interval={int(INTERVAL * 1000)}ms",
              "--activity.source=procfs", "--metrics=",
              env={"LD_PRELOAD": FAKETIME_LIB, "FAKETIME_TIMESTAMP_FILE": offset_file,
                   "FAKETIME_NO_CACHE": "1", "DONT_FAKE_MONOTONIC": "1"})
    s = Scraper(a)
    s.phase = tag
    try:
        a.wait_ready()
        wait_intervals(2)
        s.start()
        m0 = a.scrape()
        for step in (3600, -3600):
            step_to(step)
            seen = agent_clock_offset(a)
            check(abs(seen - step) < 60,
                  f"{tag} {step:+d} s: the agent's clock is stepped (its log is {seen:+.1f} s off)")
            wait_intervals(3)
            status, _, _ = a.get("/healthz")
            check(status == 200, f"{tag} {step:+d} s: /healthz 200 ({status})")
            step_to(0)
        seen = agent_clock_offset(a)
        check(abs(seen) < 60, f"{tag}: the agent's clock is back ({seen:+.1f} s off)")
        wait_intervals(2)
        m = a.scrape()
        for p, zone in ZONE_OF.items():
            w = value(m, "kepler_node_cpu_watts", zone=zone)
            check(abs(w - WATTS[p]) / WATTS[p] < 0.05, f"{tag}: {zone} watts {w:.3f} ~ {WATTS[p]}")
        check(stage(m, "power") == stage(m0, "power"), f"{tag}: no power errors")
        s.stop()
        report(tag, s.of(tag))
        check(a.stop() == 0, f"{tag}: clean exit on SIGTERM ({a.proc.returncode})")
    finally:
        if s.is_alive():
            s.stop()
        a.stop()


writer = FaultWriter(WATTS)
writer.start()
agent = Agent(f"--host.sysfs={root}", f"--monitor.interval={int(INTERVAL * 1000)}ms",
              "--activity.source=procfs", "--metrics=")
scraper = Scraper(agent)
try:
    agent.wait_ready()
    wait_intervals(2)
    scraper.start()
    time.sleep(1.5)
    report("baseline", scraper.of("start"))

    # ---- garbage in one meter file ----
    first = good(scraper.of("start"))[-1][1]
    t_first = time.monotonic()
    true_first = writer.true_uj(PKG)
    garbage = ["abc\n", "", "-5\n", "99999999999999999999999\n", f"{PKG_MAX + 1}\n", "12 34\n",
               "0x1f\n", "\0\0\0\0"]
    for text in garbage:
        tag = f"garbage {text.strip()!r}"
        scraper.phase = tag
        e0 = errs(agent.scrape(), "package")
        writer.hold(PKG, lambda p, text=text: writer.write_raw(PKG, text))
        wait_intervals(3)
        m = agent.scrape()
        check(errs(m, "package") >= e0 + 2,
              f"{tag}: counted as read errors ({e0} -> {errs(m, 'package')})")
        check(errs(m, "core") == errs(first, "core"), f"{tag}: other zones unaffected")
        scraper.phase = tag + " recovered"
        writer.release(PKG)
        wait_intervals(3)
        e1 = errs(agent.scrape(), "package")
        j1 = joules(agent.scrape(), "package")
        wait_intervals(2)
        m = agent.scrape()
        check(errs(m, "package") == e1 and joules(m, "package") > j1,
              f"{tag}: resumes when the file is good again (errors {e1} -> "
              f"{errs(m, 'package')}, joules {j1} -> {joules(m, 'package')})")
        report(tag, scraper.of(tag) + scraper.of(tag + " recovered"))

    # The energy the faults hid is carried by the next good read.
    scraper.phase = "carry"
    wait_intervals(2)
    last = agent.scrape()
    got = joules(last, "package") - joules(first, "package")
    n = (value(last, "kepler_exporter_intervals_total") -
         value(first, "kepler_exporter_intervals_total"))
    want = 20.0 * n * INTERVAL
    check(abs(got - want) / want < 0.05,
          f"garbage phase: package energy carried over the faults: {got:.1f} J exported, "
          f"{want:.1f} J used ({n:.0f} intervals)")

    # ---- energy_uj becomes a directory ----
    tag = "directory"
    scraper.phase = tag
    e0 = errs(agent.scrape(), "package")

    def to_dir(p):
        os.unlink(p)
        os.mkdir(p)

    writer.hold(PKG, to_dir)
    wait_intervals(3)
    m = agent.scrape()
    check(errs(m, "package") >= e0 + 2,
          f"{tag}: counted as read errors ({e0} -> {errs(m, 'package')})")
    writer.release(PKG, os.rmdir)
    wait_intervals(3)
    j1 = joules(agent.scrape(), "package")
    e1 = errs(agent.scrape(), "package")
    wait_intervals(2)
    m = agent.scrape()
    check(joules(m, "package") > j1 and errs(m, "package") == e1, f"{tag}: resumes")
    report(tag, scraper.of(tag))

    # ---- energy_uj becomes a FIFO: opening it for reading would block for a writer ----
    tag = "fifo"
    scraper.phase = tag
    e0 = errs(agent.scrape(), "package")
    n0 = value(agent.scrape(), "kepler_exporter_intervals_total")

    def to_fifo(p):
        os.unlink(p)
        os.mkfifo(p)

    writer.hold(PKG, to_fifo)
    wait_intervals(3)
    m = agent.scrape()
    check(value(m, "kepler_exporter_intervals_total") >= n0 + 2 and errs(m, "package") >= e0 + 2,
          f"{tag}: the intervals go on and the reads count as errors ({e0} -> "
          f"{errs(m, 'package')})")
    writer.release(PKG, os.unlink)
    wait_intervals(3)
    j1 = joules(agent.scrape(), "package")
    wait_intervals(2)
    check(joules(agent.scrape(), "package") > j1, f"{tag}: resumes")
    report(tag, scraper.of(tag))

    # ---- a counter that jumps backwards: not a wrap ----
    for tag, path, target in (("small decrease", PKG, lambda: writer.raw(PKG) - 50_000_000),
                              ("decrease to 0", CORE, lambda: 0)):
        zone = ZONE_OF[path]
        scraper.phase = tag
        j0 = joules(agent.scrape(), zone)
        writer.shift_to(path, target())
        wait_intervals(4)
        m = agent.scrape()
        j1 = joules(m, zone)
        check(j1 >= j0, f"{tag}: {zone} counter did not decrease ({j0} -> {j1})")
        w = value(m, "kepler_node_cpu_watts", zone=zone)
        want = WATTS[path]
        check(w is not None and abs(w - want) / want < 0.1,
              f"{tag}: {zone} watts back to the true power after the jump ({w} ~ {want})")
        # A step back is no wrap: a wrap would mean ~262 kJ within one interval.
        check(j1 - j0 < 4 * 4 * INTERVAL * want,
              f"{tag}: the jump is not counted as energy ({j1 - j0:.1f} J in 4 intervals of "
              f"{want} W)")
        report(tag, scraper.of(tag))

    # ---- every meter lost ----
    for tag, how in (("all energy_uj gone", "files"), ("powercap directory gone", "dir")):
        scraper.phase = tag
        m0 = agent.scrape()
        if how == "files":
            for p in WATTS:
                writer.hold(p, lambda f: os.rename(f, f + ".gone"))
        else:
            for p in WATTS:
                writer.held.add(p)
            with writer.lock:
                os.rename(base, base + ".gone")
        wait_intervals(3)
        m = agent.scrape()
        status, _, _ = agent.get("/healthz")
        check(status == 200, f"{tag}: /healthz still 200 ({status})")
        check(stage(m, "power") >= stage(m0, "power") + 2,
              f"{tag}: errors_total{{stage=power}} {stage(m0, 'power')} -> {stage(m, 'power')}")
        check(all(errs(m, z) >= errs(m0, z) + 2 for z in ZONE_OF.values()),
              f"{tag}: every zone counts read errors")
        check(all(joules(m, z) == joules(m0, z) for z in ZONE_OF.values()),
              f"{tag}: no energy invented while nothing is read")
        if how == "files":
            for p in WATTS:
                writer.release(p, lambda f: os.rename(f + ".gone", f))
        else:
            with writer.lock:
                os.rename(base + ".gone", base)
            for p in WATTS:
                writer.release(p)
        wait_intervals(3)
        m1 = agent.scrape()
        wait_intervals(2)
        m2 = agent.scrape()
        check(stage(m2, "power") == stage(m1, "power") and
              all(joules(m2, z) > joules(m1, z) for z in ZONE_OF.values()),
              f"{tag}: resumes on every zone")
        report(tag, scraper.of(tag))

    scraper.stop()
    check(agent.proc.poll() is None, "the agent is still running after every meter fault")
    check(agent.stop() == 0, f"clean exit on SIGTERM ({agent.proc.returncode})")
    clock_phase()
finally:
    if scraper.is_alive():
        scraper.stop()
    agent.stop()
    writer.stop()


# ---- the procfs root disappears ----
def procfs_phase(source):
    tmp = tempfile.mkdtemp(prefix="kepler-procfs-")
    link = os.path.join(tmp, "proc")
    os.symlink("/proc", link)
    a = Agent(f"--host.procfs={link}", f"--monitor.interval={int(INTERVAL * 1000)}ms",
              f"--activity.source={source}", f"--host.sysfs={FIXTURES_RAPL}")
    s = Scraper(a)
    try:
        a.wait_ready()
        wait_intervals(2)
        s.start()
        m0 = a.scrape()
        procs0 = len(series(m0, "kepler_process_cpu_seconds_total"))
        for tag, breaker in (("removed", lambda: os.unlink(link)),
                             ("empty dir", lambda: (os.unlink(link), os.mkdir(link)))):
            tag = f"procfs root {tag} ({source})"
            s.phase = tag
            m0 = a.scrape()
            breaker()
            wait_intervals(4)
            m = a.scrape()
            status, _, _ = a.get("/healthz")
            check(status == 200, f"{tag}: still serving, /healthz {status}")
            if source == "procfs":
                check(stage(m, "activity") >= stage(m0, "activity") + 2,
                      f"{tag}: errors_total{{stage=activity}} {stage(m0, 'activity')} -> "
                      f"{stage(m, 'activity')}")
            if os.path.islink(link):
                os.unlink(link)
            elif os.path.isdir(link):
                os.rmdir(link)
            os.symlink("/proc", link)
            wait_intervals(3)
            m1 = a.scrape()
            wait_intervals(3)
            m2 = a.scrape()
            check(stage(m2, "activity") == stage(m1, "activity"),
                  f"{tag}: no more activity errors once restored "
                  f"({stage(m1, 'activity')} -> {stage(m2, 'activity')})")
            procs = len(series(m2, "kepler_process_cpu_seconds_total"))
            check(procs >= min(procs0, 2), f"{tag}: processes exported again ({procs})")
            report(tag, s.of(tag))
        s.stop()
        check(a.stop() == 0, f"procfs ({source}): clean exit ({a.proc.returncode})")
    finally:
        if s.is_alive():
            s.stop()
        a.stop()
        shutil.rmtree(tmp, ignore_errors=True)


FIXTURES_RAPL = copy_fixture("rapl-1socket")
# The online CPUs come from host.sysfs: give the fixture the real ones.
os.symlink("/sys/devices", os.path.join(FIXTURES_RAPL, "devices"))
procfs_phase("procfs")
if os.geteuid() == 0 and os.path.exists("/sys/kernel/btf/vmlinux"):
    procfs_phase("ebpf")
else:
    print("skipped: procfs root removal under eBPF (needs root and BTF)")

# An empty procfs from the start: the agent says so or runs; it never crashes.
empty = tempfile.mkdtemp(prefix="kepler-emptyproc-")
a = Agent(f"--host.procfs={empty}", f"--host.sysfs={FIXTURES_RAPL}", "--activity.source=procfs",
          f"--monitor.interval={int(INTERVAL * 1000)}ms")
try:
    deadline = time.monotonic() + 5
    while a.proc.poll() is None and time.monotonic() < deadline:
        try:
            if a.get("/metrics")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    if a.proc.poll() is None:
        wait_intervals(3)
        m = a.scrape()
        check(stage(m, "activity") >= 1 or value(m, "kepler_exporter_intervals_total") >= 3,
              f"empty procfs: runs and counts activity errors ({stage(m, 'activity')})")
        check(a.stop() == 0, "empty procfs: clean exit")
    else:
        out = a.output()
        check(a.proc.returncode == 2 and empty in out,
              f"empty procfs: refuses to start with one clear line naming it "
              f"(status {a.proc.returncode}: {out.strip()!r})")
finally:
    a.stop()
    os.rmdir(empty)

# ---- the eBPF process map filling up ----
if os.geteuid() == 0 and os.path.exists("/sys/kernel/btf/vmlinux"):
    # 64 entries: this node's own processes fill it at once, and a few hundred more
    # short-lived ones keep knocking.
    a = Agent(f"--host.sysfs={FIXTURES_RAPL}", "--activity.source=ebpf",
              "--activity.max-processes=64", f"--monitor.interval={int(INTERVAL * 1000)}ms")
    w = CounterWriter({os.path.join(FIXTURES_RAPL, "class", "powercap", "intel-rapl:0"): 20.0})
    w.start()
    try:
        a.wait_ready()
        for _ in range(300):
            subprocess.run(["true"])
        wait_intervals(3)
        m0 = a.scrape()
        for _ in range(300):
            subprocess.run(["true"])
        wait_intervals(3)
        m = a.scrape()
        d0 = value(m0, "kepler_exporter_bpf_dropped_total")
        d1 = value(m, "kepler_exporter_bpf_dropped_total")
        check(d0 > 0 and d1 > d0, f"map full: drops counted and rising ({d0:.0f} -> {d1:.0f})")
        u0 = value(m0, "kepler_exporter_bpf_unseen_switches_total")
        u1 = value(m, "kepler_exporter_bpf_unseen_switches_total")
        check(u0 is not None and u1 is not None and 0 <= u0 <= u1,
              f"unseen switches exported, never decreasing ({u0} -> {u1})")
        active = value(m, "kepler_node_cpu_active_watts", zone="package")
        procs = sum(v for k, v in series(m, "kepler_process_cpu_watts").items()
                    if ("zone", "package") in k)
        check(abs(procs - active) <= active * 0.001,
              f"map full: what is recorded still adds up ({procs:.4f} W = {active:.4f} W)")
        check(a.stop() == 0, "map full: serving throughout, clean exit")
    finally:
        w.stop()
        a.stop()
else:
    print("skipped: eBPF map full (needs root and kernel BTF)")

finish()
