#!/usr/bin/env bash
# Private Dovecot (Debian dovecot-imapd, 2.3) on 127.0.0.1:${PDM_IMAP_PORT:-11143} (IMAP, STARTTLS)
# and 127.0.0.1:${PDM_IMAPS_PORT:-11993} (IMAPS); passwd-file users, Maildir owned by system user pdmvmail.
#
#   ctl.sh install | start | stop | restart | status | env
#   ctl.sh reset-mailbox <user>              wipe the user's Maildir (kicks the user's sessions first)
#   ctl.sh deliver <user> <file.eml|-> [folder]   store a message with `doveadm save` (folder created
#                                             if missing; default INBOX)
#   ctl.sh doveadm <args...>                 run doveadm against this instance
#   ctl.sh log                               print the log path
#
# Users (passwd-file, PLAIN): dmarc / dmarc-test-pw, dmarc2 / dmarc-test-pw.
# $PDM_STATE_DIR/dovecot holds dovecot.conf, dovecot.log, tls/{cert,key}.pem, state/.
# Mail, the passwd-file and base_dir (sockets, master.pid) must be reachable by the unprivileged
# dovecot/pdmvmail users: they live in $PDM_STATE_DIR/dovecot/data when that path is traversable
# by others, otherwise (e.g. state dir under a mode-700 /root) in /var/lib/pdm-dovecot/<hash>, with
# the symlink $PDM_STATE_DIR/dovecot/data pointing there.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC2034 # read by lib.sh
PDM_NAME=dovecot
# shellcheck source=tools/lib.sh
. "$HERE/../lib.sh"

IMAP_HOST=127.0.0.1
IMAP_PORT="${PDM_IMAP_PORT:-11143}"
IMAPS_PORT="${PDM_IMAPS_PORT:-11993}"
VMAIL_USER=pdmvmail
USERS=(dmarc dmarc2)
PASSWORD=dmarc-test-pw
S="$PDM_STATE_DIR/dovecot"
CONF="$S/dovecot.conf"
LOG="$S/dovecot.log"

[[ $(id -u) -eq 0 || "${1:-}" == env || "${1:-}" == log ]] || pdm_die "must run as root (apt-get, useradd, dovecot master)"

# Make sure the distro instance (default config, /run/dovecot) is not running or enabled.
disable_system_dovecot() {
  if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
  elif command -v update-rc.d >/dev/null 2>&1; then
    update-rc.d dovecot disable >/dev/null 2>&1 || true
  fi
  if pdm_pid_alive /run/dovecot/master.pid; then
    pdm_log "stopping the distro dovecot (pid $(cat /run/dovecot/master.pid))"
    pdm_stop_pidfile /run/dovecot/master.pid 20 || true
  fi
}

# DATA: where mail, passwd-file and base_dir live (see header).
data_dir() {
  # base_dir holds unix sockets (path limit 108 bytes): long state dirs use the short path too
  if ((${#S} <= 60)) && runuser -u "$VMAIL_USER" -- test -x "$S" 2>/dev/null &&
    runuser -u dovecot -- test -x "$S" 2>/dev/null; then
    echo "$S/data"
  else
    echo "/var/lib/pdm-dovecot/$(printf %s "$S" | md5sum | cut -c1-8)"
  fi
}

cmd_install() {
  mkdir -p "$S"
  if ! command -v dovecot >/dev/null 2>&1 || ! command -v doveadm >/dev/null 2>&1 ||
    [[ ! -e /usr/lib/dovecot/imap ]]; then
    pdm_log "installing dovecot-imapd from Debian apt"
    PDM_APT_NO_START=1 pdm_apt_install "$S/apt.log" dovecot-core dovecot-imapd
    disable_system_dovecot
  fi
  command -v openssl >/dev/null 2>&1 || PDM_APT_NO_START=1 pdm_apt_install "$S/apt.log" openssl
  if ! getent passwd "$VMAIL_USER" >/dev/null; then
    pdm_log "creating system user $VMAIL_USER"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$VMAIL_USER"
  fi
  if [[ ! -s "$S/tls/cert.pem" || ! -s "$S/tls/key.pem" ]]; then
    pdm_log "generating self-signed TLS certificate"
    mkdir -p "$S/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
      -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
      -keyout "$S/tls/key.pem.tmp" -out "$S/tls/cert.pem.tmp" >/dev/null 2>&1
    chmod 600 "$S/tls/key.pem.tmp"
    mv "$S/tls/key.pem.tmp" "$S/tls/key.pem"
    mv "$S/tls/cert.pem.tmp" "$S/tls/cert.pem"
  fi
}

DATA=
prepare() {
  DATA="$(data_dir)"
  if [[ "$DATA" != "$S/data" ]]; then
    mkdir -p "$DATA"
    chmod 755 "$(dirname "$DATA")" "$DATA"
    if [[ "$(readlink "$S/data" 2>/dev/null || true)" != "$DATA" ]]; then
      rm -rf "$S/data"
      ln -s "$DATA" "$S/data"
    fi
  else
    mkdir -p "$DATA"
    chmod 755 "$DATA"
  fi
  mkdir -p "$S/state" "$DATA/run" "$DATA/mail"
  chown "$VMAIL_USER:$VMAIL_USER" "$DATA/mail"
  chmod 750 "$DATA/mail"
  # passwd-file: user:{PLAIN}password:uid:gid:gecos:home:shell:extra (empty fields -> default_fields)
  local u tmp="$DATA/users.tmp"
  : >"$tmp"
  for u in "${USERS[@]}"; do printf '%s:{PLAIN}%s::::::\n' "$u" "$PASSWORD" >>"$tmp"; done
  chown root:dovecot "$tmp"
  chmod 640 "$tmp"
  mv "$tmp" "$DATA/users"
  local uid
  uid="$(id -u "$VMAIL_USER")"
  sed -e "s|@STATE@|$S|g" -e "s|@DATA@|$DATA|g" -e "s|@VMAIL_USER@|$VMAIL_USER|g" \
    -e "s|@VMAIL_UID@|$uid|g" -e "s|@IMAP_PORT@|$IMAP_PORT|g" -e "s|@IMAPS_PORT@|$IMAPS_PORT|g" \
    "$HERE/dovecot.conf.in" >"$CONF.tmp"
  mv "$CONF.tmp" "$CONF"
  local out
  if ! out="$(doveconf -c "$CONF" -n 2>&1 >/dev/null)" || [[ -n "$out" ]]; then
    printf '%s\n' "$out" >&2
    [[ "$out" == *rror* || "$out" == *atal* ]] && pdm_die "invalid config $CONF"
  fi
}

pidfile() { echo "$(data_dir)/run/master.pid"; }

# greeting check: the IMAP port answers "* OK", the IMAPS port accepts TCP
healthy() {
  pdm_pid_alive "$(pidfile)" || return 1
  pdm_tcp_open "$IMAP_HOST" "$IMAPS_PORT" || return 1
  local line
  line="$( (exec 7<>"/dev/tcp/$IMAP_HOST/$IMAP_PORT" || exit 1
    read -r -t 5 l <&7 || true
    printf 'a LOGOUT\r\n' >&7 || true
    printf '%s' "$l") 2>/dev/null)" || return 1
  [[ "$line" == "* OK"* ]]
}

cmd_status() {
  if healthy; then
    echo "dovecot: running (pid $(cat "$(pidfile)")) on $IMAP_HOST:$IMAP_PORT (imap) $IMAP_HOST:$IMAPS_PORT (imaps)"
    return 0
  fi
  echo "dovecot: not running"
  return 1
}

cmd_start() {
  cmd_install
  if healthy; then
    pdm_log "already running (pid $(cat "$(pidfile)"))"
    return 0
  fi
  pdm_pid_alive "$(pidfile)" && cmd_stop
  prepare
  if [[ $(stat -c %s "$LOG" 2>/dev/null || echo 0) -gt 52428800 ]]; then mv -f "$LOG" "$LOG.1"; fi
  printf '%s ===== start (ctl.sh) =====\n' "$(date '+%F %T')" >>"$LOG"
  # the master forks into the background after binding its listeners; errors go to stderr / the log
  # (fd 9 = the pdm_lock lock file: not inherited by the daemon)
  if ! dovecot -c "$CONF" >"$S/dovecot.out" 2>&1 9>&-; then
    cat "$S/dovecot.out" >&2
    pdm_tail_log "$LOG" 40
    pdm_die "dovecot failed to start"
  fi
  local i
  for ((i = 0; i < 100; i++)); do
    healthy && break
    sleep 0.2
  done
  if ! healthy; then
    cat "$S/dovecot.out" >&2
    pdm_tail_log "$LOG" 40
    pdm_die "dovecot not ready on $IMAP_HOST:$IMAP_PORT/$IMAPS_PORT after 20s"
  fi
  pdm_log "dovecot running (pid $(cat "$(pidfile)")) on $IMAP_HOST:$IMAP_PORT (imap+starttls) and $IMAP_HOST:$IMAPS_PORT (imaps), log $LOG"
}

cmd_stop() {
  local pf
  pf="$(pidfile)"
  if pdm_pid_alive "$pf"; then
    # The master does not signal the imap session processes when it stops: they only notice its
    # death and send "* BYE" ~5-10 s later. Tests expect clients to see the close at once, so the
    # master's children (imap, imap-login proxies for TLS, ...) get a TERM too; "log" is left to
    # the master so the shutdown is still logged. Leftovers are KILLed after the master exited.
    local master kids k i
    master="$(cat "$pf")"
    kids="$(ps -o pid= --ppid "$master" 2>/dev/null | tr -s ' \n' ' ' || true)"
    kill -TERM "$master" 2>/dev/null || true
    for k in $kids; do
      [[ "$(ps -o comm= -p "$k" 2>/dev/null || true)" == log ]] || kill -TERM "$k" 2>/dev/null || true
    done
    pdm_stop_pidfile "$pf" 20
    for k in $kids; do
      case "$(ps -o stat=,comm= -p "$k" 2>/dev/null || true)" in
      Z*) ;; # zombie left for PID 1
      *imap* | *auth* | *anvil* | *stats* | *config* | *log*) kill -KILL "$k" 2>/dev/null || true ;;
      esac
    done
    for ((i = 0; i < 50; i++)); do pdm_tcp_open "$IMAP_HOST" "$IMAP_PORT" || break; sleep 0.1; done
    pdm_log "stopped"
  fi
}

check_user() {
  local u="$1" x
  for x in "${USERS[@]}"; do [[ "$x" == "$u" ]] && return 0; done
  pdm_die "unknown user '$u' (known: ${USERS[*]})"
}

cmd_reset_mailbox() {
  [[ $# -eq 1 ]] || pdm_die "usage: $0 reset-mailbox <user>"
  check_user "$1"
  [[ -f "$CONF" ]] || prepare
  DATA="$(data_dir)"
  if pdm_pid_alive "$(pidfile)"; then
    doveadm -c "$CONF" kick "$1" >/dev/null 2>&1 || true
  fi
  rm -rf "${DATA:?}/mail/$1"
  install -d -o "$VMAIL_USER" -g "$VMAIL_USER" -m 700 "$DATA/mail/$1"
}

cmd_deliver() {
  [[ $# -ge 2 && $# -le 3 ]] || pdm_die "usage: $0 deliver <user> <file.eml|-> [folder]"
  local user="$1" file="$2" folder="${3:-INBOX}"
  check_user "$user"
  [[ "$file" == - || -r "$file" ]] || pdm_die "cannot read $file"
  [[ -f "$CONF" ]] || prepare
  if [[ "$folder" != INBOX ]] &&
    ! doveadm -c "$CONF" mailbox status -u "$user" messages "$folder" >/dev/null 2>&1; then
    doveadm -c "$CONF" mailbox create -s -u "$user" "$folder"
  fi
  if [[ "$file" == - ]]; then
    doveadm -c "$CONF" save -u "$user" -m "$folder"
  else
    doveadm -c "$CONF" save -u "$user" -m "$folder" <"$file"
  fi
}

cmd_env() {
  echo "export PDM_IMAP_HOST=$IMAP_HOST PDM_IMAP_PORT=$IMAP_PORT PDM_IMAPS_PORT=$IMAPS_PORT" \
    "PDM_IMAP_USER=${USERS[0]} PDM_IMAP_PASSWORD=$PASSWORD PDM_IMAP_USER2=${USERS[1]} PDM_IMAP_PASSWORD2=$PASSWORD" \
    "PDM_IMAP_TLS_CERT=$S/tls/cert.pem"
}

mkdir -p "$S"
# a pidfile left by a crash/reboot may name a recycled pid: ignore it unless it is a dovecot master
pdm_forget_stale_pidfile "$(pidfile)" dovecot
LOCK="$S/.lock" # serialises install/start/stop of parallel callers

case "${1:-}" in
install) pdm_lock "$LOCK" && cmd_install ;;
start) pdm_lock "$LOCK" && cmd_start ;;
stop) pdm_lock "$LOCK" && cmd_stop ;;
restart) pdm_lock "$LOCK" && cmd_stop && cmd_start ;;
status) cmd_status ;;
env) cmd_env ;;
reset-mailbox) shift && pdm_lock "$LOCK" && cmd_reset_mailbox "$@" ;;
deliver) shift && cmd_deliver "$@" ;;
doveadm)
  shift
  [[ -f "$CONF" ]] || prepare
  exec doveadm -c "$CONF" "$@"
  ;;
log) echo "$LOG" ;;
*)
  echo "usage: $0 {install|start|stop|restart|status|env|reset-mailbox <user>|deliver <user> <file> [folder]|doveadm ...|log}" >&2
  exit 2
  ;;
esac
