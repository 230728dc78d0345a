#!/usr/bin/env bash
# `npm run test:cluster [-- vitest args]`: runs the tests with the Kubernetes
# test lab. Starts the lab when it is not running (and stops it afterwards),
# exports MINISPOD_TEST_KUBECONFIG so the cluster tests run instead of skipping,
# then runs vitest (all projects, or the arguments given).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
started=false
if ! "$here/status.sh" >/dev/null 2>&1; then
  "$here/start.sh" >/dev/null
  started=true
fi
cleanup() { if $started; then "$here/stop.sh" || true; fi; }
trap cleanup EXIT
# shellcheck disable=SC1091
source "$MINISPOD_K8S_STATE/env"
cd "$k8s_repo_root"
node scripts/check-node.mjs
npx vitest run "$@"
