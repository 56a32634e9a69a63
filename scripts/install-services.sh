#!/usr/bin/env bash
# Installs the real services the test suite starts on free loopback ports:
# nats-server, redis-server and ZooKeeper (plus a Java runtime for it), and
# chromium for the browser test and graphviz (dot) for the DOT export test, from Debian's packages. Does nothing when
# everything is already present.
# Works as root with no stdin (CI); uses sudo when not root and sudo exists.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

ZK_JAR=/usr/share/java/zookeeper.jar

packages=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || packages+=(nats-server)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || packages+=(redis-server)
[ -e "$ZK_JAR" ] || packages+=(zookeeper)
command -v java >/dev/null 2>&1 || packages+=(default-jre-headless)
[ -x /usr/bin/chromium ] || packages+=(chromium)
command -v dot >/dev/null 2>&1 || packages+=(graphviz)

if [ "${#packages[@]}" -eq 0 ]; then
  echo "install-services: nats-server, redis-server, zookeeper, java, chromium and graphviz are present"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n env DEBIAN_FRONTEND=noninteractive)
  else
    echo "install-services: need root (or sudo) to install: ${packages[*]}" >&2
    exit 1
  fi
fi

echo "install-services: installing ${packages[*]}"
"${SUDO[@]}" apt-get update </dev/null
"${SUDO[@]}" apt-get install -y --no-install-recommends "${packages[@]}" </dev/null

# Debian's packages start system daemons on the standard ports (4222, 6379,
# 2181). The tests never use them; they start their own on free ports.

missing=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
[ -e "$ZK_JAR" ] || missing+=("$ZK_JAR")
command -v java >/dev/null 2>&1 || missing+=(java)
[ -x /usr/bin/chromium ] || missing+=(/usr/bin/chromium)
command -v dot >/dev/null 2>&1 || missing+=(dot)
if [ "${#missing[@]}" -ne 0 ]; then
  echo "install-services: still missing after install: ${missing[*]}" >&2
  exit 1
fi
echo "install-services: done"
