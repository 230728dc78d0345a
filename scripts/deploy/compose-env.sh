#!/usr/bin/env bash
# Prints the secrets docker-compose.full.yml needs, a fresh Ed25519 signing key
# pair (PEMs on one line, "\n" escaped, as the functions accept them):
#   scripts/deploy/compose-env.sh > compose.env
#   docker compose --env-file compose.env -f docker-compose.full.yml up -d
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
node=$root/node_modules/.bin/node
[ -x "$node" ] || node=node
"$node" -e '
const { generateKeyPairSync } = require("node:crypto");
const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const line = (pem) => pem.trim().replaceAll("\n", "\\n");
console.log("JWT_PRIVATE_KEY=" + line(privateKey.export({ type: "pkcs8", format: "pem" })));
console.log("JWT_PUBLIC_KEY=" + line(publicKey.export({ type: "spki", format: "pem" })));
'
