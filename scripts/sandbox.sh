#!/usr/bin/env bash
# Provisions a real, loopback-only deploy target on this machine: a single-node Docker Swarm, an OpenSSH
# server for a dedicated deploy user, and a registry with bcrypt htpasswd auth. Idempotent; needs root.
#
#   scripts/sandbox.sh up      install what is missing, start what is not running, print the state file
#   scripts/sandbox.sh down    stop sshd and the registry started here (dockerd and the swarm are left)
#   scripts/sandbox.sh env     print the state file (KEY=value lines the e2e suite reads)
#
# Ports and names come from the environment (defaults avoid 22, 2222 and 5000):
#   HD_SANDBOX_SSH_PORT (22022)  HD_SANDBOX_REGISTRY_PORT (15055)  HD_SANDBOX_USER (hddeploy)
#   HD_SANDBOX_DIR (/var/lib/honeydue-sandbox)
set -euo pipefail

SSH_PORT="${HD_SANDBOX_SSH_PORT:-22022}"
REGISTRY_PORT="${HD_SANDBOX_REGISTRY_PORT:-15055}"
DEPLOY_USER="${HD_SANDBOX_USER:-hddeploy}"
DIR="${HD_SANDBOX_DIR:-/var/lib/honeydue-sandbox}"
STATE="$DIR/sandbox.env"

log() { printf 'sandbox: %s\n' "$*" >&2; }
die() { printf 'sandbox: ERROR: %s\n' "$*" >&2; exit 1; }

# shellcheck source=scripts/sandbox-lib.sh
. "$(dirname "$0")/sandbox-lib.sh"

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (it installs Debian packages, starts dockerd and sshd)"; }

install_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v htpasswd >/dev/null || missing+=(apache2-utils)
  [ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 && file_is_static /bin/busybox || missing+=(busybox-static)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

file_is_static() { ! ldd "$1" >/dev/null 2>&1; }

start_dockerd() {
  if docker info >/dev/null 2>&1; then return; fi
  log "starting dockerd"
  mkdir -p "$DIR"
  nohup dockerd >"$DIR/dockerd.log" 2>&1 &
  wait_for 60 dockerd docker info
}

init_swarm() {
  local state
  state="$(docker info --format '{{.Swarm.LocalNodeState}}')"
  if [ "$state" != active ]; then
    log "initialising a single-node swarm on 127.0.0.1"
    docker swarm init --advertise-addr 127.0.0.1 >/dev/null
  fi
  # a daemon restarted on old swarm state answers before its manager role is back
  wait_for 60 "the swarm manager" sh -c '[ "$(docker info --format "{{.Swarm.ControlAvailable}}")" = true ] && docker node ls'
}

setup_user() {
  if ! id "$DEPLOY_USER" >/dev/null 2>&1; then
    log "creating deploy user $DEPLOY_USER"
    useradd --create-home --shell /bin/sh "$DEPLOY_USER"
  fi
  getent group docker >/dev/null || groupadd docker
  usermod -aG docker "$DEPLOY_USER"
  usermod -p '*' "$DEPLOY_USER" # useradd leaves the account locked; '*' allows key login only
  local home; home="$(getent passwd "$DEPLOY_USER" | cut -d: -f6)"
  install -d -m 700 -o "$DEPLOY_USER" -g "$DEPLOY_USER" "$home/.ssh"
  [ -f "$DIR/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C honeydue-sandbox -f "$DIR/id_ed25519"
  install -m 600 -o "$DEPLOY_USER" -g "$DEPLOY_USER" "$DIR/id_ed25519.pub" "$home/.ssh/authorized_keys"
  # the socket's group may predate the group: make sure the deploy user can reach docker
  chgrp docker /var/run/docker.sock 2>/dev/null || true
  chmod 660 /var/run/docker.sock 2>/dev/null || true
}

start_sshd() {
  sshd_config_in "$DIR" "$SSH_PORT" 127.0.0.1 "$DEPLOY_USER"
  if [ -f "$DIR/sshd.pid" ] && kill -0 "$(cat "$DIR/sshd.pid")" 2>/dev/null; then return; fi
  log "starting sshd on 127.0.0.1:$SSH_PORT"
  /usr/sbin/sshd -f "$DIR/sshd_config" -E "$DIR/sshd.log"
  wait_for 20 sshd bash -c "exec 3<>/dev/tcp/127.0.0.1/$SSH_PORT"
}

start_registry() {
  mkdir -p "$DIR/registry-data"
  if [ ! -f "$DIR/registry.password" ]; then
    head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$DIR/registry.password"
    chmod 600 "$DIR/registry.password"
  fi
  htpasswd -Bbc "$DIR/htpasswd" hdpush "$(cat "$DIR/registry.password")" >/dev/null 2>&1
  registry_up "$DIR" "127.0.0.1:$REGISTRY_PORT" honeydue-sandbox "$DIR/htpasswd"
}

write_state() {
  cat >"$STATE" <<CONF
HD_SANDBOX_DIR=$DIR
HD_SANDBOX_SSH_PORT=$SSH_PORT
HD_SANDBOX_USER=$DEPLOY_USER
HD_SANDBOX_KEY=$DIR/id_ed25519
HD_SANDBOX_KNOWN_HOSTS=$DIR/known_hosts
HD_SANDBOX_HOST_KEY=$DIR/ssh_host_ed25519_key
HD_SANDBOX_SSHD_LOG=$DIR/sshd.log
HD_SANDBOX_SSHD_CONFIG=$DIR/sshd_config
HD_SANDBOX_SSHD_PID=$DIR/sshd.pid
HD_SANDBOX_REGISTRY=127.0.0.1:$REGISTRY_PORT
HD_SANDBOX_REGISTRY_USER=hdpush
HD_SANDBOX_REGISTRY_PASSWORD_FILE=$DIR/registry.password
HD_SANDBOX_REGISTRY_PID=$DIR/registry.pid
HD_SANDBOX_REGISTRY_CONFIG=$DIR/registry.yml
CONF
  chmod 600 "$STATE"
}

stop_pidfile() { [ -f "$1" ] && kill "$(cat "$1")" 2>/dev/null; rm -f "$1"; }

case "${1:-up}" in
  up)
    need_root
    mkdir -p "$DIR" && chmod 755 "$DIR"
    install_packages
    start_dockerd
    init_swarm
    setup_user
    start_sshd
    start_registry
    write_state
    cat "$STATE"
    ;;
  down)
    need_root
    stop_pidfile "$DIR/sshd.pid"
    stop_pidfile "$DIR/registry.pid"
    ;;
  env) cat "$STATE" ;;
  *) die "usage: $0 up|down|env" ;;
esac
