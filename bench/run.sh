#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Benchmarks (bench/README.md): ./bench/run.sh <builddir>. Each figure is
# printed next to its baseline from the same run. Needs root for eBPF.
# About 6 minutes.
set -eu
build=${1:-build}
here=$(dirname "$0")
tools="$build/tests/tools"

ninja -C "$build" bench/ebpf_bench tests/tools/activity_probe tests/tools/burner >/dev/null

echo "== activity collector: eBPF cost per context switch (kernel bpf_stats)"
"$build/bench/ebpf_bench" switch-cost 2 same-cpu 3 2>/dev/null
"$build/bench/ebpf_bench" switch-cost 2 two-cpus 3 2>/dev/null
echo "== activity collector: pipe ping-pong throughput, collector off vs on"
python3 "$here/ebpf_pingpong.py" "$build" 9 2
echo "== activity collector: CPU per drain, eBPF vs procfs"
"$build/bench/ebpf_bench" drain 1000,10000 15 2>/dev/null
echo "== the whole agent at 1,000 and 10,000 processes over 100 containers, eBPF vs procfs"
ninja -C "$build" src/kepler bench/sleepers >/dev/null
python3 "$here/agent_bench.py" "$build"
echo "== GPU collection at 10,000 processes, 8 GPUs, 50 GPU processes, beside no GPU"
python3 "$here/gpu_bench.py" "$build"
echo "== the platform's share at 10,000 processes: none, estimated, metered"
python3 "$here/platform_bench.py" "$build"
