#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""VM energy passthrough (docs/vms.md), host and guest, on this machine.

The host agent reads a fixture powercap tree whose counters advance at known
watts and sees two qemu-like processes (argv[0] qemu-system-x86_64, -uuid,
-name guest=..., -smp) that burn CPU. With vm.passthrough.dir set it writes a
powercap tree per VM. A second agent, the guest, reads VM 1's tree through
power.passthrough.path with its own view of this machine's processes.

What it checks, over one window between two consistent samples (the files, the
host's /metrics and the guest's /metrics read while the host is between writes,
the guest having read the host's last write):

  - each VM's directory appears with its marker, vm_name, the zones the host has
    (package-0, dram, psys) and, where the agent made it, modes 0750/0640
  - each VM's counters grow by its kepler_vm_cpu_joules_total plus its share of
    kepler_node_cpu_idle_joules_total (1 vCPU over the host's CPUs), within 2 %
    (they match to the microjoule but for rounding), per zone: each directory
    carries its own VM's energy alone (the VMs burn 30 % and 10 % of a CPU, so
    the other VM's energy would be far off)
  - VM 1's package counter wraps at the declared max_energy_range_uj, never
    exceeds it and never decreases other than by wrapping
  - the sum of the VMs' active energy is at most the host's active energy
  - the guest says cpu_power_source="hypervisor", its kepler_node_cpu_joules_total
    grows by what VM 1's counters grew, within 2 %, and its processes (their
    series plus "other") share its active energy exactly
  - a guest whose power.passthrough.path does not exist does not start; one
    without the key reads the tree at the default path when it is mounted there
  - a VM's directory goes once its process has ended and the grace period passed,
    while the other VM's stays
"""

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

from kepler_test import (Agent, CounterWriter, check, copy_fixture, finish, free_port, parse,
                         series, value)

HOST_INTERVAL = 3.0
GUEST_INTERVAL = 0.5
# Longer than an interval: the directory is seen to stay for a while.
GRACE = 6.0
# Small, so that counters wrap within the test; more than twice what any zone
# uses in a host interval (at most 70 W, the package), so that a step of more
# than half the range can only be a counter going back.
MAX_RANGE = 800_000_000
ZONES = {"package": "intel-rapl:0", "dram": "intel-rapl:0:1", "psys": "intel-rapl:1"}
WINDOW = 30.0
DEFAULT_PATH = "/var/lib/kepler/host"


def fake_qemu(vm_uuid, name, smp, duty):
    """The argv of a guest as the agent sees one (run by python3): comm
    qemu-system-x86 (PR_SET_NAME), argv[0] a qemu system emulator, -name, -uuid and
    -smp; it burns duty of a CPU."""
    busy, idle = 0.02 * duty, 0.02 * (1 - duty)
    code = ("import ctypes, time\n"
            "ctypes.CDLL(None).prctl(15, b'qemu-system-x86', 0, 0, 0)\n"
            "while True:\n"
            "    t = time.monotonic()\n"
            f"    while time.monotonic() - t < {busy}: pass\n"
            f"    time.sleep({idle})\n")
    return ["qemu-system-x86_64", "-c", code, "-name", f"guest={name}", "-uuid", vm_uuid,
            "-smp", smp]


# pid 1 of the host's pid namespace: starts the VMs and the agent, reaps every
# process that ends, and ends with the agent.
LAUNCHER = """
import json, os, subprocess, sys
spec = json.loads(sys.argv[1])
for argv in spec["vms"]:
    subprocess.Popen(argv, executable=sys.executable)
agent = subprocess.Popen(spec["agent"])
while os.wait()[0] != agent.pid:
    pass
"""


class HostAgent(Agent):
    """The host agent in a pid namespace of its own (with its own /proc) holding
    the VMs: it sees these VMs alone, whatever qemu-like processes other tests run
    on this machine meanwhile (another VM would change the idle shares)."""

    def __init__(self, vms, *args, config):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        fd, self.config_path = tempfile.mkstemp(suffix=".yaml")
        with os.fdopen(fd, "w") as f:
            f.write(config)
        agent = [os.environ.get("KEPLER_BIN", "build/src/kepler"),
                 f"--web.listen-address=127.0.0.1:{self.port}",
                 f"--config.file={self.config_path}", *args]
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", sys.executable,
             "-c", LAUNCHER, json.dumps({"vms": vms, "agent": agent})],
            stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self, timeout=5):
        # unshare ignores SIGTERM; SIGKILL takes everything in the namespace (--kill-child).
        self.proc.kill()
        return self.proc.wait()


def pid_of(vm_uuid):
    """The pid (in this namespace) of the VM with this uuid."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv[0] == b"qemu-system-x86_64" and vm_uuid.encode() in argv:
            return int(pid)
    return None


def end_vm(vm_uuid):
    pid = pid_of(vm_uuid)
    if pid:
        os.kill(pid, signal.SIGKILL)
    return pid


def read_raw(vmdir, zone):
    with open(os.path.join(vmdir, "class", "powercap", ZONES[zone], "energy_uj")) as f:
        return int(f.read())


class Poller(threading.Thread):
    """Reads every VM counter every 20 ms (the host writes every 3 s, so it sees
    each value) and unwraps it: unwrapped[(vm, zone)] grows by each step modulo
    MAX_RANGE + 1. Records every decrease and any value above the range."""

    def __init__(self, vmdirs):
        super().__init__(daemon=True)
        self.vmdirs = vmdirs
        self.raw, self.unwrapped, self.first = {}, {}, {}
        self.wraps = {}
        self.bad = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(0.02):
            for vm, vmdir in self.vmdirs.items():
                for zone in ZONES:
                    try:
                        cur = read_raw(vmdir, zone)
                    except (OSError, ValueError):
                        continue
                    key = (vm, zone)
                    with self.lock:
                        if cur > MAX_RANGE:
                            self.bad.append((key, "above the range", cur))
                        prev = self.raw.get(key)
                        if prev is None:
                            self.unwrapped[key] = self.first[key] = cur
                        elif cur != prev:
                            step = (cur - prev) % (MAX_RANGE + 1)
                            if cur < prev:
                                self.wraps[key] = self.wraps.get(key, 0) + 1
                                # A wrap moves on by less than half the range; a
                                # decrease would look like a step of almost all of it.
                                if step > MAX_RANGE // 2:
                                    self.bad.append((key, "went back", prev, cur))
                            self.unwrapped[key] += step
                        self.raw[key] = cur

    def state(self):
        with self.lock:
            return dict(self.raw), dict(self.unwrapped)

    def stop(self):
        self.stopped.set()
        self.join()


def intervals(agent):
    return value(agent.scrape(), "kepler_exporter_intervals_total")


def sample(host, guest, poller, vmdirs, timeout=60):
    """Files, host and guest /metrics of one host interval: wait for a host write,
    then for two guest intervals that began after it (each reads the files), and
    read everything while the files stay the same."""
    deadline = time.monotonic() + timeout
    first = next(iter(vmdirs.values()))
    while time.monotonic() < deadline:
        before = read_raw(first, "package")
        while read_raw(first, "package") == before and time.monotonic() < deadline:
            time.sleep(0.02)
        written = time.monotonic()
        n0 = intervals(guest)
        while intervals(guest) < n0 + 2 and time.monotonic() < written + HOST_INTERVAL / 2:
            time.sleep(0.05)
        f1 = {(vm, z): read_raw(d, z) for vm, d in vmdirs.items() for z in ZONES}
        mh = host.scrape()
        mg = guest.scrape()
        f2 = {(vm, z): read_raw(d, z) for vm, d in vmdirs.items() for z in ZONES}
        time.sleep(0.1)  # the poller's next read
        raw, unwrapped = poller.state()
        if (value(mg, "kepler_exporter_intervals_total") >= n0 + 2 and f1 == f2 and
                all(raw.get(k) == v for k, v in f1.items())):
            return unwrapped, mh, mg
    raise RuntimeError("no consistent sample: the host writes too often or the guest is slow")


def vm_joules(m, vm, zone):
    """What the host attributes to the VM for a zone of its tree: psys is the VM's
    platform energy (docs/vms.md)."""
    if zone == "psys":
        return value(m, "kepler_vm_platform_joules_total", vm_id=vm) or 0.0
    return value(m, "kepler_vm_cpu_joules_total", vm_id=vm, zone=zone) or 0.0


def node_joules(m, kind, zone):
    """The host's idle or active energy behind a zone of the tree (psys: the platform)."""
    if zone == "psys":
        return value(m, f"kepler_node_platform_{kind}_joules_total")
    return value(m, f"kepler_node_cpu_{kind}_joules_total", zone=zone)


def close(got, want):
    return abs(got - want) <= 0.02 * abs(want) + 1e-3


if os.geteuid() != 0:
    print("skip: the host agent runs in a pid namespace of its own (unshare), which needs root")
    sys.exit(77)

root = copy_fixture("rapl-2socket")
powercap = os.path.join(root, "class", "powercap")
writer = CounterWriter({os.path.join(powercap, "intel-rapl:0"): 40.0,
                        os.path.join(powercap, "intel-rapl:1"): 30.0,
                        os.path.join(powercap, "intel-rapl:0:1"): 6.0,
                        os.path.join(powercap, "intel-rapl:1:1"): 4.0,
                        os.path.join(powercap, "intel-rapl:2"): 60.0})
writer.start()
top = tempfile.mkdtemp(prefix="kepler-vm-passthrough-")
vms_dir = os.path.join(top, "vms")
guest_sysfs = os.path.join(top, "guest-sys")  # the guest's own hardware: none
os.mkdir(guest_sysfs)
# Configured idle power: the idle shares are large and steady whatever the load.
config = ("power: {idle: {package: 20, dram: 2, platform: 25}}\n"
          "vm:\n"
          "  passthrough:\n"
          f"    dir: {vms_dir}\n"
          f"    gracePeriod: {GRACE}s\n"
          f"    maxEnergyRangeUJ: {MAX_RANGE}\n")
vm1, vm2 = str(uuid.uuid4()), str(uuid.uuid4())
qemus = {vm1: fake_qemu(vm1, "guest-one", "1", 0.3),
         vm2: fake_qemu(vm2, "guest-two", "cpus=1,sockets=1", 0.1)}
vmdirs = {vm: os.path.join(vms_dir, vm) for vm in qemus}
# VM 1's tree as an earlier run left it, its package counter 50 J below the wrap:
# the agent carries on from it, and it wraps within seconds.
os.makedirs(os.path.join(vmdirs[vm1], "class", "powercap", ZONES["package"]))
with open(os.path.join(vmdirs[vm1], "kepler-vm"), "w") as f:
    f.write("kepler: an earlier run\n")
with open(os.path.join(vmdirs[vm1], "class", "powercap", ZONES["package"], "energy_uj"),
          "w") as f:
    f.write(f"{MAX_RANGE - 50_000_000}\n")
poller = Poller(vmdirs)
poller.start()
host_cpus = os.cpu_count()
share = 1 / max(host_cpus, 2)  # 1 vCPU each, over the host's CPUs or the VMs' together
try:
    with HostAgent(list(qemus.values()), f"--host.sysfs={root}",
                   f"--monitor.interval={HOST_INTERVAL}s", "--activity.source=procfs",
                   config=config) as host:
        host.wait_ready(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(
                os.path.exists(os.path.join(d, "class", "powercap", "intel-rapl:1",
                                            "energy_uj")) for d in vmdirs.values()):
            time.sleep(0.1)
        check(all(os.path.isdir(d) for d in vmdirs.values()),
              f"a directory per VM under {vms_dir}: {os.listdir(vms_dir)}")
        d1 = vmdirs[vm1]
        with open(os.path.join(d1, "kepler-vm")) as f:
            marker = f.read()
        check("not hardware" in marker, f"the marker says what the tree is: {marker!r}")
        with open(os.path.join(d1, "vm_name")) as f:
            check(f.read() == "guest-one\n", "vm_name is the guest's name")
        for zone, zdir in ZONES.items():
            zpath = os.path.join(d1, "class", "powercap", zdir)
            with open(os.path.join(zpath, "name")) as f:
                name = f.read().strip()
            with open(os.path.join(zpath, "max_energy_range_uj")) as f:
                rng = int(f.read())
            check(name == {"package": "package-0"}.get(zone, zone) and rng == MAX_RANGE,
                  f"{zdir}: name {name}, max_energy_range_uj {rng}")
        modes = {rel: stat.S_IMODE(os.stat(os.path.join(vmdirs[vm2], rel)).st_mode)
                 for rel in ("", "class/powercap/intel-rapl:0",
                             "class/powercap/intel-rapl:0/energy_uj", "vm_name")}
        check(modes[""] == 0o750 and modes["class/powercap/intel-rapl:0"] == 0o750 and
              modes["class/powercap/intel-rapl:0/energy_uj"] == 0o640 and
              modes["vm_name"] == 0o640, f"directories 0750, files 0640: {modes}")

        # A guest whose path is not there does not start.
        bad = subprocess.run([os.environ.get("KEPLER_BIN", "build/src/kepler"),
                              f"--host.sysfs={guest_sysfs}", "--activity.source=procfs",
                              f"--power.passthrough.path={top}/missing",
                              f"--web.listen-address=127.0.0.1:{free_port()}"],
                             capture_output=True, text=True, timeout=60)
        check(bad.returncode != 0 and "no powercap zones under" in bad.stderr,
              f"a missing power.passthrough.path stops the guest ({bad.returncode}: "
              f"{bad.stderr.strip()[-200:]})")

        # The default power.passthrough.path, where the guest mounts its tree: in a
        # mount namespace of its own, over a tmpfs on /var/lib (nothing else changes).
        port = free_port()
        default = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount -t tmpfs tmpfs /var/lib && mkdir -p /var/lib/kepler/host && '
             'mount --bind "$0" /var/lib/kepler/host && exec "$@"', d1,
             os.environ.get("KEPLER_BIN", "build/src/kepler"), f"--host.sysfs={guest_sysfs}",
             "--activity.source=procfs", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        info = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and default.poll() is None and not info:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    info = series(parse(r.read().decode()), "kepler_node_info")
            except OSError:
                time.sleep(0.1)
        default.terminate()
        _, err = default.communicate(timeout=30)
        check(any(("cpu_power_source", "hypervisor") in ls for ls in info),
              f"the default path {DEFAULT_PATH} is used when it holds a tree: {list(info)} "
              f"{err.strip()[-300:]}")

        with Agent(f"--host.sysfs={guest_sysfs}", f"--monitor.interval={GUEST_INTERVAL}s",
                   "--activity.source=procfs", f"--power.passthrough.path={d1}") as guest:
            guest.wait_ready(timeout=30)
            time.sleep(2 * GUEST_INTERVAL)
            ua, ha, ga = sample(host, guest, poller, vmdirs)
            time.sleep(WINDOW)
            ub, hb, gb = sample(host, guest, poller, vmdirs)

        info = series(gb, "kepler_node_info")
        check(any(("cpu_power_source", "hypervisor") in ls for ls in info),
              f"the guest says cpu_power_source=hypervisor: {list(info)}")
        srcs = {dict(ls)["zone"]: dict(ls)["source"]
                for ls in series(gb, "kepler_exporter_meter_read_errors_total")}
        check(all(srcs.get(z) == "hypervisor" for z in ZONES),
              f"the guest's zones come from the hypervisor: {srcs}")
        for vm in qemus:
            for zone in ZONES:
                got = (ub[(vm, zone)] - ua[(vm, zone)]) / 1e6
                active = vm_joules(hb, vm, zone) - vm_joules(ha, vm, zone)
                idle = node_joules(hb, "idle", zone) - node_joules(ha, "idle", zone)
                want = active + idle * share
                check(active > 0 and close(got, want),
                      f"VM {vm[:8]} {zone}: counter +{got:.3f} J, its active +{active:.3f} J "
                      f"+ idle share {idle * share:.3f} J")
        for zone in ZONES:
            got = (value(gb, "kepler_node_cpu_joules_total", zone=zone) -
                   value(ga, "kepler_node_cpu_joules_total", zone=zone))
            want = (ub[(vm1, zone)] - ua[(vm1, zone)]) / 1e6
            check(close(got, want), f"guest {zone}: +{got:.3f} J, its VM's counter +{want:.3f} J")
        for zone in ZONES:
            vms_active = sum(vm_joules(hb, vm, zone) - vm_joules(ha, vm, zone) for vm in qemus)
            node_active = node_joules(hb, "active", zone) - node_joules(ha, "active", zone)
            check(vms_active <= node_active + 1e-6,
                  f"{zone}: the VMs' active {vms_active:.3f} J <= the host's {node_active:.3f} J")
        procs = sum(v for ls, v in series(gb, "kepler_process_cpu_joules_total").items()
                    if ("zone", "package") in ls)
        node_active = value(gb, "kepler_node_cpu_active_joules_total", zone="package")
        check(node_active > 0 and abs(procs - node_active) <= 1e-6 * max(1.0, node_active) +
              1e-5, f"the guest's processes share its active energy: {procs:.6f} J of "
              f"{node_active:.6f} J")
        first = poller.first[(vm1, "package")]
        check(first >= MAX_RANGE - 50_000_000, f"VM 1's package counter carried on from the "
              f"earlier run's {MAX_RANGE - 50_000_000} ({first})")
        check(poller.wraps.get((vm1, "package"), 0) >= 1,
              f"VM 1's package counter wrapped ({poller.wraps})")
        check(not poller.bad, f"no counter above its range or going back: {poller.bad[:3]}")

        # VM 1 ends: its directory goes after the grace period; VM 2's stays.
        check(end_vm(vm1) is not None, "VM 1's process ended")
        gone = time.monotonic()
        deadline = gone + 2 * HOST_INTERVAL + GRACE + 15
        while time.monotonic() < deadline and os.path.exists(vmdirs[vm1]):
            time.sleep(0.1)
        took = time.monotonic() - gone
        # It last ran in the interval before the kill: up to an interval before it.
        check(not os.path.exists(vmdirs[vm1]) and took >= GRACE - HOST_INTERVAL,
              f"VM 1's directory went {took:.1f} s after its process (grace {GRACE} s)")
        check(os.path.isdir(vmdirs[vm2]), "VM 2's directory stays while it runs")
        end_vm(vm2)
        deadline = time.monotonic() + 2 * HOST_INTERVAL + GRACE + 15
        while time.monotonic() < deadline and os.path.exists(vmdirs[vm2]):
            time.sleep(0.1)
        check(not os.path.exists(vmdirs[vm2]), "VM 2's directory went after it ended")
finally:
    poller.stop()
    writer.stop()
    shutil.rmtree(top, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)

finish()
