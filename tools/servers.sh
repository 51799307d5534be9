#!/usr/bin/env bash
# Run an action over the test servers in tools/<name>/ctl.sh.
#   tools/servers.sh {install|start|stop|status|env} [name...]
# Default names: every tools/<dir> that has a ctl.sh (sorted).
# start/install stop at the first failure; stop/status/env go through all and
# exit non-zero if any failed. `eval "$(tools/servers.sh env)"` exports all endpoints.
set -euo pipefail

TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
  echo "usage: $0 {install|start|stop|status|env} [name...]" >&2
  echo "  names: $(all_names | tr '\n' ' ')" >&2
  exit 2
}

all_names() {
  local f
  for f in "$TOOLS"/*/ctl.sh; do
    [[ -f "$f" ]] || continue
    basename "$(dirname "$f")"
  done | sort
}

action="${1:-}"
case "$action" in
  install | start | stop | status | env) shift ;;
  *) usage ;;
esac

if (($# > 0)); then
  names=("$@")
else
  mapfile -t names < <(all_names)
fi

# stop in reverse order (dependents first)
if [[ "$action" == stop ]]; then
  for ((i = 0, j = ${#names[@]} - 1; i < j; i++, j--)); do
    t="${names[i]}"; names[i]="${names[j]}"; names[j]="$t"
  done
fi

rc=0
for name in "${names[@]}"; do
  ctl="$TOOLS/$name/ctl.sh"
  if [[ ! -f "$ctl" ]]; then
    echo "servers.sh: no $ctl" >&2
    rc=1
    [[ "$action" == start || "$action" == install ]] && exit 1
    continue
  fi
  if ! bash "$ctl" "$action"; then
    rc=1
    if [[ "$action" == start || "$action" == install ]]; then
      echo "servers.sh: $name $action FAILED" >&2
      exit 1
    fi
  fi
done
exit "$rc"
