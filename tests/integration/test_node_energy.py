#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Node energy through the normal code path on fixture sysfs trees whose counters
advance in real time at a known power, including a wrap: the exported rate must
match within 2 % and no counter may ever decrease."""

import os
import time

from kepler_test import (Agent, CounterWriter, FIXTURES, check, copy_fixture, finish, series,
                         value)

INTERVAL = 1.0


def monotonic_counters(scrapes):
    """Every *_total series never decreases from one scrape to the next."""
    bad = []
    for prev, cur in zip(scrapes, scrapes[1:]):
        for key, v in cur.items():
            if key[0].endswith("_total") and key in prev and v < prev[key]:
                bad.append((key, prev[key], v))
    return bad


def rate(first, last, name, **labels):
    """Joules per second between two scrapes, timed by the agent's own interval count."""
    dj = value(last, name, **labels) - value(first, name, **labels)
    n = (value(last, "kepler_exporter_intervals_total") -
         value(first, "kepler_exporter_intervals_total"))
    return dj / (n * INTERVAL) if n else float("nan")


# Two sockets: package, core, dram per socket, plus psys, at known watts.
root = copy_fixture("rapl-2socket")
base = os.path.join(root, "class", "powercap")
watts = {
    "intel-rapl:0": 40.0, "intel-rapl:1": 30.0,          # package: 70 W together
    "intel-rapl:0/intel-rapl:0:0": 25.0, "intel-rapl:1/intel-rapl:1:0": 15.0,  # core: 40 W
    "intel-rapl:0/intel-rapl:0:1": 6.0, "intel-rapl:1/intel-rapl:1:1": 4.0,    # dram: 10 W
}
zones = {}
for rel, w in watts.items():
    path = os.path.join(base, rel)
    if not os.path.exists(os.path.join(path, "energy_uj")):
        path = os.path.join(base, rel.split("/")[-1])
    zones[path] = w
# Start socket 0's package counter 2.5 s below its wrap point.
pkg0 = os.path.join(base, "intel-rapl:0")
with open(os.path.join(pkg0, "max_energy_range_uj")) as f:
    max_range = int(f.read())
with open(os.path.join(pkg0, "energy_uj"), "w") as f:
    f.write(str(max_range - 100_000_000))

writer = CounterWriter(zones)
writer.start()
with Agent(f"--host.sysfs={root}", "--monitor.interval=1s", "--activity.source=procfs",
           "--power.source=auto") as agent:
    agent.wait_ready()
    time.sleep(1.5)
    scrapes = []
    for _ in range(8):
        scrapes.append(agent.scrape())
        time.sleep(1.0)
    writer.stop()
    first, last = scrapes[0], scrapes[-1]
    info = series(last, "kepler_node_info")
    check(any(("cpu_power_source", "rapl") in ls for ls in info),
          f"node info says rapl: {list(info)}")
    check(writer.wraps >= 1, f"the package counter wrapped ({writer.wraps} wraps)")
    for zone, want in (("package", 70.0), ("core", 40.0), ("dram", 10.0)):
        got = rate(first, last, "kepler_node_cpu_joules_total", zone=zone)
        check(abs(got - want) / want < 0.02, f"{zone}: exported rate {got:.3f} W, want {want} W")
        gauge = value(last, "kepler_node_cpu_watts", zone=zone)
        check(abs(gauge - want) / want < 0.02, f"{zone}: watts gauge {gauge:.3f} W")
        tot = value(last, "kepler_node_cpu_joules_total", zone=zone)
        parts = (value(last, "kepler_node_cpu_idle_joules_total", zone=zone) +
                 value(last, "kepler_node_cpu_active_joules_total", zone=zone))
        check(abs(tot - parts) < 1e-6, f"{zone}: total = idle + active ({tot:.6f})")
    check(value(last, "kepler_node_cpu_joules_total", zone="psys") is not None,
          "psys is reported")
    check(value(last, "kepler_node_cpu_idle_estimate_watts", zone="package", method="learned")
          is not None, "a measured zone's idle power is learned")
    bad = monotonic_counters(scrapes)
    check(not bad, f"no counter decreased ({bad[:3]})")
    errs = value(last, "kepler_exporter_meter_read_errors_total", zone="package")
    check(errs == 0, f"no read errors ({errs})")

# A zone that vanishes is an error metric, never zero energy; it resumes when it returns.
root = copy_fixture("rapl-1socket")
pkg = os.path.join(root, "class", "powercap", "intel-rapl:0")
writer = CounterWriter({pkg: 20.0})
writer.start()
with Agent(f"--host.sysfs={root}", "--monitor.interval=1s", "--activity.source=procfs") as agent:
    agent.wait_ready()
    time.sleep(2.2)
    before = agent.scrape()
    writer.stop()
    os.rename(os.path.join(pkg, "energy_uj"), os.path.join(pkg, "energy_uj.gone"))
    time.sleep(2.0)
    during = agent.scrape()
    os.rename(os.path.join(pkg, "energy_uj.gone"), os.path.join(pkg, "energy_uj"))
    writer = CounterWriter({pkg: 20.0})
    writer.start()
    time.sleep(3.0)
    after = agent.scrape()
    writer.stop()
    e = [value(s, "kepler_node_cpu_joules_total", zone="package") for s in (before, during, after)]
    errs = value(during, "kepler_exporter_meter_read_errors_total", zone="package")
    check(errs and errs >= 1, f"vanished zone counted as read errors ({errs})")
    check(e[0] <= e[1] <= e[2] and e[2] > e[1], f"package energy never decreases: {e}")

# The ACPI power meter gives platform power; CPU falls back to the estimator.
root = copy_fixture("hwmon-power-meter")
with Agent(f"--host.sysfs={root}", "--monitor.interval=1s", "--activity.source=procfs") as agent:
    agent.wait_ready()
    time.sleep(2.5)
    m = agent.scrape()
    info = series(m, "kepler_node_info")
    check(any(("platform_power_source", "acpi") in ls for ls in info),
          f"platform source acpi: {list(info)}")
    check(any(("cpu_power_source", "estimator") in ls for ls in info),
          "cpu source is the estimator")
    check(value(m, "kepler_node_cpu_idle_estimate_watts", zone="package", method="model")
          is not None, "the estimator's idle power is its model's own")
    w = value(m, "kepler_node_platform_watts", source="acpi")
    with open(os.path.join(root, "class", "hwmon", "hwmon0", "power1_average")) as f:
        want = int(f.read()) / 1e6
    check(w is not None and abs(w - want) / want < 0.02, f"platform watts {w} ~ {want}")

finish()
