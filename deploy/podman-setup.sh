#!/usr/bin/env bash
# podman-setup.sh: make podman usable on this machine for the coldstart image:
# installs podman + runc (scripts/deps.sh container) when missing, then makes
# sure the containers.conf in effect holds the settings our machines need,
# adding or replacing only those keys and keeping every other setting:
#   [containers] default_ulimits = []       (podman's default RLIMIT_NOFILE raise
#                                            is refused here: "error setting
#                                            rlimit type 7: operation not permitted")
#   [engine]     cgroup_manager = "cgroupfs" (no systemd cgroup manager here)
#   [engine]     runtime = "runc"            (crun fails on our machines)
# Idempotent: a second run changes nothing and says nothing.
# Usage: deploy/podman-setup.sh [--check]   (--check: only report, exit 1 if
#        something is missing). CONTAINERS_CONF, if set, names the file to edit
#        (podman then reads only that one); default /etc/containers/containers.conf.
set -euo pipefail
cd "$(dirname "$0")/.."
check_only=0
[ "${1:-}" = "--check" ] && check_only=1
conf=${CONTAINERS_CONF:-/etc/containers/containers.conf}
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

if [ "$check_only" = 1 ]; then
  command -v podman >/dev/null || { echo "podman-setup: podman is not installed" >&2; exit 1; }
else
  scripts/deps.sh container
fi

# Rewrites the TOML file on stdin so that each "section key value" triple in
# $WANT holds: an existing key line (and the continuation lines of a
# multi-line array) is replaced in place, a missing key is added at the end of
# its section, a missing section is appended. Sub-tables such as
# [engine.runtimes] end the [engine] section, as TOML says.
merge_conf() {
  awk -v want="$1" '
    BEGIN {
      n = split(want, lines, "\n")
      for (i = 1; i <= n; i++) {
        if (lines[i] == "") continue
        split(lines[i], f, "\t")
        nk++; ksec[nk] = f[1]; kname[nk] = f[2]; kval[nk] = f[3]
      }
      sec = ""
    }
    # blank lines are held back so that a key added at the end of a section
    # goes right after its last setting, before the blank lines
    function flush(s,   i) {
      for (i = 1; i <= nk; i++)
        if (ksec[i] == s && !done[i]) { print kname[i] " = " kval[i]; done[i] = 1 }
      printf "%s", blanks; blanks = ""
    }
    function out(line) { printf "%s", blanks; blanks = ""; print line }
    skip {
      if ($0 ~ /\]/) skip = 0
      next
    }
    /^[ \t]*\[/ {
      flush(sec)
      hdr = $0
      sub(/^[ \t]*\[+[ \t]*/, "", hdr); sub(/[ \t]*\].*$/, "", hdr)
      sec = hdr
      print; next
    }
    /^[ \t]*$/ { blanks = blanks $0 "\n"; next }
    {
      for (i = 1; i <= nk; i++) {
        if (ksec[i] != sec) continue
        if ($0 ~ "^[ \t]*" kname[i] "[ \t]*=") {
          if (!done[i]) out(kname[i] " = " kval[i])
          done[i] = 1
          rest = $0; sub(/^[^=]*=[ \t]*/, "", rest)
          if (rest ~ /^\[/ && rest !~ /\]/) skip = 1
          next
        }
      }
      out($0)
    }
    END {
      flush(sec)
      for (i = 1; i <= nk; i++) {
        if (done[i]) continue
        if (!printed[ksec[i]]) { print ""; print "[" ksec[i] "]"; printed[ksec[i]] = 1 }
        print kname[i] " = " kval[i]; done[i] = 1
      }
    }'
}

want=$(printf '%s\t%s\t%s\n' \
  containers default_ulimits '[]' \
  engine cgroup_manager '"cgroupfs"' \
  engine runtime '"runc"')
current=""
[ -f "$conf" ] && current=$(cat "$conf")
merged=$(printf '%s\n' "$current" | merge_conf "$want")
[ -n "$current" ] || merged=$(printf '%s\n' "$merged" | sed '/./,$!d')
sanity() { # the first podman call on a machine sets up its storage
  if ! $SUDO podman info >/dev/null 2>"${TMPDIR:-/tmp}/podman-info.$$"; then
    echo "podman-setup: podman does not work here:" >&2
    cat "${TMPDIR:-/tmp}/podman-info.$$" >&2
    rm -f "${TMPDIR:-/tmp}/podman-info.$$"
    exit 1
  fi
  rm -f "${TMPDIR:-/tmp}/podman-info.$$"
}
if [ "$merged" = "$current" ]; then
  sanity
  exit 0
fi
if [ "$check_only" = 1 ]; then
  echo "podman-setup: $conf lacks the settings podman needs here (run deploy/podman-setup.sh)" >&2
  exit 1
fi
echo "podman-setup: setting default_ulimits, cgroup_manager, runtime in $conf" >&2
tmp=$(mktemp)
printf '%s\n' "$merged" >"$tmp"
$SUDO mkdir -p "$(dirname "$conf")"
# keep the first original once, then replace atomically
if [ -f "$conf" ] && [ ! -e "$conf.coldstart-orig" ]; then $SUDO cp -p "$conf" "$conf.coldstart-orig"; fi
$SUDO install -m 0644 "$tmp" "$conf.tmp.$$"
$SUDO mv -f "$conf.tmp.$$" "$conf"
rm -f "$tmp"
sanity
