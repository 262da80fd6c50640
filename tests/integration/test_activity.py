# SPDX-License-Identifier: Apache-2.0
"""Ground truth for the activity collector, eBPF and procfs.

The activity probe (tests/tools/activity_probe) runs the collector on its own
while the burner (tests/tools/burner) does known work and prints the kernel's
own accounting of it (getrusage). Checks, per source:

  - a single-threaded spin of 1.0 s CPU: probe == rusage(SELF) within 3 %
  - 4 threads of 0.5 s each: probe == rusage(SELF) within 3 %
  - 1,000 short-lived children of 2 ms each, summed over the exited pids whose
    parent is the forker: eBPF == rusage(CHILDREN) within 3 %; procfs misses
    them by design, its fraction is printed and must be clearly below eBPF's
  - sum of every process's CPU time + idle = elapsed x CPUs within 2 %
    (elapsed from the probe's monotonic clock over its reads)
  - a 64-entry map and 300 processes: the drop counter rises, nothing crashes

Needs root and kernel BTF (exit 77 otherwise). Python 3 stdlib only.
"""
import json
import os
import signal
import subprocess
import sys
import time

TOL_GROUND = 0.03
TOL_SUM = 0.02


def tool(env, name):
    path = os.environ.get(env)
    if path:
        return path
    kepler = os.environ.get("KEPLER_BIN", "")
    return os.path.join(os.path.dirname(kepler), "tests", "tools", name)


PROBE = tool("ACTIVITY_PROBE", "activity_probe")
BURNER = tool("BURNER", "burner")

failures = []


def check(ok, msg):
    print(("ok   " if ok else "FAIL ") + msg, flush=True)
    if not ok:
        failures.append(msg)


class Probe:
    def __init__(self, source, *extra, interval="200ms"):
        self.source = source
        self.p = subprocess.Popen(
            [PROBE, "--source", source, "--interval", interval, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        self.log = []
        while True:
            line = self.p.stderr.readline()
            if not line:
                raise RuntimeError(f"probe ({source}) ended before ready: {''.join(self.log)}")
            if line.startswith("ready"):
                self.ready = line.split()
                break
            self.log.append(line)
            if time.monotonic() > deadline:
                raise RuntimeError("probe not ready after 30 s")

    def stop(self):
        self.p.send_signal(signal.SIGINT)
        out, err = self.p.communicate(timeout=60)
        if self.p.returncode != 0:
            raise RuntimeError(f"probe exit {self.p.returncode}: {err}")
        return json.loads(out)


def burner(*args):
    r = subprocess.run([BURNER, *args], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"burner {args}: exit {r.returncode}: {r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def cpu_of(res, pid):
    return sum(p["cpu_ns"] for p in res["procs"] if p["pid"] == pid)


def rel(a, b):
    return abs(a - b) / b if b else float("inf")


def sum_check(res, label):
    want = res["window_ns"] * res["ncpus"]
    got = res["window_procs_cpu_ns"] + res["window_idle_ns"]
    node = res["window_busy_ns"] + res["window_idle_ns"]
    check(rel(got, want) <= TOL_SUM,
          f"{label}: sum(process cpu) + idle = {got / 1e9:.3f} s vs elapsed x {res['ncpus']} "
          f"CPUs = {want / 1e9:.3f} s ({rel(got, want) * 100:.2f} %, limit 2 %); "
          f"node busy+idle = {node / 1e9:.3f} s")


def ground_truth(source, *extra):
    """Returns the fraction of the short-lived children's CPU time the source saw."""
    label = source + (" " + " ".join(extra) if extra else "")
    probe = Probe(source, *extra)
    spin = burner("spin", "1.0")
    thr = burner("threads", "4", "0.5")
    fork = burner("forker", "1000", "2")
    time.sleep(0.5)
    res = probe.stop()
    print(f"{label}: attach={res['attach']} reads={res['reads']} procs={len(res['procs'])} "
          f"dropped={res['dropped_total']} unseen switches={res.get('unseen_total', 0)} "
          f"counters={res['has_counters']}", flush=True)

    got = cpu_of(res, spin["pid"])
    check(rel(got, spin["rusage_self_ns"]) <= TOL_GROUND,
          f"{label}: spin 1.0 s: {got / 1e9:.4f} s vs rusage {spin['rusage_self_ns'] / 1e9:.4f} s "
          f"({rel(got, spin['rusage_self_ns']) * 100:.2f} %)")
    got = cpu_of(res, thr["pid"])
    check(rel(got, thr["rusage_self_ns"]) <= TOL_GROUND,
          f"{label}: 4 threads x 0.5 s: {got / 1e9:.4f} s vs rusage {thr['rusage_self_ns'] / 1e9:.4f} s "
          f"({rel(got, thr['rusage_self_ns']) * 100:.2f} %)")

    kids = [p for p in res["procs"] if p["ppid"] == fork["pid"] and p["pid"] != fork["pid"]]
    kid_cpu = sum(p["cpu_ns"] for p in kids)
    frac = kid_cpu / fork["rusage_children_ns"]
    exited = sum(1 for p in kids if p["exited"])
    print(f"{label}: children seen {len(kids)} of 1000 ({exited} exited), "
          f"CPU {kid_cpu / 1e9:.4f} s vs rusage(CHILDREN) {fork['rusage_children_ns'] / 1e9:.4f} s",
          flush=True)
    if source == "ebpf":
        check(rel(kid_cpu, fork["rusage_children_ns"]) <= TOL_GROUND,
              f"{label}: 1000 short-lived children: {frac * 100:.2f} % of rusage(CHILDREN)")
        check(exited >= 990, f"{label}: {exited} of 1000 children reported exited")
    else:
        print(f"procfs saw {frac * 100:.1f}% of the short-lived children's CPU time, as expected "
              "(a process that starts and ends between two scans is invisible to procfs)",
              flush=True)
    return frac


def sum_of_all(source):
    """Only long-lived work here: procfs cannot see short-lived processes at all."""
    probe = Probe(source)
    spin = subprocess.Popen([BURNER, "spin", "1.5"], stdout=subprocess.DEVNULL)
    burner("threads", "2", "0.5")
    spin.wait(timeout=60)
    time.sleep(1.0)
    res = probe.stop()
    sum_check(res, f"{source}")


def map_full():
    probe = Probe("ebpf", "--max-processes", "64")
    burner("--linger", "0", "forker", "300", "0")
    time.sleep(0.5)
    res = probe.stop()
    check(res["dropped_total"] > 0,
          f"ebpf map of 64 entries, 300 processes: dropped_total = {res['dropped_total']} > 0")


def main():
    if os.geteuid() != 0:
        print("SKIP: the activity tests load BPF programs and need root")
        return 77
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        print("SKIP: no kernel BTF (/sys/kernel/btf/vmlinux): eBPF cannot be tested")
        return 77
    for t in (PROBE, BURNER):
        if not os.access(t, os.X_OK):
            print(f"missing helper {t} (build tests/tools)")
            return 1

    ebpf_frac = ground_truth("ebpf")
    ground_truth("ebpf", "--raw-tp")
    procfs_frac = ground_truth("procfs")
    check(procfs_frac < 0.5 and procfs_frac < ebpf_frac - 0.4,
          f"procfs sees clearly less of the short-lived children than eBPF "
          f"({procfs_frac * 100:.1f} % vs {ebpf_frac * 100:.1f} %)")
    sum_of_all("ebpf")
    sum_of_all("procfs")
    map_full()

    print(f"{len(failures)} failed" if failures else "all activity checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
