#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The command line: --help, --version, and bad input that must give one clear
line and exit status 2 before anything starts."""

import os
import socket
import subprocess
import tempfile
import time

from kepler_test import FIXTURES, KEPLER, check, finish, free_port


def run(*args, timeout=10):
    p = subprocess.run([KEPLER, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def config_file(text):
    fd, path = tempfile.mkstemp(suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


rc, out, err = run("--help")
check(rc == 0 and "--monitor.interval" in out and "--web.listen-address" in out,
      "--help exits 0 and lists the flags")
rc, out, err = run("--version")
check(rc == 0 and out.startswith("kepler "), f"--version exits 0: {out.strip()!r}")

empty = os.path.join(FIXTURES, "sysfs", "empty")
typo = config_file("monitor:\n  intervall: 5s\n")
badval = config_file("monitor:\n  interval: soon\n")
broken = config_file("log: [unclosed\n")
bad = [
    (["--no-such-flag"], "--no-such-flag"),
    (["--monitor.interval=5x"], "5x"),
    (["--monitor.interval"], "--monitor.interval"),
    (["--log.level=loud"], "loud"),
    (["--config.file=/nonexistent/kepler.yaml"], "/nonexistent/kepler.yaml"),
    ([f"--config.file={typo}"], "monitor.intervall"),
    ([f"--config.file={badval}"], "monitor.interval"),
    ([f"--config.file={broken}"], broken),
    ([f"--host.sysfs={empty}", "--power.source=rapl"], "rapl"),
    (["--web.listen-address=127.0.0.1:99999"], "99999"),
]
for args, needle in bad:
    rc, out, err = run(*args)
    lines = [l for l in err.splitlines() if l.strip()]
    check(rc == 2 and len(lines) == 1 and needle in lines[0],
          f"{' '.join(args)[:70]} -> exit {rc}, {lines[:2]}")

# A port already in use is a startup error naming the address, not a crash or a hang.
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    rc, out, err = run(f"--web.listen-address=127.0.0.1:{port}",
                       f"--host.sysfs={empty}", "--activity.source=procfs")
    check(rc == 2 and f"127.0.0.1:{port}" in err, f"port in use -> exit {rc}: {err.strip()!r}")

# Flags override the file.
port = free_port()
path = config_file(f"web:\n  listenAddresses: ['127.0.0.1:1']\nmonitor:\n  interval: 1h\n")
p = subprocess.Popen([KEPLER, f"--config.file={path}", f"--web.listen-address=127.0.0.1:{port}",
                      "--monitor.interval=1s", f"--host.sysfs={empty}",
                      "--activity.source=procfs"], stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT, text=True)
try:
    ok = False
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                ok = True
                break
        except OSError:
            time.sleep(0.05)
    check(ok, "the flag's listen address wins over the file's")
finally:
    p.terminate()
    p.wait(5)

finish()
