#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) answer, for `make test`.
# Starts them when installed but stopped; installs them through apt-get when root and absent;
# otherwise fails with a message saying what to do.
set -euo pipefail

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\033[31mERROR: %s\033[0m\n' "$*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() {  # port, name
  for _ in $(seq 1 60); do
    port_open "$1" && return 0
    sleep 0.5
  done
  die "$2 did not start listening on 127.0.0.1:$1 within 30 s."
}
is_root() { [ "$(id -u)" = 0 ]; }

if ! port_open 5432; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    is_root && command -v apt-get >/dev/null 2>&1 \
      || die "PostgreSQL is not running on 127.0.0.1:5432 and not installed.
Install it: sudo apt-get install -y postgresql"
    say "Installing PostgreSQL"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
    fresh_postgres=1
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  say "Starting PostgreSQL $version"
  if is_root; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
  else
    pg_ctlcluster "$version" main start || die "Could not start PostgreSQL; start it as root:
    sudo pg_ctlcluster --skip-systemctl-redirect $version main start"
  fi
  wait_for 5432 PostgreSQL
  if [ "${fresh_postgres:-0}" = 1 ]; then
    # A fresh Debian cluster asks for a password over TCP: give postgres the one the tests use.
    su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\""
  fi
fi

if ! port_open 6379; then
  if ! command -v redis-server >/dev/null 2>&1; then
    is_root && command -v apt-get >/dev/null 2>&1 \
      || die "Redis is not running on 127.0.0.1:6379 and not installed.
Install it: sudo apt-get install -y redis-server"
    say "Installing Redis"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server
  fi
  say "Starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  wait_for 6379 Redis
fi
