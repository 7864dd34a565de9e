#!/usr/bin/env bash
# Installs everything the project needs on a fresh machine: redis-server, redis-sentinel and rabbitmq-server, chromium and
# chromium-driver (the web UI's browser tests), and for the tests that drive the
# engine with clients nobody here wrote a JDK, Maven and npm, from Debian's packages (each only when it is
# missing); a virtual environment in .venv with the package and its dev and bench extras (Camunda's Python
# SDK, camunda-orchestration-sdk 9.x, among them: its pins do not clash with ours); zbctl from npm
# under .cache/zbctl; the Java client's Maven dependencies in the local Maven repository; and pyzeebe in
# benchmarks/.venv-pyzeebe, with the pytest and testcontainers that pyzeebe's own integration suite needs (the
# test that runs it fetches the suite itself). Safe to run again; it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
ZBCTL_VERSION=${ZBCTL_VERSION:-8.4.1}

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
apt_updated=""
apt_install() {
  echo "bootstrap: installing $* from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$apt_updated" ]; then
    $SUDO apt-get update -qq
    apt_updated=1
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v redis-server >/dev/null 2>&1; then
  apt_install redis-server
  # Debian starts a system-wide instance on 6379; the project starts its own on free ports.
  ($SUDO systemctl disable --now redis-server 2>/dev/null || $SUDO service redis-server stop 2>/dev/null) || true
fi
# The lanes on Redis behind Sentinel and on RabbitMQ; tests start their own on free ports, never Debian's services.
if ! command -v redis-sentinel >/dev/null 2>&1; then
  apt_install redis-sentinel
  ($SUDO systemctl disable --now redis-sentinel 2>/dev/null || $SUDO service redis-sentinel stop 2>/dev/null) || true
fi
if [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ] && ! command -v rabbitmq-server >/dev/null 2>&1; then
  apt_install rabbitmq-server
  ($SUDO systemctl disable --now rabbitmq-server 2>/dev/null || $SUDO service rabbitmq-server stop 2>/dev/null) || true
fi
# tests/java_client compiles with javac (Java 17 or newer), so a JRE alone is not enough.
if ! command -v java >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
  apt_install default-jdk-headless
fi
if ! command -v mvn >/dev/null 2>&1; then
  apt_install maven
fi
if ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm
fi
# The engine's web UI is tested in a real browser: headless chromium through its driver (selenium).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  apt_install chromium chromium-driver
fi

stamp=.venv/.installed
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.lock -nt "$stamp" ]; then
  # requirements.lock pins every dependency (`make lock` regenerates it; `make audit` audits it).
  .venv/bin/python -m pip install -q --upgrade pip -c requirements.lock
  .venv/bin/python -m pip install -q -e '.[dev,bench]' -c requirements.lock
  touch "$stamp"
fi

# zbctl, the Go client: the npm package ships prebuilt binaries; the tests run them directly, never the
# package's node wrapper (which checks the registry for updates on every call).
if [ ! -f .cache/zbctl/node_modules/zbctl/package.json ] \
  || ! grep -q "\"version\": \"$ZBCTL_VERSION\"" .cache/zbctl/node_modules/zbctl/package.json; then
  mkdir -p .cache/zbctl
  npm install --prefix .cache/zbctl --no-audit --no-fund --loglevel=error "zbctl@$ZBCTL_VERSION" >/dev/null
fi

# The official Java client and the plugins of tests/java_client, so that the tests build it offline.
java_stamp=.cache/java-client-offline
if [ ! -f "$java_stamp" ] || [ tests/java_client/pom.xml -nt "$java_stamp" ]; then
  mvn -q -B dependency:go-offline -f tests/java_client/pom.xml
  mkdir -p .cache
  touch "$java_stamp"
fi

# pyzeebe pins protobuf below 7, so it gets a venv of its own.
PYTHON="$PYTHON" bash benchmarks/setup_pyzeebe.sh >/dev/null
