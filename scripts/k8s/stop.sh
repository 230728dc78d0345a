#!/usr/bin/env bash
# Stops the test lab of this checkout: exactly the processes start.sh recorded
# (each pid is checked to still run the lab's binary before it is signalled).
# Logs stay in $MINISPOD_K8S_STATE/logs; etcd's data is removed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

state=$MINISPOD_K8S_STATE
[ -d "$state/pids" ] || exit 0
ours() { # pid name: true when pid still runs $K8S_BIN_DIR/name
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  [ "${exe% (deleted)}" = "$(readlink -f "$K8S_BIN_DIR/$2")" ]
}
stopped=()
# Reverse start order: clients before the API server, the API server before etcd.
for name in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
  f="$state/pids/$name"
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  if ours "$pid" "$name"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do ours "$pid" "$name" || break; sleep 0.2; done
    if ours "$pid" "$name"; then kill -KILL "$pid" 2>/dev/null || true; fi
    stopped+=("$name")
  fi
  rm -f "$f"
done
rm -rf "$state/etcd" "$state/env"
k8s_log "stopped ${stopped[*]:-nothing (not running)}"
