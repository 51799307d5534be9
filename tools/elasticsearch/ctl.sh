#!/usr/bin/env bash
# Single-node Elasticsearch test server from Maven Central (the integ-test zip: no X-Pack, no bundled JDK,
# plain HTTP, no auth). No Docker.
#   tools/elasticsearch/ctl.sh {install|start|stop|status|env}
# HTTP http://127.0.0.1:19200, transport 127.0.0.1:19300 (override: ELASTICSEARCH_TEST_PORT,
# ELASTICSEARCH_TEST_TRANSPORT_PORT). Java: $ES_JAVA_HOME, else the Java 17 JDK in /usr/lib/jvm.
# Installs org.elasticsearch.distribution.integ-test-zip:elasticsearch:<version>:zip via mvn (~/.m2 is the
# download cache) into $PDM_STATE_DIR/elasticsearch/work/elasticsearch-<version>.
# Elasticsearch refuses to run as root: as root it runs as system user pdmelastic (created if missing), so
# work/ must be reachable by that user; when $PDM_STATE_DIR is not (default: under the mode-700 /root),
# work/ is a symlink to /var/lib/pdm-elasticsearch/<md5(state dir)[0:8]>. As non-root it runs as the caller.
# Every start wipes the data dir (work/run/data): no index survives a restart (unless <NAME>_KEEP_DATA=1).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/lib.sh
. "$HERE/../lib.sh"
# shellcheck disable=SC2034 # read by lib.sh
PDM_NAME=elasticsearch

ES_VERSION=8.19.21
ES_ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
ES_HOST=127.0.0.1
ES_PORT="${ELASTICSEARCH_TEST_PORT:-19200}"
ES_TRANSPORT_PORT="${ELASTICSEARCH_TEST_TRANSPORT_PORT:-19300}"
ES_URL="http://$ES_HOST:$ES_PORT"
ES_START_TIMEOUT="${ELASTICSEARCH_START_TIMEOUT:-180}"
ES_HEAP_OPTS="${ES_JAVA_OPTS:--Xms512m -Xmx512m}"
ES_USER=pdmelastic
ES_MAIN_CLASS='org\.elasticsearch\.bootstrap\.Elasticsearch'

BASE="$PDM_STATE_DIR/elasticsearch"
WORK="$BASE/work" # a dir, or a symlink to /var/lib/pdm-elasticsearch/<hash> (see header)
LOCK="$BASE/.lock"

# Paths handed to Elasticsearch must be the real ones (the service user cannot pass /root).
set_paths() {
  REAL="$(readlink -f "$WORK" 2>/dev/null || echo "$WORK")"
  ES_HOME="$REAL/elasticsearch-$ES_VERSION"
  RUN="$REAL/run"
  CONF_DIR="$RUN/config"
  DATA="$RUN/data"
  LOGS="$RUN/logs"
  TMPD="$RUN/tmp"
  OUT="$RUN/console.log" # output of bin/elasticsearch -d (startup errors land here)
  PIDFILE="$RUN/elasticsearch.pid"
}
set_paths

am_root() { [[ $(id -u) -eq 0 ]]; }

# detached cmd args... -> cmd in its own session (no signals from the caller's terminal), as the service
# user when root, else as the caller
detached() {
  local pre=()
  command -v setsid >/dev/null 2>&1 && pre=(setsid)
  if am_root; then pre+=(runuser -u "$ES_USER" --); fi
  "${pre[@]}" "$@"
}

ensure_user() {
  am_root || return 0
  getent passwd "$ES_USER" >/dev/null && return 0
  pdm_log "creating system user $ES_USER"
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$ES_USER"
}

# work/: a real dir when the service user can reach $BASE, else a symlink into /var/lib
setup_work() {
  mkdir -p "$BASE"
  local target=
  if am_root && ! runuser -u "$ES_USER" -- test -x "$BASE" 2>/dev/null; then
    target="/var/lib/pdm-elasticsearch/$(printf %s "$BASE" | md5sum | cut -c1-8)"
  fi
  if [[ -n "$target" ]]; then
    mkdir -p "$target"
    chmod 755 "$(dirname "$target")" "$target"
    if [[ "$(readlink "$WORK" 2>/dev/null || true)" != "$target" ]]; then
      rm -rf "$WORK"
      ln -s "$target" "$WORK"
    fi
  else
    [[ -L "$WORK" ]] && rm -f "$WORK"
    mkdir -p "$WORK"
    chmod 755 "$WORK"
  fi
  set_paths
}

# jdk_major home -> major version of the JDK (from its release file, else by running it)
jdk_major() {
  local h="$1" v
  v="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$h/release" 2>/dev/null | head -n 1)"
  [[ -n "$v" ]] || v="$("$h/bin/java" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p')"
  echo "${v:-0}"
}

java_home() {
  if [[ -n "${ES_JAVA_HOME:-}" ]]; then
    [[ -x "$ES_JAVA_HOME/bin/java" ]] || pdm_die "ES_JAVA_HOME=$ES_JAVA_HOME has no bin/java"
    echo "$ES_JAVA_HOME"
    return 0
  fi
  local h java
  java="$(command -v java || true)"
  for h in /usr/lib/jvm/java-17-openjdk-* "${JAVA_HOME:-}" ${java:+"$(dirname "$(dirname "$(readlink -f "$java")")")"}; do
    if [[ -n "$h" && -x "$h/bin/java" ]] && (($(jdk_major "$h") >= 17)); then
      echo "$h"
      return 0
    fi
  done
  pdm_die "no Java 17+ JDK found (set ES_JAVA_HOME)"
}

installed() {
  [[ -f "$ES_HOME/.pdm-installed" && -x "$ES_HOME/bin/elasticsearch" ]]
}

do_install() {
  ensure_user
  setup_work
  if installed; then
    pdm_log "installed: Elasticsearch $ES_VERSION ($ES_HOME)"
    return 0
  fi
  command -v mvn >/dev/null || pdm_die "mvn not found"
  command -v unzip >/dev/null || pdm_die "unzip not found"
  local tmp="$REAL/install.tmp.$$" zip t0
  t0=$(date +%s)
  rm -rf "$tmp"
  mkdir -p "$tmp"
  pdm_log "fetching $ES_ARTIFACT from Maven Central (~107 MB when not in ~/.m2) ..."
  # run from $BASE so that no pom.xml in the caller's cwd is picked up
  if ! (cd "$BASE" && mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="$ES_ARTIFACT" -DoutputDirectory="$tmp") >"$BASE/mvn.log" 2>&1; then
    tail -n 40 "$BASE/mvn.log" >&2
    rm -rf "$tmp"
    pdm_die "mvn dependency:copy failed (full log: $BASE/mvn.log)"
  fi
  zip="$tmp/elasticsearch-$ES_VERSION.zip"
  [[ -f "$zip" ]] || { rm -rf "$tmp"; pdm_die "mvn did not produce $zip"; }
  if ! unzip -q "$zip" -d "$tmp"; then
    rm -rf "$tmp"
    pdm_die "unzip $zip failed"
  fi
  rm -f "$zip"
  [[ -x "$tmp/elasticsearch-$ES_VERSION/bin/elasticsearch" ]] ||
    { rm -rf "$tmp"; pdm_die "unexpected zip layout (no elasticsearch-$ES_VERSION/bin/elasticsearch)"; }
  chmod -R a+rX "$tmp/elasticsearch-$ES_VERSION"
  touch "$tmp/elasticsearch-$ES_VERSION/.pdm-installed"
  rm -rf "$ES_HOME"
  mv "$tmp/elasticsearch-$ES_VERSION" "$ES_HOME"
  rm -rf "$tmp"
  pdm_log "installed Elasticsearch $ES_VERSION in $(($(date +%s) - t0))s: $ES_HOME ($(du -sh "$ES_HOME" | cut -f1))"
}

# ready = our pid is alive and the cluster is at least yellow
healthy() {
  pdm_pid_alive "$PIDFILE" &&
    curl -fsS -o /dev/null --max-time 3 "$ES_URL/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null
}

show_failure() {
  pdm_tail_log "$OUT" 40
  pdm_tail_log "$LOGS/pdm-test.log" 40
}

# wait_ready lpid -> 0 when healthy; 1 on timeout, failed launcher or dead server
wait_ready() {
  local lpid="$1" deadline=$(($(date +%s) + ES_START_TIMEOUT)) lrc="" lend=0
  while :; do
    healthy && return 0
    if [[ -z "$lrc" ]] && ! kill -0 "$lpid" 2>/dev/null; then
      wait "$lpid" && lrc=0 || lrc=$?
      lend=$(date +%s)
      if ((lrc != 0)); then
        pdm_log "bin/elasticsearch exited with status $lrc"
        return 1
      fi
    fi
    # the launcher returns once the node has started: its pidfile must name a live server by then
    if [[ -n "$lrc" ]] && ! pdm_pid_alive "$PIDFILE" && (($(date +%s) - lend > 30)); then
      pdm_log "server process is gone"
      return 1
    fi
    if (($(date +%s) >= deadline)); then
      pdm_log "timeout after ${ES_START_TIMEOUT}s"
      return 1
    fi
    sleep 0.5
  done
}

do_start() {
  pdm_lock "$LOCK"
  if healthy; then
    pdm_log "already running (pid $(cat "$PIDFILE")) at $ES_URL"
    return 0
  fi
  if pdm_pid_alive "$PIDFILE"; then
    pdm_log "process $(cat "$PIDFILE") alive but not healthy: restarting it"
    pdm_stop_pidfile "$PIDFILE" 60 || true
  fi
  local p
  for p in "$ES_PORT" "$ES_TRANSPORT_PORT"; do
    if pdm_tcp_open "$ES_HOST" "$p"; then
      pdm_die "port $ES_HOST:$p is already in use by another process (not ours: no live pidfile $PIDFILE)"
    fi
  done
  do_install
  local jh t0 lpid
  jh="$(java_home)"
  t0=$(date +%s)

  # Fresh node on every start: wipe data, tmp and config (copied from the dist; Elasticsearch writes its
  # keystore there); keep the previous run's logs in logs.prev.
  # ELASTICSEARCH_KEEP_DATA=1 keeps the data and config of the previous run (a test that kills the server mid-batch and
  # starts it again to see what survived).
  if [[ "${ELASTICSEARCH_KEEP_DATA:-0}" == 1 && -d "$DATA" && -d "$CONF_DIR" ]]; then
    rm -rf "$TMPD" "$LOGS.prev"
  else
    rm -rf "$DATA" "$TMPD" "$CONF_DIR" "$LOGS.prev"
  fi
  [[ -d "$LOGS" ]] && mv "$LOGS" "$LOGS.prev"
  [[ -f "$OUT" ]] && mv -f "$OUT" "$OUT.prev"
  mkdir -p "$DATA" "$TMPD" "$CONF_DIR" "$LOGS"
  [[ -f "$CONF_DIR/elasticsearch.yml" ]] || cp -R "$ES_HOME/config/." "$CONF_DIR/"
  rm -f "$PIDFILE"
  if am_root; then chown -R "$ES_USER:" "$RUN"; fi

  # -d: bin/elasticsearch returns once the node has started (the server writes the pidfile);
  # fd 9 = pdm_lock lock file: not inherited by the server.
  (cd "$RUN" && detached env ES_JAVA_HOME="$jh" ES_JAVA_OPTS="$ES_HEAP_OPTS" ES_PATH_CONF="$CONF_DIR" \
    ES_TMPDIR="$TMPD" "$ES_HOME/bin/elasticsearch" -d -p "$PIDFILE" \
    -E cluster.name=pdm-test -E node.name=pdm-es \
    -E discovery.type=single-node -E xpack.security.enabled=false \
    -E network.host="$ES_HOST" -E http.port="$ES_PORT" -E transport.port="$ES_TRANSPORT_PORT" \
    -E path.data="$DATA" -E path.logs="$LOGS" \
    -E cluster.routing.allocation.disk.threshold_enabled=false) \
    </dev/null >>"$OUT" 2>&1 9>&- &
  lpid=$!
  if wait_ready "$lpid"; then
    pdm_log "started (pid $(cat "$PIDFILE"), Elasticsearch $ES_VERSION, Java $(jdk_major "$jh")) at $ES_URL in $(($(date +%s) - t0))s; logs: $LOGS"
    return 0
  fi
  show_failure
  kill -TERM "$lpid" 2>/dev/null || true
  pdm_stop_pidfile "$PIDFILE" 30 || true
  pdm_die "Elasticsearch did not get ready at $ES_URL (console: $OUT, logs: $LOGS)"
}

do_stop() {
  pdm_lock "$LOCK"
  if pdm_pid_alive "$PIDFILE"; then
    local pid
    pid="$(cat "$PIDFILE")"
    pdm_log "stopping pid $pid ..."
    pdm_stop_pidfile "$PIDFILE" 60 || pdm_die "could not stop pid $pid"
    pdm_log "stopped"
  else
    rm -f "$PIDFILE"
    pdm_log "not running"
  fi
}

do_status() {
  if healthy; then
    echo "elasticsearch: running (pid $(cat "$PIDFILE")) at $ES_URL"
    return 0
  fi
  if pdm_pid_alive "$PIDFILE"; then
    echo "elasticsearch: process $(cat "$PIDFILE") alive but not ready"
  else
    echo "elasticsearch: not running"
  fi
  return 1
}

do_env() {
  echo "export ELASTICSEARCH_URL=$ES_URL"
}

# A pidfile left by a crash/reboot may name a recycled pid: ignore it unless it is ours.
pdm_forget_stale_pidfile "$PIDFILE" "$ES_MAIN_CLASS"

case "${1:-}" in
  install) pdm_lock "$LOCK"; do_install ;;
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  env) do_env ;;
  *) pdm_usage ;;
esac
