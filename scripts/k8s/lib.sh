# Shared settings of the Kubernetes test lab scripts (sourced, not run).
# Everything the lab builds or writes lives OUTSIDE the repository:
#   MINISPOD_K8S_CACHE  build cache: Go work modules, binaries, KWOK stages
#                       (default ${XDG_CACHE_HOME:-$HOME/.cache}/minispod-k8s)
#   K8S_BIN_DIR         folder holding kube-apiserver, kube-controller-manager,
#                       kube-scheduler, etcd and kwok (default $MINISPOD_K8S_CACHE/bin);
#                       point it at binaries you already have to skip the build
#   MINISPOD_K8S_STATE  state of a running lab: certificates, etcd data, logs, pids,
#                       kubeconfig, env file (default $MINISPOD_K8S_CACHE/state-<checksum of the repo path>)

K8S_VERSION=${K8S_VERSION:-v1.37.2}
# kubernetes' go.mod replaces its k8s.io/* staging modules with ./staging paths,
# which a module proxy cannot serve; the published copies carry v0.<minor>.<patch>.
K8S_STAGING_VERSION=${K8S_STAGING_VERSION:-v0.${K8S_VERSION#v1.}}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}

MINISPOD_K8S_CACHE=${MINISPOD_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/minispod-k8s}
K8S_BIN_DIR=${K8S_BIN_DIR:-$MINISPOD_K8S_CACHE/bin}
MINISPOD_K8S_STATE=${MINISPOD_K8S_STATE:-}
K8S_STAGES_DIR=${K8S_STAGES_DIR:-$MINISPOD_K8S_CACHE/kwok-stages}

K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler etcd kwok)

k8s_log() { printf '[k8s-lab] %s\n' "$*" >&2; }
k8s_die() { k8s_log "error: $*"; exit 1; }

# One lab per checkout: the state folder is keyed by the repository's path, so
# two worktrees on one machine never share (or stop) each other's lab.
k8s_repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ -z "$MINISPOD_K8S_STATE" ]; then
  MINISPOD_K8S_STATE="$MINISPOD_K8S_CACHE/state-$(printf '%s' "$k8s_repo_root" | cksum | cut -d' ' -f1)"
fi

# Node for the small helper kube.mjs: the repository's Node 24 when installed.
k8s_node() {
  if [ -x "$k8s_repo_root/node_modules/.bin/node" ]; then "$k8s_repo_root/node_modules/.bin/node" "$@"; else node "$@"; fi
}

# A port nothing listens on now, not among those already picked ($K8S_PICKED).
k8s_free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    [[ " ${K8S_PICKED:-} " == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      K8S_PICKED="${K8S_PICKED:-} $p"
      echo "$p"
      return
    fi
  done
}
