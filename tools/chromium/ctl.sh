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
  pdm_apt_install "$S/apt.log" chromium
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
