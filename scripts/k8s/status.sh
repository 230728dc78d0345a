#!/usr/bin/env bash
# Exit 0 when this checkout's lab runs and its API server answers /readyz; prints the env file.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
state=$MINISPOD_K8S_STATE
[ -f "$state/env" ] || { k8s_log "not running"; exit 1; }
for name in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
  pid=$(cat "$state/pids/$name" 2>/dev/null) && kill -0 "$pid" 2>/dev/null || { k8s_log "$name is not running"; exit 1; }
done
k8s_node "$here/kube.mjs" --kubeconfig "$state/kubeconfig" get /readyz >/dev/null
echo "$state/env"
