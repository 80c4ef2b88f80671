#!/usr/bin/env node
// Lays out the demo deploy dir examples/demo/ from examples/demo-config/ (run by `npm ci` / `npm install` through
// `prepare`). The copy is git-ignored and owner-only, as a real deploy dir is: the tool refuses a deploy dir whose
// env or secret files git tracks, and its files must be 0600.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const from = path.join(root, 'examples', 'demo-config');
const to = path.join(root, 'examples', 'demo');

function copy(src, dest) {
  fs.mkdirSync(dest, { recursive: true, mode: 0o700 });
  fs.chmodSync(dest, 0o700);
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, entry.name);
    const d = path.join(dest, entry.name);
    if (entry.isDirectory()) copy(s, d);
    else {
      fs.copyFileSync(s, d);
      fs.chmodSync(d, 0o600);
    }
  }
}

if (fs.existsSync(from)) copy(from, to);
