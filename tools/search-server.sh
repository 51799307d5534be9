#!/usr/bin/env bash
# shellcheck disable=SC2153 # the SRV_* variables are set by the sourcing ctl.sh
# What tools/elasticsearch/ctl.sh and tools/opensearch/ctl.sh share: a single-node search server from the
# Maven Central integ-test zip (no Docker), run as a system user when root, with the work dir behind a
# /var/lib symlink when that user cannot reach $PDM_STATE_DIR.
# Source it after tools/lib.sh, set the SRV_* variables below, define the two hooks, then call
# `search_server_main "$@"`:
#   PDM_NAME            elasticsearch | opensearch: dir, zip, bin/<name>, pidfile, status and /var/lib names
#   SRV_TITLE           display name (Elasticsearch)
#   SRV_VERSION         version; the zip unpacks to <name>-<version>/
#   SRV_ARTIFACT        Maven coordinates of the zip (group:artifact:version:zip)
#   SRV_ZIP_SIZE        download size for the log line (~107 MB)
#   SRV_HOST SRV_PORT SRV_TRANSPORT_PORT    bind address, HTTP and transport ports
#   SRV_URL_VAR         variable printed by `env` (ELASTICSEARCH_URL)
#   SRV_START_TIMEOUT   seconds to wait for readiness
#   SRV_PIDFILE_GRACE   seconds the server may take to write its pidfile after bin/<name> -d returned
#   SRV_HEAP_OPTS       JVM options handed to the server (heap)
#   SRV_ENV_PREFIX      prefix of the launcher's variables: <P>_JAVA_HOME, <P>_JAVA_OPTS, <P>_PATH_CONF, <P>_TMPDIR
#   SRV_NODE_NAME       node.name
#   SRV_EXTRA_SETTINGS  array of extra bin/<name> arguments (e.g. -E xpack.security.enabled=false)
#   SRV_USER            system user the server runs as when the caller is root
#   SRV_MAIN_CLASS      grep -E pattern for the server's command line (stale pidfile check)
#   SRV_KEEP_DATA       1 = keep the data and config of the previous run (<NAME>_KEEP_DATA)
# Hooks:
#   java_home           print the JDK home to run the server with (jdk_major helps), or pdm_die
#   prepare_config      fill $CONF_DIR from $SRV_HOME/config (it is empty unless SRV_KEEP_DATA kept it)
# Paths set here (set_paths): REAL, SRV_HOME, RUN, CONF_DIR, DATA, LOGS, TMPD, OUT, PIDFILE; and BASE, WORK, LOCK.

# Paths handed to the server must be the real ones (the service user cannot pass /root).
set_paths() {
  REAL="$(readlink -f "$WORK" 2>/dev/null || echo "$WORK")"
  SRV_HOME="$REAL/$PDM_NAME-$SRV_VERSION"
  RUN="$REAL/run"
  CONF_DIR="$RUN/config"
  DATA="$RUN/data"
  LOGS="$RUN/logs"
  TMPD="$RUN/tmp"
  OUT="$RUN/console.log" # output of bin/<name> -d (startup errors land here)
  PIDFILE="$RUN/$PDM_NAME.pid"
}

am_root() { [[ $(id -u) -eq 0 ]]; }

# detached cmd args... -> cmd in its own session (no signals from the caller's terminal), as the service
# user when root, else as the caller
detached() {
  local pre=()
  command -v setsid >/dev/null 2>&1 && pre=(setsid)
  if am_root; then pre+=(runuser -u "$SRV_USER" --); fi
  "${pre[@]}" "$@"
}

ensure_user() {
  am_root || return 0
  getent passwd "$SRV_USER" >/dev/null && return 0
  pdm_log "creating system user $SRV_USER"
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$SRV_USER"
}

# work/: a real dir when the service user can reach $BASE, else a symlink into /var/lib/pdm-<name>
setup_work() {
  mkdir -p "$BASE"
  local target=
  if am_root && ! runuser -u "$SRV_USER" -- test -x "$BASE" 2>/dev/null; then
    target="/var/lib/pdm-$PDM_NAME/$(printf %s "$BASE" | md5sum | cut -c1-8)"
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

installed() {
  [[ -f "$SRV_HOME/.pdm-installed" && -x "$SRV_HOME/bin/$PDM_NAME" ]]
}

do_install() {
  ensure_user
  setup_work
  if installed; then
    pdm_log "installed: $SRV_TITLE $SRV_VERSION ($SRV_HOME)"
    return 0
  fi
  command -v mvn >/dev/null || pdm_die "mvn not found"
  command -v unzip >/dev/null || pdm_die "unzip not found"
  local tmp="$REAL/install.tmp.$$" dist="$PDM_NAME-$SRV_VERSION" zip t0
  t0=$(date +%s)
  rm -rf "$tmp"
  mkdir -p "$tmp"
  pdm_log "fetching $SRV_ARTIFACT from Maven Central ($SRV_ZIP_SIZE when not in ~/.m2) ..."
  # run from $BASE so that no pom.xml in the caller's cwd is picked up
  if ! (cd "$BASE" && mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="$SRV_ARTIFACT" -DoutputDirectory="$tmp") >"$BASE/mvn.log" 2>&1; then
    tail -n 40 "$BASE/mvn.log" >&2
    rm -rf "$tmp"
    pdm_die "mvn dependency:copy failed (full log: $BASE/mvn.log)"
  fi
  zip="$tmp/$dist.zip"
  [[ -f "$zip" ]] || { rm -rf "$tmp"; pdm_die "mvn did not produce $zip"; }
  if ! unzip -q "$zip" -d "$tmp"; then
    rm -rf "$tmp"
    pdm_die "unzip $zip failed"
  fi
  rm -f "$zip"
  [[ -x "$tmp/$dist/bin/$PDM_NAME" ]] ||
    { rm -rf "$tmp"; pdm_die "unexpected zip layout (no $dist/bin/$PDM_NAME)"; }
  chmod -R a+rX "$tmp/$dist"
  touch "$tmp/$dist/.pdm-installed"
  rm -rf "$SRV_HOME"
  mv "$tmp/$dist" "$SRV_HOME"
  rm -rf "$tmp"
  pdm_log "installed $SRV_TITLE $SRV_VERSION in $(($(date +%s) - t0))s: $SRV_HOME ($(du -sh "$SRV_HOME" | cut -f1))"
}

# ready = our pid is alive and the cluster is at least yellow
healthy() {
  pdm_pid_alive "$PIDFILE" &&
    curl -fsS -o /dev/null --max-time 3 "$SRV_URL/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null
}

show_failure() {
  pdm_tail_log "$OUT" 40
  pdm_tail_log "$LOGS/pdm-test.log" 40
}

# wait_ready lpid -> 0 when healthy; 1 on timeout, failed launcher or dead server
wait_ready() {
  local lpid="$1" deadline=$(($(date +%s) + SRV_START_TIMEOUT)) lrc="" lend=0
  while :; do
    healthy && return 0
    if [[ -z "$lrc" ]] && ! kill -0 "$lpid" 2>/dev/null; then
      wait "$lpid" && lrc=0 || lrc=$?
      lend=$(date +%s)
      if ((lrc != 0)); then
        pdm_log "bin/$PDM_NAME exited with status $lrc"
        return 1
      fi
    fi
    # once the launcher has returned, the server must have written its pidfile within the grace period
    if [[ -n "$lrc" ]] && ! pdm_pid_alive "$PIDFILE" && (($(date +%s) - lend > SRV_PIDFILE_GRACE)); then
      pdm_log "server process is gone"
      return 1
    fi
    if (($(date +%s) >= deadline)); then
      pdm_log "timeout after ${SRV_START_TIMEOUT}s"
      return 1
    fi
    sleep 0.5
  done
}

do_start() {
  pdm_lock "$LOCK"
  if healthy; then
    pdm_log "already running (pid $(cat "$PIDFILE")) at $SRV_URL"
    return 0
  fi
  if pdm_pid_alive "$PIDFILE"; then
    pdm_log "process $(cat "$PIDFILE") alive but not healthy: restarting it"
    pdm_stop_pidfile "$PIDFILE" 60 || true
  fi
  local p
  for p in "$SRV_PORT" "$SRV_TRANSPORT_PORT"; do
    if pdm_tcp_open "$SRV_HOST" "$p"; then
      pdm_die "port $SRV_HOST:$p is already in use by another process (not ours: no live pidfile $PIDFILE)"
    fi
  done
  do_install
  local jh t0 lpid
  jh="$(java_home)"
  t0=$(date +%s)

  # Fresh node on every start: wipe data, tmp and config (copied from the dist; the server writes its
  # keystore there); keep the previous run's logs in logs.prev.
  # SRV_KEEP_DATA=1 keeps the data and config of the previous run (a test that kills the server mid-batch and
  # starts it again to see what survived).
  if [[ "$SRV_KEEP_DATA" == 1 && -d "$DATA" && -d "$CONF_DIR" ]]; then
    rm -rf "$TMPD" "$LOGS.prev"
  else
    rm -rf "$DATA" "$TMPD" "$CONF_DIR" "$LOGS.prev"
  fi
  [[ -d "$LOGS" ]] && mv "$LOGS" "$LOGS.prev"
  [[ -f "$OUT" ]] && mv -f "$OUT" "$OUT.prev"
  mkdir -p "$DATA" "$TMPD" "$CONF_DIR" "$LOGS"
  prepare_config
  rm -f "$PIDFILE"
  if am_root; then chown -R "$SRV_USER:" "$RUN"; fi

  # -d: bin/<name> daemonizes (see wait_ready); the server writes the pidfile;
  # fd 9 = pdm_lock lock file: not inherited by the server.
  local envp="$SRV_ENV_PREFIX"
  (cd "$RUN" && detached env "${envp}_JAVA_HOME=$jh" "${envp}_JAVA_OPTS=$SRV_HEAP_OPTS" "${envp}_PATH_CONF=$CONF_DIR" \
    "${envp}_TMPDIR=$TMPD" "$SRV_HOME/bin/$PDM_NAME" -d -p "$PIDFILE" \
    -E cluster.name=pdm-test -E node.name="$SRV_NODE_NAME" \
    -E discovery.type=single-node "${SRV_EXTRA_SETTINGS[@]}" \
    -E network.host="$SRV_HOST" -E http.port="$SRV_PORT" -E transport.port="$SRV_TRANSPORT_PORT" \
    -E path.data="$DATA" -E path.logs="$LOGS" \
    -E cluster.routing.allocation.disk.threshold_enabled=false) \
    </dev/null >>"$OUT" 2>&1 9>&- &
  lpid=$!
  if wait_ready "$lpid"; then
    pdm_log "started (pid $(cat "$PIDFILE"), $SRV_TITLE $SRV_VERSION, Java $(jdk_major "$jh")) at $SRV_URL in $(($(date +%s) - t0))s; logs: $LOGS"
    return 0
  fi
  show_failure
  kill -TERM "$lpid" 2>/dev/null || true
  pdm_stop_pidfile "$PIDFILE" 30 || true
  pdm_die "$SRV_TITLE did not get ready at $SRV_URL (console: $OUT, logs: $LOGS)"
}

do_stop() { pdm_stop_service "$LOCK" "$PIDFILE" 60; }

do_status() {
  if healthy; then
    echo "$PDM_NAME: running (pid $(cat "$PIDFILE")) at $SRV_URL"
    return 0
  fi
  if pdm_pid_alive "$PIDFILE"; then
    echo "$PDM_NAME: process $(cat "$PIDFILE") alive but not ready"
  else
    echo "$PDM_NAME: not running"
  fi
  return 1
}

do_env() {
  echo "export $SRV_URL_VAR=$SRV_URL"
}

# search_server_main command -> the ctl.sh interface, once the SRV_* variables and hooks are set
search_server_main() {
  local v f
  for v in PDM_NAME SRV_TITLE SRV_VERSION SRV_ARTIFACT SRV_ZIP_SIZE SRV_HOST SRV_PORT SRV_TRANSPORT_PORT \
    SRV_URL_VAR SRV_START_TIMEOUT SRV_PIDFILE_GRACE SRV_HEAP_OPTS SRV_ENV_PREFIX SRV_NODE_NAME SRV_USER \
    SRV_MAIN_CLASS SRV_KEEP_DATA; do
    [[ -n "${!v:-}" ]] || pdm_die "search-server.sh: $v is not set"
  done
  for f in java_home prepare_config; do
    declare -F "$f" >/dev/null || pdm_die "search-server.sh: hook $f is not defined"
  done
  [[ -n "${SRV_EXTRA_SETTINGS+set}" ]] || SRV_EXTRA_SETTINGS=()
  SRV_URL="http://$SRV_HOST:$SRV_PORT"
  BASE="$PDM_STATE_DIR/$PDM_NAME"
  WORK="$BASE/work" # a dir, or a symlink to /var/lib/pdm-<name>/<hash> (see setup_work)
  LOCK="$BASE/.lock"
  set_paths

  # A pidfile left by a crash/reboot may name a recycled pid: ignore it unless it is ours.
  pdm_forget_stale_pidfile "$PIDFILE" "$SRV_MAIN_CLASS"

  case "${1:-}" in
    install) pdm_lock "$LOCK"; do_install ;;
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    env) do_env ;;
    *) pdm_usage ;;
  esac
}
