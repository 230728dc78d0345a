#!/usr/bin/env bash
# Builds, with podman, every image docker-compose.full.yml runs, from the Node
# base built locally (scripts/deploy/base-image.sh: debootstrap, no Docker Hub):
# the 13 functions (scripts/deploy/images.sh --local --prebuilt), the
# broker/gateway/mail-catcher image (the bundle built here,
# scripts/deploy/broker-prebuilt.Containerfile; broker.Dockerfile builds the same
# image from source for docker users), and Debian's PostgreSQL and Redis in place
# of the official images. Idempotent: layers are cached, PostgreSQL and Redis
# are built once per base. Prints the env lines that point compose at them:
#
#   scripts/deploy/compose-images.sh >> compose.env
#
#   MINISPOD_TAG   tag of the images (default dev)
#   --no-functions skip the function images (e.g. scripts/deploy/images.sh built them)
#   --reuse-bundles  passed to images.sh (functions/*/dist just built)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
TAG=${MINISPOD_TAG:-dev}
prefix=localhost/minispod
functions=true images_args=()
for arg in "$@"; do
  case "$arg" in
    --no-functions) functions=false ;;
    --reuse-bundles) images_args+=(--reuse-bundles) ;;
    *) echo "unknown argument $arg (see the header of $0)" >&2; exit 2 ;;
  esac
done
log() { printf '[compose-images] %s\n' "$*" >&2; }
node=$root/node_modules/.bin/node

bash scripts/deploy/podman-setup.sh
base=$(bash scripts/deploy/base-image.sh)
log "base $base"
work=$(mktemp -d "${TMPDIR:-/tmp}/minispod-compose-images-XXXXXX")
trap 'rm -rf "$work"' EXIT
# One image; the engine's output is shown only when the build fails.
bud() {
  local what=$1; shift
  podman build --layers --network host --build-arg "NODE_IMAGE=$base" --build-arg "BASE_IMAGE=$base" \
    "$@" >"$work/build.log" 2>&1 || {
    log "error: building $what failed; the engine's output:"
    tail -40 "$work/build.log" >&2
    exit 1
  }
}

if $functions; then
  REGISTRY=localhost TAG=$TAG NODE_IMAGE=$base bash scripts/deploy/images.sh --local --prebuilt "${images_args[@]}"
fi
log "broker (also the gateway and the mail catcher)"
"$node" scripts/build-broker.mjs >/dev/null
mkdir -p "$work/broker"
cp -r scripts/dist/broker "$work/broker/app"
bud broker -t "$prefix/broker:$TAG" -f scripts/deploy/broker-prebuilt.Containerfile "$work/broker"
bud "the mail catcher" --build-arg "BROKER_IMAGE=$prefix/broker:$TAG" -t "$prefix/mail:$TAG" \
  -f scripts/deploy/compose/mail.Containerfile scripts/deploy/compose
# Debian's packages, built once per base (apt-get is slow and the result does not change).
# The key: the base and the files the image is made of.
for db in postgres redis; do
  image=$prefix/$db:$TAG
  key=$( (echo "$base"; cat scripts/deploy/compose/"$db"*) | sha256sum | cut -c1-16)
  if podman image exists "$image" &&
    [ "$(podman image inspect --format '{{index .Labels "minispod.key"}}' "$image")" = "$key" ]; then
    log "$db: $image (cached)"
  else
    log "$db (Debian packages)"
    bud "$db" --label "minispod.key=$key" -t "$image" -f "scripts/deploy/compose/$db.Containerfile" .
  fi
done
podman image prune -f >/dev/null 2>&1 || true

echo "MINISPOD_IMAGES=$prefix"
echo "MINISPOD_TAG=$TAG"
echo "POSTGRES_IMAGE=$prefix/postgres:$TAG"
echo "REDIS_IMAGE=$prefix/redis:$TAG"
echo "MAIL_IMAGE=$prefix/mail:$TAG"
