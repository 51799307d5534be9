#!/usr/bin/env bash
# Confluent-API-compatible schema registry for local tests: AxonOps Schema Registry (Go,
# Apache-2.0), built from the Go module proxy, in-memory storage, default compatibility BACKWARD.
#   tools/schema-registry/ctl.sh {install|start|stop|status|env}
# Listens on http://127.0.0.1:18081 (override: SCHEMA_REGISTRY_TEST_PORT).
# Binary: $PDM_STATE_DIR/schema-registry/bin/schema-registry-<version>; Go caches
# (GOMODCACHE/GOCACHE) stay at Go's defaults so rebuilds are offline and fast.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/lib.sh
. "$HERE/../lib.sh"
# shellcheck disable=SC2034 # read by lib.sh
PDM_NAME=schema-registry

SR_MODULE=github.com/axonops/axonops-schema-registry
SR_VERSION="${SR_VERSION:-v0.2.1}"
SR_HOST=127.0.0.1
SR_PORT="${SCHEMA_REGISTRY_TEST_PORT:-18081}"
SR_URL="http://$SR_HOST:$SR_PORT"
SR_START_TIMEOUT="${SR_START_TIMEOUT:-30}"

BASE="$PDM_STATE_DIR/schema-registry"
BIN="$BASE/bin/schema-registry-$SR_VERSION"
RUN="$BASE/run"
LOG="$RUN/schema-registry.log"
PIDFILE="$RUN/schema-registry.pid"
LOCK="$BASE/.lock"

do_install() {
  if [[ -x "$BIN" ]]; then
    pdm_log "installed: $("$BIN" -version 2>/dev/null || echo "$BIN")"
    return 0
  fi
  command -v go >/dev/null || pdm_die "go not found (needs Go >= 1.26 for $SR_MODULE $SR_VERSION)"
  local t0 dir src
  t0=$(date +%s)
  mkdir -p "$BASE/bin"
  # NOT `go install $SR_MODULE/cmd/schema-registry@$SR_VERSION`: it also fetches the module's
  # version list (@v/list) to check deprecation, and the proxy here answers that with 403,
  # although .info/.mod/.zip of the tag are served. So: download the tagged module, build it
  # with its own go.mod/go.sum (same result as go install).
  pdm_log "downloading $SR_MODULE@$SR_VERSION from the Go module proxy ..."
  dir="$(go mod download -json "$SR_MODULE@$SR_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -n "$dir" && -f "$dir/go.mod" ]] || pdm_die "go mod download $SR_MODULE@$SR_VERSION failed"
  src="$BASE/src.tmp.$$"
  rm -rf "$src"
  cp -r "$dir" "$src"
  chmod -R u+w "$src"
  pdm_log "building (first build downloads ~100 deps and compiles for ~2 min on 2 cores) ..."
  if ! (cd "$src" && GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath \
    -ldflags "-s -w -X main.version=$SR_VERSION -X main.commit=goproxy" \
    -o "$BIN.tmp" ./cmd/schema-registry) >"$BASE/build.log" 2>&1; then
    tail -n 40 "$BASE/build.log" >&2
    rm -rf "$src" "$BIN.tmp"
    pdm_die "go build failed (full log: $BASE/build.log)"
  fi
  rm -rf "$src"
  mv -f "$BIN.tmp" "$BIN"
  pdm_log "built $("$BIN" -version) in $(($(date +%s) - t0))s -> $BIN"
}

healthy() {
  pdm_pid_alive "$PIDFILE" && curl -fsS -o /dev/null --max-time 2 "$SR_URL/subjects" 2>/dev/null
}

do_start() {
  pdm_lock "$LOCK"
  if healthy; then
    pdm_log "already running (pid $(cat "$PIDFILE")) at $SR_URL"
    return 0
  fi
  if pdm_pid_alive "$PIDFILE"; then
    pdm_log "process $(cat "$PIDFILE") alive but not healthy: restarting it"
    pdm_stop_pidfile "$PIDFILE" 10 || true
  fi
  if pdm_tcp_open "$SR_HOST" "$SR_PORT"; then
    pdm_die "port $SR_HOST:$SR_PORT is already in use by another process (not ours: no live pidfile $PIDFILE)"
  fi
  do_install
  local t0
  t0=$(date +%s)
  mkdir -p "$RUN"
  [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.prev"
  SCHEMA_REGISTRY_HOST="$SR_HOST" SCHEMA_REGISTRY_PORT="$SR_PORT" \
    pdm_spawn "$PIDFILE" "$LOG" "$BIN" -config "$HERE/config.yaml"
  if pdm_wait_http "$SR_URL/health/ready" "$SR_START_TIMEOUT" "$PIDFILE" &&
    pdm_wait_http "$SR_URL/subjects" 5 "$PIDFILE"; then
    pdm_log "started (pid $(cat "$PIDFILE")) at $SR_URL in $(($(date +%s) - t0))s; log: $LOG"
    return 0
  fi
  pdm_tail_log "$LOG" 60
  pdm_stop_pidfile "$PIDFILE" 5 || true
  pdm_die "schema registry not ready within ${SR_START_TIMEOUT}s"
}

do_stop() { pdm_stop_service "$LOCK" "$PIDFILE" 15; }

do_status() {
  if healthy; then
    echo "schema-registry: running (pid $(cat "$PIDFILE")) at $SR_URL"
    return 0
  fi
  if pdm_pid_alive "$PIDFILE"; then
    echo "schema-registry: process $(cat "$PIDFILE") alive but not answering $SR_URL"
  else
    echo "schema-registry: not running"
  fi
  return 1
}

do_env() {
  echo "export SCHEMA_REGISTRY_URL=$SR_URL"
}

# A pidfile left by a crash/reboot may name a recycled pid: ignore it unless it is ours.
pdm_forget_stale_pidfile "$PIDFILE" 'schema-registry'

case "${1:-}" in
  install) pdm_lock "$LOCK"; do_install ;;
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  env) do_env ;;
  *) pdm_usage ;;
esac
