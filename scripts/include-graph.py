#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The include graph of src/ by module (a folder of src/, or a top-level file), and the
layering DESIGN section 3 asks for:

  - attribution/ is pure: nothing from workload/, power/, activity/, export/, snapshot/
  - export/ reads only the published snapshot: nothing from workload/, attribution/,
    power/, activity/, and of snapshot/ only snapshot.h
  - workload/ answers who a process is: nothing from power/ or export/

Prints "module -> modules it includes" and any violation; exits 1 on a violation.
Usage: include-graph.py [SRC_DIR]"""

import os
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

FORBIDDEN = {
    "attribution": ("workload", "power", "activity", "export", "snapshot", "config.h"),
    "export": ("workload", "attribution", "power", "activity"),
    "workload": ("power", "export"),
}
ALLOWED_FILES = {"export": {"snapshot/build.h": False}}


def module(path):
    return path.split("/")[0] if "/" in path else path


graph, bad = {}, []
for root, _, files in os.walk(src):
    for name in sorted(files):
        if not name.endswith((".c", ".h")):
            continue
        rel = os.path.relpath(os.path.join(root, name), src)
        mod = module(rel)
        with open(os.path.join(root, name)) as f:
            for inc in INCLUDE.findall(f.read()):
                target = module(inc)
                if target == mod or not os.path.exists(os.path.join(src, inc)):
                    continue  # within the module, or generated (version.h, the skeleton)
                graph.setdefault(mod, set()).add(target)
                if target in FORBIDDEN.get(mod, ()) or \
                        ALLOWED_FILES.get(mod, {}).get(inc, True) is False:
                    bad.append(f"{rel} includes {inc}")

for mod in sorted(graph):
    print(f"{mod} -> {', '.join(sorted(graph[mod]))}")
for b in bad:
    print(f"layering violation: {b}")
sys.exit(1 if bad else 0)
