#!/usr/bin/env bash
# Builds the Kubernetes test lab's binaries from the Go module proxy into a cache
# outside the repository (see lib.sh). Each binary is built only when missing, so
# a second run returns at once; a cold build takes ~13 min on 2 cores and ~6 GB of
# Go caches. Needs Go (1.26 checked).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

missing=()
for b in "${K8S_BINARIES[@]}"; do [ -x "$K8S_BIN_DIR/$b" ] || missing+=("$b"); done
stages_ok=false
[ -f "$K8S_STAGES_DIR/pod-fast.yaml" ] && stages_ok=true
if [ ${#missing[@]} -eq 0 ] && $stages_ok; then
  k8s_log "all binaries present in $K8S_BIN_DIR"
  exit 0
fi
command -v go >/dev/null || k8s_die "go is not installed (needed to build ${missing[*]:-kwok stages})"
mkdir -p "$K8S_BIN_DIR" "$MINISPOD_K8S_CACHE/src"
need() { [[ " ${missing[*]} " == *" $1 "* ]]; }
export GOFLAGS="${GOFLAGS:-} -mod=mod"
ldflags="-s -w"

if need kube-apiserver || need kube-controller-manager || need kube-scheduler; then
  src="$MINISPOD_K8S_CACHE/src/kubernetes-$K8S_VERSION"
  mkdir -p "$src"
  if [ ! -f "$src/go.sum" ]; then
    k8s_log "preparing module for k8s.io/kubernetes $K8S_VERSION"
    gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    [ -f "$gomod" ] || k8s_die "could not download k8s.io/kubernetes@$K8S_VERSION"
    {
      echo "module minispod.dev/k8s-lab"
      echo
      echo "go 1.25"
      echo
      echo "require k8s.io/kubernetes $K8S_VERSION"
      echo
      echo "replace ("
      # Every `k8s.io/x => ./staging/src/k8s.io/x` of kubernetes' go.mod, pointed at the published module.
      sed -n 's#^[[:space:]]*\(k8s.io/[^[:space:]]*\) => ./staging/.*#\1#p' "$gomod" | sort -u |
        while read -r m; do echo "	$m => $m $K8S_STAGING_VERSION"; done
      echo ")"
    } >"$src/go.mod"
    count=$(grep -c "=> k8s.io/.* $K8S_STAGING_VERSION" "$src/go.mod" || true)
    k8s_log "$count staging modules replaced at $K8S_STAGING_VERSION"
    cat >"$src/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
    (cd "$src" && go mod tidy -e >/dev/null 2>&1 || true; cd "$src" && go mod download)
  fi
  k8s_log "building kube-apiserver, kube-controller-manager, kube-scheduler (slow on a cold cache)"
  (cd "$src" && go build -trimpath -ldflags "$ldflags" -o "$K8S_BIN_DIR/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler)
fi

if need etcd; then
  src="$MINISPOD_K8S_CACHE/src/etcd-$ETCD_VERSION"
  mkdir -p "$src"
  if [ ! -f "$src/go.mod" ]; then
    printf 'module minispod.dev/k8s-lab-etcd\n\ngo 1.25\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$src/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$src/tools.go"
    (cd "$src" && go mod tidy -e >/dev/null 2>&1 || true)
  fi
  k8s_log "building etcd $ETCD_VERSION"
  (cd "$src" && go build -trimpath -ldflags "$ldflags" -o "$K8S_BIN_DIR/etcd" go.etcd.io/etcd/server/v3)
fi

if need kwok || ! $stages_ok; then
  if need kwok; then
    k8s_log "building kwok $KWOK_VERSION"
    GOBIN="$K8S_BIN_DIR" GOFLAGS= go install -trimpath -ldflags "$ldflags" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  fi
  # The Stage documents that make KWOK's fake node and pods behave (ready nodes with
  # leases, pods that start at once) ship inside its module.
  dir=$(GOFLAGS= go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -d "$dir/kustomize/stage" ] || k8s_die "kwok module has no kustomize/stage folder"
  mkdir -p "$K8S_STAGES_DIR"
  for stage in node/fast node/heartbeat-with-lease pod/fast; do
    out="$K8S_STAGES_DIR/$(echo "$stage" | tr / -).yaml"
    : >"$out"
    # The files the stage's kustomization lists, as one multi-document YAML.
    for f in $(sed -n 's/^- \(.*\.yaml\)$/\1/p' "$dir/kustomize/stage/$stage/kustomization.yaml"); do
      { echo "---"; cat "$dir/kustomize/stage/$stage/$f"; } >>"$out"
    done
  done
fi

for b in "${K8S_BINARIES[@]}"; do [ -x "$K8S_BIN_DIR/$b" ] || k8s_die "$b was not built"; done
k8s_log "binaries ready in $K8S_BIN_DIR"
