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

# shellcheck source=scripts/sandbox-lib.sh
. "$(dirname "$0")/sandbox-lib.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
trixie_unpack "$work" docker.io containerd tini
install -d -m 755 "$DEST"
u="$work/unpacked"
install -m 755 "$u/usr/sbin/dockerd" "$u/usr/sbin/docker-proxy" "$u/usr/bin/containerd" "$u/usr/bin/containerd-shim-runc-v2" "$u/usr/bin/ctr" "$DEST/"
install -m 755 "$u/usr/bin/tini-static" "$DEST/docker-init"
"$DEST/dockerd" --version
