# One image per function: docker build --build-arg FUNCTION=auth -t minispod/fn-auth .
# The bundle is a single ESM file; only native addons are installed beside it.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY db/package.json db/
COPY shared/package.json shared/
COPY scripts/package.json scripts/
COPY functions functions
RUN find functions -mindepth 2 -not -name package.json -not -type d -delete && npm ci --ignore-scripts=false
COPY . .
ARG FUNCTION
RUN test -n "$FUNCTION" || (echo "--build-arg FUNCTION=<name> is required" && exit 1)
WORKDIR /src/functions/${FUNCTION}
RUN node ../../scripts/build-function.mjs \
 && mkdir -p /out && cp -r dist/. /out/ \
 && node -e "const n=require('/out/natives.json');const s=Object.entries(n).map(([k,v])=>k+'@'+v).join(' ');require('fs').writeFileSync('/out/natives.txt',s)" \
 && if [ -s /out/natives.txt ]; then cd /out && npm install --omit=dev --no-save --no-package-lock $(cat /out/natives.txt); fi

FROM node:24-bookworm-slim
# No --enable-source-maps: it costs ~60 MiB RSS and ~260 ms of cold start per function.
# The bundle keeps its main.mjs.map beside it: add the flag for a debugging session only.
ENV NODE_ENV=production PORT=8080 MIGRATIONS_DIR=/app/migrations
WORKDIR /app
COPY --from=build --chown=node:node /out/ /app/
USER node
EXPOSE 8080
CMD ["node", "main.mjs"]
