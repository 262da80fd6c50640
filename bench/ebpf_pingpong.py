#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Context-switch throughput of a pipe ping-pong (both ends on CPU 0), with
nothing attached, with only an empty program on sched_switch (the floor any
program there costs), and with the activity collector (activity_probe --source
ebpf draining every second, as an agent would at a short interval), in rounds
of the three, the order rotating from round to round so that a drift of the
machine favours none; prints the medians, the loss of each against nothing
attached, and the collector's cost beyond the empty program.

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

    def with_attached(cmd):
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while not p.stderr.readline().startswith("ready"):
            pass
        rate = pingpong()
        p.send_signal(signal.SIGINT)
        p.wait(timeout=30)
        return rate

    empty_cmd = [os.path.join(build, "bench", "ebpf_bench"), "hold-empty"]
    probe_cmd = [probe, "--source", "ebpf", "--interval", "1s"]
    arms = [([], pingpong), ([], lambda: with_attached(empty_cmd)),
            ([], lambda: with_attached(probe_cmd))]
    for r in range(rounds):
        for results, run in arms[r % 3:] + arms[:r % 3]:
            results.append(run())
    off, empty, on = (results for results, _ in arms)
    moff, memp, mon = (statistics.median(x) for x in (off, empty, on))
    print(json.dumps({"bench": "pingpong", "rounds": rounds, "seconds": float(secs),
                      "off_round_trips_per_s": [round(x) for x in off],
                      "empty_round_trips_per_s": [round(x) for x in empty],
                      "on_round_trips_per_s": [round(x) for x in on],
                      "median_off": round(moff), "median_empty": round(memp),
                      "median_on": round(mon),
                      "empty_loss_pct": round((moff - memp) / moff * 100, 2),
                      "loss_pct": round((moff - mon) / moff * 100, 2),
                      "beyond_empty_pct": round((memp - mon) / memp * 100, 2)}))


if __name__ == "__main__":
    main()
