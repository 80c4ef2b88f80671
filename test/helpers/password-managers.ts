/**
 * Real password stores for the tests, each in a temporary folder of its own: `pass` with a throwaway GPG key in its
 * own GNUPGHOME (Debian's pass and gnupg), an age identity (Debian's age), and the stand-in `op` (the 1Password
 * service cannot be reached from these machines: test/fixtures/op/op implements `op read` and `op whoami` as
 * 1Password documents them). Nothing here touches the user's own stores.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './tmp.js';

export const OP_STANDIN_DIR = fileURLToPath(new URL('../fixtures/op/', import.meta.url));

export function havePasswordManagers(): string | undefined {
  for (const p of ['pass', 'gpg', 'age', 'age-keygen']) if (spawnSync('sh', ['-c', `command -v ${p}`]).status !== 0) return `${p} is not installed (apt-get install pass gnupg age)`;
  return undefined;
}

export interface Stores {
  /** the environment a run needs to reach them: GNUPGHOME, PASSWORD_STORE_DIR, HD_OP_VAULT, PATH with the stand-in op */
  env: Record<string, string>;
  /** the age identity file */
  ageIdentity: string;
  /** the age recipient (public key) */
  ageRecipient: string;
  passInsert(name: string, value: Buffer | string): void;
  opPut(ref: string, value: Buffer | string): void;
  /** encrypts value into file with age (byte for byte) */
  ageEncrypt(file: string, value: Buffer | string): void;
}

export function makeStores(): Stores {
  const root = tempDir('hd-stores-');
  const gnupg = path.join(root, 'gnupg');
  fs.mkdirSync(gnupg, { mode: 0o700 });
  const store = path.join(root, 'password-store');
  const vault = path.join(root, 'op-vault');
  fs.mkdirSync(vault);
  const env = { GNUPGHOME: gnupg, PASSWORD_STORE_DIR: store, HD_OP_VAULT: vault, PATH: `${OP_STANDIN_DIR}${path.delimiter}${process.env.PATH}` };
  const run = (file: string, args: string[], input?: Buffer | string) => execFileSync(file, args, { env: { ...process.env, ...env }, input, stdio: ['pipe', 'pipe', 'pipe'] });
  run('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'honeydue test <test@honeydue.invalid>', 'default', 'default', 'never']);
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(run('gpg', ['--batch', '--with-colons', '--list-secret-keys']).toString())![1]!;
  run('pass', ['init', fpr]);
  const ageIdentity = path.join(root, 'age', 'keys.txt');
  fs.mkdirSync(path.dirname(ageIdentity));
  run('age-keygen', ['-o', ageIdentity]);
  const ageRecipient = /public key: (age1\w+)/.exec(fs.readFileSync(ageIdentity, 'utf8'))![1]!;
  return {
    env,
    ageIdentity,
    ageRecipient,
    passInsert: (name, value) => void run('pass', ['insert', '--multiline', '--force', name], value),
    opPut: (ref, value) => {
      const file = path.join(vault, ref.replace(/^op:\/\//, ''));
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, value);
    },
    ageEncrypt: (file, value) => {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      run('age', ['-r', ageRecipient, '-o', file], value);
    },
  };
}
