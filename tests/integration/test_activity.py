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
  - long-lived work (a spin and two threads) in a cgroup of the test's own: the
    source's CPU time of those processes == the kernel's cgroup accounting of them
    (cpu.stat usage_usec) within 3 %
  - eBPF sees every process, the machine's other work too: sum of every process's
    CPU time + idle = elapsed x CPUs within 2 % (elapsed from the probe's monotonic
    clock over its reads). procfs cannot see processes that start and end between
    two scans, and other work on the machine may run such processes: there the sum
    may fall short (printed) but never exceeds elapsed x CPUs by more than 2 %, and
    the node's busy + idle it reads from /proc/stat = elapsed x CPUs within 2 %
  - a 64-entry map and 300 processes: the drop counter rises, nothing crashes

Needs root and kernel BTF (exit 77 otherwise). Python 3 stdlib only.
"""
import json
import os
import signal
import subprocess
import sys
import time

from kepler_test import cgroup2_mount

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


class OwnCgroup:
    """A cgroup v2 for the test's own processes: the kernel's CPU accounting of them."""

    def __init__(self, mnt):
        self.path = os.path.join(mnt, f"kepler-activity-{os.getpid()}")
        os.mkdir(self.path)

    def usage_ns(self):
        with open(os.path.join(self.path, "cpu.stat")) as f:
            for line in f:
                key, v = line.split()
                if key == "usage_usec":
                    return int(v) * 1000
        raise RuntimeError(f"no usage_usec in {self.path}/cpu.stat")

    def spawn(self, *args):
        """The burner with args, moved into this cgroup before it executes."""
        def join():
            with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
                f.write("0")
        return subprocess.Popen([BURNER, *args], stdout=subprocess.PIPE, text=True,
                                preexec_fn=join)

    def remove(self):
        os.rmdir(self.path)


def sum_check(res, label):
    want = res["window_ns"] * res["ncpus"]
    got = res["window_procs_cpu_ns"] + res["window_idle_ns"]
    node = res["window_busy_ns"] + res["window_idle_ns"]
    what = (f"{label}: sum(process cpu) + idle = {got / 1e9:.3f} s vs elapsed x {res['ncpus']} "
            f"CPUs = {want / 1e9:.3f} s ({(got - want) / want * 100:+.2f} %")
    if res["source"] == "ebpf":
        check(rel(got, want) <= TOL_SUM, f"{what}, limit 2 %)")
    else:
        check(got <= want * (1 + TOL_SUM),
              f"{what}, at most +2 %: short by what processes too short-lived for procfs "
              f"used)")
        check(rel(node, want) <= TOL_SUM,
              f"{label}: node busy + idle from /proc/stat = {node / 1e9:.3f} s vs elapsed x "
              f"{res['ncpus']} CPUs ({rel(node, want) * 100:.2f} %, limit 2 %)")


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


def sum_of_all(source, mnt):
    """Only long-lived work of the test's own here: procfs cannot see short-lived
    processes at all."""
    probe = Probe(source)
    cg = OwnCgroup(mnt)
    try:
        u0 = cg.usage_ns()
        work = [cg.spawn("spin", "1.5"), cg.spawn("threads", "2", "0.5")]
        for w in work:
            w.communicate(timeout=120)
            if w.returncode != 0:
                raise RuntimeError(f"burner {w.args}: exit {w.returncode}")
        own = cg.usage_ns() - u0
    finally:
        cg.remove()
    time.sleep(1.0)
    res = probe.stop()
    pids = {w.pid for w in work}
    got = sum(p["cpu_ns"] for p in res["procs"] if p["pid"] in pids)
    check(rel(got, own) <= TOL_GROUND,
          f"{source}: the test's own spin and threads: {got / 1e9:.4f} s vs the kernel's "
          f"cgroup accounting {own / 1e9:.4f} s ({rel(got, own) * 100:.2f} %, limit 3 %)")
    sum_check(res, source)


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
    mnt = cgroup2_mount()
    if not mnt:
        print("no cgroup2 mount in /proc/self/mountinfo: the kernel's own accounting of "
              "the test's processes comes from one")
        return 1

    ebpf_frac = ground_truth("ebpf")
    ground_truth("ebpf", "--raw-tp")
    procfs_frac = ground_truth("procfs")
    check(procfs_frac < 0.5 and procfs_frac < ebpf_frac - 0.4,
          f"procfs sees clearly less of the short-lived children than eBPF "
          f"({procfs_frac * 100:.1f} % vs {ebpf_frac * 100:.1f} %)")
    sum_of_all("ebpf", mnt)
    sum_of_all("procfs", mnt)
    map_full()

    print(f"{len(failures)} failed" if failures else "all activity checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
