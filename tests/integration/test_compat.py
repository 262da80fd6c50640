#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Drop-in compatibility (docs/migrating.md). One scene: RAPL on the two-socket fixture
with an ACPI power meter, a container in a pod cgroup, a qemu guest, one GPU through the
stand-in NVML used by the container's process. Scraped twice:

- default: every family and label Kepler 0.11.4 documents for the features this agent
  has (the list below), node_name on every kepler_* sample and on no process_* one,
  kepler_node_cpu_info as /proc/cpuinfo lists the processors;
- exporter.prometheus.compat ["v0.7"]: Kepler 0.7's names and labels (the list below)
  in both modes, the families Kepler 0.7.12's Kepler-Exporter.json dashboard reads
  answering its selectors, and the sums: containers (system_processes included) and
  process series add up to the node per zone and mode, and the GPU names both
  versions use count each joule once.

promtool is clean on both scrapes. A Kepler 0.11 configuration file with keys that
have no meaning here loads, with one warning per key; an unknown compat value does not."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

from kepler_test import Agent, Cgroups, CounterWriter, check, copy_fixture, finish, parse, \
    promtool_check, series, spawn_in, value

FAKE = os.environ.get("FAKE_NVML", "build/tests/fake-nvml/libnvidia-ml.so.1")
GPU_W, GPU_IDLE_W, PKG_IDLE_W = 150.0, 30.0, 8.0

# Kepler 0.11.4, docs/user/metrics.md (sustainable-computing-io/kepler): family -> labels,
# node_name (a constant label there) added to each. Left out, with the reason in
# docs/migrating.md: kepler_build_info's goversion and branch (no Go; builds carry the
# revision), kepler_platform_watts's bmc_id, chassis_id, power_control_id and
# power_control_name (Redfish parts; the platform here is the ACPI power meter).
V011 = {
    "kepler_node_cpu_joules_total": "zone path",
    "kepler_node_cpu_active_joules_total": "zone path",
    "kepler_node_cpu_idle_joules_total": "zone path",
    "kepler_node_cpu_watts": "zone path",
    "kepler_node_cpu_active_watts": "zone path",
    "kepler_node_cpu_idle_watts": "zone path",
    "kepler_node_cpu_usage_ratio": "",
    "kepler_node_cpu_info": "processor vendor_id model_name physical_id core_id",
    "kepler_container_cpu_joules_total": "container_id container_name runtime state zone pod_id",
    "kepler_container_cpu_watts": "container_id container_name runtime state zone pod_id",
    "kepler_process_cpu_joules_total": "pid comm exe type state container_id vm_id zone",
    "kepler_process_cpu_seconds_total": "pid comm exe type container_id vm_id",
    "kepler_process_cpu_watts": "pid comm exe type state container_id vm_id zone",
    "kepler_vm_cpu_joules_total": "vm_id vm_name hypervisor state zone",
    "kepler_vm_cpu_watts": "vm_id vm_name hypervisor state zone",
    "kepler_pod_cpu_joules_total": "pod_id pod_name pod_namespace state zone",
    "kepler_pod_cpu_watts": "pod_id pod_name pod_namespace state zone",
    "kepler_platform_watts": "source",
    "kepler_build_info": "arch revision version",
}

# Kepler 0.7.x, pkg/metrics/consts/conts.go: the energy labels of each level; each family
# also has the constant label source. The names: EnergyMetricNames (package, core, uncore,
# dram, other, gpu, platform) per level, and kepler_container_joules_total.
V07_LABELS = {
    "node": "package instance mode source",
    "process": "pid container_id vm_id command mode source",
    "container": "container_id pod_name container_name container_namespace mode source",
    "vm": "vm_id mode source",
}
V07_PARTS = ("package", "core", "uncore", "dram", "other", "gpu", "platform")

# Kepler 0.7.12's grafana-dashboards/Kepler-Exporter.json: the families its 16 queries
# read, each with container_namespace=~"$namespace", pod_name=~"$pod".
DASHBOARD_07 = ("kepler_container_joules_total", "kepler_container_package_joules_total",
                "kepler_container_dram_joules_total", "kepler_container_other_joules_total",
                "kepler_container_gpu_joules_total")

def names_of(m, name):
    """Every label name of the family's samples (None: the family has no sample)."""
    ls = series(m, name)
    return {k for labels in ls for k, _ in labels} if ls else None


def check_labels(m, name, want, what):
    got = names_of(m, name)
    missing = set(want.split()) - (got or set())
    check(got is not None and not missing,
          f"{what}: {name} has {' '.join(want.split()) or 'no label'}"
          + (f" (missing {sorted(missing)})" if got is not None and missing else "")
          + ("" if got is not None else " (no sample)"))


def total(m, name, **labels):
    want = set(labels.items())
    return sum(v for ls, v in series(m, name).items() if want <= set(ls))


def fake_qemu(vm_uuid):
    """A guest as the agent sees one: named qemu (PR_SET_NAME), argv[0] a qemu system
    emulator, -name and -uuid; it burns a quarter of a CPU."""
    code = ("import ctypes, time\n"
            "ctypes.CDLL(None).prctl(15, b'qemu-system-x86', 0, 0, 0)\n"
            "while True:\n"
            "    t = time.monotonic()\n"
            "    while time.monotonic() - t < 0.005: pass\n"
            "    time.sleep(0.015)\n")
    return subprocess.Popen(["qemu-system-x86_64", "-c", code, "-name", "guest=guest1",
                             "-uuid", vm_uuid], executable=sys.executable)


def cpuinfo_processors():
    with open("/proc/cpuinfo") as f:
        return [line.split(":", 1)[1].strip() for line in f
                if line.split(":", 1)[0].strip() == "processor"]


# The scene.
root = copy_fixture("rapl-2socket")
shutil.copytree(os.path.join(os.environ.get("FIXTURES", "tests/fixtures"), "sysfs",
                             "hwmon-power-meter", "class"), os.path.join(root, "class"),
                dirs_exist_ok=True)
powercap = os.path.join(root, "class", "powercap")
writer = CounterWriter({os.path.join(powercap, "intel-rapl:0"): 40.0,
                        os.path.join(powercap, "intel-rapl:1"): 30.0,
                        os.path.join(powercap, "intel-rapl:0:1"): 6.0})
writer.start()
pod_uid = str(uuid.uuid4())
cid = uuid.uuid4().hex + uuid.uuid4().hex
vm_uuid = str(uuid.uuid4())
cg = Cgroups()
procs = []
fd, script = tempfile.mkstemp(prefix="fake-nvml-")
os.close(fd)
try:
    c_dir = cg.make(f"kepler-compat-{cid[:8]}.slice/kubepods.slice/kubepods-besteffort.slice/"
                    f"kubepods-besteffort-pod{pod_uid.replace('-', '_')}.slice/"
                    f"cri-containerd-{cid}.scope")
    busy = spawn_in(c_dir, duty=0.5)
    guest = fake_qemu(vm_uuid)
    procs += [busy, guest]
    deadline = time.monotonic() + 10
    while cid not in open(f"/proc/{busy.pid}/cgroup").read() and time.monotonic() < deadline:
        time.sleep(0.01)
    since = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    with open(script, "w") as f:
        f.write(f"gpu uuid=GPU-7777 name=\"Fake H100\" pci=00000000:31:00.0 energy_mj=1000 "
                f"since_ns={since} power_mw={int(GPU_W * 1000)} util=50 lost=0\n"
                f"proc gpu=0 pid={busy.pid} sm=70\nproc gpu=0 pid={guest.pid} sm=10\n")
    common = ["--monitor.interval=500ms", f"--host.sysfs={root}", "--power.gpu.source=nvml",
              f"--power.gpu.nvml.library={FAKE}"]
    base_config = (f"power: {{idle: {{package: {PKG_IDLE_W}}}, gpu: {{idleWatts: {GPU_IDLE_W}}}}}\n"
                   "exporter:\n  prometheus:\n    maxProcesses: 100000\n")
    env = {"FAKE_NVML_SCRIPT": script}

    print("-- Kepler 0.11 names (default)")
    with Agent(*common, config=base_config, env=env) as agent:
        agent.wait_ready()
        time.sleep(3)
        text = agent.scrape_text()[2]
        m = parse(text)
        host = os.uname().nodename
        for name, labels in V011.items():
            check_labels(m, name, labels + " node_name", "0.11")
        kepler = [(n, ls) for (n, ls) in m if n.startswith("kepler_")]
        check(kepler and all(("node_name", host) in ls for _, ls in kepler),
              f"node_name=\"{host}\" on all {len(kepler)} kepler_* samples")
        check(all(not any(k == "node_name" for k, _ in ls)
                  for (n, ls) in m if n.startswith("process_")),
              "no node_name on the agent's own process_* samples")
        cpus = sorted(dict(ls)["processor"] for ls in series(m, "kepler_node_cpu_info"))
        check(cpus == sorted(cpuinfo_processors()),
              f"kepler_node_cpu_info: one series per processor of /proc/cpuinfo ({cpus})")
        check(value(m, "kepler_pod_cpu_joules_total", pod_id=pod_uid, zone="package")
              is not None, "the pod of the container has its series")
        check(value(m, "kepler_vm_cpu_joules_total", vm_id=vm_uuid, zone="package")
              is not None, "the guest has its series")
        check(value(m, "kepler_platform_watts", source="acpi") ==
              value(m, "kepler_node_platform_watts", source="acpi"),
              "kepler_platform_watts is the ACPI meter's kepler_node_platform_watts")
        check(not series(m, "kepler_container_package_joules_total"),
              "no Kepler 0.7 family without exporter.prometheus.compat")
        promtool_check(text, "the default scrape")

    print("-- Kepler 0.7 names (exporter.prometheus.compat: [v0.7])")
    with Agent(*common, config=base_config + "    compat: [\"v0.7\"]\n", env=env) as agent:
        agent.wait_ready()
        time.sleep(3)
        text = agent.scrape_text()[2]
        m = parse(text)
        for level, labels in V07_LABELS.items():
            for part in V07_PARTS:
                name = f"kepler_{level}_{part}_joules_total"
                check_labels(m, name, labels, "0.7")
                modes = {dict(ls).get("mode") for ls in series(m, name)}
                check(modes == {"dynamic", "idle"}, f"0.7: {name} has both modes ({modes})")
        check_labels(m, "kepler_container_joules_total", V07_LABELS["container"], "0.7")
        for name in DASHBOARD_07:
            got = [ls for ls in series(m, name) if ("container_id", cid) in ls]
            check(got, f"Kepler-Exporter.json (0.7.12): {name} answers for the container")
        # Sums, per zone and mode: the node's is the containers' with system_processes,
        # and the process series'.
        for zone in ("package", "dram"):
            for mode, field in (("dynamic", "active"), ("idle", "idle")):
                node = value(m, f"kepler_node_cpu_{field}_joules_total", zone=zone)
                c = total(m, f"kepler_container_{zone}_joules_total", mode=mode)
                p = total(m, f"kepler_process_{zone}_joules_total", mode=mode)
                check(node > 0 and abs(c - node) < 1e-5 and abs(p - node) < 1e-5,
                      f"{zone} {mode}: containers {c:.6f} J and processes {p:.6f} J = "
                      f"node {field} {node:.6f} J")
        idle_c = value(m, "kepler_container_package_joules_total", container_id=cid, mode="idle")
        check(idle_c and idle_c > 0, f"the busy container has an idle share ({idle_c} J)")
        sys_c = value(m, "kepler_container_joules_total", container_id="system_processes",
                      mode="dynamic")
        check(sys_c is not None and sys_c >= 0, "system_processes holds the rest")
        c_sum = total(m, "kepler_container_joules_total")
        parts = sum(value(m, "kepler_node_cpu_joules_total", zone=z) for z in ("package", "dram"))
        parts += value(m, "kepler_node_gpu_active_joules_total", gpu="0") + \
            value(m, "kepler_node_gpu_idle_joules_total", gpu="0")
        check(abs(c_sum - parts) < 1e-5,
              f"kepler_container_joules_total sums to the node's package + dram + GPU "
              f"({c_sum:.6f} J vs {parts:.6f} J): other is not attributed")
        plat = series(m, "kepler_node_platform_joules_total")
        check(len(plat) == 2 and all(("source", "acpi") in ls for ls in plat),
              "kepler_node_platform_joules_total: the meter's one set of series, by mode")
        # The GPU names both versions use: one set of series, each joule once.
        gpu_total = value(m, "kepler_node_gpu_active_joules_total", gpu="0") + \
            value(m, "kepler_node_gpu_idle_joules_total", gpu="0")
        for level in ("node", "container", "process"):
            name = f"kepler_{level}_gpu_joules_total"
            s = total(m, name)
            check(gpu_total > 0 and abs(s - gpu_total) < 1e-5,
                  f"sum({name}) {s:.6f} J = the GPU's energy {gpu_total:.6f} J, once")
            check(all(("gpu", "0") in ls and any(k == "mode" for k, _ in ls)
                      for ls in series(m, name)),
                  f"{name}: every series carries both label sets (gpu and mode)")
        dyn = total(m, "kepler_container_gpu_joules_total", mode="dynamic")
        act = value(m, "kepler_node_gpu_active_joules_total", gpu="0")
        check(abs(dyn - act) < 1e-5, f"its mode=\"dynamic\" series are the active energy "
              f"({dyn:.6f} J vs {act:.6f} J)")
        promtool_check(text, "the compat v0.7 scrape")

    print("-- configuration")
    cfg = ("log: {level: info}\nmonitor: {interval: 5s, staleness: 1000ms, "
           "minTerminatedEnergyThreshold: 10}\nexporter: {prometheus: {debugCollectors: "
           "[go, process]}}\ndebug: {pprof: {enabled: true}}\nkube: {config: /x}\n"
           "dev: {fake-cpu-meter: {enabled: false}}\n"
           "experimental: {platform: {redfish: {enabled: false}}}\n")
    with Agent(*common, config=cfg, env=env) as agent:
        agent.wait_ready()
        out = agent.output()
        for key in ("monitor.staleness", "monitor.minTerminatedEnergyThreshold",
                    "exporter.prometheus.debugCollectors", "debug", "kube.config", "dev",
                    "experimental"):
            check(f"{key}: not supported, ignoring" in out,
                  f"a Kepler 0.11 file loads; {key} is ignored with a warning")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write("exporter: {prometheus: {compat: [v0.8]}}\n")
        f.flush()
        bad = subprocess.run([os.environ.get("KEPLER_BIN", "build/src/kepler"),
                              f"--config.file={f.name}"], capture_output=True, text=True,
                             timeout=10)
    check(bad.returncode == 2 and "compat: unknown compatibility \"v0.8\"" in bad.stderr,
          f"an unknown compat value is an error: {bad.stderr.strip()}")
finally:
    writer.stop()
    for p in procs:
        p.kill()
        p.wait()
    cg.cleanup()
    os.unlink(script)

finish()
