#!/usr/bin/env bash
# Shared helpers for tools/<name>/ctl.sh test-server scripts.
# Source it:   . "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# Safe under `set -euo pipefail`. Bash only (uses arrays / [[ ]] / /dev/tcp).

# Root of all installs (cached between runs) and runtime dirs.
PDM_STATE_DIR="${PDM_STATE_DIR:-$HOME/.cache/parsedmarc-ts}"
export PDM_STATE_DIR
# Directory holding tools/ (repo root is its parent).
PDM_TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC2034 # for callers
PDM_REPO_DIR="$(cd "$PDM_TOOLS_DIR/.." && pwd)"

# pdm_log msg...   -> stderr, prefixed with the calling tool name (PDM_NAME) and time
pdm_log() {
  printf '[%s %s] %s\n' "${PDM_NAME:-tools}" "$(date +%H:%M:%S)" "$*" >&2
}

# pdm_die msg...   -> log and exit 1
pdm_die() {
  pdm_log "ERROR: $*"
  exit 1
}

# pdm_dir sub/path -> prints "$PDM_STATE_DIR/sub/path" after mkdir -p
pdm_dir() {
  local d="$PDM_STATE_DIR/$1"
  mkdir -p "$d"
  printf '%s\n' "$d"
}

# pdm_tcp_open host port -> exit 0 if something accepts a TCP connection
pdm_tcp_open() {
  local host="$1" port="$2"
  (exec 3<>"/dev/tcp/$host/$port") >/dev/null 2>&1
}

# pdm_wait_tcp host port timeout_s [pidfile] -> 0 when port accepts, 1 on timeout
# (or as soon as the process in the optional pidfile dies)
pdm_wait_tcp() {
  local host="$1" port="$2" timeout="${3:-30}" pidfile="${4:-}"
  local deadline=$(( $(date +%s) + timeout ))
  while :; do
    if pdm_tcp_open "$host" "$port"; then return 0; fi
    if [[ -n "$pidfile" ]] && ! pdm_pid_alive "$pidfile"; then return 1; fi
    (( $(date +%s) >= deadline )) && return 1
    sleep 0.3
  done
}

# pdm_wait_http url timeout_s [pidfile] -> 0 when url answers 2xx, 1 on timeout
pdm_wait_http() {
  local url="$1" timeout="${2:-30}" pidfile="${3:-}"
  local deadline=$(( $(date +%s) + timeout ))
  while :; do
    if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then return 0; fi
    if [[ -n "$pidfile" ]] && ! pdm_pid_alive "$pidfile"; then return 1; fi
    (( $(date +%s) >= deadline )) && return 1
    sleep 0.3
  done
}

# pdm_wait_log file pattern timeout_s [pidfile] -> 0 when grep -E finds pattern
pdm_wait_log() {
  local file="$1" pattern="$2" timeout="${3:-30}" pidfile="${4:-}"
  local deadline=$(( $(date +%s) + timeout ))
  while :; do
    if [[ -f "$file" ]] && grep -Eq -- "$pattern" "$file"; then return 0; fi
    if [[ -n "$pidfile" ]] && ! pdm_pid_alive "$pidfile"; then return 1; fi
    (( $(date +%s) >= deadline )) && return 1
    sleep 0.3
  done
}

# pdm_pid_alive pidfile -> 0 if the pidfile names a live process
pdm_pid_alive() {
  local pidfile="$1" pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null
}

# pdm_pid_matches pidfile pattern -> 0 if the pidfile's live process has a command
# line matching the grep -E pattern (guards against a recycled pid after a reboot/crash)
pdm_pid_matches() {
  local pidfile="$1" pattern="$2" pid
  pdm_pid_alive "$pidfile" || return 1
  pid="$(cat "$pidfile")"
  [[ -r "/proc/$pid/cmdline" ]] || return 0 # no /proc: trust the pid
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -Eq -- "$pattern"
}

# pdm_forget_stale_pidfile pidfile pattern -> remove the pidfile unless it names a
# live process matching pattern
pdm_forget_stale_pidfile() {
  local pidfile="$1" pattern="$2"
  [[ -f "$pidfile" ]] || return 0
  pdm_pid_matches "$pidfile" "$pattern" || rm -f "$pidfile"
}

# pdm_stop_pidfile pidfile [timeout_s=20] -> TERM, wait, then KILL; removes pidfile.
# Returns 0 if nothing runs afterwards.
pdm_stop_pidfile() {
  local pidfile="$1" timeout="${2:-20}" pid i
  if ! pdm_pid_alive "$pidfile"; then
    rm -f "$pidfile"
    return 0
  fi
  pid="$(cat "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  for (( i = 0; i < timeout * 5; i++ )); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
    sleep 0.2
  done
  pdm_log "pid $pid did not exit after ${timeout}s, sending KILL"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.5
  rm -f "$pidfile"
  ! kill -0 "$pid" 2>/dev/null
}

# pdm_tail_log file [lines=60] -> print the end of a service log to stderr
pdm_tail_log() {
  local file="$1" n="${2:-60}"
  if [[ -f "$file" ]]; then
    printf -- '----- last %s lines of %s -----\n' "$n" "$file" >&2
    tail -n "$n" "$file" >&2 || true
    printf -- '-----\n' >&2
  else
    pdm_log "(no log file $file)"
  fi
}

# pdm_spawn pidfile logfile cmd args... -> start cmd detached (own session, stdin
# from /dev/null, stdout+stderr appended to logfile, fd 9 = pdm_lock closed),
# write its pid to pidfile.
pdm_spawn() {
  local pidfile="$1" logfile="$2"
  shift 2
  mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
  rm -f "$pidfile"
  # The child writes its own pid then execs, so the pidfile is right even when
  # setsid has to fork (caller is a process-group leader).
  local launcher=(nohup)
  command -v setsid >/dev/null 2>&1 && launcher=(setsid)
  # shellcheck disable=SC2016 # $$/$0/$@ expand in the child
  "${launcher[@]}" bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" \
    </dev/null >>"$logfile" 2>&1 9>&- &
  local i
  for (( i = 0; i < 50; i++ )); do [[ -s "$pidfile" ]] && return 0; sleep 0.1; done
  pdm_log "spawn: pidfile $pidfile not written"
  return 1
}

# pdm_usage -> standard usage line for a ctl.sh
pdm_usage() {
  echo "usage: $0 {install|start|stop|status|env}" >&2
  exit 2
}

# pdm_lock lockfile [timeout_s=600] -> take an exclusive flock on fd 9 for the
# rest of the calling shell (released on exit). Serialises install/start/stop.
pdm_lock() {
  local lockfile="$1" timeout="${2:-600}"
  mkdir -p "$(dirname "$lockfile")"
  exec 9>"$lockfile"
  if command -v flock >/dev/null 2>&1; then
    flock -w "$timeout" 9 || pdm_die "could not lock $lockfile within ${timeout}s"
  fi
}

# pdm_sha256 file... -> one hash over the given files' contents
pdm_sha256() {
  cat "$@" | sha256sum | cut -d' ' -f1
}

# pdm_apt_install logfile pkg...   -> installs Debian packages non-interactively (waits for a busy dpkg
# lock, runs apt-get update once on failure; never removes a package to make room). With PDM_APT_NO_START=1 the packages' postinst may not start
# their distro service (policy-rc.d), so the system instance on the standard ports stays down.
pdm_apt_install() {
  local log="$1"
  shift
  local opts=(-y -q --no-remove -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confold) made_policy= rc=0
  export DEBIAN_FRONTEND=noninteractive
  if [[ "${PDM_APT_NO_START:-}" == 1 && ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
  fi
  if ! apt-get install "${opts[@]}" "$@" >"$log" 2>&1; then
    pdm_log "apt-get install $* failed, running apt-get update and retrying"
    apt-get update -q -o DPkg::Lock::Timeout=600 >>"$log" 2>&1 || true
    apt-get install "${opts[@]}" "$@" >>"$log" 2>&1 || rc=$?
  fi
  [[ -n "$made_policy" ]] && rm -f /usr/sbin/policy-rc.d
  if [[ $rc -ne 0 ]]; then
    pdm_tail_log "$log" 30
    pdm_die "apt-get install $* failed"
  fi
}

# pdm_stop_service lockfile pidfile timeout_s   -> stops the server whose pid the pidfile holds (TERM,
# then KILL past the timeout), under the tool's lock; says so when it was not running.
pdm_stop_service() {
  local lock="$1" pidfile="$2" timeout="$3" pid
  pdm_lock "$lock"
  if pdm_pid_alive "$pidfile"; then
    pid="$(cat "$pidfile")"
    pdm_log "stopping pid $pid ..."
    pdm_stop_pidfile "$pidfile" "$timeout" || pdm_die "could not stop pid $pid"
    pdm_log "stopped"
  else
    rm -f "$pidfile"
    pdm_log "not running"
  fi
}
