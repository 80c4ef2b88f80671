#!/usr/bin/env bash
# Installs the docker buildx CLI plugin from Debian's trixie suite (bookworm has none) without changing the
# machine's apt sources: the package is downloaded with a private source list and unpacked, and the plugin binary
# (a static Go program) is placed in HD_BUILDX_DIR (default /opt/honeydue-buildx/cli-plugins). That folder is not
# one the docker CLI searches by itself: a docker config makes buildx visible by linking its cli-plugins to it
# (the end-to-end fixtures do; the classic-builder test does not). Idempotent; needs root.
set -euo pipefail

DEST="${HD_BUILDX_DIR:-/opt/honeydue-buildx/cli-plugins}"
if [ -x "$DEST/docker-buildx" ] && "$DEST/docker-buildx" version >/dev/null 2>&1; then
  "$DEST/docker-buildx" version
  exit 0
fi

# shellcheck source=scripts/sandbox-lib.sh
. "$(dirname "$0")/sandbox-lib.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
trixie_unpack "$work" docker-buildx
install -d -m 755 "$DEST"
install -m 755 "$work/unpacked/usr/libexec/docker/cli-plugins/docker-buildx" "$DEST/docker-buildx"
"$DEST/docker-buildx" version
