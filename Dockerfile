# One image per function; scripts/deploy/images.sh builds and pushes them all:
#   docker build --build-arg FUNCTION=auth -t <registry>/minispod/fn-auth:<tag> .
# The bundle is a single ESM file; only native addons are installed beside it.
# NODE_IMAGE: the Node the repository pins (package.json devDependency `node`);
# scripts/deploy/base-image.sh builds it locally where Docker Hub is out of reach.
# Optional build secret npm-ca: a CA bundle npm must trust (a TLS-inspecting
# proxy); scripts/deploy/images.sh passes the host's `npm config get cafile`.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY db/package.json db/
COPY shared/package.json shared/
COPY shared/billing/package.json shared/billing/
COPY shared/cluster/package.json shared/cluster/
COPY shared/instances/package.json shared/instances/
COPY shared/webhooks/package.json shared/webhooks/
COPY scripts/package.json scripts/
COPY functions functions
RUN --mount=type=secret,id=npm-ca \
    if [ -s /run/secrets/npm-ca ]; then export NPM_CONFIG_CAFILE=/run/secrets/npm-ca; fi \
 && find functions -mindepth 2 -not -name package.json -not -type d -delete && npm ci --ignore-scripts=false
COPY . .
ARG FUNCTION
RUN test -n "$FUNCTION" || (echo "--build-arg FUNCTION=<name> is required" && exit 1)
WORKDIR /src/functions/${FUNCTION}
RUN --mount=type=secret,id=npm-ca \
    if [ -s /run/secrets/npm-ca ]; then export NPM_CONFIG_CAFILE=/run/secrets/npm-ca; fi \
 && node ../../scripts/build-function.mjs \
 && mkdir -p /out && cp -r dist/. /out/ \
 && node -e "const n=require('/out/natives.json');const s=Object.entries(n).map(([k,v])=>k+'@'+v).join(' ');require('fs').writeFileSync('/out/natives.txt',s)" \
 && if [ -s /out/natives.txt ]; then cd /out && npm install --omit=dev --no-save --no-package-lock $(cat /out/natives.txt); fi

FROM ${NODE_IMAGE}
# No --enable-source-maps: it costs ~60 MiB RSS and ~260 ms of cold start per function.
# The bundle keeps its main.mjs.map beside it: add the flag for a debugging session only.
# NODE_COMPILE_CACHE: V8's code cache of the bundle, filled below, so a cold
# start reads compiled code instead of parsing ~1 MiB of JavaScript again.
ENV NODE_ENV=production PORT=8080 MIGRATIONS_DIR=/app/migrations NODE_COMPILE_CACHE=/app/.compile-cache
WORKDIR /app
COPY --from=build --chown=0:0 /out/ /app/
RUN mkdir /app/.compile-cache && chown 1000:1000 /app/.compile-cache
# Warm the compile cache as the user that runs the image (Node keys the cache
# folder by uid and V8 flags): without configuration the bundle loads every
# module, then exits on the missing DATABASE_URL, and Node writes the cache at
# exit. Then it goes back to root: at run time it is only read (the pods' root
# filesystem is read-only).
USER 1000:1000
RUN node main.mjs >/dev/null 2>&1; test -n "$(ls -A /app/.compile-cache)"
USER 0:0
RUN chown -R 0:0 /app/.compile-cache && chmod -R a+rX,go-w /app/.compile-cache
# Numeric: the kubelet can only prove runAsNonRoot (knative/base) for a numeric
# user; with `USER node` every pod would fail with "non-numeric user". 1000 is
# the image's `node` user. The files stay root-owned: the app writes nothing.
USER 1000:1000
EXPOSE 8080
CMD ["node", "main.mjs"]
