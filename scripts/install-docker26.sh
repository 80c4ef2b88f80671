#!/usr/bin/env bash
# Installs a current Docker engine for the three-node sandbox without changing the machine's packages: Debian
# trixie's dockerd 26.1 (docker.io) and containerd 1.7, downloaded with a private source list (as
# scripts/install-buildx.sh does) and unpacked into HD_DOCKER26_DIR (default /opt/honeydue-docker26/bin), with
# tini as docker-init. trixie's runc needs a newer glibc than bookworm's: the engine runs with bookworm's runc
# (/usr/sbin/runc, from the one-node sandbox's packages). scripts/multinode.sh starts its node daemons from this
# folder when it exists. Idempotent; needs root.
set -euo pipefail

DEST="${HD_DOCKER26_DIR:-/opt/honeydue-docker26/bin}"
if [ -x "$DEST/dockerd" ] && "$DEST/dockerd" --version 2>/dev/null | grep -q '^Docker version 26\.'; then
  "$DEST/dockerd" --version
  exit 0
fi

mirror="$(grep -hoE '^(URIs:|deb) +[^ ]*(https?://[^ ]+/debian)/?' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | grep -oE 'https?://[^ ]+/debian' | head -1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$work/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root)
apt-get -qq "${apt_opts[@]}" update >/dev/null
(cd "$work" && apt-get -qq "${apt_opts[@]}" download docker.io containerd tini >/dev/null)
for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/unpacked"; done
install -d -m 755 "$DEST"
u="$work/unpacked"
install -m 755 "$u/usr/sbin/dockerd" "$u/usr/sbin/docker-proxy" "$u/usr/bin/containerd" "$u/usr/bin/containerd-shim-runc-v2" "$u/usr/bin/ctr" "$DEST/"
install -m 755 "$u/usr/bin/tini-static" "$DEST/docker-init"
"$DEST/dockerd" --version
