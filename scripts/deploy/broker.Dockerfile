# The broker service (Knative Broker semantics for compose) and the compose
# stand-ins (API gateway, mail catcher), one image:
#   docker build -f scripts/deploy/broker.Dockerfile -t <registry>/minispod/broker:<tag> .
#   node broker.mjs (default) | node tools.mjs gateway | node tools.mjs mail-catcher
# The build stage starts like the function Dockerfile's, so a layered build
# (buildah --layers, docker) reuses its npm ci layer.
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
# Where the host's npm trusts a custom CA bundle (npm config get cafile), compose-images.sh
# puts a copy at scripts/deploy/npm-ca.pem (never committed) and npm ci trusts it too.
COPY scripts/deploy/broker.Dockerfile scripts/deploy/npm-ca.pe[m] /tmp/npm-ca/
RUN find functions -mindepth 2 -not -name package.json -not -type d -delete \
 && if [ -f /tmp/npm-ca/npm-ca.pem ]; then export NPM_CONFIG_CAFILE=/tmp/npm-ca/npm-ca.pem; fi \
 && npm ci --ignore-scripts=false
COPY . .
RUN node scripts/build-broker.mjs && cp -r scripts/dist/broker /out

FROM ${NODE_IMAGE}
ENV NODE_ENV=production PORT=8080 BROKER_KNATIVE_DIR=/app/knative GATEWAY_INGRESS_FILE=/app/knative/api-ingress.yaml MIGRATIONS_DEV_DIR=/app/migrations-dev
WORKDIR /app
COPY --from=build --chown=0:0 /out/ /app/
USER 1000:1000
EXPOSE 8080
CMD ["node", "broker.mjs"]
