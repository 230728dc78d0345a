#!/usr/bin/env bash
# Starts the Kubernetes test lab on loopback: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and KWOK with one fake Node, on free
# ports. Writes $MINISPOD_K8S_STATE/kubeconfig (client certificate in
# system:masters) and $MINISPOD_K8S_STATE/env (source it: KUBECONFIG,
# MINISPOD_TEST_KUBECONFIG, MINISPOD_K8S_STATE), then waits until the API
# server is ready, the Node is Ready and the default ServiceAccount exists.
#
#   scripts/k8s/start.sh [--crds DIR]...   DIR: YAML files applied after start
#                                          (e.g. the Knative CRDs); also K8S_EXTRA_CRDS=DIR:DIR
# Builds the binaries first when they are missing (scripts/k8s/build.sh).
# A lab already running for this checkout is reused.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

crd_dirs=()
IFS=: read -r -a extra <<<"${K8S_EXTRA_CRDS:-}"
for d in "${extra[@]}"; do [ -n "$d" ] && crd_dirs+=("$d"); done
while [ $# -gt 0 ]; do
  case "$1" in
    --crds) crd_dirs+=("$2"); shift 2 ;;
    *) k8s_die "unknown argument $1 (usage: start.sh [--crds DIR]...)" ;;
  esac
done

state=$MINISPOD_K8S_STATE
kube() { k8s_node "$here/kube.mjs" --kubeconfig "$state/kubeconfig" "$@"; }

if [ -f "$state/env" ] && "$here/status.sh" >/dev/null 2>&1; then
  k8s_log "lab already running ($state/env)"
  for d in "${crd_dirs[@]}"; do kube apply "$d"; done
  echo "$state/env"
  exit 0
fi
"$here/stop.sh" >/dev/null 2>&1 || true

"$here/build.sh"
for b in "${K8S_BINARIES[@]}"; do [ -x "$K8S_BIN_DIR/$b" ] || k8s_die "missing $K8S_BIN_DIR/$b"; done
command -v openssl >/dev/null || k8s_die "openssl is needed for the lab's certificates"

rm -rf "$state"
mkdir -p "$state"/{pki,etcd,logs,pids}
chmod 700 "$state"
pki=$state/pki

k8s_log "certificates"
(
  cd "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 \
    -subj "/CN=minispod-lab-ca" 2>/dev/null
  cat >server.ext <<EOF
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1
extendedKeyUsage=serverAuth
EOF
  openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj "/CN=kube-apiserver" 2>/dev/null
  openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt -days 30 \
    -extfile server.ext 2>/dev/null
  # The tests' identity: group system:masters is cluster-admin by the bootstrap RBAC policy.
  printf 'extendedKeyUsage=clientAuth\n' >client.ext
  openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr \
    -subj "/O=system:masters/CN=minispod-lab-admin" 2>/dev/null
  openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out admin.crt -days 30 \
    -extfile client.ext 2>/dev/null
  # Signs and verifies ServiceAccount tokens.
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  rm -f ./*.csr ./*.ext ./*.srl
)

K8S_PICKED=""
etcd_port=$(k8s_free_port)
etcd_peer_port=$(k8s_free_port)
api_port=$(k8s_free_port)
kwok_port=$(k8s_free_port)
server="https://127.0.0.1:$api_port"

b64() { base64 -w0 <"$1"; }
cat >"$state/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: minispod-lab
  cluster:
    server: $server
    certificate-authority-data: $(b64 "$pki/ca.crt")
users:
- name: minispod-lab-admin
  user:
    client-certificate-data: $(b64 "$pki/admin.crt")
    client-key-data: $(b64 "$pki/admin.key")
contexts:
- name: minispod-lab
  context:
    cluster: minispod-lab
    user: minispod-lab-admin
current-context: minispod-lab
EOF
chmod 600 "$state/kubeconfig"

# Runs a binary in the background, records its pid and the binary it should be.
launch() {
  local name=$1
  shift
  "$K8S_BIN_DIR/$name" "$@" >"$state/logs/$name.log" 2>&1 &
  echo "$!" >"$state/pids/$name"
}

k8s_log "etcd on 127.0.0.1:$etcd_port"
launch etcd --name minispod-lab --data-dir "$state/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster "minispod-lab=http://127.0.0.1:$etcd_peer_port" \
  --listen-metrics-urls "" --log-level warn --quota-backend-bytes 2147483648 \
  --unsafe-no-fsync

k8s_log "kube-apiserver on $server"
# --endpoint-reconciler-type none: the default reconciler would publish the
# loopback address as the kubernetes Service's endpoint, which it refuses.
launch kube-apiserver \
  --etcd-servers "http://127.0.0.1:$etcd_port" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-cluster-ip-range 10.96.0.0/16 \
  --authorization-mode Node,RBAC \
  --endpoint-reconciler-type none \
  --cert-dir "$pki" \
  --profiling=false \
  --v 1

ready=false
for _ in $(seq 1 120); do
  if ! kill -0 "$(cat "$state/pids/kube-apiserver")" 2>/dev/null; then break; fi
  if curl -fsS --max-time 2 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "$server/readyz" >/dev/null 2>&1; then
    ready=true
    break
  fi
  sleep 0.5
done
if ! $ready; then
  tail -n 30 "$state/logs/kube-apiserver.log" >&2 || true
  "$here/stop.sh" || true
  k8s_die "kube-apiserver did not become ready (logs: $state/logs)"
fi

k8s_log "kube-controller-manager and kube-scheduler"
# Port 0: neither serves its own HTTPS endpoint; the lab only needs them to act.
launch kube-controller-manager --kubeconfig "$state/kubeconfig" \
  --secure-port 0 --leader-elect=false \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --use-service-account-credentials=false \
  --concurrent-deployment-syncs 10 --concurrent-replicaset-syncs 10 \
  --v 1
launch kube-scheduler --kubeconfig "$state/kubeconfig" --secure-port 0 --leader-elect=false --v 1

k8s_log "kwok on 127.0.0.1:$kwok_port"
# Only Nodes annotated kwok.x-k8s.io/node=fake are KWOK's; node IP loopback so
# nothing (logs, exec) ever tries an address off this machine.
launch kwok --kubeconfig "$state/kubeconfig" \
  --manage-all-nodes=false \
  --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
  --node-ip 127.0.0.1 --node-lease-duration-seconds 40 \
  --server-address "127.0.0.1:$kwok_port" \
  --config "$K8S_STAGES_DIR/node-fast.yaml" \
  --config "$K8S_STAGES_DIR/node-heartbeat-with-lease.yaml" \
  --config "$K8S_STAGES_DIR/pod-fast.yaml"

fail_start() {
  for name in kwok kube-controller-manager kube-scheduler; do tail -n 5 "$state/logs/$name.log" >&2 || true; done
  "$here/stop.sh" || true
  k8s_die "$1 (logs: $state/logs)"
}
kube node-create kwok-node-0 || fail_start "could not create the fake node"
kube wait-ready kwok-node-0 || fail_start "the lab did not become ready"
for d in "${crd_dirs[@]}"; do kube apply "$d" || fail_start "could not apply $d"; done

cat >"$state/env" <<EOF
export KUBECONFIG='$state/kubeconfig'
export MINISPOD_TEST_KUBECONFIG='$state/kubeconfig'
export MINISPOD_K8S_STATE='$state'
EOF
k8s_log "ready: source $state/env"
echo "$state/env"
