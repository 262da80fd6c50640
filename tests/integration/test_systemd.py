#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""deploy/systemd/kepler.service: systemd-analyze verify passes on it (with
the binary where ExecStart expects it, in a private mount namespace so that the
machine's /usr/local is untouched), its security exposure is at most 3.0, its
capabilities are the four of docs/activity.md; and the agent, started the way
the unit starts it (a user with no passwd entry, as DynamicUser makes, those
capabilities ambient, no_new_privs, the unit's config file), runs eBPF, sees
other users' processes and re-reads its configuration on the unit's
ExecReload. The unit's sandboxing itself (namespaces, the system call filter)
needs systemd as PID 1, which this machine does not run."""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from kepler_test import KEPLER, check, finish, free_port, parse, series

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
UNIT = os.path.join(TOP, "deploy", "systemd", "kepler.service")
CONFIG = os.path.join(TOP, "deploy", "systemd", "kepler.yaml")
CAPS = {"CAP_BPF", "CAP_PERFMON", "CAP_DAC_READ_SEARCH", "CAP_SYS_PTRACE"}
# In the range DynamicUser draws from (61184-65519), with no passwd entry.
DYNAMIC_UID = 61999

if os.geteuid() != 0:
    print("skipped: needs root for a private mount namespace and to start the agent as another user")
    sys.exit(77)

with open(UNIT) as f:
    unit = {}
    for line in f:
        if "=" in line and not line.startswith("#"):
            key, val = line.rstrip("\n").split("=", 1)
            unit.setdefault(key, []).append(val)

exec_start = shlex.split(unit["ExecStart"][0])
# verify checks that ExecStart's binary exists: a copy of the build's at that
# path, on a tmpfs over /usr/local seen by systemd-analyze alone.
install = (f"mount -t tmpfs tmpfs /usr/local && mkdir -p {shlex.quote(os.path.dirname(exec_start[0]))}"
           f" && cp {shlex.quote(KEPLER)} {shlex.quote(exec_start[0])}")
verify = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                         f"{install} && systemd-analyze verify {shlex.quote(UNIT)}"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
check(verify.returncode == 0 and not verify.stdout.strip(),
      f"systemd-analyze verify passes, no warnings: {verify.stdout.strip()[:400]!r}")
# Without the binary verify fails: the check above looked at ExecStart.
bare = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                       f"mount -t tmpfs tmpfs /usr/local && systemd-analyze verify {shlex.quote(UNIT)}"],
                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
check(bare.returncode != 0 and "not executable" in bare.stdout,
      "and fails when ExecStart's binary is missing")

sec = subprocess.run(["systemd-analyze", "security", "--offline=true", UNIT],
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
m = re.search(r"Overall exposure level for kepler\.service: ([0-9.]+)", sec.stdout)
exposure = float(m.group(1)) if m else None
print(f"systemd-analyze security exposure: {exposure}")
check(exposure is not None and exposure <= 3.0, f"exposure {exposure} is at most 3.0")

for key in ("AmbientCapabilities", "CapabilityBoundingSet"):
    got = set(" ".join(unit.get(key, [])).split())
    check(got == CAPS, f"{key} is the four capabilities: {sorted(got)}")
check(unit.get("DynamicUser") == ["yes"] and unit.get("NoNewPrivileges") == ["yes"],
      "DynamicUser and NoNewPrivileges")
check({"@system-service", "bpf", "perf_event_open"} <= set(" ".join(unit.get("SystemCallFilter", [])).split()),
      "the system call filter lets bpf and perf_event_open through")

# The agent as the unit starts it.
d = tempfile.mkdtemp()
os.chmod(d, 0o755)
exe = os.path.join(d, "kepler")
shutil.copy(KEPLER, exe)
cfg = os.path.join(d, "kepler.yaml")
shutil.copy(CONFIG, cfg)
os.chmod(cfg, 0o644)
# The capabilities the unit gives, ambient and within its bounding set.
given = set(" ".join(unit["AmbientCapabilities"]).split()) & \
    set(" ".join(unit["CapabilityBoundingSet"]).split())
caps = ",".join("+" + c[4:].lower() for c in sorted(given))
port = free_port()
log = tempfile.TemporaryFile(mode="w+")
# ExecStart's arguments, its config file replaced by the copy.
argv = [exe] + [f"--config.file={cfg}" if a.startswith("--config.file=") else a
                for a in exec_start[1:]]
p = subprocess.Popen(["setpriv", f"--reuid={DYNAMIC_UID}", f"--regid={DYNAMIC_UID}", "--clear-groups",
                      f"--inh-caps=-all,{caps}", f"--ambient-caps={caps}",
                      f"--bounding-set=-all,{caps}", "--no-new-privs",
                      *argv, f"--web.listen-address=127.0.0.1:{port}", "--monitor.interval=500ms"],
                     stdout=log, stderr=subprocess.STDOUT)
try:
    metrics = None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                metrics = parse(r.read().decode())
            if len(series(metrics, "kepler_process_cpu_seconds_total")) > 3:
                break
        except OSError:
            pass
        time.sleep(0.2)
    metrics = metrics or {}
    check(any(("activity_source", "ebpf") in k for k in series(metrics, "kepler_node_info")),
          f"uid {DYNAMIC_UID} with the unit's capabilities and config runs eBPF")
    procs = series(metrics, "kepler_process_cpu_seconds_total")
    check(any(dict(k).get("exe", "").startswith("/") and dict(k).get("pid") != str(p.pid)
              for k in procs), f"and reads other users' /proc/<pid>/exe ({len(procs)} processes)")
    # ExecReload, with $MAINPID the agent (setpriv execs it: same pid).
    reload = [a.replace("$MAINPID", str(p.pid)) for a in shlex.split(unit["ExecReload"][0])]
    subprocess.run(reload, check=True)
    time.sleep(1)
    log.seek(0)
    out = log.read()
    check("reload: configuration re-read" in out, f"ExecReload re-reads the configuration: {out[-300:]!r}")
finally:
    p.terminate()
    p.wait(5)
    shutil.rmtree(d)

finish()
