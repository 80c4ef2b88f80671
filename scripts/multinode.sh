#!/usr/bin/env bash
# A three-node Docker Swarm on this one machine, for the multi-node end-to-end suite: one manager and two
# workers, each a dockerd in its own network namespace (and UTS namespace, for its own hostname) on a private
# bridge; a registry with TLS (a self-signed CA) and htpasswd auth on the bridge address; and sshd for the deploy
# user inside each node's namespace, its docker pointed at that node's daemon. Node 1's sshd uses the deploy
# user's real home; nodes 2 and 3 each get a home of their own (a private mount namespace binds it over the real
# one), as separate machines have separate disks. `managers 3` promotes nodes 2 and 3 (three managers),
# `managers 1` demotes them again. Idempotent; needs root and the single-node sandbox (scripts/sandbox.sh:
# packages, deploy user, keys) first.
#
#   scripts/multinode.sh up      create what is missing, start what is not running, print the state file
#                                (with no node daemon running, the swarm is made afresh)
#   scripts/multinode.sh managers 1|3   one manager (node 1) or three
#   scripts/multinode.sh down    stop everything it started and remove the namespaces and the bridge
#   scripts/multinode.sh env     print the state file
#
# Names, addresses and ports come from the environment (traffic stays on this machine's own bridge):
#   HD_MN_PREFIX (10.203.0)  HD_MN_BRIDGE (hdmn0)  HD_MN_SSH_PORT (22024)  HD_MN_REGISTRY_PORT (15056)
#   HD_MN_DIR (/var/lib/honeydue-multinode)  HD_SANDBOX_DIR (/var/lib/honeydue-sandbox)  HD_SANDBOX_USER (hddeploy)
# The node daemons' engine: HD_MN_ENGINE_DIR, default /opt/honeydue-docker26/bin when it holds a dockerd
# (scripts/install-docker26.sh: Docker 26.1 with containerd 1.7), else the machine's own dockerd (Debian's 20.10).
set -euo pipefail

PREFIX="${HD_MN_PREFIX:-10.203.0}"
BRIDGE="${HD_MN_BRIDGE:-hdmn0}"
SSH_PORT="${HD_MN_SSH_PORT:-22024}"
REGISTRY_PORT="${HD_MN_REGISTRY_PORT:-15056}"
DIR="${HD_MN_DIR:-/var/lib/honeydue-multinode}"
SANDBOX_DIR="${HD_SANDBOX_DIR:-/var/lib/honeydue-sandbox}"
DEPLOY_USER="${HD_SANDBOX_USER:-hddeploy}"
NODES=(1 2 3)
GW="$PREFIX.1"
REGISTRY="$GW:$REGISTRY_PORT"
STATE="$DIR/multinode.env"
ENGINE_DIR="${HD_MN_ENGINE_DIR:-/opt/honeydue-docker26/bin}"
[ -x "$ENGINE_DIR/dockerd" ] || ENGINE_DIR=""

log() { printf 'multinode: %s\n' "$*" >&2; }
die() { printf 'multinode: ERROR: %s\n' "$*" >&2; exit 1; }
ns() { echo "hdmn$1"; }
addr() { echo "$PREFIX.1$1"; }
sock() { echo "$DIR/node$1/docker.sock"; }
dk() { local n="$1"; shift; docker -H "unix://$(sock "$n")" "$@"; }

# shellcheck source=scripts/sandbox-lib.sh
. "$(dirname "$0")/sandbox-lib.sh"

packages() {
  local missing=()
  command -v ip >/dev/null || missing+=(iproute2)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v nsenter >/dev/null || missing+=(util-linux)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

network() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    log "creating bridge $BRIDGE ($GW/24)"
    ip link add "$BRIDGE" type bridge
    ip addr add "$GW/24" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
  # the root namespace drops forwarded traffic by default: let the nodes talk to each other over the bridge
  iptables -C FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null || iptables -I FORWARD 1 -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
  for n in "${NODES[@]}"; do
    local name; name="$(ns "$n")"
    if [ ! -e "/var/run/netns/$name" ]; then
      log "creating namespace $name ($(addr "$n"))"
      ip netns add "$name"
      ip link add "$name-h" type veth peer name "$name-n"
      ip link set "$name-h" master "$BRIDGE" up
      ip link set "$name-n" netns "$name"
      ip -n "$name" link set "$name-n" name eth0
      ip -n "$name" addr add "$(addr "$n")/24" dev eth0
      ip -n "$name" link set eth0 up
      ip -n "$name" link set lo up
      ip -n "$name" route add default via "$GW"
    fi
  done
}

certificates() {
  mkdir -p "$DIR/tls"
  if [ ! -f "$DIR/tls/ca.crt" ]; then
    log "creating a CA and the registry's certificate for $GW"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=honeydue multinode CA" -keyout "$DIR/tls/ca.key" -out "$DIR/tls/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$GW" -keyout "$DIR/tls/registry.key" -out "$DIR/tls/registry.csr" 2>/dev/null
    printf 'subjectAltName=IP:%s\n' "$GW" >"$DIR/tls/san.ext"
    openssl x509 -req -in "$DIR/tls/registry.csr" -CA "$DIR/tls/ca.crt" -CAkey "$DIR/tls/ca.key" -CAcreateserial -days 3650 -extfile "$DIR/tls/san.ext" -out "$DIR/tls/registry.crt" 2>/dev/null
  fi
  # every daemon (and the laptop-side client) shares this filesystem: one CA file makes all of them trust it
  mkdir -p "/etc/docker/certs.d/$REGISTRY"
  cp "$DIR/tls/ca.crt" "/etc/docker/certs.d/$REGISTRY/ca.crt"
}

registry() {
  registry_up "$DIR" "$REGISTRY" honeydue-multinode "$SANDBOX_DIR/htpasswd" "$DIR/tls/registry.crt" "$DIR/tls/registry.key"
}

engine_version() { PATH="${ENGINE_DIR:+$ENGINE_DIR:}$PATH" dockerd --version | sed 's/^Docker version //; s/,.*//'; }

start_node() {
  local n="$1" d="$DIR/node$1"
  mkdir -p "$d"
  if [ -f "$d/docker.pid" ] && kill -0 "$(cat "$d/docker.pid")" 2>/dev/null && dk "$n" info >/dev/null 2>&1; then return; fi
  # a daemon killed a moment ago (a test's kill -9) may not be gone, or not yet reaped: dockerd refuses to start
  # while its pid file names a live process — wait for it to go, and make sure
  if [ -f "$d/docker.pid" ]; then
    local old; old="$(cat "$d/docker.pid")"
    for _ in $(seq 50); do kill -0 "$old" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$old" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$old" 2>/dev/null || break; sleep 0.2; done
    rm -f "$d/docker.pid"
  fi
  log "starting dockerd ($(engine_version)) for node$n in $(ns "$n")"
  # nsenter, not `ip netns exec` (which remounts /sys and loses the cgroup mounts); unshare --uts for a hostname;
  # the engine's folder first on PATH: dockerd starts its containerd, shim, proxy and init from there
  # its own TMPDIR: containerd and runc (started by dockerd) write there for every exec — a healthcheck too — and a
  # daemon started from a test (a killed node brought back) would otherwise keep that run's temporary folder, gone
  # when the run ends ("OCI runtime exec failed: open …/runc-process…: no such file or directory")
  mkdir -p "$d/tmp"
  nohup env TMPDIR="$d/tmp" PATH="${ENGINE_DIR:+$ENGINE_DIR:}$PATH" nsenter --net="/var/run/netns/$(ns "$n")" unshare --uts sh -c "hostname hdnode$n; exec dockerd \
    --data-root '$d/data' --exec-root '$d/exec' --pidfile '$d/docker.pid' --host 'unix://$(sock "$n")'" \
    >"$d/dockerd.log" 2>&1 &
  wait_for 60 "dockerd node$n" dk "$n" info
  chgrp docker "$(sock "$n")" && chmod 660 "$(sock "$n")"
}

swarm() {
  if [ "$(dk 1 info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
    log "initialising the swarm on node1 ($(addr 1))"
    dk 1 swarm init --advertise-addr "$(addr 1)" >/dev/null
  fi
  wait_for 60 "the swarm manager" sh -c "[ \"\$(docker -H unix://$(sock 1) info --format '{{.Swarm.ControlAvailable}}')\" = true ]"
  local token; token="$(dk 1 swarm join-token -q worker)"
  for n in 2 3; do
    local state; state="$(dk "$n" info --format '{{.Swarm.LocalNodeState}}')"
    # a daemon restarted on its swarm state (a manager killed in a test) reconnects for a while: wait for it
    # rather than make it leave (which would strand its manager entry)
    for _ in $(seq 60); do [ "$state" = pending ] || break; sleep 1; state="$(dk "$n" info --format '{{.Swarm.LocalNodeState}}')"; done
    if [ "$state" != active ]; then
      [ "$state" = inactive ] || dk "$n" swarm leave --force >/dev/null 2>&1 || true
      log "joining node$n ($(addr "$n")) as a worker"
      timeout 60 docker -H "unix://$(sock "$n")" swarm join --advertise-addr "$(addr "$n")" --token "$token" "$(addr 1):2377" >/dev/null
    fi
  done
  # stale entries of nodes that joined again (a manager entry is demoted first: swarm refuses to remove one), then
  # every node Ready
  for id in $(dk 1 node ls --format '{{.ID}} {{.Status}}' | awk '$2 == "Down" {print $1}'); do
    dk 1 node demote "$id" >/dev/null 2>&1 || true
    dk 1 node rm --force "$id" >/dev/null 2>&1 || true
  done
  wait_for 60 "three ready nodes" sh -c "[ \"\$(docker -H unix://$(sock 1) node ls --format '{{.Status}}' | grep -c Ready)\" = 3 ]"
}

sshd_manager() {
  # its docker is the manager node's daemon; local forwards are allowed (`honeydue-deploy dozzle`)
  sshd_config_in "$DIR" "$SSH_PORT" "$(addr 1)" "$DEPLOY_USER" 'AllowTcpForwarding yes' "SetEnv DOCKER_HOST=unix://$(sock 1)"
  if [ -f "$DIR/sshd.pid" ] && kill -0 "$(cat "$DIR/sshd.pid")" 2>/dev/null; then return; fi
  log "starting sshd on $(addr 1):$SSH_PORT inside $(ns 1)"
  nsenter --net="/var/run/netns/$(ns 1)" /usr/sbin/sshd -f "$DIR/sshd_config" -E "$DIR/sshd.log"
  wait_for 20 sshd bash -c "exec 3<>/dev/tcp/$(addr 1)/$SSH_PORT"
}

# sshd for the deploy user on node N (2, 3) with its own home: what it writes there node 1 never sees
sshd_node() {
  local n="$1" d="$DIR/sshd$1" real_home home
  real_home="$(getent passwd "$DEPLOY_USER" | cut -d: -f6)"
  home="$d/home"
  mkdir -p "$d"
  sshd_config_in "$d" "$SSH_PORT" "$(addr "$n")" "$DEPLOY_USER" 'AllowTcpForwarding yes' "SetEnv DOCKER_HOST=unix://$(sock "$n")"
  if [ ! -d "$home/.ssh" ]; then
    install -d -m 755 -o "$DEPLOY_USER" -g "$DEPLOY_USER" "$home"
    install -d -m 700 -o "$DEPLOY_USER" -g "$DEPLOY_USER" "$home/.ssh"
    install -m 600 -o "$DEPLOY_USER" -g "$DEPLOY_USER" "$real_home/.ssh/authorized_keys" "$home/.ssh/authorized_keys"
  fi
  if [ -f "$d/sshd.pid" ] && kill -0 "$(cat "$d/sshd.pid")" 2>/dev/null; then return; fi
  log "starting sshd on $(addr "$n"):$SSH_PORT inside $(ns "$n"), the deploy user's home being $home"
  nsenter --net="/var/run/netns/$(ns "$n")" unshare --mount --propagation private sh -c "mount --bind '$home' '$real_home' && exec /usr/sbin/sshd -f '$d/sshd_config' -E '$d/sshd.log'"
  wait_for 20 "sshd on node$n" bash -c "exec 3<>/dev/tcp/$(addr "$n")/$SSH_PORT"
}

# a node that cannot take up its manager role (a daemon killed earlier can keep raft state that fails "can't
# initialize raft node"): demoted, made to leave, its entry removed, joined again as a fresh worker
rejoin_fresh() {
  local n="$1" id
  id="$(dk "$n" info --format '{{.Swarm.NodeID}}' 2>/dev/null || true)"
  dk 1 node demote "${id:-hdnode$n}" >/dev/null 2>&1 || true
  dk "$n" swarm leave --force >/dev/null 2>&1 || true
  for _ in $(seq 30); do [ "$(dk 1 node ls --filter "id=$id" --format '{{.Status}}' 2>/dev/null)" = Down ] && break; sleep 1; done
  if [ -n "$id" ]; then
    dk 1 node demote "$id" >/dev/null 2>&1 || true
    dk 1 node rm --force "$id" >/dev/null 2>&1 || true
  fi
  timeout 60 docker -H "unix://$(sock "$n")" swarm join --advertise-addr "$(addr "$n")" --token "$(dk 1 swarm join-token -q worker)" "$(addr 1):2377" >/dev/null
}

reachable_managers() {
  docker -H "unix://$(sock 1)" node ls --format '{{.Status}} {{.ManagerStatus}}' | grep -cE '^Ready (Leader|Reachable)'
}

set_managers() { # set_managers 1|3
  case "$1" in
    3) local attempt n
       for attempt in 1 2; do
         for n in 2 3; do dk 1 node promote "$(dk "$n" info --format '{{.Swarm.NodeID}}')" >/dev/null; done
         for _ in $(seq 45); do [ "$(reachable_managers)" = 3 ] && return 0; sleep 1; done
         for n in 2 3; do
           [ "$(dk "$n" info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}' 2>/dev/null)" = "active true" ] && continue
           log "node$n did not take up its manager role (attempt $attempt): joining it again, fresh"
           rejoin_fresh "$n"
         done
       done
       die "three reachable managers did not come up" ;;
    1) # demoted again until it holds: right after a restart or an election a demotion can be refused for a moment.
       # Held means one manager in the raft membership (an Unreachable one still counts for quorum: stopping its node
       # then would leave the swarm without a leader) and nodes 2 and 3 no longer managers in their own view.
       local _
       for _ in $(seq 90); do
         for n in 2 3; do dk 1 node demote "$(dk "$n" info --format '{{.Swarm.NodeID}}' 2>/dev/null || echo "hdnode$n")" >/dev/null 2>&1 || true; done
         if [ "$(dk 1 node ls --format '{{.ManagerStatus}}' 2>/dev/null | grep -c .)" = 1 ] \
           && [ "$(dk 1 node ls --format '{{.ManagerStatus}}' 2>/dev/null | grep -c Leader)" = 1 ] \
           && [ "$(dk 2 info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null)" = false ] \
           && [ "$(dk 3 info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null)" = false ]; then
           return 0
         fi
         sleep 1
       done
       die "one manager did not come back (node ls: $(dk 1 node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}' 2>&1 | tr '\n' ';'))" ;;
    *) die "usage: $0 managers 1|3" ;;
  esac
}

write_state() {
  cat >"$STATE" <<CONF
HD_MN_DIR=$DIR
HD_MN_PREFIX=$PREFIX
HD_MN_MANAGER=$(addr 1)
HD_MN_SSH_PORT=$SSH_PORT
HD_MN_KNOWN_HOSTS=$DIR/known_hosts
HD_MN_SSHD_LOG=$DIR/sshd.log
HD_MN_REGISTRY=$REGISTRY
HD_MN_ENGINE=$(dk 1 version --format '{{.Server.Version}}')
HD_MN_NODES=$(for n in "${NODES[@]}"; do printf '%s ' "$(ns "$n"):$(addr "$n"):$(sock "$n"):$DIR/node$n/docker.pid"; done)
HD_MN_SSHD_HOMES=$(getent passwd "$DEPLOY_USER" | cut -d: -f6) $DIR/sshd2/home $DIR/sshd3/home
HD_MN_SSHD_LOGS=$DIR/sshd.log $DIR/sshd2/sshd.log $DIR/sshd3/sshd.log
HD_MN_ALL_KNOWN_HOSTS=$DIR/known_hosts_all
CONF
  cat "$DIR/known_hosts" "$DIR/sshd2/known_hosts" "$DIR/sshd3/known_hosts" >"$DIR/known_hosts_all"
  chmod 600 "$STATE"
}

node_running() { [ -f "$DIR/node$1/docker.pid" ] && kill -0 "$(cat "$DIR/node$1/docker.pid")" 2>/dev/null; }

# no node daemon running (a new machine, a restart, or a run of the suite that was stopped part way): the swarm
# starts fresh, never on raft state that earlier runs wore out (stale entries, a node that cannot become a manager
# again). A node that is down while the others run (a test restarting a killed node) keeps its state.
fresh_start() {
  local n
  for n in "${NODES[@]}"; do node_running "$n" && return 0; done
  pkill -f "containerd --config $DIR/node" 2>/dev/null || true
  for n in "${NODES[@]}"; do
    [ -d "$DIR/node$n" ] || continue
    log "node$n: no daemon running, its swarm state is discarded (a fresh swarm)"
    awk -v d="$DIR/node$n/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -rf "$DIR/node$n/data" "$DIR/node$n/exec"
  done
}

stop_pidfile() { # stop_pidfile FILE: TERM, wait, KILL
  [ -f "$1" ] || return 0
  local pid; pid="$(cat "$1")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$1"
}

case "${1:-up}" in
  up)
    [ "$(id -u)" = 0 ] || die "must run as root"
    [ -f "$SANDBOX_DIR/sandbox.env" ] || die "run scripts/sandbox.sh up first (packages, deploy user, registry password)"
    mkdir -p "$DIR" && chmod 755 "$DIR"
    packages
    network
    certificates
    registry
    fresh_start
    for n in "${NODES[@]}"; do start_node "$n"; done
    swarm
    sshd_manager
    for n in 2 3; do sshd_node "$n"; done
    write_state
    cat "$STATE"
    ;;
  down)
    [ "$(id -u)" = 0 ] || die "must run as root"
    stop_pidfile "$DIR/sshd.pid"
    for n in 2 3; do stop_pidfile "$DIR/sshd$n/sshd.pid"; done
    for n in "${NODES[@]}"; do stop_pidfile "$DIR/node$n/docker.pid"; done
    pkill -f "containerd --config $DIR/node" 2>/dev/null || true
    stop_pidfile "$DIR/registry.pid"
    for n in "${NODES[@]}"; do ip netns del "$(ns "$n")" 2>/dev/null || true; ip link del "$(ns "$n")-h" 2>/dev/null || true; done
    iptables -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null || true
    ip link del "$BRIDGE" 2>/dev/null || true
    ;;
  env) cat "$STATE" ;;
  managers) [ "$(id -u)" = 0 ] || die "must run as root"; set_managers "${2:-}" ;;
  *) die "usage: $0 up|down|env|managers 1|3" ;;
esac
