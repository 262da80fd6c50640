#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Print the base image for the build stage of deploy/image/Containerfile, making
# it first where none can be had:
#
#   mkbase.sh TOOL WORKDIR     (TOOL: podman or buildah; WORKDIR: a scratch directory)
#
# 1. localhost/kepler-build-base:<codename>-<hash>, when an earlier run made it
#    from the same inputs (the packages of scripts/deps.sh --build, the Debian
#    mirrors apt uses here, this script);
# 2. else docker.io/library/debian:<codename>, when it is here or can be pulled
#    (the build stage then installs those packages itself);
# 3. else that localhost base, made now without any registry: mmdebstrap
#    installs the packages from the Debian mirrors apt uses on this machine
#    into a root file system, which becomes the image.
#
# <codename> is this machine's Debian release, so the image is built on the
# release the agent is developed and tested on.
set -eu
tool=$1
work=$2
top=$(cd "$(dirname "$0")/../.." && pwd)

# shellcheck source=/dev/null
. /etc/os-release
codename=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}
mkdir -p "$work"
# apt's own view of its Debian sources (one-line or deb822 files alike), security
# and updates included; any other repository on the machine is left out.
# shellcheck disable=SC2016 # $(...) is apt's format, not the shell's
apt-get indextargets --format 'deb $(REPO_URI) $(RELEASE) $(COMPONENT)' 'Created-By: Packages' \
	'Origin: Debian' "Architecture: $(dpkg --print-architecture)" | sort -u >"$work/sources.list"
pkgs=$("$top/scripts/deps.sh" --list-build)
hash=$({
	echo "$codename $pkgs"
	cat "$work/sources.list" "$0"
} | sha256sum | cut -c1-12)
local_ref=localhost/kepler-build-base:$codename-$hash
debian_ref=docker.io/library/debian:$codename

has() { "$tool" inspect --type image "$1" >/dev/null 2>&1; }

if has "$local_ref"; then
	echo "$local_ref"
	exit 0
fi
if has "$debian_ref" || timeout 120 "$tool" pull -q "$debian_ref" >/dev/null 2>&1; then
	echo "$debian_ref"
	exit 0
fi
[ -s "$work/sources.list" ] || {
	echo "mkbase: $debian_ref cannot be pulled and apt has no Debian mirror for mmdebstrap" >&2
	exit 1
}

echo "mkbase: $debian_ref cannot be pulled; making $local_ref with mmdebstrap" >&2
# Manual pages, translations and documentation dropped, the copyright files kept
# (the runtime stage ships those of the libraries it copies).
mmdebstrap --quiet --variant=apt --include="$(echo "$pkgs" | tr ' ' ,)" \
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
	"$codename" "$work/rootfs.tar" - <"$work/sources.list"
# FROM scratch + ADD rather than "podman import", which buildah lacks.
cat >"$work/Containerfile" <<EOC
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EOC
"$tool" build -q -t "$local_ref" -f "$work/Containerfile" "$work" >/dev/null
rm -f "$work/rootfs.tar"
echo "$local_ref"
