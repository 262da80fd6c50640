#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Regenerate bpf/vmlinux.h (committed) from the running kernel's BTF. The BPF
# program is CO-RE, so the header only has to contain the types it uses; any
# kernel with BTF works, not only the one it was generated on.
#   scripts/gen-vmlinux.sh [btf-file] [output]
set -eu
btf=${1:-/sys/kernel/btf/vmlinux}
out=${2:-$(dirname "$0")/../bpf/vmlinux.h}
bpftool=$(command -v bpftool || echo /usr/sbin/bpftool)

if [ ! -r "$btf" ]; then
	echo "gen-vmlinux: $btf not readable: the kernel needs CONFIG_DEBUG_INFO_BTF" >&2
	exit 1
fi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
chmod 644 "$tmp"
"$bpftool" btf dump file "$btf" format c >"$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "gen-vmlinux: wrote $out from $btf ($(uname -r))"
