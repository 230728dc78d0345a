#!/usr/bin/env bash
# Collects the CSI snapshot CRDs (VolumeSnapshot, VolumeSnapshotContent,
# VolumeSnapshotClass of snapshot.storage.k8s.io/v1) from the Go module proxy
# into one folder outside the repository, and prints that folder, like crds.sh
# does for Knative's. They ship in external-snapshotter's client module
# (config/crd); the group-snapshot CRDs beside them are left out (unused).
#   scripts/k8s/start.sh --crds "$(scripts/deploy/snapshot-crds.sh)"
# A real cluster also needs the snapshot-controller and a CSI driver that
# snapshots (docs/deploy.md, "Storage for backups").
set -euo pipefail
SNAPSHOTTER_VERSION=${SNAPSHOTTER_VERSION:-v8.7.0}
cache=${MINISPOD_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/minispod-k8s}
out=${MINISPOD_SNAPSHOT_CRDS_DIR:-$cache/crds-external-snapshotter-$SNAPSHOTTER_VERSION}
log() { printf '[snapshot-crds] %s\n' "$*" >&2; }

if [ -f "$out/.complete" ]; then
  echo "$out"
  exit 0
fi
command -v go >/dev/null || { log "error: go is needed to download the CRDs from the Go module proxy"; exit 1; }
module=github.com/kubernetes-csi/external-snapshotter/client/v8
json=$(cd "${TMPDIR:-/tmp}" && GOFLAGS=-mod=mod go mod download -json "$module@$SNAPSHOTTER_VERSION") || {
  log "error: go mod download $module@$SNAPSHOTTER_VERSION failed: $json"
  exit 1
}
dir=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
[ -d "$dir/config/crd" ] || { log "error: no config/crd in $dir"; exit 1; }
rm -rf "$out"
mkdir -p "$out"
n=0
for f in "$dir"/config/crd/snapshot.storage.k8s.io_*.yaml; do
  cp "$f" "$out/$(basename "$f")"
  chmod 644 "$out/$(basename "$f")"
  n=$((n + 1))
done
[ "$n" -eq 3 ] || { log "error: expected 3 snapshot CRDs in $dir/config/crd, found $n"; exit 1; }
log "$n CRD files from $dir/config/crd"
touch "$out/.complete"
echo "$out"
