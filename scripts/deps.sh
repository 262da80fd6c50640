#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install the Debian packages the build and the tests need. Idempotent and quiet
# when everything is already there.
#
#   deps.sh          everything: building, tests, fuzzing, the container image
#   deps.sh --build  only what building src/kepler needs (the image's build stage)
#   deps.sh --list-build  print that list (deploy/image/mkbase.sh makes a base of it)
set -eu

# meson, the compiler, clang -target bpf and bpftool for the BPF object, the
# libraries' headers, cmocka (meson setup asks for it) and the CA bundle the image ships.
BUILD_PKGS="meson ninja-build pkg-config gcc clang bpftool libbpf-dev libelf-dev zlib1g-dev
libmicrohttpd-dev libcurl4-gnutls-dev libjansson-dev libyaml-dev libcmocka-dev libgnutls28-dev
libcrypt-dev python3 ca-certificates"
# The tests: llvm-symbolizer for ASan, the fuzzers' runtime, promtool, the tools
# the integration tests run; podman, runc and mmdebstrap build and run the image;
# systemd-analyze checks the unit.
TEST_PKGS="llvm libclang-rt-14-dev
prometheus curl procps libcap2-bin util-linux valgrind faketime
podman runc mmdebstrap systemd"

case "${1:-}" in
"") PKGS="$BUILD_PKGS $TEST_PKGS" ;;
--build) PKGS=$BUILD_PKGS ;;
--list-build)
	# shellcheck disable=SC2086 # one line, words split
	echo $BUILD_PKGS
	exit 0
	;;
*)
	echo "usage: $0 [--build | --list-build]" >&2
	exit 2
	;;
esac

# npm packages of the Kubernetes manifest validation (tests/kubernetes/
# validate.mjs), at the versions of its package-lock.json, into
# tests/kubernetes/node_modules (ignored by git); again only when the lock
# file changed since the last install; not for --build.
k8s="$(dirname "$0")/../tests/kubernetes"
if [ -z "${1:-}" ] && ! cmp -s "$k8s/package-lock.json" "$k8s/node_modules/.installed-lock.json"; then
	echo "deps: npm ci in tests/kubernetes"
	npm ci --prefix "$k8s" --no-audit --no-fund --loglevel=error
	cp "$k8s/package-lock.json" "$k8s/node_modules/.installed-lock.json"
fi

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
