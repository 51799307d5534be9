#!/usr/bin/env bash
# Single-node OpenSearch test server from Maven Central (the integ-test zip: no security plugin, no bundled
# JDK, plain HTTP, no auth). No Docker.
#   tools/opensearch/ctl.sh {install|start|stop|status|env}
# HTTP http://127.0.0.1:19201, transport 127.0.0.1:19301 (override: OPENSEARCH_TEST_PORT,
# OPENSEARCH_TEST_TRANSPORT_PORT). Java 21+: $OPENSEARCH_JAVA_HOME, else a Temurin 25 (or other 21+) JDK
# in /usr/lib/jvm.
# Installs org.opensearch.distribution.integ-test-zip:opensearch:<version>:zip via mvn (~/.m2 is the
# download cache) into $PDM_STATE_DIR/opensearch/work/opensearch-<version>.
# OpenSearch refuses to run as root: as root it runs as system user pdmopensearch (created if missing), so
# work/ must be reachable by that user; when $PDM_STATE_DIR is not (default: under the mode-700 /root),
# work/ is a symlink to /var/lib/pdm-opensearch/<md5(state dir)[0:8]>. As non-root it runs as the caller.
# Every start wipes the data dir (work/run/data): no index survives a restart (unless OPENSEARCH_KEEP_DATA=1).
# What it shares with tools/elasticsearch/ctl.sh is in tools/search-server.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/lib.sh
. "$HERE/../lib.sh"
# shellcheck source=tools/search-server.sh
. "$HERE/../search-server.sh"
# shellcheck disable=SC2034 # read by lib.sh and search-server.sh
{
  PDM_NAME=opensearch
  SRV_TITLE=OpenSearch
  SRV_VERSION=3.6.0
  SRV_ARTIFACT="org.opensearch.distribution.integ-test-zip:opensearch:$SRV_VERSION:zip"
  SRV_ZIP_SIZE="~162 MB"
  SRV_HOST=127.0.0.1
  SRV_PORT="${OPENSEARCH_TEST_PORT:-19201}"
  SRV_TRANSPORT_PORT="${OPENSEARCH_TEST_TRANSPORT_PORT:-19301}"
  SRV_URL_VAR=OPENSEARCH_URL
  SRV_START_TIMEOUT="${OPENSEARCH_START_TIMEOUT:-180}"
  # bin/opensearch -d returns at once; the server must have written its pidfile within 60 s
  SRV_PIDFILE_GRACE=60
  SRV_HEAP_OPTS="${OPENSEARCH_JAVA_OPTS:--Xms512m -Xmx512m}"
  SRV_ENV_PREFIX=OPENSEARCH # OPENSEARCH_JAVA_HOME, OPENSEARCH_JAVA_OPTS, OPENSEARCH_PATH_CONF, OPENSEARCH_TMPDIR
  SRV_NODE_NAME=pdm-os
  SRV_EXTRA_SETTINGS=()
  SRV_USER=pdmopensearch
  SRV_MAIN_CLASS='org\.opensearch\.bootstrap\.OpenSearch'
  SRV_KEEP_DATA="${OPENSEARCH_KEEP_DATA:-0}"
}

java_home() {
  if [[ -n "${OPENSEARCH_JAVA_HOME:-}" ]]; then
    [[ -x "$OPENSEARCH_JAVA_HOME/bin/java" ]] || pdm_die "OPENSEARCH_JAVA_HOME=$OPENSEARCH_JAVA_HOME has no bin/java"
    echo "$OPENSEARCH_JAVA_HOME"
    return 0
  fi
  local h
  for h in /usr/lib/jvm/temurin-25-jdk-* /usr/lib/jvm/*; do
    if [[ -x "$h/bin/java" ]] && (($(jdk_major "$h") >= 21)); then
      echo "$h"
      return 0
    fi
  done
  pdm_die "no Java 21+ JDK found in /usr/lib/jvm (OpenSearch 3.x needs 21+; set OPENSEARCH_JAVA_HOME)"
}

# a fresh copy of the dist's config at every start (also over one kept by OPENSEARCH_KEEP_DATA=1).
# bin/opensearch runs java in $SRV_HOME (root-owned here): point the dist's relative gc log, error file
# and heap dump paths at our dirs (the -javaagent:agent/... path stays relative to $SRV_HOME)
prepare_config() {
  cp -R "$SRV_HOME/config/." "$CONF_DIR/"
  sed -i -e "s|file=logs/gc\.log|file=$LOGS/gc.log|" -e "s|ErrorFile=logs/|ErrorFile=$LOGS/|" \
    -e "s|HeapDumpPath=data\$|HeapDumpPath=$LOGS|" "$CONF_DIR/jvm.options"
}

search_server_main "$@"
