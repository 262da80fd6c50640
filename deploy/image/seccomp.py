#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Print a seccomp profile for the kepler container: the container engine's
default profile, with bpf allowed to a container holding CAP_BPF and
perf_event_open to one holding CAP_PERFMON.

    seccomp.py [DEFAULT_PROFILE] > kepler-seccomp.json
    podman run --security-opt seccomp=kepler-seccomp.json ...

DEFAULT_PROFILE defaults to /usr/share/containers/seccomp.json. The profile
of Debian 12's podman (containers-common 0.50) allows both calls only with
CAP_SYS_ADMIN, so with the four capabilities the image runs with, the agent
would fall back from eBPF to procfs. Everything else stays as in the default.
"""

import json
import sys

# Each call, and the capability that allows it since Linux 5.8.
GATES = {"bpf": "CAP_BPF", "perf_event_open": "CAP_PERFMON"}

path = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/containers/seccomp.json"
with open(path) as f:
    profile = json.load(f)

rules = []
for rule in profile["syscalls"]:
    names = [n for n in rule["names"] if n not in GATES]
    if names:
        rules.append({**rule, "names": names})
for name, cap in GATES.items():
    rules.append({"names": [name], "action": "SCMP_ACT_ALLOW", "includes": {"caps": [cap]}})
    # Without the capability the call fails with EPERM, as the default had it.
    rules.append({"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                  "errno": "EPERM", "excludes": {"caps": [cap]}})
profile["syscalls"] = rules
json.dump(profile, sys.stdout, indent=1)
print()
