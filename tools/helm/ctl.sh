#!/usr/bin/env bash
# Helm (v4, built from the Go module proxy: no release downloads here) for the test that renders the chart
# k8s/chart for every environment. Nothing runs in the background: `start` only installs it, so it fits the
# servers' interface. The first build takes ~3-4 minutes on two cores; later runs reuse the binary.
#
#   ctl.sh install | start | stop | restart | status | env
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC2034 # read by lib.sh
PDM_NAME=helm
# shellcheck source=tools/lib.sh
. "$HERE/../lib.sh"

HELM_VERSION=v4.3.2
S="$(pdm_dir "helm/$HELM_VERSION")"
BIN="$S/bin/helm"

install() {
  [[ -x "$BIN" ]] && return 0
  command -v go >/dev/null || pdm_die "go is needed to build helm (Debian: apt-get install golang)"
  pdm_log "building helm $HELM_VERSION from the Go module proxy (~3-4 min the first time)"
  if ! GOBIN="$S/bin" GOFLAGS=-mod=mod go install "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" >"$S/build.log" 2>&1; then
    pdm_tail_log "$S/build.log" 30
    pdm_die "go install helm.sh/helm/v4/cmd/helm@$HELM_VERSION failed"
  fi
  pdm_log "helm $("$BIN" version --short 2>/dev/null) at $BIN"
}

case "${1:-}" in
  install | start | restart) install ;;
  stop) ;;
  status) [[ -x "$BIN" ]] ;;
  env) echo "export PDM_HELM=$BIN" ;;
  *)
    echo "usage: $0 install|start|stop|restart|status|env" >&2
    exit 2
    ;;
esac
