#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Workloads end to end: processes placed in real cgroup v2 directories that
reproduce kubepods layouts, pod metadata from a test kubelet over real HTTP,
and the attribution contract on a powercap fixture whose counter advances at
idle + k x (busy CPU fraction): shares follow CPU time, every level adds up,
exited work keeps its energy, and a misbehaving kubelet stops nothing."""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from kepler_test import Agent, Cgroups, cgroup_root_or_skip, check, copy_fixture, finish, \
    series, spawn_in, value
from kubelet_server import KubeletServer

MOUNT = cgroup_root_or_skip()

CLK_TCK = os.sysconf("SC_CLK_TCK")
IDLE_W, K_W = 8.0, 40.0


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class BusyWriter(threading.Thread):
    """Advances package energy at IDLE_W + K_W x (node busy CPU fraction), read from
    /proc/stat, so that the node's active energy follows what processes really ran."""

    def __init__(self, zone_dir):
        super().__init__(daemon=True)
        self.path = os.path.join(zone_dir, "energy_uj")
        with open(self.path) as f:
            self.uj = int(f.read())
        with open(os.path.join(zone_dir, "max_energy_range_uj")) as f:
            self.max = int(f.read())
        self.stopped = threading.Event()

    @staticmethod
    def times():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + v[4]
        return sum(v[:8]) - idle, idle

    def run(self):
        busy0, idle0 = self.times()
        t0 = time.monotonic()
        while not self.stopped.wait(0.02):
            busy1, idle1 = self.times()
            t1 = time.monotonic()
            d = (busy1 - busy0) + (idle1 - idle0)
            frac = (busy1 - busy0) / d if d else 0.0
            self.uj = (self.uj + int((IDLE_W + K_W * frac) * (t1 - t0) * 1e6)) % (self.max + 1)
            tmp = self.path + ".tmp"
            with open(tmp, "w") as f:
                f.write(f"{self.uj}\n")
            os.replace(tmp, self.path)
            busy0, idle0, t0 = busy1, idle1, t1

    def stop(self):
        self.stopped.set()
        self.join()


def spawn_late(cgroup_dir, after):
    """A process as a container runtime starts one: it runs where it was born for `after`
    seconds, then moves itself into cgroup_dir and execs the workload (half busy)."""
    work = "import time\nwhile True:\n    t = time.monotonic()\n" \
           "    while time.monotonic() - t < 0.005: pass\n    time.sleep(0.005)\n"
    code = (
        "import os, sys, time\n"
        f"end = time.monotonic() + {after}\n"
        "while time.monotonic() < end: pass\n"
        f"open({os.path.join(cgroup_dir, 'cgroup.procs')!r}, 'w').write(str(os.getpid()))\n"
        f"os.execv(sys.executable, [sys.executable, '-c', {work!r}])\n"
    )
    return subprocess.Popen([sys.executable, "-c", code])


tag = uuid.uuid4().hex[:8]
pod_uid = str(uuid.uuid4())
ids = [uuid.uuid4().hex + uuid.uuid4().hex for _ in range(3)]
be_pod = str(uuid.uuid4())
cg = Cgroups()
procs = []
writer = None
kubelet = None
try:
    pod_slice = (f"kepler{tag}.slice/kubepods.slice/kubepods-burstable.slice/"
                 f"kubepods-burstable-pod{pod_uid.replace('-', '_')}.slice")
    c_busy = cg.make(f"{pod_slice}/cri-containerd-{ids[0]}.scope")
    c_half = cg.make(f"{pod_slice}/cri-containerd-{ids[1]}.scope")
    c_crio = cg.make(f"kepler{tag}/kubepods/besteffort/pod{be_pod}/crio-{ids[2]}")

    pods = {"kind": "PodList", "apiVersion": "v1", "items": [{
        "metadata": {"name": "web-7d4b9", "namespace": "shop", "uid": pod_uid},
        "status": {"containerStatuses": [
            {"name": "app", "containerID": f"containerd://{ids[0]}"},
            {"name": "sidecar", "containerID": f"containerd://{ids[1]}"},
        ]},
    }]}
    fd, pods_file = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(pods, f)
    kubelet = KubeletServer(pods_file)
    kubelet.start()

    root = copy_fixture("rapl-1socket")
    writer = BusyWriter(os.path.join(root, "class", "powercap", "intel-rapl:0"))
    writer.start()
    config = ("monitor: {interval: 1s}\n"
              f"power: {{idle: {{package: {IDLE_W}}}}}\n"
              "exporter: {prometheus: {maxProcesses: 100000}}\n")

    busy = spawn_in(c_busy, duty=1.0)
    half = spawn_in(c_half, duty=0.5)
    crio = spawn_in(c_crio, duty=0.25)
    short = spawn_in(c_busy, duty=1.0, seconds=1.5)
    procs += [busy, half, crio, short]
    threading.Thread(target=short.wait, daemon=True).start()  # reaped, as a parent would
    # Placed before the agent starts; spawn_late below covers a process seen before.
    for p, d in ((busy, c_busy), (half, c_half), (crio, c_crio), (short, c_busy)):
        rel = "0::/" + os.path.relpath(d, MOUNT)
        for _ in range(500):
            with open(f"/proc/{p.pid}/cgroup") as f:
                if rel in f.read():
                    break
            time.sleep(0.01)

    with Agent(f"--host.sysfs={root}", "--kube.enable", f"--kube.kubelet-url={kubelet.url}",
               config=config) as agent:
        agent.wait_ready()
        time.sleep(2.5)

        def at_interval():
            """The kernel's CPU times read right after an interval, and that interval's
            scrape: both describe the same instant within a few milliseconds."""
            n = value(agent.scrape(), "kepler_exporter_intervals_total")
            while True:
                cpu = {p.pid: proc_cpu_seconds(p.pid) for p in (busy, half)}
                m = agent.scrape()
                if value(m, "kepler_exporter_intervals_total") > n:
                    return cpu, m
                time.sleep(0.005)

        # The process that exited mid-run keeps its energy, marked terminated, until scraped.
        short.wait()
        for _ in range(100):
            sl = {dict(k)["state"]: v
                  for k, v in series(agent.scrape(), "kepler_process_cpu_joules_total").items()
                  if ("pid", str(short.pid)) in k and ("zone", "package") in k}
            if "running" not in sl:
                break
            time.sleep(0.05)
        check(sl.get("terminated", 0) > 0, f"exited process keeps its energy: {sl}")

        cpu0, m0 = at_interval()
        time.sleep(8)
        cpu1, m1 = at_interval()

        def proc_joules(m, pid):
            return value(m, "kepler_process_cpu_joules_total", pid=str(pid), zone="package")

        # Identity from real cgroups.
        for p, cid, runtime, pod in ((busy, ids[0], "containerd", pod_uid),
                                     (half, ids[1], "containerd", pod_uid),
                                     (crio, ids[2], "cri-o", be_pod)):
            got = value(m1, "kepler_container_cpu_joules_total", container_id=cid,
                        zone="package")
            check(got is not None and got > 0, f"container {cid[:12]} ({runtime}) has energy")
            ls = [dict(k) for k in series(m1, "kepler_container_cpu_joules_total")
                  if ("container_id", cid) in k]
            check(ls and ls[0]["runtime"] == runtime and ls[0]["pod_id"] == pod,
                  f"container {cid[:12]}: runtime {runtime}, pod {pod}: {ls[:1]}")
            pl = [dict(k) for k in series(m1, "kepler_process_cpu_joules_total")
                  if ("pid", str(p.pid)) in k]
            check(pl and pl[0]["container_id"] == cid and pl[0]["type"] == "container",
                  f"process {p.pid} is in container {cid[:12]}")

        # A process first seen outside any container, then moved into one and exec'd (as
        # runc does), is resolved again: it and its new container get their energy.
        late_id = uuid.uuid4().hex * 2
        late = spawn_late(cg.make(f"{pod_slice}/cri-containerd-{late_id}.scope"), after=3)
        procs.append(late)
        kinds = set()
        for _ in range(200):
            kinds |= {dict(k)["type"] for k in series(agent.scrape(),
                                                      "kepler_process_cpu_joules_total")
                      if ("pid", str(late.pid)) in k}
            if "container" in kinds:
                break
            time.sleep(0.05)
        m_late = agent.scrape()
        got = value(m_late, "kepler_container_cpu_joules_total", container_id=late_id,
                    zone="package")
        check(kinds >= {"regular", "container"} and got is not None and got > 0,
              f"seen as {sorted(kinds)} before and after its move and exec; "
              f"its container has {got} J")
        late.kill()
        late.wait()

        # Names from the kubelet.
        ls = [dict(k) for k in series(m1, "kepler_container_cpu_joules_total")
              if ("container_id", ids[0]) in k]
        check(ls and ls[0]["container_name"] == "app", f"container_name from kubelet: {ls[:1]}")
        pl = [dict(k) for k in series(m1, "kepler_pod_cpu_joules_total") if ("pod_id", pod_uid) in k]
        check(pl and pl[0]["pod_name"] == "web-7d4b9" and pl[0]["pod_namespace"] == "shop",
              f"pod name and namespace from kubelet: {pl[:1]}")

        # Shares follow CPU time: the energy ratio matches the kernel's CPU ratio.
        e_ratio = ((proc_joules(m1, busy.pid) - proc_joules(m0, busy.pid)) /
                   (proc_joules(m1, half.pid) - proc_joules(m0, half.pid)))
        c_ratio = (cpu1[busy.pid] - cpu0[busy.pid]) / (cpu1[half.pid] - cpu0[half.pid])
        check(abs(e_ratio / c_ratio - 1) < 0.03,
              f"energy ratio {e_ratio:.3f} matches CPU ratio {c_ratio:.3f} within 3 %")

        check(value(m1, "kepler_node_cpu_idle_estimate_watts", zone="package",
                    method="configured") == IDLE_W, "the configured idle power is exported as such")

        # Every level adds up: the interval's watts sum exactly, cumulative sums too.
        node_active = value(m1, "kepler_node_cpu_active_watts", zone="package")
        procs_sum = sum(v for k, v in series(m1, "kepler_process_cpu_watts").items()
                        if ("zone", "package") in k)
        check(node_active > 0 and abs(procs_sum - node_active) <= node_active * 0.001,
              f"sum over processes {procs_sum:.6f} W = node active {node_active:.6f} W")
        # The exited process's energy is in its container's comm="other" series now.
        for cid in ids[:2]:
            c = value(m1, "kepler_container_cpu_joules_total", container_id=cid, zone="package")
            s = sum(v for k, v in series(m1, "kepler_process_cpu_joules_total").items()
                    if ("container_id", cid) in k and ("zone", "package") in k)
            check(abs(c - s) < 1e-5,
                  f"container {cid[:12]} = sum of its process series, the exited one too "
                  f"({c:.6f} J, series {s:.6f} J)")
        pod = value(m1, "kepler_pod_cpu_joules_total", pod_id=pod_uid, zone="package")
        cs = sum(value(m1, "kepler_container_cpu_joules_total", container_id=cid, zone="package")
                 for cid in ids[:2])
        check(abs(pod - cs) < 1e-5, f"pod = sum of its containers ({pod:.6f} J)")

        check(not [k for k in series(m1, "kepler_process_cpu_joules_total")
                   if ("pid", str(short.pid)) in k],
              "and is dropped once a scrape has seen it")

        # Kubelet faults stop nothing: the intervals go on, scrapes answer, errors are counted
        # (a new container id makes the agent ask the kubelet again, at most every 5 s).
        # Two burners have done their part; without them the CPUs are free again.
        for p in (busy, crio):
            p.kill()
            p.wait()
        for mode in ("down", "500", "malformed", "huge", "hang"):
            kubelet.set_mode(mode)
            before = agent.scrape()
            extra = spawn_in(cg.make(f"{pod_slice}/cri-containerd-{uuid.uuid4().hex * 2}.scope"),
                             duty=0.02)
            procs.append(extra)
            time.sleep(12 if mode == "hang" else 6)  # a hang fails only at the 5 s timeout
            t = time.monotonic()
            after = agent.scrape()
            took = time.monotonic() - t
            n0 = value(before, "kepler_exporter_intervals_total")
            n1 = value(after, "kepler_exporter_intervals_total")
            e0 = value(before, "kepler_exporter_kubelet_errors_total")
            e1 = value(after, "kepler_exporter_kubelet_errors_total")
            check(n1 >= n0 + 4 and took < 1.0 and e1 > e0,
                  f"kubelet {mode}: intervals {n0:.0f} -> {n1:.0f}, scrape {took * 1000:.0f} ms, "
                  f"errors {e0:.0f} -> {e1:.0f}")
            ls = [dict(k) for k in series(after, "kepler_container_cpu_joules_total")
                  if ("container_id", ids[1]) in k]
            check(ls and ls[0]["container_name"] == "sidecar", f"kubelet {mode}: names are kept")
        kubelet.set_mode("ok")

finally:
    for p in procs:
        p.kill()
        p.wait()
    if writer:
        writer.stop()
    if kubelet:
        kubelet.stop()
    time.sleep(0.1)
    cg.cleanup()

finish()
