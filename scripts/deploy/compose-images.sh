#!/usr/bin/env bash
# Builds, with buildah, every image docker-compose.full.yml runs, from the Node
# base built locally (scripts/deploy/base-image.sh: debootstrap, no Docker Hub):
# the 13 functions (Dockerfile), the broker/gateway/mail-catcher image
# (scripts/deploy/broker.Dockerfile), and Debian's PostgreSQL and Redis in place
# of the official images. Prints the env lines that point compose at them:
#
#   scripts/deploy/compose-images.sh >> compose.env
#
#   MINISPOD_TAG   tag of the images (default dev)
#   --no-functions skip the function images (e.g. scripts/deploy/images.sh built them)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
TAG=${MINISPOD_TAG:-dev}
prefix=localhost/minispod
functions=true
[ "${1:-}" = --no-functions ] && functions=false
log() { printf '[compose-images] %s\n' "$*" >&2; }

if [ -f scripts/deploy/podman-setup.sh ]; then bash scripts/deploy/podman-setup.sh; fi
base=$(bash scripts/deploy/base-image.sh)
log "base $base"
# A custom CA bundle npm trusts on this host is trusted inside the build too.
cafile=$(npm config get cafile 2>/dev/null || true)
rm -f scripts/deploy/npm-ca.pem
if [ -n "$cafile" ] && [ "$cafile" != null ] && [ -f "$cafile" ]; then
  cp "$cafile" scripts/deploy/npm-ca.pem
  trap 'rm -f "$root/scripts/deploy/npm-ca.pem"' EXIT
fi
# Each build's context is the repository; .dockerignore keeps node_modules and data out.
bud() { buildah bud --layers --quiet --build-arg "NODE_IMAGE=$base" --build-arg "BASE_IMAGE=$base" "$@" . >/dev/null; }

if $functions; then
  for dir in functions/*/; do
    name=$(basename "$dir")
    [ -f "$dir/src/main.ts" ] || continue
    log "fn-$name"
    bud --build-arg "FUNCTION=$name" -t "$prefix/fn-$name:$TAG" -f Dockerfile
  done
fi
log "broker (also the gateway and the mail catcher)"
bud -t "$prefix/broker:$TAG" -f scripts/deploy/broker.Dockerfile
log "mail catcher"
bud --build-arg "BROKER_IMAGE=$prefix/broker:$TAG" -t "$prefix/mail:$TAG" -f scripts/deploy/compose/mail.Containerfile
log "postgres, redis (Debian packages)"
bud -t "$prefix/postgres:$TAG" -f scripts/deploy/compose/postgres.Containerfile
bud -t "$prefix/redis:$TAG" -f scripts/deploy/compose/redis.Containerfile

echo "MINISPOD_IMAGES=$prefix"
echo "MINISPOD_TAG=$TAG"
echo "POSTGRES_IMAGE=$prefix/postgres:$TAG"
echo "REDIS_IMAGE=$prefix/redis:$TAG"
echo "MAIL_IMAGE=$prefix/mail:$TAG"
