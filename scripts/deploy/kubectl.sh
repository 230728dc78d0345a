#!/usr/bin/env bash
# Prints the path of a kubectl of the Kubernetes test lab's version, building it
# from the Go module proxy (k8s.io/kubernetes/cmd/kubectl, in the lab's module
# folder) into the lab's binary folder when missing. The lab itself needs no
# kubectl; the knative/ tests do (`kubectl kustomize`, `kubectl apply --dry-run=server`):
#   export KUBECTL=$(scripts/deploy/kubectl.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../k8s/lib.sh
source "$here/../k8s/lib.sh"

bin=$K8S_BIN_DIR/kubectl
if [ ! -x "$bin" ]; then
  src=$MINISPOD_K8S_CACHE/src/kubernetes-$K8S_VERSION
  # build.sh prepares that module (kubernetes with its staging modules from the proxy).
  [ -f "$src/go.mod" ] || "$here/../k8s/build.sh" >&2
  [ -f "$src/go.mod" ] || k8s_die "no module folder $src after scripts/k8s/build.sh"
  k8s_log "building kubectl $K8S_VERSION"
  (cd "$src" && GOFLAGS="${GOFLAGS:-} -mod=mod" go build -trimpath -o "$bin" \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION" \
    k8s.io/kubernetes/cmd/kubectl) >&2
fi
"$bin" version --client >/dev/null || k8s_die "$bin does not run"
echo "$bin"
