#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install the Debian packages the build and the tests need. Idempotent and quiet
# when everything is already there.
set -eu

# npm packages of the Kubernetes manifest validation (tests/kubernetes/
# validate.mjs), at the versions of its package-lock.json, into
# tests/kubernetes/node_modules (ignored by git); again only when the lock
# file changed since the last install.
k8s="$(dirname "$0")/../tests/kubernetes"
if ! cmp -s "$k8s/package-lock.json" "$k8s/node_modules/.installed-lock.json"; then
	echo "deps: npm ci in tests/kubernetes"
	npm ci --prefix "$k8s" --no-audit --no-fund --loglevel=error
	cp "$k8s/package-lock.json" "$k8s/node_modules/.installed-lock.json"
fi

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
