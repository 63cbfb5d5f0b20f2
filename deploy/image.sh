#!/usr/bin/env bash
# image.sh: build the coldstart container image with podman, with no registry:
#   1. the program, built portable (-march=x86-64-v3, not native) into
#      build/container/bin-ARCH/ (incremental; CS_IMAGE_MARCH=x86-64 for any
#      CPU), copied to build/container/ctx/coldstart, the image's program;
#   2. the health probe deploy/probe.c, built static;
#   3. a base image, imported with `podman import` from a root filesystem made
#      here, cached in podman's storage under a tag that is a hash of what
#      went in (reused until a library, a package version or this script
#      changes):
#        CS_BASE=libs   (default) only the shared libraries the program links
#                       (ldd), copied from this machine's Debian packages with
#                       their copyright files, plus /etc/passwd with the
#                       non-root user 10001 "coldstart". No network, ~60 MB.
#        CS_BASE=debian debootstrap --variant=minbase bookworm from the mirror
#                       in /etc/apt/sources.list*, plus the Debian packages
#                       that own those libraries (a real distro base, with a
#                       shell; needs the mirror).
#   4. `podman build` of deploy/Containerfile on that base.
# Usage: deploy/image.sh [TAG]   (default localhost/coldstart:latest)
#   CS_IMAGE_BINARY=path  put this binary in the image instead of building one
#   CS_IMAGE_MARCH=arch   the -march of the image's program (default x86-64-v3)
#   CS_IIDFILE=file       write the built image's ID there
# Prints the tag, image ID and size on the last line.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-localhost/coldstart:latest}
base_kind=${CS_BASE:-libs}
work=build/container
mkdir -p "$work"
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "image: $*" >&2; }

deploy/podman-setup.sh
# rootful podman, as on our machines (rootless would need slirp4netns and
# subuids, and maps the container's uid elsewhere)
# shellcheck disable=SC2032,SC2033
[ "$(id -u)" -eq 0 ] || podman() { sudo podman "$@"; }

# 1. the program
if [ -n "${CS_IMAGE_BINARY:-}" ]; then
  bin=$CS_IMAGE_BINARY
else
  march=${CS_IMAGE_MARCH:-x86-64-v3}
  bin=$work/bin-$march/coldstart
  # x86-64-v3 (AVX2 + FMA: every x86 server since 2015), not -march=native:
  # the image must run on other CPUs than the build machine's. The regressor's
  # forward kernel picks its tiles at compile time (AVX2 + FMA + F16C here,
  # plain C under x86-64). One build dir per -march (make does not track
  # flags). MPI=0: a served replica never runs under mpirun, and OpenMPI's
  # libraries would add their weight to the image.
  # (MAKEFLAGS unset: run from make, a sub-make would warn about its -j)
  env -u MAKEFLAGS -u MFLAGS nice -n 5 make --no-print-directory -j2 MPI=0 BUILD="$work/bin-$march" \
    OPT="-O3 -g -march=$march" "$bin" >&2
fi
[ -x "$bin" ] || { say "$bin: not an executable"; exit 1; }

# 2. the probe
ctx=$work/ctx
mkdir -p "$ctx"
if [ ! -x "$work/cs-probe" ] || [ deploy/probe.c -nt "$work/cs-probe" ]; then
  ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -s \
    -o "$work/cs-probe" deploy/probe.c
fi
cp -f "$bin" "$ctx/coldstart"
cp -f "$work/cs-probe" "$ctx/cs-probe"

# 3. the base. The manifest: one line per library the program loads:
# "path-in-image real-path-on-host package version".
manifest=$work/base-manifest.txt
libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }')
# every spelling of each library (the ldd path, its target, with and without
# /usr: dpkg knows the /lib one under merged /usr), asked in one dpkg call
spellings=$(for p in $libs; do
  r=$(readlink -f "$p")
  printf '%s\n' "$p" "$r" "${p#/usr}" "${r#/usr}" "/usr${p#/usr}" "/usr${r#/usr}"
done | sort -u)
# shellcheck disable=SC2086
owners=$(dpkg-query -S $spellings 2>/dev/null | awk -F': ' '{ sub(/:.*/, "", $1); print $2, $1 }' || true)
# shellcheck disable=SC2046
versions=$(dpkg-query -W -f='${Package} ${Version}\n' $(echo "$owners" | awk '{ print $2 }' | sort -u))
for p in $libs; do
  r=$(readlink -f "$p")
  pkg=$(echo "$owners" | awk -v a="$p" -v b="$r" '
    { k = $1; sub(/^\/usr/, "", k) } k == a || k == b || "/usr" k == a || "/usr" k == b { print $2; exit }')
  [ -n "$pkg" ] || { say "no Debian package owns $p ($r)"; exit 1; }
  dir=$(dirname "$p")
  case "$dir" in /usr/*) ;; *) dir=/usr$dir ;; esac
  echo "$dir/$(basename "$p") $r $pkg $(echo "$versions" | awk -v k="$pkg" '$1 == k { print $2 }')"
done | sort -u >"$manifest.tmp"
mv "$manifest.tmp" "$manifest"
hash=$( (echo "$base_kind"; cat "$manifest" deploy/image.sh) | sha256sum | cut -c1-12)
base=localhost/coldstart-base-$base_kind:$hash

passwd='root:x:0:0:root:/root:/usr/sbin/nologin
coldstart:x:10001:10001:coldstart service:/nonexistent:/usr/sbin/nologin'
group='root:x:0:
coldstart:x:10001:'

make_libs_rootfs() { # $1: directory
  local r=$1 inimg real pkg
  mkdir -p "$r"/usr/lib "$r"/usr/lib64 "$r"/usr/local/bin "$r"/etc "$r"/usr/share/doc \
    "$r"/usr/share/coldstart "$r"/models "$r"/tmp "$r"/var/tmp "$r"/run "$r"/proc "$r"/sys "$r"/dev
  ln -s usr/lib "$r/lib"
  ln -s usr/lib64 "$r/lib64"
  while read -r inimg real pkg _; do
    mkdir -p "$r$(dirname "$inimg")"
    cp -L "$real" "$r$inimg"
    chmod 0755 "$r$inimg"
    if [ -f "/usr/share/doc/$pkg/copyright" ] && [ ! -e "$r/usr/share/doc/$pkg" ]; then
      mkdir -p "$r/usr/share/doc/$pkg"
      cp "/usr/share/doc/$pkg/copyright" "$r/usr/share/doc/$pkg/"
    fi
  done <"$manifest"
  chmod 1777 "$r/tmp" "$r/var/tmp"
  printf '%s\n' "$passwd" >"$r/etc/passwd"
  printf '%s\n' "$group" >"$r/etc/group"
  chmod 0644 "$r/etc/passwd" "$r/etc/group"
  cp "$manifest" "$r/usr/share/coldstart/base-manifest.txt"
}

mirror() { # the Debian mirror this machine's apt uses
  local m
  m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
        /^URIs:/ { u = $2 } /^Suites:/ && / bookworm( |$)/ && u ~ /debian\/?$/ { print u; exit }')
  [ -n "$m" ] || m=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
  echo "${m:-http://deb.debian.org/debian}"
}

make_debian_rootfs() { # $1: directory
  local r=$1 pkgs
  [ "$(id -u)" -eq 0 ] || { say "CS_BASE=debian runs debootstrap: run as root"; exit 1; }
  pkgs=$(awk '{ print $3 }' "$manifest" | sort -u | paste -sd, -)
  say "debootstrap bookworm from $(mirror) with $pkgs"
  debootstrap --variant=minbase --include="$pkgs" bookworm "$r" "$(mirror)" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; say "debootstrap failed (log: $work/debootstrap.log)"; exit 1; }
  rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* "$r"/var/log/*.log
  echo 'coldstart:x:10001:10001:coldstart service:/nonexistent:/usr/sbin/nologin' >>"$r/etc/passwd"
  echo 'coldstart:x:10001:' >>"$r/etc/group"
  mkdir -p "$r/models" "$r/usr/share/coldstart"
  cp "$manifest" "$r/usr/share/coldstart/base-manifest.txt"
}

if podman image exists "$base"; then
  say "base $base (cached)"
else
  say "making base $base ($base_kind)"
  rootfs=$work/rootfs
  rm -rf "$rootfs"
  mkdir -p "$rootfs"
  "make_${base_kind}_rootfs" "$rootfs"
  # fixed owners and times: the same inputs give the same tar
  tar -C "$rootfs" --numeric-owner --owner=0 --group=0 --mtime=@0 --sort=name \
    -cf "$work/base.tar" .
  podman import --quiet \
    --message "coldstart $base_kind base: $(wc -l <"$manifest") libraries from Debian bookworm" \
    "$work/base.tar" "$base" >/dev/null
  rm -rf "$rootfs" "$work/base.tar"
fi

# 4. the image
iid=${CS_IIDFILE:-$work/iid}
prev=$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
podman build --quiet --pull=never --format docker --build-arg "BASE=$base" \
  -f deploy/Containerfile -t "$tag" --iidfile "$iid" "$ctx" >/dev/null
# the image this tag named before goes, if nothing else names or runs it
if [ -n "$prev" ] && [ "$prev" != "$(sed 's/^sha256://' "$iid")" ]; then
  podman rmi "$prev" >/dev/null 2>&1 || true
fi
# older bases of this kind go, unless an image still stands on them
podman images --format '{{.Repository}}:{{.Tag}}' --filter "reference=localhost/coldstart-base-$base_kind" |
  grep -vx "$base" | while read -r old; do podman rmi "$old" >/dev/null 2>&1 || true; done || true
size=$(podman image inspect --format '{{.Size}}' "$(cat "$iid")")
say "built $tag ($(cut -c8-19 "$iid")) on $base: $((size / 1000000)) MB in $(elapsed) s"
echo "$tag $(cat "$iid") $size"
