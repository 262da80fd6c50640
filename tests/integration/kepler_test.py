# SPDX-License-Identifier: Apache-2.0
"""Shared pieces of the integration tests: start the real binary, scrape it over
real HTTP, parse the exposition text, and advance fixture counters in real time."""

import gzip
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

KEPLER = os.environ.get("KEPLER_BIN", "build/src/kepler")
FIXTURES = os.environ.get("FIXTURES", os.path.join(os.path.dirname(__file__), "..", "fixtures"))

failures = 0


def check(cond, what):
    """Record one assertion; the test exits 1 at the end if any failed."""
    global failures
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures += 1
    return cond


def finish():
    print(f"{'FAILED' if failures else 'passed'}: {failures} failure(s)", flush=True)
    sys.exit(1 if failures else 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_fixture(name):
    """A writable copy of tests/fixtures/sysfs/<name>."""
    dst = tempfile.mkdtemp(prefix=f"kepler-{name}-")
    shutil.copytree(os.path.join(FIXTURES, "sysfs", name), dst, dirs_exist_ok=True,
                    symlinks=True)
    return dst


class Agent:
    """The real kepler binary on a free loopback port."""

    def __init__(self, *args, port=None, config=None, env=None):
        """env: variables added to this environment for the agent alone."""
        self.port = port or free_port()
        self.args = [KEPLER, f"--web.listen-address=127.0.0.1:{self.port}", *args]
        if config is not None:
            fd, self.config_path = tempfile.mkstemp(suffix=".yaml")
            with os.fdopen(fd, "w") as f:
                f.write(config)
            self.args.append(f"--config.file={self.config_path}")
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **env} if env else None)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kepler exited {self.proc.returncode}: {self.output()}")
            try:
                status, _, _ = self.get("/metrics")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"kepler not ready after {timeout}s: {self.output()}")

    def get(self, path, headers=None, method="GET"):
        req = urllib.request.Request(self.url + path, headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def scrape(self):
        status, headers, body = self.get("/metrics")
        if status != 200:
            raise RuntimeError(f"/metrics answered {status}")
        return parse(body.decode())

    def scrape_text(self, gzip_ok=False):
        headers = {"Accept-Encoding": "gzip"} if gzip_ok else {}
        status, h, body = self.get("/metrics", headers)
        if h.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        return status, h, body.decode()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=5):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        if exc[0] is not None:
            print(self.output())


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def cgroup2_mount():
    """Where the cgroup v2 hierarchy is mounted (not always /sys/fs/cgroup), or None."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1] == "cgroup2":
                return fields[4].replace("\\040", " ")
    return None


def cgroup_root_or_skip():
    """The cgroup v2 mount for a test that moves processes into cgroups; without root
    or a hierarchy, the test is skipped with the reason."""
    if os.geteuid() != 0:
        print("skipped: moving processes between cgroups needs root")
        sys.exit(77)
    mount = cgroup2_mount()
    if not mount:
        print("skipped: no cgroup v2 hierarchy mounted")
        sys.exit(77)
    return mount


def promtool_check(text, what):
    """promtool check metrics on a scrape's text: clean, or its findings in the check."""
    promtool = shutil.which("promtool")
    if not check(promtool, "promtool found (Debian package prometheus: scripts/deps.sh)"):
        return
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    findings = (p.stdout + p.stderr).strip()
    check(p.returncode == 0 and not findings, f"promtool on {what}: {findings[:500] or 'clean'}")


class Cgroups:
    """Directories under the cgroup v2 mount, removed (after their processes) at the end."""

    def __init__(self, mount=None):
        self.mount = mount or cgroup2_mount()
        self.dirs = []

    def make(self, rel):
        path = os.path.join(self.mount, rel)
        parts = rel.split("/")
        for i in range(1, len(parts) + 1):
            p = os.path.join(self.mount, *parts[:i])
            if not os.path.isdir(p):
                os.mkdir(p)
                self.dirs.append(p)
        return path

    def cleanup(self):
        for p in reversed(self.dirs):
            try:
                os.rmdir(p)
            except OSError as e:
                print(f"note: cannot remove {p}: {e}")


def spawn_in(cgroup_dir, duty=1.0, seconds=None):
    """A Python burner that moves itself into cgroup_dir before it burns. duty is the
    fraction of each 10 ms it spins; seconds, when given, makes it exit by itself."""
    code = (
        "import os, sys, time\n"
        f"open({os.path.join(cgroup_dir, 'cgroup.procs')!r}, 'w').write(str(os.getpid()))\n"
        f"duty, end = {duty}, (time.monotonic() + {seconds} if {seconds!r} else None)\n"
        "while end is None or time.monotonic() < end:\n"
        "    t = time.monotonic()\n"
        "    while time.monotonic() - t < 0.01 * duty: pass\n"
        "    if duty < 1: time.sleep(0.01 * (1 - duty))\n"
    )
    return subprocess.Popen([sys.executable, "-c", code])



class ProcOverlay:
    """A procfs for --host.procfs: every entry of /proc as a link to the real one, but for
    the pids given, whose directories are real: their entries link to /proc/<pid>/...,
    except fd/ and fdinfo/, which hold what the test writes (DRM clients: a GPU where
    there is none). remove(pid) makes a process look ended."""

    def __init__(self, pids):
        self.root = tempfile.mkdtemp(prefix="kepler-proc-")
        own = {str(p) for p in pids}
        for name in os.listdir("/proc"):
            if name not in own:
                os.symlink(f"/proc/{name}", os.path.join(self.root, name))
        for pid in own:
            d = os.path.join(self.root, pid)
            os.mkdir(d)
            for name in os.listdir(f"/proc/{pid}"):
                if name not in ("fd", "fdinfo"):
                    os.symlink(f"/proc/{pid}/{name}", os.path.join(d, name))
            os.mkdir(os.path.join(d, "fd"))
            os.mkdir(os.path.join(d, "fdinfo"))

    def set_fd(self, pid, fd, target, fdinfo):
        """fd of pid points at target, with this fdinfo text (replaced atomically)."""
        link = os.path.join(self.root, str(pid), "fd", str(fd))
        if not os.path.islink(link):
            os.symlink(target, link)
        path = os.path.join(self.root, str(pid), "fdinfo", str(fd))
        with open(path + ".tmp", "w") as f:
            f.write(fdinfo)
        os.replace(path + ".tmp", path)

    def remove(self, pid):
        shutil.rmtree(os.path.join(self.root, str(pid)))

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


def xe_sysfs(n_cards, first_bus=0x10):
    """A sysfs tree with n_cards xe cards (as tests/fixtures/sysfs/gpu-xe lays one out),
    card i at PCI 0000:<first_bus + i>:00.0 with its energy1_input (µJ) at the path
    returned for it. Returns (root, [energy file per card])."""
    root = tempfile.mkdtemp(prefix="kepler-xe-")
    files = []
    for i in range(n_cards):
        pci = f"0000:{first_bus + i:02x}:00.0"
        dev = os.path.join(root, "devices", "pci0000:00", pci)
        hw = os.path.join(dev, "hwmon", f"hwmon{20 + i}")
        card = os.path.join(dev, "drm", f"card{10 + i}")
        os.makedirs(hw)
        os.makedirs(card)
        os.makedirs(os.path.join(root, "bus", "pci", "drivers", "xe"), exist_ok=True)
        os.symlink("../../../bus/pci/drivers/xe", os.path.join(dev, "driver"))
        os.symlink(f"../../../{pci}", os.path.join(hw, "device"))
        os.symlink(f"../../../{pci}", os.path.join(card, "device"))
        with open(os.path.join(hw, "name"), "w") as f:
            f.write("xe\n")
        with open(os.path.join(hw, "energy1_input"), "w") as f:
            f.write("1000000\n")
        files.append(os.path.join(hw, "energy1_input"))
        for cls, name, target in (("drm", f"card{10 + i}", card), ("hwmon", f"hwmon{20 + i}", hw)):
            os.makedirs(os.path.join(root, "class", cls), exist_ok=True)
            os.symlink(os.path.relpath(target, os.path.join(root, "class", cls)),
                       os.path.join(root, "class", cls, name))
    return root, files


def parse(text):
    """{(name, frozenset(labels)): value} for every sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError(f"unparsable line: {line!r}")
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(metrics, name, **labels):
    want = set(labels.items())
    for (n, ls), v in metrics.items():
        if n == name and want <= set(ls):
            return v
    return None


def series(metrics, name):
    return {ls: v for (n, ls), v in metrics.items() if n == name}


class CounterWriter(threading.Thread):
    """Advances energy_uj files at a known power, wrapping at max_energy_range_uj as
    the hardware does. zones: {path_to_zone_dir: watts}."""

    def __init__(self, zones, period=0.005):
        super().__init__(daemon=True)
        self.zones = {}
        for path, watts in zones.items():
            with open(os.path.join(path, "max_energy_range_uj")) as f:
                max_range = int(f.read())
            with open(os.path.join(path, "energy_uj")) as f:
                start = int(f.read())
            self.zones[path] = (watts, max_range, start)
        self.period = period
        self.stopped = threading.Event()
        self.t0 = time.monotonic()
        self.wraps = 0

    def run(self):
        last = {}
        while not self.stopped.is_set():
            elapsed = time.monotonic() - self.t0
            for path, (watts, max_range, start) in self.zones.items():
                v = (start + int(watts * elapsed * 1e6)) % (max_range + 1)
                if path in last and v < last[path]:
                    self.wraps += 1
                last[path] = v
                tmp = os.path.join(path, ".energy_uj.tmp")
                with open(tmp, "w") as f:
                    f.write(f"{v}\n")
                os.replace(tmp, os.path.join(path, "energy_uj"))
            time.sleep(self.period)

    def stop(self):
        self.stopped.set()
        self.join()
