#!/usr/bin/env bash
# Makes Debian's buildah and podman usable as root on a machine like CI's:
# installs them when missing, and writes the containers.conf settings they need
# there. Idempotent; the image scripts source it before building or running.
#
#   runtime = "runc"       crun refuses hybrid cgroup (v1 + v2) hosts
#   default_ulimits = []   raising RLIMIT_NOFILE is not permitted in CI's sandbox
#   cgroup_manager/events_logger: no systemd in a CI container
#
# As a non-root user (a developer's rootless podman) it changes nothing.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then return 0 2>/dev/null || exit 0; fi

missing=()
for tool in buildah podman runc debootstrap; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[podman-setup] installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah podman runc debootstrap >/dev/null
fi

conf=/etc/containers/containers.conf
if ! grep -q "minispod" "$conf" 2>/dev/null; then
  mkdir -p /etc/containers
  if [ -s "$conf" ]; then
    echo "[podman-setup] $conf exists; add runtime=runc and default_ulimits=[] yourself if runs fail" >&2
  else
    cat >"$conf" <<'CONF'
# Written by minispod scripts/deploy/podman-setup.sh
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  fi
fi
