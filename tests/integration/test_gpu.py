#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""GPUs end to end, through the stand-in libnvidia-ml.so.1 the suite builds (loaded
by the agent's own dlopen path, driven by a script file this test writes): two
GPUs whose energy counters grow at a scripted power, three real processes (one on
both GPUs, one in a container) with scripted SM shares. The node's GPU energy is
the scripted energy, active + idle = total, the processes (their "other" series
included) sum to each GPU's active energy, shares follow the script, the container
equals its process; a GPU lost mid-run stops growing while the other goes on and
no counter decreases; no energy counter: power integrated; an old driver; no
library at all: no GPU family and one log line. With each activity source."""

import os
import subprocess
import sys
import tempfile
import time
import uuid

from kepler_test import Agent, Cgroups, check, finish, parse, series, spawn_in, value

FAKE = os.environ.get("FAKE_NVML", "build/tests/fake-nvml/libnvidia-ml.so.1")
FAKE_OLD = os.environ.get("FAKE_NVML_OLD", "build/tests/fake-nvml/old/libnvidia-ml.so.1")
IDLE_W = 40.0
POWER_W = (200.0, 100.0)
SM = {("a", 0): 60, ("b", 0): 20, ("b", 1): 30, ("c", 1): 30}


class Script:
    """The fake's script file, replaced atomically so that the agent never reads half."""

    def __init__(self):
        fd, self.path = tempfile.mkstemp(prefix="fake-nvml-")
        os.close(fd)
        self.since = time.clock_gettime_ns(time.CLOCK_MONOTONIC)

    def write(self, pids, lost=(), extra="", energy=""):
        lines = [extra]
        for g, w in enumerate(POWER_W):
            lines.append(f"gpu uuid=GPU-{g}{g}{g}{g} name=\"Fake H100\" pci=00000000:3{g}:00.0 "
                         f"energy_mj=1000 since_ns={self.since} power_mw={int(w * 1000)} "
                         f"util=50 lost={int(g in lost)} {energy}")
        for (who, g), sm in SM.items():
            lines.append(f"proc gpu={g} pid={pids[who]} sm={sm}")
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, self.path)


def sleeper():
    """A process that wakes every 20 ms, so that every activity source tracks it."""
    return subprocess.Popen([sys.executable, "-c",
                             "import time\nwhile True: time.sleep(0.02)"])


def by_gpu(metrics, name, gpu):
    return {ls: v for ls, v in series(metrics, name).items() if ("gpu", str(gpu)) in ls}


def pid_of(labels):
    return dict(labels).get("pid", "")


def agent_args(source, lib=FAKE):
    return [f"--activity.source={source}", "--monitor.interval=500ms",
            "--power.gpu.source=nvml", f"--power.gpu.nvml.library={lib}"]



def config(max_processes):
    return (f"power: {{gpu: {{idleWatts: {IDLE_W}}}}}\n"
            f"exporter: {{prometheus: {{maxProcesses: {max_processes}}}}}\n")


CONFIG = config(100000)

cg = Cgroups()
procs = []
try:
    container_id = uuid.uuid4().hex + uuid.uuid4().hex
    c_dir = cg.make(f"kepler-gpu-{container_id[:8]}.slice/docker-{container_id}.scope")
    a, b = sleeper(), sleeper()
    c = spawn_in(c_dir, duty=0.02)
    procs += [a, b, c]
    pids = {"a": a.pid, "b": b.pid, "c": c.pid}
    deadline = time.monotonic() + 10
    while container_id not in open(f"/proc/{c.pid}/cgroup").read() and \
            time.monotonic() < deadline:
        time.sleep(0.01)
    check(container_id in open(f"/proc/{c.pid}/cgroup").read(),
          "the container's process is in its cgroup before the agent starts")
    script = Script()
    script.write(pids)
    env = {"FAKE_NVML_SCRIPT": script.path}

    # procfs with maxProcesses 1: the GPU processes fold into their "other" series.
    for source, max_processes in (("ebpf", 100000), ("procfs", 1)):
        print(f"-- activity.source={source}, maxProcesses {max_processes}")
        with Agent(*agent_args(source), config=config(max_processes), env=env) as agent:
            agent.wait_ready()
            time.sleep(3.2)
            m = parse(agent.scrape_text()[2])
            info = series(m, "kepler_node_gpu_info")
            check(len(info) == 2 and all(("energy_source", "energy_counter") in ls and
                                         ("usage_source", "sm_utilization") in ls
                                         for ls in info),
                  f"two GPUs, energy counters, SM samples: {sorted(map(sorted, info))}")
            for g, w in enumerate(POWER_W):
                watts = value(m, "kepler_node_gpu_watts", gpu=str(g))
                check(watts is not None and abs(watts - w) <= 0.01 * w,
                      f"GPU {g}: {watts} W, the scripted {w} W (1 %)")
                total = value(m, "kepler_node_gpu_joules_total", gpu=str(g))
                idle = value(m, "kepler_node_gpu_idle_joules_total", gpu=str(g))
                active = value(m, "kepler_node_gpu_active_joules_total", gpu=str(g))
                check(abs(idle + active - total) < 1e-5,
                      f"GPU {g}: idle {idle:.6f} + active {active:.6f} = total {total:.6f}")
                check(abs(value(m, "kepler_node_gpu_idle_watts", gpu=str(g)) - IDLE_W) < 0.01,
                      f"GPU {g}: idle power is the configured {IDLE_W} W")
                procs_j = by_gpu(m, "kepler_process_gpu_joules_total", g)
                check(abs(sum(procs_j.values()) - active) < 1e-5,
                      f"GPU {g}: the process series sum to its active energy "
                      f"({sum(procs_j.values()):.6f} J vs {active:.6f} J)")
                users = {who for (who, gg) in SM if gg == g}
                got = {who: sum(v for ls, v in procs_j.items()
                                if pid_of(ls) == str(pids[who])) for who in users}
                if max_processes > 1:
                    want = {who: SM[(who, g)] / sum(SM[(u, g)] for u in users) for who in users}
                    for who in users:
                        share = got[who] / sum(got.values())
                        check(abs(share - want[who]) <= 0.01,
                              f"GPU {g}: process {who} has {share:.4f} of it, the "
                              f"scripted {want[who]:.4f}")
                for (who, gg), sm in SM.items():
                    u = value(m, "kepler_process_gpu_compute_utilization", gpu=str(gg),
                              pid=str(pids[who]))
                    if gg == g and u is not None:
                        check(abs(u - sm / 100) < 1e-9,
                              f"GPU {g}: process {who} utilisation {u}, scripted {sm} %")
            # Who used no GPU got none: the agent itself, for one.
            me = [ls for ls in series(m, "kepler_process_gpu_joules_total")
                  if pid_of(ls) == str(agent.proc.pid)]
            check(not me, "a process that used no GPU has no GPU series")
            cont = value(m, "kepler_container_gpu_joules_total", container_id=container_id,
                         gpu="1")
            mine = {ls: v for ls, v in by_gpu(m, "kepler_process_gpu_joules_total", 1).items()
                    if ("container_id", container_id) in ls}
            check(cont is not None and cont > 0 and abs(cont - sum(mine.values())) < 1e-5,
                  f"the container's GPU energy {cont} is its series' {sum(mine.values()):.6f}")
            if max_processes == 1:
                all_j = series(m, "kepler_process_gpu_joules_total")
                own = {pid_of(ls) for ls in all_j if pid_of(ls)}
                check(len(own) <= 1 and any(("comm", "other") in ls for ls in all_j),
                      f"beyond maxProcesses GPU energy is in \"other\" series (own: {own})")
            if source == "procfs":
                continue

            # GPU 1 is lost: it stops growing, GPU 0 goes on, nothing decreases.
            before = m
            script.write(pids, lost=(1,))
            time.sleep(2.5)
            m = parse(agent.scrape_text()[2])
            time.sleep(1.2)
            m2 = parse(agent.scrape_text()[2])
            for name in ("kepler_node_gpu_joules_total", "kepler_process_gpu_joules_total",
                         "kepler_container_gpu_joules_total"):
                dec = [ls for ls, v in series(before, name).items()
                       if series(m2, name).get(ls, 0) < v]
                check(not dec, f"{name}: no series decreased after the loss")
            lost = [value(x, "kepler_node_gpu_joules_total", gpu="1") for x in (m, m2)]
            kept = [value(x, "kepler_node_gpu_joules_total", gpu="0") for x in (m, m2)]
            check(lost[0] == lost[1], f"the lost GPU stops growing: {lost}")
            check(kept[1] - kept[0] > 100, f"the other GPU goes on: {kept}")
            check(value(m2, "kepler_exporter_meter_read_errors_total", zone="gpu1") >= 1,
                  "the loss counts in kepler_exporter_meter_read_errors_total")
            script.write(pids)
            lost_lines = [ln for ln in agent.output().splitlines() if "lost" in ln]
            check(len(lost_lines) == 1, f"the loss is logged, once: {lost_lines}")

    print("-- no energy counter: power integrated")
    script.write(pids, energy="energy=unsupported")
    with Agent(*agent_args("ebpf"), config=CONFIG, env=env) as agent:
        agent.wait_ready()
        time.sleep(2.7)
        m = parse(agent.scrape_text()[2])
        check(value(m, "kepler_node_gpu_info", gpu="0", energy_source="power") == 1,
              "energy_source=\"power\" without an energy counter")
        w = value(m, "kepler_node_gpu_watts", gpu="0")
        check(w is not None and abs(w - POWER_W[0]) <= 0.01 * POWER_W[0],
              f"integrated power {w} W, the scripted {POWER_W[0]} W")

    print("-- an old driver: no energy counter, no samples")
    script.write(pids)
    with Agent(*agent_args("ebpf", FAKE_OLD), config=CONFIG, env=env) as agent:
        agent.wait_ready()
        time.sleep(2.7)
        m = parse(agent.scrape_text()[2])
        check(value(m, "kepler_node_gpu_info", gpu="1", energy_source="power",
                    usage_source="processes") == 1, "old driver: power and an even split")
        procs_j = by_gpu(m, "kepler_process_gpu_joules_total", 1)
        active = value(m, "kepler_node_gpu_active_joules_total", gpu="1")
        check(abs(sum(procs_j.values()) - active) < 1e-5,
              "old driver: the processes still sum to the GPU's active energy")

    print("-- no NVML library")
    with Agent(*agent_args("ebpf", "/nonexistent/libnvidia-ml.so.1"), env=env) as agent:
        agent.wait_ready()
        time.sleep(1.2)
        text = agent.scrape_text()[2]
        check("_gpu_" not in text.replace("stage=\"gpu\"", ""),
              "no GPU family without the library")
        lines = [ln for ln in agent.output().splitlines() if "gpu:" in ln]
        check(len(lines) == 1 and "libnvidia-ml" in lines[0],
              f"one log line says why: {lines}")
finally:
    for p in procs:
        p.kill()
        p.wait()
    cg.cleanup()
finish()
