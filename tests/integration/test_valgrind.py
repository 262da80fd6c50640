#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The agent under valgrind memcheck: a few hundred milliseconds per interval, several
intervals with scrapes in between (plain and gzip, /healthz, a 404), then SIGTERM.
No invalid access, no use of uninitialised memory, no definite or indirect leak,
nothing suppressed in the project's code.

Runs: eBPF activity with the estimator (what this machine has), and procfs activity
on a two-socket RAPL fixture whose counters advance. Skips (77) without valgrind."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from kepler_test import KEPLER, CounterWriter, check, copy_fixture, finish, free_port

VALGRIND = shutil.which("valgrind")
if not VALGRIND:
    print("skipped: valgrind is not installed (apt-get install valgrind)")
    sys.exit(77)

INTERVALS = 8
INTERVAL_MS = 200

# Suppressions for libbpf only, never for the project's code. Valgrind (3.19) checks
# every field of union bpf_attr passed to bpf(), but libbpf zeroes only the leading
# part the command uses and passes that size, which is all the kernel reads: fields
# past it (expected_attach_type, prog_ifindex on BPF_MAP_CREATE) are "uninitialised"
# to valgrind alone. For the commands valgrind does not know (it warns "unhandled
# eBPF command"), it cannot see what the kernel writes back, so libbpf's feature
# probes then branch on "uninitialised" values during bpf_object__load.
SUPPRESSIONS = """
{
   libbpf-map-create-attr-tail-not-read-by-kernel-1
   Memcheck:Param
   bpf(attr->expected_attach_type)
   fun:syscall
   obj:*/libbpf.so*
}
{
   libbpf-map-create-attr-tail-not-read-by-kernel-2
   Memcheck:Param
   bpf(attr->prog_ifindex)
   fun:syscall
   obj:*/libbpf.so*
}
{
   libbpf-load-probe-reads-kernel-written-attr
   Memcheck:Cond
   obj:*/libbpf.so*
   ...
   fun:bpf_object__load
}
"""


def fetch(port, path, gz=False, timeout=20):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                 headers={"Accept-Encoding": "gzip"} if gz else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def memcheck(what, *args):
    """Run the agent under memcheck; returns (exit status, valgrind log, agent output)."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="kepler-vg-", suffix=".log", delete=False).name
    with tempfile.NamedTemporaryFile("w", prefix="kepler-vg-", suffix=".supp",
                                     delete=False) as f:
        f.write(SUPPRESSIONS)
        supp = f.name
    out = tempfile.TemporaryFile(mode="w+")
    cmd = [VALGRIND, "--tool=memcheck", "--error-exitcode=1", "--leak-check=full",
           "--errors-for-leak-kinds=definite,indirect", "--show-leak-kinds=definite,indirect",
           "--track-fds=no", "--track-origins=yes", "--num-callers=30", f"--log-file={log}",
           f"--suppressions={supp}",
           KEPLER, f"--web.listen-address=127.0.0.1:{port}",
           f"--monitor.interval={INTERVAL_MS}ms", *args]
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline and p.poll() is None:
            try:
                status, _ = fetch(port, "/metrics", timeout=5)
                if status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        check(status == 200, f"{what}: /metrics answers under valgrind ({status})")
        t0 = time.monotonic()
        scrapes = 0
        # Wall time per interval under valgrind is longer; count the agent's own intervals.
        while time.monotonic() - t0 < 60:
            status, body = fetch(port, "/metrics")
            scrapes += status == 200
            m = re.search(rb"^kepler_exporter_intervals_total(?:{[^}]*})? (\S+)$", body, re.M)
            if m and float(m.group(1)) >= INTERVALS:
                break
            time.sleep(INTERVAL_MS / 1000)
        status_gz, _ = fetch(port, "/metrics", gz=True)
        status_h, _ = fetch(port, "/healthz")
        status_404, _ = fetch(port, "/nope")
        intervals = float(m.group(1)) if m else 0
        check(intervals >= INTERVALS and status_gz == 200 and status_h == 200 and
              status_404 == 404,
              f"{what}: {intervals:.0f} intervals, {scrapes} scrapes, gzip {status_gz}, "
              f"/healthz {status_h}, 404 {status_404}")
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    with open(log) as f:
        vg = f.read()
    os.unlink(log)
    os.unlink(supp)
    out.seek(0)
    return rc, vg, out.read()


def verdict(what, rc, vg, out):
    errors = re.search(r"ERROR SUMMARY: (\d+) errors", vg)
    definite = re.search(r"definitely lost: ([\d,]+) bytes", vg)
    indirect = re.search(r"indirectly lost: ([\d,]+) bytes", vg)
    summary = [line.split("== ", 1)[-1] for line in vg.splitlines()
               if re.search(r"(definitely|indirectly|possibly) lost:|still reachable:|"
                            r"ERROR SUMMARY", line)]
    print(f"{what}: " + "; ".join(summary))
    ok = (rc == 0 and errors and errors.group(1) == "0" and
          (not definite or definite.group(1) == "0") and
          (not indirect or indirect.group(1) == "0"))
    if not ok:
        print(vg[-20000:])
        print(out[-4000:])
    check(ok, f"{what}: memcheck clean (exit {rc}, errors "
              f"{errors.group(1) if errors else '?'}, definitely lost "
              f"{definite.group(1) if definite else 0}, indirectly lost "
              f"{indirect.group(1) if indirect else 0})")
    return vg


# eBPF where it loads (root, BTF); the log says which source ran.
rc, vg, out = memcheck("ebpf", "--activity.source=auto")
source = re.search(r"activity: using (\w+)", out)
print(f"ebpf run: activity source {source.group(1) if source else '?'}")
if source and source.group(1) != "ebpf" and os.geteuid() == 0:
    print(f"note: eBPF did not load under valgrind: {out.strip().splitlines()[:3]}")
verdict(f"activity {source.group(1) if source else '?'}", rc, vg, out)

# procfs activity on a two-socket RAPL fixture with advancing counters (wraps included).
root = copy_fixture("rapl-2socket")
base = os.path.join(root, "class", "powercap")
zones = {}
for d in sorted(os.listdir(base)):
    if os.path.exists(os.path.join(base, d, "energy_uj")):
        zones[os.path.join(base, d)] = 10.0
writer = CounterWriter(zones, period=0.02)
writer.start()
try:
    rc, vg, out = memcheck("rapl", f"--host.sysfs={root}", "--activity.source=procfs")
finally:
    writer.stop()
check("cpu_power_source=rapl" in out or "from rapl" in out, "rapl run: the RAPL meter was used")
verdict("procfs + rapl", rc, vg, out)
shutil.rmtree(root, ignore_errors=True)

finish()
