#!/usr/bin/env bash
# Builds one image per function (Dockerfile, --build-arg FUNCTION=<name>),
# tags it <REGISTRY>/minispod/fn-<name>:<TAG>, and with --push pushes it.
# Prints each function's bundle size (the single file the image runs).
#
#   REGISTRY=registry.example.com TAG=1.4.0 scripts/deploy/images.sh --push --overlay production
#
#   REGISTRY  where images go (required; e.g. ghcr.io/acme, registry.localhost:5000)
#   TAG       image tag (default: the git commit, short; never "latest")
#   ENGINE    docker, podman or buildah (default: the first one installed)
#   --push              push after building
#   --overlay NAME      point knative/overlays/NAME's images: at what was built
#   --only a,b          only these functions (default: every functions/*/)
#   --dry-run           build the bundles and print the engine commands, run none
#   --local (--podman)  build here with podman, no registry: REGISTRY defaults to
#                       localhost and TAG to dev (localhost/minispod/fn-<name>:dev);
#                       as root it sets podman up (podman-setup.sh) and builds the
#                       Node base image locally (base-image.sh) unless NODE_IMAGE is set
#   --all               every function (the default; for readability in scripts)
#
# With podman or buildah, the host's npm CA bundle (`npm config get cafile`), if
# any, is passed to the build as the npm-ca secret (see Dockerfile).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
push=false overlay="" only="" dry=false local=false
while [ $# -gt 0 ]; do
  case "$1" in
    --push) push=true; shift ;;
    --overlay) overlay=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --dry-run) dry=true; shift ;;
    --local | --podman) local=true; shift ;;
    --all) shift ;;
    *) echo "unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
log() { printf '[images] %s\n' "$*" >&2; }
if $local; then
  REGISTRY=${REGISTRY:-localhost} TAG=${TAG:-dev} ENGINE=${ENGINE:-podman}
  $dry || bash scripts/deploy/podman-setup.sh
  if [ -z "${NODE_IMAGE:-}" ] && ! $dry; then NODE_IMAGE=$(bash scripts/deploy/base-image.sh); fi
fi
[ -n "${REGISTRY:-}" ] || { log "error: set REGISTRY (e.g. REGISTRY=registry.example.com)"; exit 2; }
REGISTRY=${REGISTRY%/}
TAG=${TAG:-$(git rev-parse --short=12 HEAD)}
[[ "$TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] && [ "$TAG" != latest ] ||
  { log "error: TAG \"$TAG\" must be a pinned tag, not latest"; exit 2; }
# An overlay names one registry and tag for every image (the knative checks insist).
[ -z "$overlay" ] || [ -z "$only" ] || { log "error: --overlay needs every function (drop --only)"; exit 2; }
[ -z "$overlay" ] || [ -f "knative/overlays/$overlay/kustomization.yaml" ] ||
  { log "error: no knative/overlays/$overlay/kustomization.yaml"; exit 2; }

engine=${ENGINE:-}
if [ -z "$engine" ]; then
  for e in docker podman buildah; do command -v "$e" >/dev/null && { engine=$e; break; }; done
fi
if ! $dry; then
  [ -n "$engine" ] || { log "error: no docker, podman or buildah found (set ENGINE, or use --dry-run)"; exit 1; }
fi
engine=${engine:-docker}
run() { if $dry; then printf '%s\n' "$*"; else "$@"; fi; }

names=()
for dir in functions/*/; do
  name=$(basename "$dir")
  [ -f "$dir/src/main.ts" ] || continue
  if [ -n "$only" ] && [[ ",$only," != *",$name,"* ]]; then continue; fi
  names+=("$name")
done
[ ${#names[@]} -gt 0 ] || { log "error: no function matches --only $only"; exit 2; }

build_args=()
[ -z "${NODE_IMAGE:-}" ] || build_args+=(--build-arg "NODE_IMAGE=$NODE_IMAGE")
if [ "$engine" != docker ]; then
  # buildah mounts a secret only when given one: an empty file means "no CA".
  ca=$(npm config get cafile 2>/dev/null || true)
  [ -n "$ca" ] && [ "$ca" != null ] && [ -f "$ca" ] || ca=/dev/null
  # Host network: the build's npm ci reaches the registry as the host does.
  build_args+=(--layers --network host --secret "id=npm-ca,src=$ca")
fi

node=$root/node_modules/.bin/node
[ -x "$node" ] || node=node
for name in "${names[@]}"; do
  image="$REGISTRY/minispod/fn-$name:$TAG"
  if $local && ! $dry; then
    log "$name -> $image"
  else
    # The same bundle the image's build stage makes; built here to report its size.
    (cd "functions/$name" && "$node" ../../scripts/build-function.mjs >/dev/null)
    size=$(wc -c <"functions/$name/dist/main.mjs")
    log "$name: bundle dist/main.mjs $((size / 1024)) KiB -> $image"
  fi
  if [ "$engine" = buildah ]; then
    run buildah bud "${build_args[@]}" --build-arg "FUNCTION=$name" -t "$image" -f Dockerfile .
  else
    run "$engine" build "${build_args[@]}" --build-arg "FUNCTION=$name" -t "$image" -f Dockerfile .
  fi
  if $push; then run "$engine" push "$image"; fi
done

if [ -n "$overlay" ]; then
  run "$node" "$root/node_modules/.bin/tsx" scripts/src/deploy/set-images.ts \
    "knative/overlays/$overlay/kustomization.yaml" "$REGISTRY" "$TAG" "${names[@]}"
fi
