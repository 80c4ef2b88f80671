import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { display, displayUpload, local, onManager, remoteShellString, secretStdin, shellQuote } from '../../../src/commands/command.js';

/** What /bin/sh (dash on Debian, like a manager's login shell) makes of a quoted word. */
function throughShell(word: string): string {
  const r = spawnSync('/bin/sh', ['-c', `printf '%s' ${shellQuote(word)}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe('shellQuote', () => {
  const nasty = [
    '', 'plain', 'with space', "it's", '"double"', '$(touch /tmp/hd-pwned)', '`id`', 'a;b', 'a && b', 'a|b', '$HOME', '${HOME}',
    '-rf', '--leading-dash', 'new\nline', 'tab\there', "quote'in'middle'", '\\backslash\\', '*', '?', '~', '#comment', '!bang', 'ünïcødé',
  ];
  for (const word of nasty) {
    it(`survives the shell unchanged: ${JSON.stringify(word)}`, () => assert.equal(throughShell(word), word));
  }
  it('leaves safe words bare and quotes the rest POSIX-style', () => {
    assert.equal(shellQuote('docker'), 'docker');
    assert.equal(shellQuote('{{json .}}'), "'{{json .}}'");
    assert.equal(shellQuote("it's"), "'it'\\''s'");
    assert.equal(shellQuote(''), "''");
  });
});

describe('command values', () => {
  it('a remote command runs in its folder via cd &&', () => {
    assert.equal(remoteShellString(onManager(['docker', 'stack', 'deploy', '-c', 'swarm-stack.yml', 's'], { cwd: 'dir with space' })), "cd 'dir with space' && docker stack deploy -c swarm-stack.yml s");
  });
  it('display shows secret stdin as [redacted: label] and never its bytes', () => {
    const c = onManager(['docker', 'secret', 'create', 'n', '-'], { stdin: secretStdin('secrets/x.txt', Buffer.from('hunter2-secret')) });
    assert.equal(display(c), 'manager$ docker secret create n - < [redacted: secrets/x.txt]');
    assert.ok(!display(c).includes('hunter2'));
  });
  it('display shows local env and argv', () => {
    assert.equal(display(local(['docker', 'build', '.'], { env: { A: 'b c' } })), "local$ A='b c' docker build .");
  });
  it('an upload is shown by path, mode and size only', () => {
    assert.equal(displayUpload({ kind: 'upload', remotePath: 'r/prod.env', mode: 0o600, data: 'SECRET=x\n', label: 'prod.env' }), 'sftp$ put prod.env -> r/prod.env (mode 0600, 9 bytes)');
  });
});
