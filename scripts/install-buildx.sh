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

# the mirror the machine already uses, with the suite set to trixie
mirror="$(grep -hoE '^(URIs:|deb) +[^ ]*(https?://[^ ]+/debian)/?' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | grep -oE 'https?://[^ ]+/debian' | head -1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$work/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root)
apt-get -qq "${apt_opts[@]}" update >/dev/null
(cd "$work" && apt-get -qq "${apt_opts[@]}" download docker-buildx >/dev/null)
dpkg -x "$work"/docker-buildx_*.deb "$work/unpacked"
install -d -m 755 "$DEST"
install -m 755 "$work/unpacked/usr/libexec/docker/cli-plugins/docker-buildx" "$DEST/docker-buildx"
"$DEST/docker-buildx" version
