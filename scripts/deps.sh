#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install the Debian packages the build and the tests need. Idempotent and quiet
# when everything is already there.
set -eu

PKGS="meson ninja-build pkg-config gcc clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
libmicrohttpd-dev libcurl4-gnutls-dev libjansson-dev libyaml-dev libcmocka-dev libgnutls28-dev
libcrypt-dev libclang-rt-14-dev
prometheus python3 curl procps libcap2-bin util-linux valgrind faketime"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
