#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft) test broker from Maven Central jars. No Docker.
#   tools/kafka/ctl.sh {install|start|stop|status|env}
# Broker 127.0.0.1:19092, controller 127.0.0.1:19093 (override: KAFKA_PORT, KAFKA_CONTROLLER_PORT).
# Installs into $PDM_STATE_DIR/kafka/lib (jars, via mvn; ~/.m2 is the download cache).
# Every start formats a FRESH data dir ($PDM_STATE_DIR/kafka/run/data): no topics survive a restart.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/lib.sh
. "$HERE/../lib.sh"
# shellcheck disable=SC2034 # read by lib.sh
PDM_NAME=kafka

KAFKA_HOST=127.0.0.1
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"

BASE="$PDM_STATE_DIR/kafka"
LIB="$BASE/lib"
RUN="$BASE/run"
DATA="$RUN/data"
CONF="$RUN/server.properties"
LOG="$RUN/kafka.log"
PIDFILE="$RUN/kafka.pid"
LOCK="$BASE/.lock"

java_bin() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    echo "$JAVA_HOME/bin/java"
  else
    command -v java || pdm_die "java not found (Kafka 4.x needs Java 17+)"
  fi
}

java_opts() {
  # shellcheck disable=SC2206
  local heap=($KAFKA_HEAP_OPTS)
  JOPTS=("${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$HERE/log4j2.properties"
    -cp "$LIB/*") # quoted: java expands dir/* itself
}

installed() {
  [[ -f "$LIB/.pom.sha256" ]] && [[ "$(cat "$LIB/.pom.sha256")" == "$(pdm_sha256 "$HERE/pom.xml")" ]] &&
    compgen -G "$LIB/kafka_2.13-*.jar" >/dev/null
}

do_install() {
  if installed; then
    pdm_log "installed: $(cd "$LIB" && ls kafka_2.13-*.jar) ($LIB)"
    return 0
  fi
  command -v mvn >/dev/null || pdm_die "mvn not found"
  local tmp="$BASE/lib.tmp.$$" t0
  t0=$(date +%s)
  rm -rf "$tmp"
  mkdir -p "$BASE"
  pdm_log "resolving Kafka jars from Maven Central (tools/kafka/pom.xml) ..."
  if ! mvn -B -q -f "$HERE/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" >"$BASE/mvn.log" 2>&1; then
    tail -n 40 "$BASE/mvn.log" >&2
    rm -rf "$tmp"
    pdm_die "mvn copy-dependencies failed (full log: $BASE/mvn.log)"
  fi
  pdm_sha256 "$HERE/pom.xml" >"$tmp/.pom.sha256"
  rm -rf "$LIB"
  mv "$tmp" "$LIB"
  pdm_log "installed $(find "$LIB" -name "*.jar" | wc -l) jars in $(($(date +%s) - t0))s: $(cd "$LIB" && ls kafka_2.13-*.jar)"
}

healthy() {
  pdm_pid_alive "$PIDFILE" && [[ -f "$LOG" ]] && grep -q 'Kafka Server started' "$LOG" &&
    pdm_tcp_open "$KAFKA_HOST" "$KAFKA_PORT"
}

# Kafka UUID: 16 random bytes, base64url without padding (22 chars); avoid a leading '-'
# (same rule as org.apache.kafka.common.Uuid.randomUuid). Saves one JVM start.
random_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "${id:0:1}" != "-" && ${#id} -eq 22 ]] && break
  done
  echo "$id"
}

do_start() {
  pdm_lock "$LOCK"
  if healthy; then
    pdm_log "already running (pid $(cat "$PIDFILE")) on $KAFKA_HOST:$KAFKA_PORT"
    return 0
  fi
  if pdm_pid_alive "$PIDFILE"; then
    pdm_log "process $(cat "$PIDFILE") alive but not healthy: restarting it"
    pdm_stop_pidfile "$PIDFILE" 30 || true
  fi
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if pdm_tcp_open "$KAFKA_HOST" "$p"; then
      pdm_die "port $KAFKA_HOST:$p is already in use by another process (not ours: no live pidfile $PIDFILE)"
    fi
  done
  do_install
  local java t0 cid
  java="$(java_bin)"
  java_opts
  t0=$(date +%s)

  # Fresh cluster on every start: nothing is running, so wipe data dir and old config.
  rm -rf "$DATA"
  mkdir -p "$DATA"
  [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.prev"
  sed -e "s|@BROKER_PORT@|$KAFKA_PORT|g" \
    -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@DATA_DIR@|$DATA|g" "$HERE/server.properties" >"$CONF"

  cid="$(random_cluster_id)"
  if ! "$java" "${JOPTS[@]}" kafka.tools.StorageTool format -t "$cid" -c "$CONF" >"$LOG" 2>&1; then
    pdm_tail_log "$LOG"
    pdm_die "kafka-storage format failed"
  fi

  pdm_spawn "$PIDFILE" "$LOG" "$java" "${JOPTS[@]}" kafka.Kafka "$CONF"
  if pdm_wait_log "$LOG" 'Kafka Server started' "$KAFKA_START_TIMEOUT" "$PIDFILE" &&
    pdm_wait_tcp "$KAFKA_HOST" "$KAFKA_PORT" 10 "$PIDFILE"; then
    pdm_log "started (pid $(cat "$PIDFILE"), cluster $cid) on $KAFKA_HOST:$KAFKA_PORT in $(($(date +%s) - t0))s; log: $LOG"
    return 0
  fi
  pdm_tail_log "$LOG" 80
  pdm_stop_pidfile "$PIDFILE" 10 || true
  pdm_die "broker not ready within ${KAFKA_START_TIMEOUT}s"
}

do_stop() { pdm_stop_service "$LOCK" "$PIDFILE" 40; }

do_status() {
  if healthy; then
    echo "kafka: running (pid $(cat "$PIDFILE")) on $KAFKA_HOST:$KAFKA_PORT"
    return 0
  fi
  if pdm_pid_alive "$PIDFILE"; then
    echo "kafka: process $(cat "$PIDFILE") alive but not ready"
  else
    echo "kafka: not running"
  fi
  return 1
}

do_env() {
  echo "export KAFKA_BROKERS=$KAFKA_HOST:$KAFKA_PORT"
}

# A pidfile left by a crash/reboot may name a recycled pid: ignore it unless it is ours.
pdm_forget_stale_pidfile "$PIDFILE" 'kafka\.Kafka'

case "${1:-}" in
  install) pdm_lock "$LOCK"; do_install ;;
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  env) do_env ;;
  *) pdm_usage ;;
esac
