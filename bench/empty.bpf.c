// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The floor that bench/ebpf_bench measures the agent's switch program against:
 * a program that does nothing, on the same tracepoint. Its own object, so that
 * the agent's skeleton carries only what the agent runs.
 */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/sched_switch")
int BPF_PROG(switch_empty, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
