#!/usr/bin/env bash
# A Docker engine for faultline's container tests, loopback only.
#
#   .ci/docker.sh start   # prints DOCKER_HOST=… (and FAULTLINE_DOCKERD=started|existing) on stdout
#   .ci/docker.sh stop    # stops the daemon THIS script started (by its pid); a no-op otherwise
#
# `start` uses a daemon that already answers (DOCKER_HOST, else the default socket: a user's CI).
# Otherwise it installs Debian's docker.io (and docker-compose when no compose tool is present) with
# apt-get when they are absent, and starts its own dockerd on a private socket with private data and
# exec roots, --bridge=none --iptables=false --ip6tables=false: no docker0, no container bridge
# address, no firewall change. Containers then run with --network host and bind 127.0.0.1 only.
# The data root is kept between runs (the locally built images are cached there by content hash);
# the socket, exec root, pid file and log live in the state dir and are removed by `stop`.
set -euo pipefail

STATE_DIR="${FAULTLINE_DOCKERD_DIR:-/tmp/faultline-dockerd}"
DATA_ROOT="${FAULTLINE_DOCKER_DATA:-/var/tmp/faultline-docker-data}"
SOCK="$STATE_DIR/docker.sock"
PIDFILE="$STATE_DIR/dockerd.pid"
LOG="$STATE_DIR/dockerd.log"

log() { echo "docker.sh: $*" >&2; }

reachable() { # $1: DOCKER_HOST value ('' = the client's default)
  if [ -n "$1" ]; then DOCKER_HOST="$1" timeout 5 docker info >/dev/null 2>&1; else (unset DOCKER_HOST; timeout 5 docker info >/dev/null 2>&1); fi
}

install_engine() {
  local need=()
  command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
  command -v docker >/dev/null 2>&1 || need+=(docker.io)
  if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
    need+=(docker-compose)
  fi
  if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then log "need ${need[*]} but not root: install them or start a Docker daemon"; exit 4; fi
    log "installing ${need[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
  fi
}

start() {
  if [ -n "${DOCKER_HOST:-}" ] && reachable "$DOCKER_HOST"; then
    echo "DOCKER_HOST=$DOCKER_HOST"; echo "FAULTLINE_DOCKERD=existing"; return
  fi
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && reachable "unix://$SOCK"; then
    echo "DOCKER_HOST=unix://$SOCK"; echo "FAULTLINE_DOCKERD=existing"; return
  fi
  if [ -z "${DOCKER_HOST:-}" ] && command -v docker >/dev/null 2>&1 && reachable ''; then
    echo "DOCKER_HOST="; echo "FAULTLINE_DOCKERD=existing"; return
  fi
  install_engine
  if [ "$(id -u)" != 0 ]; then log "no Docker daemon answers and starting one needs root"; exit 4; fi
  cleanup_state
  mkdir -p "$STATE_DIR/exec" "$DATA_ROOT"
  local t0; t0=$(date +%s.%N)
  # setsid: the daemon does not share the caller's process group (a ^C in a terminal is for the tests).
  setsid dockerd --bridge=none --iptables=false --ip6tables=false \
    --data-root "$DATA_ROOT" --exec-root "$STATE_DIR/exec" --pidfile "$PIDFILE" \
    -H "unix://$SOCK" >"$LOG" 2>&1 </dev/null &
  local i
  for i in $(seq 1 300); do
    if reachable "unix://$SOCK"; then
      log "dockerd $(cat "$PIDFILE") up on unix://$SOCK in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
      echo "DOCKER_HOST=unix://$SOCK"; echo "FAULTLINE_DOCKERD=started"; return
    fi
    sleep 0.1
  done
  log "dockerd did not answer within 30 s; its log:"; tail -20 "$LOG" >&2 || true
  stop; exit 4
}

cleanup_state() { # after a stop or a dead run: unmount what dockerd leaves, remove the state dir
  if [ -d "$STATE_DIR/exec" ]; then
    awk -v d="$STATE_DIR/exec" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  fi
  rm -rf "$STATE_DIR"
}

stop() {
  [ -f "$PIDFILE" ] || { cleanup_state; return 0; }
  local pid; pid=$(cat "$PIDFILE")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then log "dockerd $pid still running after 20 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; fi
    log "dockerd $pid stopped"
  fi
  cleanup_state
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
