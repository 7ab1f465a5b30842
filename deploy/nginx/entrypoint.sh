#!/bin/sh
# Entrypoint of the streamgate edge container (deploy/nginx/Dockerfile): renders nginx.conf and
# edge.conf from the templates beside this script into $EDGE_PREFIX, then runs nginx in the
# foreground. The same rendering as `npm run edge` (src/edge/render.ts), done with envsubst.
#
#   EDGE_ORIGINS    required: the gateways, space-separated HOST:PORT (e.g. "gateway:8000")
#   EDGE_LISTEN     what nginx listens on: a port or HOST:PORT (default 8080)
#   EDGE_PREFIX     nginx's prefix: rendered config, pid, temp files (default /var/lib/streamgate-edge)
#   EDGE_CACHE_DIR  the proxy cache (default $EDGE_PREFIX/cache; a tmpfs is best)
#
# Arguments are passed to nginx: `entrypoint.sh -t` renders the configuration and checks it.
set -eu

fail() {
  echo "streamgate-edge: $*" >&2
  exit 64
}

TEMPLATE_DIR=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
EDGE_ORIGINS=${EDGE_ORIGINS:-}
EDGE_LISTEN=${EDGE_LISTEN:-8080}
EDGE_PREFIX=${EDGE_PREFIX:-/var/lib/streamgate-edge}
EDGE_CACHE_DIR=${EDGE_CACHE_DIR:-$EDGE_PREFIX/cache}

# One `server HOST:PORT ...;` line per origin, as originServerLines() in src/edge/render.ts: a
# failed connection takes an origin out for 2 s only; a 404 never does (the stream is elsewhere).
newline='
'
EDGE_ORIGIN_SERVERS=
seen=' '
set -f # no globbing while splitting the list
for origin in $EDGE_ORIGINS; do
  case $origin in
    */* | *'$'* | *';'* | *'{'* | *'}'*)
      fail "EDGE_ORIGINS: \"$origin\" is not HOST:PORT (give the gateway's address, e.g. gateway:8000, not a URL)" ;;
  esac
  case $origin in
    *:[0-9]*) ;;
    *) fail "EDGE_ORIGINS: \"$origin\" has no port (expected HOST:PORT, e.g. gateway:8000)" ;;
  esac
  case ${origin##*:} in
    *[!0-9]*) fail "EDGE_ORIGINS: \"$origin\" has no port (expected HOST:PORT, e.g. gateway:8000)" ;;
  esac
  case $seen in
    *" $origin "*) fail "EDGE_ORIGINS: $origin is given twice" ;;
  esac
  seen="$seen$origin "
  line="server $origin max_fails=1 fail_timeout=2s;"
  if [ -z "$EDGE_ORIGIN_SERVERS" ]; then
    EDGE_ORIGIN_SERVERS=$line
  else
    EDGE_ORIGIN_SERVERS="$EDGE_ORIGIN_SERVERS$newline    $line"
  fi
done
set +f
[ -n "$EDGE_ORIGIN_SERVERS" ] ||
  fail 'EDGE_ORIGINS is empty: set it to the gateways to cache, space-separated HOST:PORT (e.g. EDGE_ORIGINS="gateway:8000")'

for dir in tmp/client_body tmp/proxy tmp/fastcgi tmp/uwsgi tmp/scgi; do
  mkdir -p "$EDGE_PREFIX/$dir"
done
mkdir -p "$EDGE_CACHE_DIR"

export EDGE_PREFIX EDGE_LISTEN EDGE_CACHE_DIR EDGE_ORIGIN_SERVERS
# Only these placeholders: every other `$` in the templates is nginx's (or Lua's) own.
envsubst '${EDGE_PREFIX} ${EDGE_LISTEN} ${EDGE_CACHE_DIR} ${EDGE_ORIGIN_SERVERS}' \
  <"$TEMPLATE_DIR/nginx.conf" >"$EDGE_PREFIX/nginx.conf"
envsubst '${EDGE_PREFIX} ${EDGE_LISTEN} ${EDGE_CACHE_DIR} ${EDGE_ORIGIN_SERVERS}' \
  <"$TEMPLATE_DIR/edge.conf" >"$EDGE_PREFIX/edge.conf"

# nginx.conf says `daemon off`: nginx stays in the foreground as PID 1's replacement and gets
# the container's stop signal itself.
exec nginx -p "$EDGE_PREFIX" -e stderr -c "$EDGE_PREFIX/nginx.conf" "$@"
