#!/usr/bin/env bash
# Headless Chromium (Debian `chromium`) for the tests that render HTML and keep a screenshot (the email
# digest). Nothing runs in the background: `start` only installs it, so it fits the servers' interface.
#
#   ctl.sh install | start | stop | restart | status | env
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC2034 # read by lib.sh
PDM_NAME=chromium
# shellcheck source=tools/lib.sh
. "$HERE/../lib.sh"

S="$(pdm_dir chromium)"

find_chromium() { command -v chromium || command -v chromium-browser || true; }

install() {
  [[ -n "$(find_chromium)" ]] && return 0
  [[ $(id -u) -eq 0 ]] || pdm_die "chromium is not installed and installing it needs root (apt-get install chromium)"
  pdm_log "installing chromium from Debian apt (~20 s)"
  export DEBIAN_FRONTEND=noninteractive
  local opts=(-y -q -o DPkg::Lock::Timeout=600)
  if ! apt-get install "${opts[@]}" chromium >"$S/apt.log" 2>&1; then
    apt-get update -q -o DPkg::Lock::Timeout=600 >>"$S/apt.log" 2>&1 || true
    apt-get install "${opts[@]}" chromium >>"$S/apt.log" 2>&1 || {
      pdm_tail_log "$S/apt.log" 30
      pdm_die "apt-get install chromium failed"
    }
  fi
}

case "${1:-}" in
  install | start | restart) install ;;
  stop) ;;
  status) [[ -n "$(find_chromium)" ]] ;;
  env) echo "export PDM_CHROMIUM=$(find_chromium)" ;;
  *)
    echo "usage: $0 install|start|stop|restart|status|env" >&2
    exit 2
    ;;
esac
