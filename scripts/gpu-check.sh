#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# On a machine with an NVIDIA GPU and its driver: run the agent against the real
# NVML for a minute (under GPU load when a tool to make one is there, idle
# otherwise), and compare its GPU power with nvidia-smi's power.draw sampled
# over the same window (within 10 %). Prints the energy source the agent chose
# and the per-process GPU figures. Exits non-zero when the figures disagree.
# Usage: scripts/gpu-check.sh [BUILD_DIR] [SECONDS]
set -eu
build=${1:-build}
seconds=${2:-60}
port=28299
work=$(mktemp -d)
agent=""
load=""
cleanup() {
	[ -n "$load" ] && kill "$load" 2>/dev/null
	[ -n "$agent" ] && kill "$agent" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

command -v nvidia-smi >/dev/null || { echo "gpu-check: no nvidia-smi: no NVIDIA driver here"; exit 2; }
[ -x "$build/src/kepler" ] || { echo "gpu-check: no $build/src/kepler (make build first)"; exit 2; }
nvidia-smi --query-gpu=index,uuid,name,driver_version,power.draw --format=csv

# A GPU load, when something here can make one: PyTorch, else CuPy; idle otherwise.
cat >"$work/load.py" <<'PY'
import time, sys
end = time.time() + float(sys.argv[1])
try:
    import torch
    a = torch.randn(8192, 8192, device="cuda")
    while time.time() < end:
        a = (a @ a).clamp_(-1, 1)
        torch.cuda.synchronize()
except ImportError:
    import cupy
    a = cupy.random.rand(8192, 8192, dtype=cupy.float32)
    while time.time() < end:
        a = cupy.clip(a @ a, -1, 1)
        cupy.cuda.Device().synchronize()
PY
if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null ||
	python3 -c 'import cupy' 2>/dev/null; then
	python3 "$work/load.py" $((seconds + 20)) &
	load=$!
	echo "gpu-check: load: a matrix-multiply loop (pid $load)"
	sleep 5
else
	echo "gpu-check: no PyTorch or CuPy here: the GPU stays idle"
fi

"$build/src/kepler" --web.listen-address=127.0.0.1:$port --monitor.interval=1s \
	--power.gpu.source=nvml >"$work/agent.log" 2>&1 &
agent=$!
sleep 4
curl -sf "http://127.0.0.1:$port/metrics" >"$work/m0"
t0=$(date +%s.%N)
: >"$work/smi"
i=0
while [ "$i" -lt "$seconds" ]; do
	nvidia-smi --query-gpu=index,power.draw --format=csv,noheader,nounits >>"$work/smi"
	sleep 1
	i=$((i + 1))
done
curl -sf "http://127.0.0.1:$port/metrics" >"$work/m1"
t1=$(date +%s.%N)
grep -E '^gpu:|level=(warn|error)|gpu' "$work/agent.log" | head -20

python3 - "$work/m0" "$work/m1" "$t0" "$t1" "$work/smi" <<'PY'
import re, sys
def parse(path):
    out = {}
    for line in open(path):
        m = re.match(r'^([a-z_]+)(\{.*\})? (\S+)$', line.strip())
        if m:
            out.setdefault(m.group(1), []).append((m.group(2) or "", float(m.group(3))))
    return out
m0, m1 = parse(sys.argv[1]), parse(sys.argv[2])
dt = float(sys.argv[4]) - float(sys.argv[3])
smi = {}
for line in open(sys.argv[5]):
    idx, w = [x.strip() for x in line.split(",")]
    try:
        smi.setdefault(idx, []).append(float(w))
    except ValueError:
        pass
for labels, _ in m1.get("kepler_node_gpu_info", []):
    print("agent:", labels)
bad = 0
for labels, e1 in m1.get("kepler_node_gpu_joules_total", []):
    e0 = dict(m0.get("kepler_node_gpu_joules_total", [])).get(labels, 0)
    gpu = re.search(r'gpu="(\d+)"', labels).group(1)
    agent_w = (e1 - e0) / dt
    ref = smi.get(gpu, [])
    ref_w = sum(ref) / len(ref) if ref else float("nan")
    ok = ref and abs(agent_w - ref_w) <= 0.10 * ref_w
    bad += not ok
    print(f"gpu {gpu}: agent {agent_w:.1f} W (energy over {dt:.0f} s), nvidia-smi power.draw "
          f"mean {ref_w:.1f} W over {len(ref)} samples: {'ok' if ok else 'DIFFERS'} (10 %)")
for name in ("kepler_node_gpu_idle_estimate_watts", "kepler_node_gpu_active_watts"):
    for labels, v in m1.get(name, []):
        print(f"{name}{labels} {v:.2f}")
for name in ("kepler_process_gpu_joules_total", "kepler_process_gpu_watts",
             "kepler_process_gpu_compute_utilization"):
    for labels, v in m1.get(name, []):
        print(f"{name}{labels} {v:.3f}")
sys.exit(1 if bad else 0)
PY
