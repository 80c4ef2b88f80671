#!/usr/bin/env bash
# npm run demo: provision the loopback sandbox (root), build, and run a real deploy of the fixture app.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/sandbox.sh up >/dev/null
[ -f dist/cli.js ] || npm run build
exec node --import tsx scripts/demo.ts
