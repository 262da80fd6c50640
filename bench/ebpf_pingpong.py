#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Context-switch throughput of a pipe ping-pong (both ends on CPU 0), with
the activity collector off and on (activity_probe --source ebpf draining every
second, as an agent would at a short interval), alternating rounds in the same
run; prints the medians and the loss.

    ebpf_pingpong.py BUILDDIR [ROUNDS] [SECONDS]
"""
import json
import os
import signal
import statistics
import subprocess
import sys


def main():
    build = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    secs = sys.argv[3] if len(sys.argv) > 3 else "2"
    tools = os.path.join(build, "tests", "tools")
    burner, probe = os.path.join(tools, "burner"), os.path.join(tools, "activity_probe")

    def pingpong():
        out = subprocess.run([burner, "pingpong", secs], capture_output=True, text=True,
                             check=True).stdout
        return json.loads(out)["round_trips_per_s"]

    off, on = [], []
    for _ in range(rounds):
        off.append(pingpong())
        p = subprocess.Popen([probe, "--source", "ebpf", "--interval", "1s"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while not p.stderr.readline().startswith("ready"):
            pass
        on.append(pingpong())
        p.send_signal(signal.SIGINT)
        p.wait(timeout=30)
    moff, mon = statistics.median(off), statistics.median(on)
    print(json.dumps({"bench": "pingpong", "rounds": rounds, "seconds": float(secs),
                      "off_round_trips_per_s": [round(x) for x in off],
                      "on_round_trips_per_s": [round(x) for x in on],
                      "median_off": round(moff), "median_on": round(mon),
                      "loss_pct": round((moff - mon) / moff * 100, 2)}))


if __name__ == "__main__":
    main()
