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
# Every start wipes the data dir (work/run/data): no index survives a restart (unless ELASTICSEARCH_KEEP_DATA=1).
# What it shares with tools/opensearch/ctl.sh is in tools/search-server.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/lib.sh
. "$HERE/../lib.sh"
# shellcheck source=tools/search-server.sh
. "$HERE/../search-server.sh"
# shellcheck disable=SC2034 # read by lib.sh and search-server.sh
{
  PDM_NAME=elasticsearch
  SRV_TITLE=Elasticsearch
  SRV_VERSION=8.19.21
  SRV_ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$SRV_VERSION:zip"
  SRV_ZIP_SIZE="~107 MB"
  SRV_HOST=127.0.0.1
  SRV_PORT="${ELASTICSEARCH_TEST_PORT:-19200}"
  SRV_TRANSPORT_PORT="${ELASTICSEARCH_TEST_TRANSPORT_PORT:-19300}"
  SRV_URL_VAR=ELASTICSEARCH_URL
  SRV_START_TIMEOUT="${ELASTICSEARCH_START_TIMEOUT:-180}"
  # bin/elasticsearch -d returns once the node has started: its pidfile must name a live server by then
  SRV_PIDFILE_GRACE=30
  SRV_HEAP_OPTS="${ES_JAVA_OPTS:--Xms512m -Xmx512m}"
  SRV_ENV_PREFIX=ES # ES_JAVA_HOME, ES_JAVA_OPTS, ES_PATH_CONF, ES_TMPDIR
  SRV_NODE_NAME=pdm-es
  # the zip has x-pack-security: on by default, it would auto-configure TLS on HTTP
  SRV_EXTRA_SETTINGS=(-E xpack.security.enabled=false)
  SRV_USER=pdmelastic
  SRV_MAIN_CLASS='org\.elasticsearch\.bootstrap\.Elasticsearch'
  SRV_KEEP_DATA="${ELASTICSEARCH_KEEP_DATA:-0}"
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

# a config dir kept by ELASTICSEARCH_KEEP_DATA=1 stays as it is (Elasticsearch wrote its keystore there)
prepare_config() {
  [[ -f "$CONF_DIR/elasticsearch.yml" ]] || cp -R "$SRV_HOME/config/." "$CONF_DIR/"
}

search_server_main "$@"
