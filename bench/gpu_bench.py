#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""GPU collection at 10,000 live processes (each waking once a second, so each is
in every interval's activity) with 8 GPUs and 50 GPU processes, side by side with
the same agent without GPUs, in the same run: the stand-in NVML (8 devices, SM
samples for the 50), and 8 xe cards with DRM fdinfo for the 50 (ProcOverlay: the
other 9,950 processes are the real /proc). The agent's CPU per interval once
warm and while warming up (the drm backend lists each process's fds once, 256 new
processes a read), and its resident memory; the GPU collection's cost: the
difference from the run without GPUs, and the GPU stage alone as the agent
times it (kepler_exporter_stage_cpu_seconds{stage="gpu"}, mean and max);
"attributed" is the process series' GPU energy ("other" included) over the
node's active GPU energy (1: every joule).

usage: gpu_bench.py BUILDDIR [PROCESSES] [INTERVALS]   (as root)
"""

import os
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import cpu_per_interval, rss_mib, samples, start_agent, wait_intervals

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from kepler_test import ProcOverlay, cgroup2_mount, xe_sysfs  # noqa: E402

build = sys.argv[1] if len(sys.argv) > 1 else "build"
n_procs = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
intervals = int(sys.argv[3]) if len(sys.argv) > 3 else 8
INTERVAL = 2.0
GPUS, GPU_PROCS = 8, 50
KEPLER = os.path.join(build, "src", "kepler")
FAKE_NVML = os.path.join(build, "tests", "fake-nvml", "libnvidia-ml.so.1")
IDLE_W = 100


def run(port, args, env):
    p = start_agent(KEPLER, port, INTERVAL, args, env)
    try:
        wait_intervals(port, 1)
        # Warm-up: every process seen, and (drm) each fd directory listed once, at most
        # 256 new processes a read (DRM_FIRST_SCANS_MAX_PER_READ): its cost per
        # interval is reported apart.
        warm_ms = cpu_per_interval(p, port, 2 + -(-n_procs // 256))
        cpu_ms = cpu_per_interval(p, port, intervals)
        # The GPU stage alone, as the agent times it (the collector thread's CPU).
        stage = []
        for _ in range(intervals):
            wait_intervals(port, 1)
            stage += [float(ln.rsplit(" ", 1)[1]) * 1000
                      for ln in samples(port, "kepler_exporter_stage_cpu_seconds")
                      if 'stage="gpu"' in ln]
        gpus = len(samples(port, "kepler_node_gpu_info"))
        # Every active GPU joule in a process series, "other" included: their ratio is 1.
        active = sum(float(ln.rsplit(" ", 1)[1])
                     for ln in samples(port, "kepler_node_gpu_active_joules_total"))
        attributed = sum(float(ln.rsplit(" ", 1)[1])
                         for ln in samples(port, "kepler_process_gpu_joules_total"))
        return (cpu_ms, warm_ms, sum(stage) / len(stage), max(stage), rss_mib(p.pid), gpus,
                attributed / active if active else 0)
    finally:
        p.terminate()
        p.wait(10)


mount = cgroup2_mount()
cg = tempfile.mkdtemp(prefix="kepler-gpu-bench-", dir=mount)
sl = subprocess.Popen([os.path.join(build, "bench", "sleepers"), str(n_procs), cg],
                      stdout=subprocess.PIPE, text=True)
overlay = stop = None
try:
    if not sl.stdout.readline().startswith("ready"):
        raise SystemExit("sleepers did not start")
    with open(f"/proc/{sl.pid}/task/{sl.pid}/children") as f:
        children = [int(x) for x in f.read().split()]
    gpu_pids = children[:: max(len(children) // GPU_PROCS, 1)][:GPU_PROCS]
    overlay = ProcOverlay(gpu_pids)
    sysfs, energy_files = xe_sysfs(GPUS)
    fd, script = tempfile.mkstemp(prefix="fake-nvml-")
    with os.fdopen(fd, "w") as f:
        now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        for g in range(GPUS):
            f.write(f"gpu uuid=GPU-{g:04d} energy_mj=0 since_ns={now} power_mw=300000 util=50\n")
        for i, pid in enumerate(gpu_pids):
            f.write(f"proc gpu={i % GPUS} pid={pid} sm={10 + i}\n")
    stop = threading.Event()

    def advance():
        """The cards draw 300 W and the 50 clients keep their engines busy."""
        t0 = time.monotonic()
        while not stop.wait(0.1):
            t = time.monotonic() - t0
            for path in energy_files:  # replaced whole, as sysfs never shows half a number
                with open(path + ".tmp", "w") as f:
                    f.write(f"{int(300 * t * 1e6)}\n")
                os.replace(path + ".tmp", path)
            for i, pid in enumerate(gpu_pids):
                card = i % GPUS
                overlay.set_fd(pid, 5, f"/dev/dri/renderD{128 + card}",
                               f"drm-driver:\txe\ndrm-pdev:\t0000:{0x10 + card:02x}:00.0\n"
                               f"drm-client-id:\t{i}\ndrm-cycles-rcs:\t{int(t * 1e6 * (i + 1))}\n"
                               f"drm-total-cycles-rcs:\t{int(t * 1e9)}\n")

    writer = threading.Thread(target=advance, daemon=True)
    writer.start()
    common = ["--activity.source=ebpf", f"--host.procfs={overlay.root}"]
    cfg = os.path.join(tempfile.mkdtemp(prefix="kepler-gpu-bench-"), "config.yaml")
    with open(cfg, "w") as f:
        f.write(f"power: {{gpu: {{idleWatts: {IDLE_W}}}}}\n")
    common.append(f"--config.file={cfg}")
    runs = (
        ("no GPU", ["--power.gpu.source=none"], {}),
        ("nvml", ["--power.gpu.source=nvml", f"--power.gpu.nvml.library={FAKE_NVML}"],
         {"FAKE_NVML_SCRIPT": script}),
        ("drm", ["--power.gpu.source=drm", f"--host.sysfs={sysfs}"], {}),
    )
    print(f"{n_procs} processes waking every second, {GPUS} GPUs, {len(gpu_pids)} GPU "
          f"processes, interval {INTERVAL:g}s, {intervals} intervals measured per run")
    print(f"{'GPUs':>7} {'CPU/interval':>13} {'difference':>10} {'GPU stage':>10} {'max':>8} "
          f"{'warm-up':>9} {'RSS':>9} {'GPUs seen':>9} {'attributed':>10}")
    base = None
    port = 28600 + os.getpid() % 300
    for name, args, env in runs:
        cpu, warm, stage, stage_max, rss, gpus, share = run(port, common + args, env)
        port += 1
        base = cpu if base is None else base
        print(f"{name:>7} {cpu:>10.2f} ms {cpu - base:>7.2f} ms {stage:>7.2f} ms "
              f"{stage_max:>5.2f} ms {warm:>6.1f} ms {rss:>5.1f} MiB {gpus:>9} {share:>10.4f}",
              flush=True)
finally:
    if stop:
        stop.set()
        writer.join()
    sl.terminate()
    sl.wait()
    if overlay:
        overlay.cleanup()
    for _ in range(50):  # the sleepers' children leave their cgroup as they are reaped
        try:
            os.rmdir(cg)
            break
        except OSError:
            time.sleep(0.1)
