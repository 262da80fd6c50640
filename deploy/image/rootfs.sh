#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run in the build stage of deploy/image/Containerfile: lay out in ROOT the whole
# runtime image from the built binary, for a stage FROM scratch:
#
#   rootfs.sh BINARY ROOT
#
# - the binary, stripped, as /usr/bin/kepler;
# - the shared libraries ldd lists for it, at the paths the loader looks in, and
#   nothing else (no shell, no package manager, no compiler);
# - for the Debian package of each, its copyright file and its dpkg record in
#   /var/lib/dpkg/status.d/ (as distroless images keep them), so that licences
#   ship with the libraries and image scanners see the package versions;
# - the CA bundle (libcurl's default, for the kubelet and Redfish over HTTPS);
# - passwd and group with root and nobody;
# - /etc/kepler/config.yaml, which points the agent at the host's /proc and /sys
#   under /host.
set -eu
bin=$1
root=$2
here=$(dirname "$0")

mkdir -p "$root/usr/bin" "$root/etc/kepler" "$root/etc/ssl/certs" "$root/var/lib/dpkg/status.d"
install -m 0755 -s "$bin" "$root/usr/bin/kepler"

pkgs=ca-certificates
for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
	cp -L --parents "$lib" "$root"
	# dpkg knows a library by the path its package ships, before or after
	# the /usr merge: the path ldd gives, or where its links lead.
	pkg=$(dpkg-query -S "$lib" 2>/dev/null || dpkg-query -S "$(readlink -f "$lib")")
	pkgs="$pkgs ${pkg%%:*}"
done
for pkg in $(echo "$pkgs" | tr ' ' '\n' | sort -u); do
	dpkg-query -s "$pkg" >"$root/var/lib/dpkg/status.d/$pkg"
	mkdir -p "$root/usr/share/doc/$pkg"
	cp -L "/usr/share/doc/$pkg/copyright" "$root/usr/share/doc/$pkg/copyright"
done

cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf '%s\n' 'root:x:0:0:root:/root:/usr/sbin/nologin' \
	'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' >"$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$root/etc/group"
install -m 0644 "$here/config.yaml" "$root/etc/kepler/config.yaml"
