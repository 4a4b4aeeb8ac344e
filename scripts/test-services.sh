#!/usr/bin/env bash
# Brings up what the tests need, installing only what is missing: a Redis on 127.0.0.1:6379 (the Redis registry's
# tests; some also start their own redis-server on a free port) and Debian's chromium (the dashboard's browser test).
# Run as root or with sudo, on Debian or Ubuntu; on a machine that already has both, it changes nothing.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
updated=""
install() {
  if [ -z "$updated" ]; then as_root apt-get update -qq; updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "test:services: installing redis-server"
  install redis-server redis-tools
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "test:services: starting redis-server on 127.0.0.1:6379 (in memory, nothing saved to disk)"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 50); do
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
    sleep 0.1
  done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "test:services: Redis did not start" >&2; exit 1; }

if [ ! -x /usr/bin/chromium ]; then
  echo "test:services: installing chromium"
  install chromium
fi
echo "test:services: Redis on 127.0.0.1:6379 and /usr/bin/chromium are ready"
