#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""promtool check metrics on real scrapes: the estimator on this machine with the
default activity source, and RAPL on a two-socket fixture. Any finding fails."""

import shutil
import subprocess
import sys
import time

from kepler_test import Agent, check, copy_fixture, finish

promtool = shutil.which("promtool")
if not promtool:
    print("promtool not found (Debian package prometheus): scripts/deps.sh installs it")
    sys.exit(1)


def promtool_check(text, what):
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    findings = (p.stdout + p.stderr).strip()
    check(p.returncode == 0 and not findings, f"promtool on {what}: {findings[:500] or 'clean'}")


for what, args in (
    ("this machine (default sources)", ["--monitor.interval=500ms"]),
    ("rapl-2socket fixture", [f"--host.sysfs={copy_fixture('rapl-2socket')}",
                              "--monitor.interval=500ms", "--activity.source=procfs"]),
):
    with Agent(*args) as agent:
        agent.wait_ready()
        time.sleep(1.3)
        status, headers, text = agent.scrape_text()
        check(status == 200 and headers.get("Content-Type", "").startswith("text/plain; "
              "version=0.0.4"), f"{what}: 200 with the 0.0.4 content type")
        promtool_check(text, what)
        status, headers, gz = agent.scrape_text(gzip_ok=True)
        check(headers.get("Content-Encoding") == "gzip" and "kepler_node_info" in gz,
              f"{what}: gzip body when accepted")
        promtool_check(gz, f"{what} (gzip)")

finish()
