#!/usr/bin/env bash
# Private Postfix (Debian postfix 3.7) on 127.0.0.1:${PDM_SMTP_PORT:-12525} (SMTP, STARTTLS, AUTH only
# after STARTTLS), 127.0.0.1:${PDM_SMTPS_PORT:-12465} (SMTPS, implicit TLS) and
# 127.0.0.1:${PDM_SMTP_PLAIN_PORT:-12526} (no STARTTLS, AUTH in clear text). Every accepted message is
# delivered by virtual(8) into ONE Maildir owned by system user pdmsmtp.
#
#   ctl.sh install | start | stop | restart | status | env
#   ctl.sh reset-mailbox         delete all delivered mail (Maildir new/ cur/ tmp/ emptied)
#   ctl.sh postfix <args...>     run a postfix command against this instance (e.g. `postfix flush`)
#   ctl.sh log                   print the log path
#
# SASL user (Cyrus sasldb <data>/conf/sasldb2, PLAIN/LOGIN, realm localhost): dmarc / smtp-test-pw.
# Recipients: *@example.{com,net,org}, *@localhost, *.test/.example/.invalid accepted without AUTH;
# other domains only after AUTH (else 554 Relay access denied), delivered into the same Maildir.
# tempfail@<any> -> 451 4.3.0, reject@<any> -> 550 5.1.1 (RCPT TO; also tempfail+tag@, reject+tag@).
# $PDM_STATE_DIR/postfix holds postfix.log, tls/{cert,key}.pem, apt.log. Config, queue, data dir and
# Maildir must be reachable by the unprivileged postfix/pdmsmtp users: they live in
# $PDM_STATE_DIR/postfix/data when that path is traversable by others, otherwise (e.g. state dir under a
# mode-700 /root) in /var/lib/pdm-postfix/<hash>, with the symlink $PDM_STATE_DIR/postfix/data there.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC2034 # read by lib.sh
PDM_NAME=postfix
# shellcheck source=tools/lib.sh
. "$HERE/../lib.sh"

SMTP_HOST=127.0.0.1
SMTP_PORT="${PDM_SMTP_PORT:-12525}"
SMTPS_PORT="${PDM_SMTPS_PORT:-12465}"
PLAIN_PORT="${PDM_SMTP_PLAIN_PORT:-12526}"
MAX_SIZE="${PDM_SMTP_MAX_SIZE:-52428800}" # message_size_limit (bytes)
VMAIL_USER=pdmsmtp
PACKAGES=(postfix libsasl2-modules sasl2-bin)
SASL_USER=dmarc
SASL_REALM=localhost
PASSWORD=smtp-test-pw
S="$PDM_STATE_DIR/postfix"
LOG="$S/postfix.log"

[[ $(id -u) -eq 0 || "${1:-}" == env || "${1:-}" == log ]] ||
  pdm_die "must run as root (apt-get, useradd, postfix master)"

# The distro instance (/etc/postfix, /var/spool/postfix, :25) is never touched: with "No configuration"
# it has no main.cf and does not start; if one runs anyway, ours differs in ports and all dirs.
note_system_postfix() {
  local pid
  pid="$(tr -dc 0-9 2>/dev/null </var/spool/postfix/pid/master.pid || true)"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    pdm_log "note: the distro postfix runs (pid $pid); left alone (ours: own config/queue, ports $SMTP_PORT/$SMTPS_PORT/$PLAIN_PORT)"
  fi
}

cmd_install() {
  mkdir -p "$S"
  if [[ "$(dpkg-query -W -f='${Status}\n' "${PACKAGES[@]}" 2>/dev/null | grep -c '^install ok installed$')" \
    != "${#PACKAGES[@]}" ]]; then
    pdm_log "installing postfix, libsasl2-modules, sasl2-bin from Debian apt"
    debconf-set-selections <<EOF
postfix postfix/main_mailer_type select No configuration
postfix postfix/mailname string localhost
EOF
    PDM_APT_NO_START=1 pdm_apt_install "$S/apt.log" "${PACKAGES[@]}"
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

# DATA: where config, queue, data dir and Maildir live (see header).
data_dir() {
  # the queue dir holds unix sockets (path limit 108 bytes): long state dirs use the short path too
  if ((${#S} <= 60)) && runuser -u postfix -- test -x "$S" 2>/dev/null &&
    runuser -u "$VMAIL_USER" -- test -x "$S" 2>/dev/null; then
    echo "$S/data"
  else
    echo "/var/lib/pdm-postfix/$(printf %s "$S" | md5sum | cut -c1-8)"
  fi
}

# the data dir as set up by the last prepare (works as non-root and before install)
known_data_dir() {
  if [[ -L "$S/data" ]]; then
    readlink "$S/data"
  elif [[ -d "$S/data" || $(id -u) -ne 0 ]] || ! getent passwd postfix >/dev/null; then
    echo "$S/data"
  else
    data_dir
  fi
}

DATA="$(known_data_dir)"
CONF="$DATA/conf"
MAILDIR="$DATA/mail/Maildir"
SASLDB="$CONF/sasldb2" # read at AUTH time by smtpd as user postfix

# put_file new dest -> replace dest by new only if the content differs, with an mtime 5 s in the past:
# postfix(1) does not read a main.cf changed within the last second, it sleeps ~2 s for it to settle.
put_file() {
  local new="$1" dest="$2"
  chmod 644 "$new"
  if cmp -s "$new" "$dest"; then
    rm -f "$new"
  else
    touch -d "@$(($(date +%s) - 5))" "$new"
    mv "$new" "$dest"
  fi
}

prepare() {
  DATA="$(data_dir)"
  CONF="$DATA/conf"
  MAILDIR="$DATA/mail/Maildir"
  SASLDB="$CONF/sasldb2"
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
  # queue_directory must be owned by root; postfix creates its subdirs (post-install create-missing)
  mkdir -p "$CONF/sasl" "$DATA/queue" "$DATA/lib" "$DATA/mail"
  chmod 755 "$CONF" "$CONF/sasl" "$DATA/queue" "$DATA/mail"
  chown postfix:postfix "$DATA/lib"
  chmod 700 "$DATA/lib"
  local d
  for d in "$MAILDIR" "$MAILDIR/new" "$MAILDIR/cur" "$MAILDIR/tmp"; do
    install -d -o "$VMAIL_USER" -g "$VMAIL_USER" -m 700 "$d"
  done
  local uid gid
  uid="$(id -u "$VMAIL_USER")"
  gid="$(id -g "$VMAIL_USER")"
  sed -e "s|@STATE@|$S|g" -e "s|@DATA@|$DATA|g" -e "s|@CONF@|$CONF|g" -e "s|@LOG@|$LOG|g" \
    -e "s|@VMAIL_USER@|$VMAIL_USER|g" -e "s|@VMAIL_UID@|$uid|g" -e "s|@VMAIL_GID@|$gid|g" \
    -e "s|@MAX_SIZE@|$MAX_SIZE|g" "$HERE/main.cf.in" >"$CONF/main.cf.tmp"
  sed -e "s|@HOST@|$SMTP_HOST|g" -e "s|@SMTP_PORT@|$SMTP_PORT|g" -e "s|@SMTPS_PORT@|$SMTPS_PORT|g" \
    -e "s|@PLAIN_PORT@|$PLAIN_PORT|g" "$HERE/master.cf.in" >"$CONF/master.cf.tmp"
  cp "$HERE/virtual_domains.regexp" "$CONF/virtual_domains.regexp.tmp"
  cp "$HERE/recipient_access.regexp" "$CONF/recipient_access.regexp.tmp"
  # virtual_mailbox_maps: every address -> the one Maildir (relative to virtual_mailbox_base)
  printf '/./\tMaildir/\n' >"$CONF/mailbox.regexp.tmp"
  # Cyrus reads <cyrus_sasl_config_path>/smtpd.conf (smtpd_sasl_path = smtpd); sasldb_path is honoured
  printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: %s\n' \
    "$SASLDB" >"$CONF/sasl/smtpd.conf.tmp"
  local f
  for f in main.cf master.cf virtual_domains.regexp recipient_access.regexp mailbox.regexp sasl/smtpd.conf; do
    put_file "$CONF/$f.tmp" "$CONF/$f"
  done
  # SASL user: -p password from stdin, -c create (or replace), -u realm (= smtpd_sasl_local_domain)
  rm -f "$SASLDB.tmp"
  printf '%s' "$PASSWORD" | saslpasswd2 -f "$SASLDB.tmp" -p -c -u "$SASL_REALM" "$SASL_USER"
  chgrp postfix "$SASLDB.tmp"
  chmod 640 "$SASLDB.tmp"
  mv "$SASLDB.tmp" "$SASLDB"
  touch "$LOG"
  local out
  if ! out="$(postfix -c "$CONF" check 2>&1)" || [[ -n "$out" ]]; then
    printf '%s\n' "$out" >&2
    [[ "$out" == *fatal* || "$out" == *rror* ]] && pdm_die "invalid config $CONF"
  fi
  return 0
}

master_pid() { tr -dc 0-9 2>/dev/null <"$DATA/queue/pid/master.pid" || true; }

running() { [[ -f "$CONF/main.cf" ]] && postfix -c "$CONF" status >/dev/null 2>&1; }

# smtp_banner port -> first line the server sends (plain TCP), then QUIT
smtp_banner() {
  local port="$1"
  (exec 7<>"/dev/tcp/$SMTP_HOST/$port" || exit 1
    read -r -t 5 l <&7 || true
    printf 'QUIT\r\n' >&7 || true
    printf '%s' "$l") 2>/dev/null
}

# smtps_banner port -> first line after the TLS handshake
smtps_banner() {
  local port="$1"
  printf 'QUIT\r\n' | timeout 5 openssl s_client -quiet -connect "$SMTP_HOST:$port" 2>/dev/null | head -n 1
}

# healthy: master running, 220 greeting on all three ports
healthy() {
  running || return 1
  [[ "$(smtp_banner "$SMTP_PORT")" == "220 "* ]] || return 1
  [[ "$(smtp_banner "$PLAIN_PORT")" == "220 "* ]] || return 1
  [[ "$(smtps_banner "$SMTPS_PORT")" == "220 "* ]]
}

cmd_status() {
  if healthy; then
    echo "postfix: running (pid $(master_pid)) on $SMTP_HOST:$SMTP_PORT (smtp+starttls)" \
      "$SMTP_HOST:$SMTPS_PORT (smtps) $SMTP_HOST:$PLAIN_PORT (plain)"
    return 0
  fi
  echo "postfix: not running"
  return 1
}

cmd_start() {
  cmd_install
  if healthy; then
    pdm_log "already running (pid $(master_pid))"
    return 0
  fi
  running && cmd_stop
  note_system_postfix
  prepare
  local port
  for port in "$SMTP_PORT" "$SMTPS_PORT" "$PLAIN_PORT"; do
    pdm_tcp_open "$SMTP_HOST" "$port" && pdm_die "port $SMTP_HOST:$port is in use by another process"
  done
  if [[ $(stat -c %s "$LOG" 2>/dev/null || echo 0) -gt 52428800 ]]; then mv -f "$LOG" "$LOG.1"; fi
  printf '%s ===== start (ctl.sh) =====\n' "$(date '+%F %T')" >>"$LOG"
  # `postfix start` returns once the master runs in the background; errors go to stderr / the log
  # (fd 9 = the pdm_lock lock file: not inherited by the daemon)
  if ! postfix -c "$CONF" start >"$S/postfix.out" 2>&1 9>&-; then
    cat "$S/postfix.out" >&2
    pdm_tail_log "$LOG" 40
    pdm_die "postfix failed to start (postfix -c $CONF start)"
  fi
  local ok=
  pdm_wait_tcp "$SMTP_HOST" "$SMTP_PORT" 20 || true
  local i
  for ((i = 0; i < 100; i++)); do
    if healthy; then ok=1 && break; fi
    sleep 0.2
  done
  if [[ -z "$ok" ]]; then
    cat "$S/postfix.out" >&2
    pdm_tail_log "$LOG" 40
    pdm_die "postfix not ready on $SMTP_HOST:$SMTP_PORT/$SMTPS_PORT/$PLAIN_PORT after 20s"
  fi
  pdm_log "postfix running (pid $(master_pid)) on $SMTP_HOST:$SMTP_PORT (smtp+starttls)," \
    "$SMTP_HOST:$SMTPS_PORT (smtps), $SMTP_HOST:$PLAIN_PORT (plain), Maildir $MAILDIR, log $LOG"
}

cmd_stop() {
  if running; then
    # postfix stop: TERM to the master (which TERMs its children), waits up to 5 s, then KILLs
    postfix -c "$CONF" stop >>"$S/postfix.out" 2>&1 9>&- || true
    local i
    for ((i = 0; i < 100; i++)); do
      running || pdm_tcp_open "$SMTP_HOST" "$SMTP_PORT" || break
      sleep 0.1
    done
    running && pdm_die "postfix still running after stop"
    pdm_log "stopped"
  fi
  return 0
}

cmd_reset_mailbox() {
  [[ -d "$MAILDIR" ]] || prepare
  local d
  for d in new cur tmp; do
    find "$MAILDIR/$d" -mindepth 1 -delete 2>/dev/null || true
    install -d -o "$VMAIL_USER" -g "$VMAIL_USER" -m 700 "$MAILDIR/$d"
  done
}

cmd_env() {
  echo "export PDM_SMTP_HOST=$SMTP_HOST PDM_SMTP_PORT=$SMTP_PORT PDM_SMTPS_PORT=$SMTPS_PORT" \
    "PDM_SMTP_PLAIN_PORT=$PLAIN_PORT PDM_SMTP_USER=$SASL_USER PDM_SMTP_PASSWORD=$PASSWORD" \
    "PDM_SMTP_MAILDIR=$MAILDIR PDM_SMTP_TLS_CERT=$S/tls/cert.pem"
}

[[ "${1:-}" == env || "${1:-}" == log ]] || mkdir -p "$S"
LOCK="$S/.lock" # serialises install/start/stop of parallel callers

case "${1:-}" in
install) pdm_lock "$LOCK" && cmd_install ;;
start) pdm_lock "$LOCK" && cmd_start ;;
stop) pdm_lock "$LOCK" && cmd_stop ;;
restart) pdm_lock "$LOCK" && cmd_stop && cmd_start ;;
status) cmd_status ;;
env) cmd_env ;;
reset-mailbox) pdm_lock "$LOCK" && cmd_reset_mailbox ;;
postfix)
  shift
  [[ -f "$CONF/main.cf" ]] || pdm_die "not prepared yet: run $0 start"
  exec postfix -c "$CONF" "$@"
  ;;
log) echo "$LOG" ;;
*)
  echo "usage: $0 {install|start|stop|restart|status|env|reset-mailbox|postfix <args...>|log}" >&2
  exit 2
  ;;
esac
