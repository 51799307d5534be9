#!/usr/bin/env bash
# Splunk HTTP Event Collector stand-in (tools/hec/receiver.mjs, Node built-ins only, nothing to install) on
# 127.0.0.1:${PDM_HEC_PORT:-18088}, for the Splunk sink tests. See receiver.mjs for the protocol and the
# /_stub/ control API (tokens are created by the tests).
#
#   ctl.sh install | start | stop | restart | status | env
#
# Files in $PDM_STATE_DIR/hec:
#   data/      tokens.json and events/<sha256(token)>.jsonl; emptied at every fresh start unless HEC_KEEP_DATA=1
#   hec.log    receiver log (the previous run's in hec.log.prev)
#   hec.pid
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC2034 # read by lib.sh
PDM_NAME=hec
# shellcheck source=tools/lib.sh
. "$HERE/../lib.sh"

HEC_HOST=127.0.0.1
HEC_PORT="${PDM_HEC_PORT:-18088}"
HEC_URL="http://$HEC_HOST:$HEC_PORT"
S="$PDM_STATE_DIR/hec"
DATA="$S/data"
PIDFILE="$S/hec.pid"
LOG="$S/hec.log"
LOCK="$S/.lock" # serialises install/start/stop of parallel callers
PATTERN='receiver\.mjs'

cmd_install() {
  mkdir -p "$S"
  command -v node >/dev/null 2>&1 || pdm_die "node not found on PATH"
}

healthy() {
  pdm_pid_alive "$PIDFILE" &&
    curl -fsS -o /dev/null --max-time 2 "$HEC_URL/services/collector/health" 2>/dev/null
}

cmd_status() {
  if healthy; then
    echo "hec: running (pid $(cat "$PIDFILE")) on $HEC_HOST:$HEC_PORT"
    return 0
  fi
  echo "hec: not running"
  return 1
}

cmd_start() {
  cmd_install
  if healthy; then
    pdm_log "already running (pid $(cat "$PIDFILE")) at $HEC_URL"
    return 0
  fi
  if pdm_pid_alive "$PIDFILE"; then
    pdm_log "process $(cat "$PIDFILE") alive but not healthy: restarting it"
    cmd_stop
  fi
  if pdm_tcp_open "$HEC_HOST" "$HEC_PORT"; then
    pdm_die "port $HEC_HOST:$HEC_PORT is already in use by another process (not ours: no live pidfile $PIDFILE)"
  fi
  # A fresh receiver on every start, like the other test servers; HEC_KEEP_DATA=1 keeps the tokens and
  # events of the previous run (a test that restarts it to see what survived).
  [[ "${HEC_KEEP_DATA:-0}" == 1 ]] || rm -rf "$DATA"
  mkdir -p "$DATA"
  [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.prev"
  pdm_spawn "$PIDFILE" "$LOG" "$(command -v node)" "$HERE/receiver.mjs" --port "$HEC_PORT" --data "$DATA" ||
    pdm_die "could not launch the receiver"
  if ! pdm_wait_http "$HEC_URL/services/collector/health" 15 "$PIDFILE"; then
    pdm_tail_log "$LOG" 30
    pdm_stop_pidfile "$PIDFILE" 5 || true
    pdm_die "receiver not ready at $HEC_URL"
  fi
  pdm_log "running (pid $(cat "$PIDFILE")) at $HEC_URL, data $DATA, log $LOG"
}

cmd_stop() {
  if pdm_pid_alive "$PIDFILE"; then
    pdm_stop_pidfile "$PIDFILE" 10 || pdm_die "could not stop pid $(cat "$PIDFILE")"
    pdm_log "stopped"
  else
    rm -f "$PIDFILE"
  fi
}

cmd_env() {
  echo "export HEC_URL=$HEC_URL PDM_HEC_PORT=$HEC_PORT"
}

mkdir -p "$S"
# a pidfile left by a crash/reboot may name a recycled pid: ignore it unless it is the receiver
pdm_forget_stale_pidfile "$PIDFILE" "$PATTERN"

case "${1:-}" in
install) pdm_lock "$LOCK" && cmd_install ;;
start) pdm_lock "$LOCK" && cmd_start ;;
stop) pdm_lock "$LOCK" && cmd_stop ;;
restart) pdm_lock "$LOCK" && cmd_stop && cmd_start ;;
status) cmd_status ;;
env) cmd_env ;;
*)
  echo "usage: $0 {install|start|stop|restart|status|env}" >&2
  exit 2
  ;;
esac
