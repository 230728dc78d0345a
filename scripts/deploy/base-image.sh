#!/usr/bin/env bash
# Builds the Node base image the Dockerfile starts FROM, locally, for machines
# that cannot pull node:<version>-bookworm-slim (no Docker Hub): a minimal
# Debian bookworm (debootstrap --variant=minbase) plus the Node binary and npm
# the repository pins (the `node` devDependency in node_modules), and a `node`
# user with uid/gid 1000, as in the official image.
#
#   scripts/deploy/base-image.sh            # prints the tag, builds it if missing
#   scripts/deploy/base-image.sh --force    # rebuild
#
#   MIRROR  Debian mirror (default http://deb.debian.org/debian)
# Needs root, debootstrap and podman (scripts/deploy/podman-setup.sh installs them).
# Then: podman build --build-arg NODE_IMAGE=<printed tag> ...
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
force=false
[ "${1:-}" = --force ] && force=true
log() { printf '[base-image] %s\n' "$*" >&2; }

bin=$(readlink -f "$root/node_modules/.bin/node" 2>/dev/null || true)
[ -x "$bin" ] || { log "error: no node_modules/.bin/node; run npm ci first"; exit 1; }
version=$("$bin" --version)
version=${version#v}
tag="localhost/minispod/node:$version-bookworm-slim"
if ! $force && podman image exists "$tag"; then echo "$tag"; exit 0; fi

bash "$root/scripts/deploy/podman-setup.sh"
# npm: the version package.json pins (packageManager), fetched from the registry
# (npm's tarball bundles its dependencies); the `node` package ships no npm.
npm_version=$(sed -n 's/.*"packageManager": *"npm@\([^"]*\)".*/\1/p' "$root/package.json")
[ -n "$npm_version" ] || { log "error: no packageManager npm@<version> in package.json"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/minispod-base-XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
log "debootstrap bookworm (minbase) -> $tag"
debootstrap --variant=minbase bookworm "$rootfs" "${MIRROR:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log" >&2; exit 1; }
# Trim what a runtime image never uses, as the slim images do.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
install -m 0755 "$bin" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
(cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null)
tar -xzf "$work/npm-$npm_version.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
chroot "$rootfs" npm --version >/dev/null

podman rmi -f "$tag" >/dev/null 2>&1 || true
tar -C "$rootfs" -c . | podman import \
  --change 'ENV NODE_VERSION='"$version" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' - "$tag" >/dev/null
log "built $tag ($(podman image inspect --format '{{.Size}}' "$tag" | awk '{printf "%.0f MiB", $1/1048576}'))"
echo "$tag"
