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
#   --prebuilt          build each image from the bundle made here (scripts/build-function.mjs,
#                       the build stage's own step) with scripts/deploy/prebuilt.Containerfile,
#                       the Dockerfile's runtime stage: seconds per image instead of an
#                       npm ci inside each build. The native addons (natives.json) are
#                       installed here, so the host must match the image (Linux, glibc, same
#                       CPU); elsewhere leave it out and the Dockerfile builds everything.
#   --reuse-bundles     with --prebuilt: take functions/*/dist as they are (just built, e.g. by
#                       npm test's bundle-isolation test) instead of building them again
#
# With podman or buildah, the host's npm CA bundle (`npm config get cafile`), if
# any, is passed to the build as the npm-ca secret (see Dockerfile).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
push=false overlay="" only="" dry=false local=false prebuilt=false reuse=false
while [ $# -gt 0 ]; do
  case "$1" in
    --push) push=true; shift ;;
    --overlay) overlay=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --dry-run) dry=true; shift ;;
    --local | --podman) local=true; shift ;;
    --all) shift ;;
    --prebuilt) prebuilt=true; shift ;;
    --reuse-bundles) reuse=true; shift ;;
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

node=$root/node_modules/.bin/node
[ -x "$node" ] || node=node
build_args=()
[ -z "${NODE_IMAGE:-}" ] || build_args+=(--build-arg "NODE_IMAGE=$NODE_IMAGE")
[ "$engine" = docker ] || build_args+=(--layers)
if [ "$engine" != docker ] && ! $prebuilt; then
  # buildah mounts a secret only when given one: an empty file means "no CA".
  ca=$(npm config get cafile 2>/dev/null || true)
  [ -n "$ca" ] && [ "$ca" != null ] && [ -f "$ca" ] || ca=/dev/null
  # Host network: the build's npm ci reaches the registry as the host does.
  build_args+=(--network host --secret "id=npm-ca,src=$ca")
fi
build_cmd=("$engine" build)
[ "$engine" != buildah ] || build_cmd=(buildah bud)
# The engine's output goes to a log, shown when a build fails.
work=$(mktemp -d "${TMPDIR:-/tmp}/minispod-images-XXXXXX")
trap 'rm -rf "$work"' EXIT
build() {
  local name=$1; shift
  if $dry; then printf '%s\n' "${build_cmd[*]} ${build_args[*]} $*"; return; fi
  "${build_cmd[@]}" "${build_args[@]}" "$@" >"$work/$name.log" 2>&1 || {
    log "error: building the image of $name failed; the engine's output:"
    tail -40 "$work/$name.log" >&2
    exit 1
  }
}

started=$SECONDS
if $prebuilt; then
  if $reuse; then
    for name in "${names[@]}"; do
      [ -f "functions/$name/dist/main.mjs" ] ||
        { log "error: --reuse-bundles, but functions/$name/dist/main.mjs is missing"; exit 1; }
    done
  else
    log "bundling ${#names[@]} functions (two at a time)"
    printf '%s\n' "${names[@]}" | xargs -P 2 -I{} sh -c \
      'cd "functions/$1" && "$2" ../../scripts/build-function.mjs >/dev/null || { echo "[images] error: bundling $1 failed" >&2; exit 255; }' \
      _ {} "$node"
  fi
  # Every native addon any bundle needs, installed once as the build stage installs them.
  specs=$("$node" -e '
    const fs = require("node:fs");
    const all = new Set();
    for (const n of process.argv.slice(1))
      for (const [k, v] of Object.entries(JSON.parse(fs.readFileSync(`functions/${n}/dist/natives.json`, "utf8"))))
        all.add(`${k}@${v}`);
    console.log([...all].join(" "));' "${names[@]}")
  if [ -n "$specs" ] && ! $dry; then
    mkdir -p "$work/natives"
    # shellcheck disable=SC2086
    (cd "$work/natives" && npm install --omit=dev --no-save --no-package-lock --prefer-offline \
      --no-audit --no-fund $specs >"$work/natives.log" 2>&1) ||
      { log "error: npm install $specs failed:"; tail -20 "$work/natives.log" >&2; exit 1; }
  fi
fi

one_image() {
  local name=$1 image="$REGISTRY/minispod/fn-$1:$TAG" t=$SECONDS
  if $prebuilt; then
    local dist=functions/$name/dist ctx=$work/$name
    mkdir -p "$ctx"
    cp -r "$dist" "$ctx/app"
    if [ "$(cat "$dist/natives.json")" != "{}" ] && [ -d "$work/natives/node_modules" ]; then
      cp -r "$work/natives/node_modules" "$ctx/app/node_modules"
    fi
    build "$name" -t "$image" -f scripts/deploy/prebuilt.Containerfile "$ctx"
    rm -rf "$ctx"
  else
    if ! $local || $dry; then
      # The same bundle the image's build stage makes; built here to report its size.
      (cd "functions/$name" && "$node" ../../scripts/build-function.mjs >/dev/null)
    fi
    build "$name" --build-arg "FUNCTION=$name" -t "$image" -f Dockerfile .
  fi
  local size
  size=$(wc -c <"functions/$name/dist/main.mjs" 2>/dev/null || echo 0)
  if $dry; then
    log "$name: bundle dist/main.mjs $((size / 1024)) KiB -> $image"
  else
    log "$name: bundle dist/main.mjs $((size / 1024)) KiB -> $image ($((SECONDS - t)) s)"
  fi
  if $push; then run "$engine" push "$image"; fi
}

if $prebuilt && ! $dry; then
  # Two at a time (IMAGES_JOBS): a build mostly copies layers and waits on the disk.
  # The Dockerfile path stays one at a time, so every build reuses the first one's npm ci layer.
  for name in "${names[@]}"; do
    ( (one_image "$name") || touch "$work/failed-$name") &
    while [ "$(jobs -rp | wc -l)" -ge "${IMAGES_JOBS:-2}" ]; do wait -n || true; done
  done
  wait
  failed=$(cd "$work" && for f in failed-*; do [ ! -e "$f" ] || printf '%s ' "${f#failed-}"; done)
  [ -z "$failed" ] || { log "error: the images of ${failed% } failed to build (their output is above)"; exit 1; }
else
  for name in "${names[@]}"; do one_image "$name"; done
fi
if ! $dry; then
  # Images an earlier build left untagged (the previous :$TAG), layers no tag uses.
  [ "$engine" = docker ] || "$engine" image prune -f >/dev/null 2>&1 || true
  log "${#names[@]} images in $((SECONDS - started)) s"
fi

if [ -n "$overlay" ]; then
  run "$node" "$root/node_modules/.bin/tsx" scripts/src/deploy/set-images.ts \
    "knative/overlays/$overlay/kustomization.yaml" "$REGISTRY" "$TAG" "${names[@]}"
fi
