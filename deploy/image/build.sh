#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make image: build localhost/kepler:<version>, also tagged kepler:latest, from
# deploy/image/Containerfile with podman, else buildah. No registry is needed:
# mkbase.sh makes the build stage's base from Debian packages when none can be
# pulled.
#
#   build.sh [BUILD_DIR]      (default: build)
#
# BUILD_DIR/image holds the build context (the files git tracks or would track,
# as they are in the working tree: no build output) and a containers.conf that
# suits this kind of machine, used unless CONTAINERS_CONF is set. With
# IMAGE_STATE=DIR, podman's or buildah's storage and run state live in DIR
# too (DIR/containers.conf, DIR/storage.conf: tests/integration/test_image.py
# uses them), so that nothing outside the build directory changes.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
mkdir -p "$build/image"
work=$(cd "$build/image" && pwd)

tool=$(command -v podman || command -v buildah) || {
	echo "image: needs podman or buildah (scripts/deps.sh installs podman)" >&2
	exit 1
}

state=
if [ -z "${CONTAINERS_CONF:-}" ]; then
	conf=$work/containers.conf
	if [ -n "${IMAGE_STATE:-}" ]; then
		mkdir -p "$IMAGE_STATE"
		state=$(cd "$IMAGE_STATE" && pwd)
		conf=$state/containers.conf
		cat >"$state/storage.conf" <<EOC
[storage]
driver = "overlay"
graphroot = "$state/storage"
runroot = "$state/run"
EOC
		export CONTAINERS_STORAGE_CONF="$state/storage.conf"
	fi
	cat >"$conf" <<EOC
[containers]
# No raised RLIMIT_NOFILE/NPROC in containers: setting them needs
# CAP_SYS_RESOURCE, which the root of a VM or of a container may lack.
default_ulimits = []

[engine]
# crun refuses a hybrid cgroup layout (v1 controllers, v2 at
# /sys/fs/cgroup/unified); runc runs there and on the other layouts.
runtime = "runc"
${state:+tmp_dir = \"$state/tmp\"}
EOC
	export CONTAINERS_CONF="$conf"
fi

# The context: tracked and untracked-but-not-ignored files, as in the tree.
rm -rf "$work/context"
mkdir -p "$work/context"
# A tracked file deleted in the tree is left out, as it is there.
(cd "$top" && git ls-files -z --cached --others --exclude-standard |
	tar -cf - --null --no-recursion --ignore-failed-read -T - 2>/dev/null) |
	tar -xf - -C "$work/context"

version=$(sed -n "s/^[[:space:]]*version : '\(.*\)',$/\1/p" "$top/meson.build")
revision=$(git -C "$top" describe --always --dirty --abbrev=12)
base=$("$top/deploy/image/mkbase.sh" "$tool" "$work/base")
echo "image: $tool, build stage on $base" >&2
"$tool" build --layers --build-arg "BUILD_BASE=$base" \
	--label "org.opencontainers.image.title=kepler" \
	--label "org.opencontainers.image.version=$version" \
	--label "org.opencontainers.image.revision=$revision" \
	--label "org.opencontainers.image.licenses=Apache-2.0" \
	-t "localhost/kepler:$version" -t localhost/kepler:latest \
	-f "$top/deploy/image/Containerfile" "$work/context"
"$tool" images "localhost/kepler:$version"
