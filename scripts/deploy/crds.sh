#!/usr/bin/env bash
# Collects the CustomResourceDefinitions knative/ needs from the Go module proxy
# (the YAML ships inside the Go modules) into one folder outside the repository,
# and prints that folder. The Kubernetes test lab installs it:
#   scripts/k8s/start.sh --crds "$(scripts/deploy/crds.sh)"
# Versions are the ones docs/deploy.md installs on a real cluster:
#   Knative Serving  (config/core/300-resources)
#   Knative Eventing (config/core/resources; the proxy serves v0.49.2, not v0.51.0)
#   Traefik          (IngressRoute and Middleware, as K3s's bundled Traefik v3 has them)
#   prometheus-operator (PodMonitor, PrometheusRule; example/prometheus-operator-crd)
#   cert-manager     (Certificate and the rest of deploy/crds; custom domains' certificates)
# CloudNativePG's CRDs are not on the module proxy: they are kept beside the
# repository in ../shared/crds/cloudnative-pg (scripts/test/knative-dry-run.test.ts).
set -euo pipefail
KNATIVE_SERVING_VERSION=${KNATIVE_SERVING_VERSION:-v0.51.0}
KNATIVE_EVENTING_VERSION=${KNATIVE_EVENTING_VERSION:-v0.49.2}
TRAEFIK_VERSION=${TRAEFIK_VERSION:-v3.5.3}
PROMETHEUS_OPERATOR_VERSION=${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}
CERT_MANAGER_VERSION=${CERT_MANAGER_VERSION:-v1.21.2}
cache=${MINISPOD_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/minispod-k8s}
out=${MINISPOD_CRDS_DIR:-$cache/crds-serving-$KNATIVE_SERVING_VERSION-eventing-$KNATIVE_EVENTING_VERSION-traefik-$TRAEFIK_VERSION-prometheus-operator-$PROMETHEUS_OPERATOR_VERSION-cert-manager-$CERT_MANAGER_VERSION}
log() { printf '[crds] %s\n' "$*" >&2; }

if [ -f "$out/.complete" ]; then
  echo "$out"
  exit 0
fi
command -v go >/dev/null || { log "error: go is needed to download the CRDs from the Go module proxy"; exit 1; }

# Prints the folder of module@version in the Go module cache, downloading it when missing.
module_dir() {
  local json dir
  json=$(cd "${TMPDIR:-/tmp}" && GOFLAGS=-mod=mod go mod download -json "$1@$2") || {
    log "error: go mod download $1@$2 failed: $json"
    exit 1
  }
  dir=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  [ -d "$dir" ] || { log "error: no folder for $1@$2 in: $json"; exit 1; }
  echo "$dir"
}

# Copies every file of $2 holding a CRD into $out, named $1-<file>.
copy_crds() {
  local prefix=$1 dir=$2 n=0 f
  for f in "$dir"/*.yaml "$dir"/*.yml; do
    [ -f "$f" ] || continue
    grep -q '^kind: CustomResourceDefinition' "$f" || continue
    cp "$f" "$out/$prefix-$(basename "$f")"
    chmod 644 "$out/$prefix-$(basename "$f")"
    n=$((n + 1))
  done
  [ "$n" -gt 0 ] || { log "error: no CRD under $dir"; exit 1; }
  log "$n CRD files from $dir"
}

rm -rf "$out"
mkdir -p "$out"
serving=$(module_dir knative.dev/serving "$KNATIVE_SERVING_VERSION")
eventing=$(module_dir knative.dev/eventing "$KNATIVE_EVENTING_VERSION")
traefik=$(module_dir github.com/traefik/traefik/v3 "$TRAEFIK_VERSION")
prometheus_operator=$(module_dir github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION")
cert_manager=$(module_dir github.com/cert-manager/cert-manager "$CERT_MANAGER_VERSION")
copy_crds knative-serving "$serving/config/core/300-resources"
copy_crds prometheus-operator "$prometheus_operator/example/prometheus-operator-crd"
copy_crds knative-eventing "$eventing/config/core/resources"
copy_crds cert-manager "$cert_manager/deploy/crds"
# Only the traefik.io group: the file beside it holds the deprecated traefik.containo.us copies.
cp "$traefik/docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml" "$out/traefik-crds.yaml"
chmod 644 "$out/traefik-crds.yaml"
touch "$out/.complete"
echo "$out"
