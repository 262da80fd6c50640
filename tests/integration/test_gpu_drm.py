#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Intel (xe) GPUs end to end without the hardware: two cards in a sysfs tree whose
energy counters this test advances at a known power, and DRM fdinfo for real
processes in a procfs whose other entries are the real /proc (ProcOverlay): one
process per card, one on both, a client shared by two processes (a passed fd), a
process that exits mid-run. The node's GPU energy is what the test wrote, idle +
active = total, the processes sum to each card's active energy, shares follow the
engine time, the shared client counts once (for the lower pid), the process that
exited keeps its energy, and no counter decreases."""

import os
import subprocess
import sys
import threading
import time

from kepler_test import Agent, ProcOverlay, check, finish, parse, series, value, xe_sysfs

POWER_W = (150.0, 90.0)
IDLE_W = 20.0
# Engine shares per process and card; "cd" is one client held by processes c and d.
SHARE = {("a", 0): 0.6, ("b", 0): 0.2, ("b", 1): 0.3, ("cd", 1): 0.3, ("e", 1): 0.4}
GHZ = 1e9  # the cards' cycle counters tick at 1 GHz


class Writer(threading.Thread):
    """Advances each card's energy1_input at its power and each client's busy cycles at
    its share, every 10 ms, all in one step so that shares stay exact."""

    def __init__(self, energy_files, overlay, pids):
        super().__init__(daemon=True)
        self.energy_files, self.overlay, self.pids = energy_files, overlay, pids
        self.gone = set()
        self.lock = threading.Lock()
        self.stopped = threading.Event()

    def clients(self):
        # (holder pids, card, client id, share); a shared client appears under both pids.
        for n, ((who, card), share) in enumerate(SHARE.items()):
            holders = [self.pids[w] for w in (("c", "d") if who == "cd" else (who,))]
            yield holders, card, 100 + n, share

    def step(self, t):
        for card, path in enumerate(self.energy_files):
            with open(path + ".tmp", "w") as f:
                f.write(f"{1000000 + int(POWER_W[card] * t * 1e6)}\n")
            os.replace(path + ".tmp", path)
        for holders, card, client, share in self.clients():
            total = int(t * GHZ)
            text = (f"pos:\t0\nflags:\t02100002\ndrm-driver:\txe\n"
                    f"drm-pdev:\t0000:{0x10 + card:02x}:00.0\ndrm-client-id:\t{client}\n"
                    f"drm-cycles-rcs:\t{int(total * share)}\ndrm-total-cycles-rcs:\t{total}\n")
            for pid in holders:
                if pid not in self.gone:
                    self.overlay.set_fd(pid, 10 + card, f"/dev/dri/renderD{138 + card}", text)

    def run(self):
        t0 = time.monotonic()
        while not self.stopped.wait(0.01):
            with self.lock:
                self.step(time.monotonic() - t0)

    def end(self, pid):
        with self.lock:
            self.gone.add(pid)
            self.overlay.remove(pid)


def sleeper():
    return subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(0.02)"])


def gpu_joules(m, pid, gpu):
    return sum(v for ls, v in series(m, "kepler_process_gpu_joules_total").items()
               if ("pid", str(pid)) in ls and ("gpu", str(gpu)) in ls)


procs = {w: sleeper() for w in "abcde"}
pids = {w: p.pid for w, p in procs.items()}
overlay = ProcOverlay(pids.values())
sysfs, energy_files = xe_sysfs(2)
writer = Writer(energy_files, overlay, pids)
writer.step(0)
writer.start()
try:
    config = (f"power: {{gpu: {{sources: [drm], idleWatts: {IDLE_W}}}}}\n"
              "exporter: {prometheus: {maxProcesses: 100000}}\n")
    with Agent(f"--host.sysfs={sysfs}", f"--host.procfs={overlay.root}",
               "--monitor.interval=500ms", config=config) as agent:
        agent.wait_ready()
        time.sleep(3.2)
        m1 = parse(agent.scrape_text()[2])
        info = series(m1, "kepler_node_gpu_info")
        check(len(info) == 2 and all(("vendor", "intel") in ls and
                                     ("usage_source", "engine_time") in ls and
                                     ("energy_source", "energy_counter") in ls for ls in info),
              f"two xe cards, energy counters, engine time: {len(info)}")
        e_before = gpu_joules(m1, pids["e"], 1)
        check(e_before > 0, f"the process about to exit has GPU energy: {e_before:.3f} J")

        # e exits: its fds go with its /proc entry, the process itself ends.
        writer.end(pids["e"])
        procs["e"].kill()
        procs["e"].wait()
        time.sleep(2.2)
        m2 = parse(agent.scrape_text()[2])
        # The counters are files this test writes every 10 ms (sysfs updates them about as
        # often), late when the machine is busy: over the intervals between the two scrapes,
        # not one, that staleness stays within a few percent. A wrong file or unit would be
        # off by orders of magnitude; the exact checks are the sums below.
        n = value(m2, "kepler_exporter_intervals_total") - value(m1, "kepler_exporter_intervals_total")
        for g, w in enumerate(POWER_W):
            joules = value(m2, "kepler_node_gpu_joules_total", gpu=str(g)) - \
                value(m1, "kepler_node_gpu_joules_total", gpu=str(g))
            watts = joules / (n * 0.5)
            check(abs(watts - w) <= 0.05 * w,
                  f"card {g}: {watts:.2f} W over {n:.0f} intervals, the written {w} W (5 %)")
            total = value(m2, "kepler_node_gpu_joules_total", gpu=str(g))
            idle = value(m2, "kepler_node_gpu_idle_joules_total", gpu=str(g))
            active = value(m2, "kepler_node_gpu_active_joules_total", gpu=str(g))
            check(abs(idle + active - total) < 1e-5, f"card {g}: idle + active = total")
            got = sum(v for ls, v in series(m2, "kepler_process_gpu_joules_total").items()
                      if ("gpu", str(g)) in ls)
            check(abs(got - active) < 1e-5,
                  f"card {g}: the process series sum to its active energy ({got:.6f} J vs "
                  f"{active:.6f} J)")
        # Shares between the two scrapes: each process is found when it first runs, so
        # before the first scrape one may have started counting an interval later.
        def since(who, g):
            return gpu_joules(m2, pids[who], g) - gpu_joules(m1, pids[who], g)

        a, b = since("a", 0), since("b", 0)
        check(abs(a / (a + b) - 0.75) < 0.01, f"card 0: a has {a / (a + b):.4f}, engine time 0.75")
        b1, c1 = since("b", 1), since("c", 1)
        check(abs(b1 / (b1 + c1) - 0.5) < 0.01,
              f"card 1: b and the shared client's holder c even ({b1 / (b1 + c1):.4f})")
        lo = min(pids["c"], pids["d"])
        check(gpu_joules(m2, max(pids["c"], pids["d"]), 1) == 0 and
              gpu_joules(m2, lo, 1) > 0, "the shared client counts once, for the lower pid")
        e_after = gpu_joules(m2, pids["e"], 1)
        check(e_after >= e_before, f"the exited process keeps its GPU energy ({e_after:.3f} J)")
        # By process and card: an exited process's series changes state="terminated".
        dec = [(w, g) for w in pids for g in (0, 1)
               if gpu_joules(m2, pids[w], g) < gpu_joules(m1, pids[w], g)]
        check(not dec, f"no process GPU counter decreased {dec}")
finally:
    writer.stopped.set()
    writer.join()
    for p in procs.values():
        p.kill()
        p.wait()
    overlay.cleanup()
finish()
