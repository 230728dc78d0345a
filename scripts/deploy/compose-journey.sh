#!/usr/bin/env bash
# The README's curl tour against the whole product as containers
# (docker-compose.full.yml): builds the images (compose-images.sh), starts the
# stack with podman-compose (or COMPOSE="docker compose"), registers, logs in,
# makes the account admin as docs/deploy.md's "First admin" does, adds a
# catalog entry, subscribes, waits for the instance to be RUNNING on the
# simulated cluster, checks the welcome email reached the mail catcher; then a
# customer subscribes, takes a backup, restores it into the instance, adds and
# removes a custom domain; then it tears everything down (volumes included).
#
#   scripts/deploy/compose-journey.sh [--no-build]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=true
[ "${1:-}" = --no-build ] && build=false
log() { printf '[compose-journey] %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }
export MINISPOD_TAG=${MINISPOD_TAG:-dev}

if [ -z "${COMPOSE:-}" ]; then
  if ! command -v podman-compose >/dev/null; then
    log "installing podman-compose"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman-compose >/dev/null
  fi
  COMPOSE=podman-compose
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/minispod-compose-XXXXXX")
envfile=$work/compose.env
bash scripts/deploy/compose-env.sh >"$envfile"
if $build; then
  bash scripts/deploy/compose-images.sh >>"$envfile"
else
  p=localhost/minispod
  printf '%s\n' "MINISPOD_IMAGES=$p" "MINISPOD_TAG=$MINISPOD_TAG" "POSTGRES_IMAGE=$p/postgres:$MINISPOD_TAG" \
    "REDIS_IMAGE=$p/redis:$MINISPOD_TAG" "MAIL_IMAGE=$p/mail:$MINISPOD_TAG" >>"$envfile"
fi
# The tour's own ports, away from a developer's npm start and compose.
GATEWAY_PORT=${GATEWAY_PORT:-18080} MAIL_PORT=${MAIL_PORT:-18025}
printf '%s\n' "GATEWAY_PORT=$GATEWAY_PORT" "MAIL_PORT=$MAIL_PORT" >>"$envfile"
project=minispod-journey
if [ "$COMPOSE" = podman-compose ]; then
  # Debian's podman-compose (1.0.3) has no --env-file; it substitutes from the environment.
  while IFS= read -r line; do [ -z "$line" ] || export "${line?}"; done <"$envfile"
  c() { podman-compose -p "$project" -f docker-compose.full.yml "$@"; }
else
  c() { $COMPOSE --env-file "$envfile" -p "$project" -f docker-compose.full.yml "$@"; }
fi
teardown() {
  local status=$?
  if [ $status -ne 0 ]; then
    log "the stack's containers, each with the last lines of its log:"
    local name
    [ "$COMPOSE" = podman-compose ] || c logs --tail 12 >&2 2>&1 || true
    for name in $(podman ps -a --filter "label=io.podman.compose.project=$project" --format '{{.Names}}'); do
      printf '\n--- %s (%s)\n' "$name" "$(podman ps -a --filter "name=^$name\$" --format '{{.Status}}')" >&2
      podman logs --tail 12 "$name" >&2 2>&1 || true
    done
  fi
  c down -v >/dev/null 2>&1 || true
  # What down leaves (a one-off run's container, the network).
  podman ps -aq --filter "label=io.podman.compose.project=$project" | xargs -r podman rm -f >/dev/null 2>&1 || true
  podman network rm -f "${project}_default" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap teardown EXIT

api=http://127.0.0.1:$GATEWAY_PORT/api/v1
mail=http://127.0.0.1:$MAIL_PORT/api/v1
# Retries `cmd` every 2 s for up to $1 seconds.
wait_for() {
  local seconds=$1; shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 2
  done
}
json() { node_modules/.bin/node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=new Function("r","return r."+process.argv[1])(JSON.parse(s));console.log(typeof v==="string"?v:JSON.stringify(v))})' "$1"; }

log "starting PostgreSQL, Redis, the mail catcher"
c up -d postgres redis mail >>"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; fail "compose up"; }
log "migrating (the migrate Job's image)"
wait_for 120 c run --rm migrate >>"$work/up.log" 2>&1 || fail "migrations did not apply"
# podman-compose run does not always pass the container's exit code on: ask the database.
tables=$(c exec -T postgres psql -U minispod -d minispod -tAc \
  "select count(*) from information_schema.tables where table_schema = 'public'" 2>/dev/null |
  grep -E '^[0-9]+$' | head -1)
[ "${tables:-0}" -gt 5 ] || fail "the migrate image left ${tables:-no} tables in the database"
log "migrated: $tables tables"
log "starting the broker, the gateway and the 13 functions"
# (podman-compose reports the three already running as "name in use" and starts the rest.)
c up -d >>"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; fail "compose up"; }
wait_for 240 curl -fsS "$api/services" || fail "the API did not answer through the gateway"

email="ada-$(date +%s)@example.com" password="a long password"
log "register $email"
curl -fsS "$api/auth/register" -H 'content-type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\",\"name\":\"Ada\"}" >/dev/null || fail "register"
login() {
  curl -fsS "$api/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\"}" | json accessToken
}
token=$(login) || fail "login"
curl -fsS "$api/auth/me" -H "authorization: Bearer $token" | grep -q "\"$email\"" || fail "me"
# docs/deploy.md "First admin": promoted once in the database, then a fresh login.
c exec -T postgres psql -U minispod -d minispod -qc \
  "update users set role = 'SUPER_ADMIN', email_verified_at = now() where lower(email) = lower('$email')" \
  >/dev/null || fail "promote the first admin"
token=$(login) || fail "login as admin"
auth=(-H "authorization: Bearer $token" -H 'content-type: application/json')
curl -fsS "$api/services" "${auth[@]}" -d '{"slug":"uptime-kuma","name":"Uptime Kuma",
  "description":"Monitoring for websites and services.","image":"louislam/uptime-kuma","imageTag":"1",
  "port":3001,"resources":{"cpu":"250m","memory":"256Mi","storage":"1Gi","storageMountPath":"/app/data"},
  "price":{"amountMinor":300,"currency":"EUR"}}' >/dev/null || fail "create the catalog entry"
log "subscribe to uptime-kuma"
subscription=$(curl -fsS "$api/subscriptions" "${auth[@]}" -H 'Idempotency-Key: compose-journey' \
  -d '{"serviceSlug":"uptime-kuma"}') || fail "subscribe"
id=$(printf '%s' "$subscription" | json id)
log "subscription $id: $(printf '%s' "$subscription" | json status); waiting for the instance"
running() {
  curl -fsS "$api/subscriptions/$id" -H "authorization: Bearer $token" | json 'instance.status' | grep -qx RUNNING
}
wait_for 240 running || fail "instance not RUNNING: $(curl -sS "$api/subscriptions/$id" -H "authorization: Bearer $token")"
log "instance RUNNING"
caught() { curl -fsS "$mail/messages" | grep -q "$email"; }
wait_for 60 caught || fail "no email to $email in the mail catcher: $(curl -sS "$mail/messages")"
log "email to $email caught: $(curl -fsS "$mail/messages" | json 'messages.map(m=>m.Subject).join(" | ")')"

# A customer's data and name, in the containers: backups are the owner's alone (an admin
# gets 403), so a second account, a customer, subscribes, backs up, restores, adds a domain.
customer="grace-$(date +%s)@example.com"
log "register the customer $customer"
curl -fsS "$api/auth/register" -H 'content-type: application/json' \
  -d "{\"email\":\"$customer\",\"password\":\"$password\",\"name\":\"Grace\"}" >/dev/null || fail "register the customer"
c exec -T postgres psql -U minispod -d minispod -qc \
  "update users set email_verified_at = now() where lower(email) = lower('$customer')" \
  >/dev/null || fail "verify the customer's email"
ctoken=$(curl -fsS "$api/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"$customer\",\"password\":\"$password\"}" | json accessToken) || fail "customer login"
cauth=(-H "authorization: Bearer $ctoken" -H 'content-type: application/json')
id=$(curl -fsS "$api/subscriptions" "${cauth[@]}" -H 'Idempotency-Key: compose-journey-2' \
  -d '{"serviceSlug":"uptime-kuma"}' | json id) || fail "the customer's subscription"
token=$ctoken
wait_for 240 running || fail "the customer's instance not RUNNING"
instance=$(curl -fsS "$api/subscriptions/$id" -H "authorization: Bearer $ctoken" | json 'instance.id')
log "instance $instance RUNNING; an on-demand backup"
backup=$(curl -fsS "$api/instances/$instance/backups" "${cauth[@]}" -H 'Idempotency-Key: compose-backup' \
  -d '{}' | json id) || fail "ask for a backup"
backup_ready() {
  curl -fsS "$api/instances/$instance/backups/$backup" -H "authorization: Bearer $ctoken" | json status | grep -qx READY
}
wait_for 120 backup_ready ||
  fail "backup not READY: $(curl -sS "$api/instances/$instance/backups/$backup" -H "authorization: Bearer $ctoken")"
log "backup READY: $(curl -fsS "$api/instances/$instance/backups" -H "authorization: Bearer $ctoken" |
  json 'items.map(b => b.kind + " " + b.status + " " + b.sizeBytes + " bytes").join(", ")')"
restore=$(curl -fsS "$api/instances/$instance/backups/$backup/restore" "${cauth[@]}" \
  -H 'Idempotency-Key: compose-restore' -d '{}' | json id) || fail "ask for a restore"
restored() {
  curl -fsS "$api/instances/$instance/restores/$restore" -H "authorization: Bearer $ctoken" | json status | grep -qx DONE
}
wait_for 120 restored ||
  fail "restore not DONE: $(curl -sS "$api/instances/$instance/restores/$restore" -H "authorization: Bearer $ctoken")"
# Its timeline: restored (PROVISIONING on the new volume), then RUNNING after it.
back_running() {
  curl -fsS "$api/instances/$instance" -H "authorization: Bearer $ctoken" |
    json 'timeline.map(t => t.status + ": " + t.message).join("\n")' |
    sed -n '/Restored from the backup/,$p' | grep -q '^RUNNING'
}
wait_for 240 back_running || fail "instance not RUNNING on the restored volume: $(curl -sS "$api/instances/$instance" -H "authorization: Bearer $ctoken")"
log "restored into the same instance, RUNNING on it"
domain=$(curl -fsS "$api/instances/$instance/domains" "${cauth[@]}" -d '{"domain":"shop.example.com"}') ||
  fail "add a custom domain"
[ "$(printf '%s' "$domain" | json state)" = PENDING_VERIFICATION ] || fail "domain: $domain"
log "domain shop.example.com PENDING_VERIFICATION, TXT record $(printf '%s' "$domain" | json 'dnsRecords[0].name')"
curl -fsS -X DELETE "$api/instances/$instance/domains/$(printf '%s' "$domain" | json id)" \
  -H "authorization: Bearer $ctoken" >/dev/null || fail "remove the domain"
# The restore's own email ("… restored") among the customer's.
to_customer="messages.filter(m => JSON.stringify(m).includes('$customer')).map(m => m.Subject)"
restore_mail() { curl -fsS "$mail/messages" | json "$to_customer.join(' | ')" | grep -qi restored; }
wait_for 60 restore_mail || fail "no restore email to $customer: $(curl -sS "$mail/messages" | json "$to_customer")"
log "emails to $customer: $(curl -fsS "$mail/messages" | json "$to_customer.join(' | ')")"
log "journey passed"
