#!/usr/bin/env bash
# Prints a short-lived token of a ServiceAccount of the running lab (TokenRequest
# API), e.g. the provisioner's for RBAC tests:
#   scripts/k8s/token.sh minispod provisioner [seconds]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
[ $# -ge 2 ] || k8s_die "usage: token.sh NAMESPACE SERVICEACCOUNT [SECONDS]"
k8s_node "$here/kube.mjs" --kubeconfig "$MINISPOD_K8S_STATE/kubeconfig" token "$1" "$2" "${3:-3600}"
