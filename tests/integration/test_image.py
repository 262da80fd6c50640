#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The container image: built as make image builds it (deploy/image/build.sh,
with no registry: the build stage's base comes from Debian packages), then run
the way docs/deploy.md runs it: every capability dropped but CAP_BPF,
CAP_PERFMON, CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE, no_new_privs, a read-only
root, the host's /proc and /sys mounted read-only at /host, the seccomp profile
of deploy/image/seccomp.py, a published port. /metrics must answer from eBPF
with process energy, the agent must see itself by its host pid in its
container; the image must hold no compiler, no shell and no shell history, and
stay small.

podman's storage and state live under the build directory (IMAGE_STATE), so
the machine's own podman is untouched; the base images stay there between runs
and are made again only when their inputs change."""

import io
import os
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request

from kepler_test import KEPLER, check, finish, free_port, parse, series

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.dirname(os.path.dirname(os.path.abspath(KEPLER)))
STATE = os.path.join(BUILD, "image-test")
IMAGE = "localhost/kepler:latest"
CAPS = ["bpf", "perfmon", "dac_read_search", "sys_ptrace"]
# CAP_DAC_READ_SEARCH (2), CAP_SYS_PTRACE (19), CAP_PERFMON (38), CAP_BPF (39).
CAPS_MASK = (1 << 2) | (1 << 19) | (1 << 38) | (1 << 39)
# What a compiler, an assembler or a linker installs under a bin directory.
TOOLCHAIN = {"gcc", "cc", "c++", "g++", "cpp", "clang", "clang++", "ld", "ld.bfd", "ld.gold",
             "ld.lld", "lld", "as", "tcc"}
SHELLS = {"sh", "bash", "dash", "ash", "zsh", "busybox"}

if os.geteuid() != 0:
    print("skipped: podman needs root here to run the image with host /proc and /sys and eBPF")
    sys.exit(77)
if not shutil.which("podman"):
    print("skipped: no podman (scripts/deps.sh installs it)")
    sys.exit(77)

env = {**os.environ, "IMAGE_STATE": STATE}
env.pop("CONTAINERS_CONF", None)
t0 = time.monotonic()
build = subprocess.run([os.path.join(TOP, "deploy", "image", "build.sh"), BUILD], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
took = time.monotonic() - t0
if not check(build.returncode == 0, f"deploy/image/build.sh builds {IMAGE} in {took:.0f} s"):
    print(build.stdout[-4000:])
    finish()
print("\n".join(line for line in build.stdout.splitlines() if line.startswith(("mkbase", "image"))))

# Every podman call below: the state build.sh set up.
env = {**os.environ, "CONTAINERS_CONF": os.path.join(STATE, "containers.conf"),
       "CONTAINERS_STORAGE_CONF": os.path.join(STATE, "storage.conf")}


def podman(*args, text=True):
    return subprocess.run(["podman", *args], env=env, text=text, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)


size = int(podman("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout)
print(f"image size: {size / 1e6:.1f} MB")
check(size < 100e6, f"the image is under 100 MB: {size / 1e6:.1f} MB")

# What the image holds, from an exported container's file system.
name = f"kepler-test-{os.getpid()}"
podman("create", "--name", name, IMAGE)
names = []
try:
    exported = podman("export", name, text=False).stdout
    with tarfile.open(fileobj=io.BytesIO(exported)) as tar:
        names = [m.name.lstrip("./") for m in tar.getmembers()]
finally:
    podman("rm", "-f", name)
base = {os.path.basename(n) for n in names}
check("usr/bin/kepler" in names and "etc/kepler/config.yaml" in names,
      f"the image holds the agent and its config ({len(names)} entries)")
tools = sorted(n for n in names if os.path.basename(n) in TOOLCHAIN or
               os.path.basename(n).startswith(("gcc-", "clang-", "cc1")))
check(not tools, f"no compiler, assembler or linker: {tools[:5]}")
check(not base & SHELLS, f"no shell: {sorted(base & SHELLS)}")
history = [n for n in names if n.endswith("history")]
check(not history, f"no shell history: {history}")
check(any(n.startswith("var/lib/dpkg/status.d/libc6") for n in names) and
      "usr/share/doc/libc6/copyright" in names,
      "the libraries' dpkg records and copyright files are there")

profile = os.path.join(STATE, "seccomp.json")
with open(profile, "w") as f:
    subprocess.run([sys.executable, os.path.join(TOP, "deploy", "image", "seccomp.py")],
                   stdout=f, check=True)

port = free_port()
run = podman("run", "-d", "--name", name, "--cap-drop=all", "--cap-add=" + ",".join(CAPS),
             "--security-opt", "no-new-privileges", "--security-opt", f"seccomp={profile}",
             "--read-only", "-v", "/proc:/host/proc:ro", "-v", "/sys:/host/sys:ro",
             "-p", f"127.0.0.1:{port}:28282", IMAGE, "--monitor.interval=500ms")
check(run.returncode == 0, f"podman run starts it: {run.stderr.strip()[-300:] or 'no error'}")
cid = run.stdout.strip()
try:
    pid = podman("inspect", "--format", "{{.State.Pid}}", name).stdout.strip()
    m = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                m = parse(r.read().decode())
            # Energy needs two intervals; the agent's own series, its first scan.
            if sum(series(m, "kepler_process_cpu_joules_total").values()) > 0 and any(
                    ("comm", "kepler") in k and ("pid", pid) in k
                    for k in series(m, "kepler_process_cpu_seconds_total")):
                break
        except OSError:
            pass
        time.sleep(0.5)
    check(m is not None, "/metrics answers through the published port")
    m = m or {}
    check(any(("activity_source", "ebpf") in k for k in series(m, "kepler_node_info")),
          'activity_source="ebpf" with only the four capabilities')
    joules = series(m, "kepler_process_cpu_joules_total")
    check(len(joules) > 3 and sum(joules.values()) > 0,
          f"process energy: {len(joules)} series, {sum(joules.values()):.2f} J")
    # eBPF gives host pids; with the host's procfs at /host/proc (the image's
    # config) the agent reads their /proc entries, its own too, without
    # --pid=host. With the container's own /proc every exe would be empty.
    mine = [k for k in series(m, "kepler_process_cpu_seconds_total")
            if ("comm", "kepler") in k and ("pid", pid) in k]
    check(mine and ("container_id", cid) in mine[0] and ("exe", "/usr/bin/kepler") in mine[0],
          f"the agent sees itself as host pid {pid}, /usr/bin/kepler, in container {cid[:12]}")
    with open(f"/proc/{pid}/status") as f:
        status = dict(line.split(":", 1) for line in f)
    bnd = int(status["CapBnd"], 16)
    check(bnd == CAPS_MASK, f"the container's bounding set is the four: {bnd:#x}")
    check(status["NoNewPrivs"].strip() == "1", "no_new_privs is set")
finally:
    logs = podman("logs", name)
    print((logs.stdout + logs.stderr).strip()[-1500:])
    podman("rm", "-f", "-t", "2", name)

finish()
