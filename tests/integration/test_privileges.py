#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Least privilege: once the eBPF program is loaded the agent keeps only
CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE, in every thread; and a non-root user
with just the documented capabilities, ambient or as file capabilities, runs
the full agent (eBPF included), while one without them falls back to procfs
and says which capability is missing."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

from kepler_test import KEPLER, check, finish, free_port, parse, series

if os.geteuid() != 0:
    print("skipped: needs root to start the agent as another user with chosen capabilities")
    sys.exit(77)

KEEP = (1 << 2) | (1 << 19)  # CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE
setpriv = shutil.which("setpriv")


def status_field(path, name):
    with open(path) as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split()[1]
    return None


def start(prefix, port):
    log = tempfile.TemporaryFile(mode="w+")
    p = subprocess.Popen(prefix + [KEPLER, f"--web.listen-address=127.0.0.1:{port}",
                                   "--monitor.interval=500ms"], stdout=log,
                         stderr=subprocess.STDOUT)
    return p, log


def scrape(port, tries=100):
    import urllib.request
    for _ in range(tries):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                return parse(r.read().decode())
        except OSError:
            time.sleep(0.05)
    return None


def stop(p, log):
    p.terminate()
    p.wait(5)
    log.seek(0)
    return log.read()


# As root: every thread drops to the running set.
port = free_port()
p, log = start([], port)
try:
    m = scrape(port)
    check(m is not None, "the agent serves")
    tasks = os.listdir(f"/proc/{p.pid}/task")
    effs = {int(status_field(f"/proc/{p.pid}/task/{t}/status", "CapEff"), 16) for t in tasks}
    check(effs == {KEEP}, f"all {len(tasks)} threads keep only {KEEP:#x}: {sorted(map(hex, effs))}")
    check(status_field(f"/proc/{p.pid}/status", "NoNewPrivs") == "1", "no_new_privs is set")
    time.sleep(1.2)
    m = scrape(port)
    check(any(("activity_source", "ebpf") in k for k in series(m, "kepler_node_info")),
          "eBPF keeps working after the drop")
finally:
    stop(p, log)

# A copy of the binary anyone can run (the build tree may not be readable by nobody).
d = tempfile.mkdtemp()
os.chmod(d, 0o755)
exe = os.path.join(d, "kepler")
shutil.copy(KEPLER, exe)
os.chmod(exe, 0o755)
KEPLER = exe
user = ["--reuid=nobody", "--regid=nogroup", "--clear-groups"]

# nobody with exactly the documented capabilities: the full agent.
caps = "+bpf,+perfmon,+dac_read_search,+sys_ptrace"
port = free_port()
p, log = start([setpriv, *user, f"--inh-caps={caps}", f"--ambient-caps={caps}"], port)
try:
    time.sleep(1.5)
    m = scrape(port)
    out = ""
    check(m is not None and any(("activity_source", "ebpf") in k
                                for k in series(m, "kepler_node_info")),
          "nobody with CAP_BPF, CAP_PERFMON, CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE runs eBPF")
    check(m is not None and len(series(m, "kepler_process_cpu_seconds_total")) > 3,
          "and sees other users' processes")
finally:
    out = stop(p, log)
    print(out.strip()[-600:])

# nobody with the same set as file capabilities on the binary (setcap), nothing inherited.
setcap = shutil.which("setcap")
if setcap and subprocess.run([setcap, "cap_bpf,cap_perfmon,cap_dac_read_search,cap_sys_ptrace+ep",
                              exe]).returncode == 0:
    port = free_port()
    p, log = start([setpriv, *user], port)
    try:
        time.sleep(1.5)
        m = scrape(port)
        check(m is not None and any(("activity_source", "ebpf") in k
                                    for k in series(m, "kepler_node_info")),
              "nobody running a binary with those file capabilities runs eBPF")
    finally:
        stop(p, log)
    subprocess.run([setcap, "-r", exe])
else:
    check(False, "setcap (Debian package libcap2-bin) sets file capabilities on the copy")

# nobody without them: procfs, and the log names what is missing.
port = free_port()
p, log = start([setpriv, *user, "--inh-caps=-all"], port)
try:
    m = scrape(port)
    check(m is not None and any(("activity_source", "procfs") in k
                                for k in series(m, "kepler_node_info")),
          "nobody without capabilities falls back to procfs")
finally:
    out = stop(p, log)
check("CAP_BPF" in out, f"the fallback names the missing capability: {out.strip()[:300]!r}")
shutil.rmtree(d)

finish()
