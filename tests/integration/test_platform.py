#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The platform as a zone, through the real agent: RAPL counters whose power follows the
machine's real CPU utilisation (package 5 W + 20 W x utilisation; psys, the platform
without an ACPI meter, 60 W + 40 W x utilisation), a container that burns with a changing
duty, and then nodes without a platform meter.

- Conservation at every scrape: the processes' platform energy (their series and every
  "other") is the node's platform active energy; a container's is its processes'.
- The rule (docs/attribution.md): over one interval a process gets its CPU parts' energy
  scaled by the node's platform active / parts active, so at least its parts' while the
  meters agree and no more when they do not.
- The platform's idle power is learned from the load-following meter (60 W).
- The platform model fitted to the meter predicts the meter.
- Without a meter the platform is the configured model's estimate (source="estimator"),
  none at all with power.platform.estimate false, and RAPL's psys where there is one.
"""

import os
import threading
import time
import uuid

from kepler_test import (Agent, Cgroups, check, cgroup_root_or_skip, copy_fixture,
                         finish, promtool_check, series, spawn_in, value)

IDLE_W, SLOPE_W = 60.0, 40.0
J_EPS = 2e-5  # joules: the text format's precision on cumulative values, with room


def cpu_times():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]) - idle, sum(v[:8])


class LoadFollowingCounters(threading.Thread):
    """Advances powercap energy_uj counters at idle + slope x the machine's real CPU
    utilisation, measured over each 0.1 s step: zones is {zone_dir: (idle_w, slope_w)}."""

    def __init__(self, zones):
        super().__init__(daemon=True)
        self.zones = {}
        for path, law in zones.items():
            with open(os.path.join(path, "energy_uj")) as f:
                self.zones[path] = [law, float(f.read())]
        self.stopped = threading.Event()

    def run(self):
        busy0, total0 = cpu_times()
        t0 = time.monotonic()
        while not self.stopped.wait(0.1):
            busy, total = cpu_times()
            t = time.monotonic()
            util = (busy - busy0) / (total - total0) if total > total0 else 0.0
            for path, z in self.zones.items():
                (idle_w, slope_w), uj = z
                z[1] = uj + (idle_w + slope_w * util) * (t - t0) * 1e6
                with open(os.path.join(path, ".energy_uj.tmp"), "w") as f:
                    f.write(f"{int(z[1])}\n")
                os.replace(os.path.join(path, ".energy_uj.tmp"),
                           os.path.join(path, "energy_uj"))
            busy0, total0, t0 = busy, total, t

    def stop(self):
        self.stopped.set()
        self.join()


def platform_sum(m, family):
    return sum(v for (n, _), v in m.items() if n == family)


def check_conserved(m, what):
    node = value(m, "kepler_node_platform_active_joules_total")
    procs = platform_sum(m, "kepler_process_platform_joules_total")
    return check(node is not None and abs(procs - node) <= J_EPS * (1 + len(series(
        m, "kepler_process_platform_joules_total"))),
        f"{what}: processes' platform energy {procs:.6f} J = node's active {node} J")


def parts(m, family, **labels):
    """A series' energy of the platform's parts measured on their own (here: the package)."""
    return value(m, family, zone="package", **labels) or 0.0


mount = cgroup_root_or_skip()
root = copy_fixture("rapl-1socket")
base = os.path.join(root, "class", "powercap")
meter = LoadFollowingCounters({os.path.join(base, "intel-rapl:0"): (5.0, 20.0),
                               os.path.join(base, "intel-rapl:1"): (IDLE_W, SLOPE_W)})
meter.start()
cg = Cgroups(mount)
cid = uuid.uuid4().hex + uuid.uuid4().hex
burners = []
try:
    box = cg.make(f"kepler-platform-{os.getpid()}/docker-{cid}.scope")
    with Agent(f"--host.sysfs={root}", "--monitor.interval=1s") as agent:
        agent.wait_ready()
        scrapes = []
        # Changing load: none, a quarter, half, all of a CPU, two CPUs, back down.
        for duty, n in ((0.0, 0), (0.25, 1), (0.5, 1), (1.0, 1), (1.0, 2), (0.5, 1), (0.0, 0)):
            for b in burners:
                b.kill()
                b.wait()
            burners = [spawn_in(box, duty=duty) for _ in range(n)]
            end = time.monotonic() + 4
            while time.monotonic() < end:
                scrapes.append(agent.scrape())
                time.sleep(0.35)
        for b in burners:
            b.kill()
            b.wait()
        burners = []
        last = scrapes[-1]

        info = series(last, "kepler_node_info")
        check(any(("platform_power_source", "psys") in ls for ls in info),
              f"RAPL's psys is the platform meter without an ACPI one: {list(info)}")
        bad = [i for i, m in enumerate(scrapes) if not check_conserved(m, f"scrape {i}")]
        check(not bad, f"conserved at every one of {len(scrapes)} scrapes")
        # Counters never decrease; total = idle + active.
        for fam in ("kepler_node_platform_joules_total", "kepler_node_platform_active_joules_total",
                    "kepler_node_platform_idle_joules_total"):
            vals = [value(m, fam) for m in scrapes]
            check(all(b >= a for a, b in zip(vals, vals[1:])), f"{fam} never decreases")
        tot = value(last, "kepler_node_platform_joules_total")
        check(abs(tot - value(last, "kepler_node_platform_idle_joules_total") -
                  value(last, "kepler_node_platform_active_joules_total")) < 1e-5,
              "platform total = idle + active")
        # The container's platform energy is its processes'.
        c = value(last, "kepler_container_platform_joules_total", container_id=cid)
        in_c = sum(v for (n, ls), v in last.items()
                   if n == "kepler_process_platform_joules_total" and ("container_id", cid) in ls)
        check(c is not None and c > 0 and abs(c - in_c) < J_EPS * 50,
              f"container's platform energy {c} J = its processes' {in_c:.6f} J")
        check(c is not None and c >= parts(last, "kepler_container_cpu_joules_total",
                                           container_id=cid) * 0.5,
              "the container's platform energy is of the size of its CPU energy or more")

        # The rule, over single intervals (consecutive scrapes one interval apart), for the
        # processes' own series: an "other" also takes series that end, whole.
        checked = agreed = 0
        wrong = []
        for a, b in zip(scrapes, scrapes[1:]):
            if value(b, "kepler_exporter_intervals_total") - \
                    value(a, "kepler_exporter_intervals_total") != 1:
                continue
            d_plat = value(b, "kepler_node_platform_active_joules_total") - \
                value(a, "kepler_node_platform_active_joules_total")
            d_parts = value(b, "kepler_node_cpu_active_joules_total", zone="package") - \
                value(a, "kepler_node_cpu_active_joules_total", zone="package")
            if d_parts <= 1e-3:
                continue
            ratio = d_plat / d_parts
            for (n, ls), v in b.items():
                lab = dict(ls)
                if n != "kepler_process_platform_joules_total" or (n, ls) not in a or \
                        lab["comm"] == "other":
                    continue
                dq = parts(b, "kepler_process_cpu_joules_total", **lab) - \
                    parts(a, "kepler_process_cpu_joules_total", **lab)
                if dq < 1e-3:
                    continue
                dp = v - a[(n, ls)]
                checked += 1
                agreed += ratio >= 1
                if abs(dp - dq * ratio) > 1e-4 + 1e-3 * dp or (ratio >= 1 and dp < dq - 1e-5):
                    wrong.append(f"{lab['comm']}/{lab['pid']}: {dp:.6f} J, parts {dq:.6f} J "
                                 f"x {ratio:.4f}")
        check(checked >= 5 and agreed >= 1 and not wrong,
              f"each process's platform energy is its parts' x platform / parts over "
              f"{checked} process intervals ({agreed} with meters agreeing): {wrong[:3]}")

        idle = value(last, "kepler_node_platform_idle_estimate_watts", method="learned")
        check(idle is not None and abs(idle - IDLE_W) < 10,
              f"platform idle learned from the load-following meter: {idle} W ~ {IDLE_W} W")

        coef = {dict(ls)["term"]: v for ls, v in
                series(last, "kepler_node_platform_model_coefficient").items()
                if ("method", "fitted") in ls}
        check(set(coef) == {"intercept", "cpu", "gpu", "utilization"}, f"fitted model: {coef}")
        pred = meas = 0.0
        for m in scrapes[len(scrapes) // 2:]:
            pred += (coef.get("intercept", 0) + coef.get("cpu", 0) *
                     value(m, "kepler_node_cpu_watts", zone="package") +
                     coef.get("utilization", 0) * value(m, "kepler_node_cpu_usage_ratio"))
            meas += value(m, "kepler_node_platform_watts")
        check(abs(pred - meas) / meas < 0.03,
              f"the fitted model predicts the meter: {pred:.1f} W vs {meas:.1f} W, summed")
        # The meter's law where the fit saw data: between the utilisations it met (a busy
        # machine's span can be narrow, and a line is no better than its span).
        utils = sorted(value(m, "kepler_node_cpu_usage_ratio") for m in scrapes)
        lo, hi = utils[len(utils) // 10], utils[len(utils) * 9 // 10]
        law = [(u, coef.get("intercept", 0) + coef.get("cpu", 0) * (5 + 20 * u) +
                coef.get("utilization", 0) * u, IDLE_W + SLOPE_W * u) for u in (lo, hi)]
        check(all(abs(got - want) < 0.05 * want for _, got, want in law),
              "the fit finds the meter's law where it saw data: " +
              ", ".join(f"{got:.1f} W at {u:.2f} (want {want:.1f})" for u, got, want in law))
        check(value(last, "kepler_node_platform_model_samples") >= 10, "the fit counts samples")
        promtool_check(agent.scrape_text()[2], "a scrape with the platform families")
finally:
    for b in burners:
        b.kill()
        b.wait()
    meter.stop()
    cg.cleanup()

# No platform meter: the configured model, on the estimator's package power.
config = """
power:
  platform:
    model: {intercept: 50, cpu: 2, gpu: 1, utilization: 10}
"""
with Agent(f"--host.sysfs={copy_fixture('empty')}", "--monitor.interval=1s", config=config) as agent:
    agent.wait_ready()
    time.sleep(3.2)
    ok = 0
    for _ in range(4):
        m = agent.scrape()
        w = value(m, "kepler_node_platform_watts", source="estimator")
        want = 50 + 2 * value(m, "kepler_node_cpu_watts", zone="package") + \
            10 * value(m, "kepler_node_cpu_usage_ratio")
        ok += check(w is not None and abs(w - want) < 1e-3,
                    f"estimated platform {w} W = 50 + 2 x package + 10 x utilisation = {want:.4f}")
        check_conserved(m, "estimated platform")
        time.sleep(1.0)
    info = series(m, "kepler_node_info")
    check(any(("platform_power_source", "estimator") in ls for ls in info),
          f"node info says the platform is estimated: {list(info)}")
    check(value(m, "kepler_node_platform_model_coefficient", term="intercept",
                method="configured") == 50, "the configured coefficients are exported")

with Agent(f"--host.sysfs={copy_fixture('empty')}", "--monitor.interval=1s",
           config="power: {platform: {estimate: false}}") as agent:
    agent.wait_ready()
    time.sleep(2.2)
    m = agent.scrape()
    check(not [k for k in m if "platform" in k[0] and k[0] != "kepler_node_info"],
          "power.platform.estimate false: no platform families")

finish()
