#!/usr/bin/env bash
# Debian's docker credential helpers (docker-credential-secretservice, docker-credential-pass), kept OFF the PATH
# in /opt/honeydue-credential-helpers: the e2e test that proves a run never uses an OS credential store puts them
# on the PATH for itself (laptop and manager) and takes them away after. Installed like every Debian package (their
# libraries stay), then the package is removed so no other test ever meets them. Idempotent; needs root.
set -euo pipefail
DEST="${HD_CREDHELPERS_DIR:-/opt/honeydue-credential-helpers}"
if [ -x "$DEST/docker-credential-secretservice" ] && [ -x "$DEST/docker-credential-pass" ]; then exit 0; fi
[ "$(id -u)" = 0 ] || { echo "install-credential-helpers: must run as root" >&2; exit 1; }
if ! dpkg -s golang-docker-credential-helpers >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends golang-docker-credential-helpers >/dev/null
fi
mkdir -p "$DEST"
for h in secretservice pass; do install -m 0755 "/usr/bin/docker-credential-$h" "$DEST/docker-credential-$h"; done
DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq golang-docker-credential-helpers >/dev/null
echo "install-credential-helpers: $DEST/docker-credential-{secretservice,pass}" >&2
