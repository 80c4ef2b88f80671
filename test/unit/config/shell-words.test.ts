import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitCommandLine } from '../../../src/config/shell-words.js';

describe('DEPLOY_MIGRATE_COMMAND is split like compose splits command:', () => {
  it('words, quotes and escapes', () => {
    assert.deepEqual(splitCommandLine('/app/api migrate --to latest'), { words: ['/app/api', 'migrate', '--to', 'latest'] });
    assert.deepEqual(splitCommandLine(`sh -c 'echo "$DB_HOST" > /tmp/x; exit 3'`), { words: ['sh', '-c', 'echo "$DB_HOST" > /tmp/x; exit 3'] });
    assert.deepEqual(splitCommandLine('a "b c" d\\ e "q\\"x" \'\''), { words: ['a', 'b c', 'd e', 'q"x', ''] });
    assert.deepEqual(splitCommandLine('  spaced   out  '), { words: ['spaced', 'out'] });
  });
  it('what only a shell understands, and unclosed quotes, are refused with what to do', () => {
    assert.deepEqual(splitCommandLine('migrate; rm -rf /'), { problem: "has ; outside quotes, which only a shell understands — the command is not run by a shell; write sh -c '…' to use one" });
    assert.deepEqual(splitCommandLine('a && b'), { problem: "has & outside quotes, which only a shell understands — the command is not run by a shell; write sh -c '…' to use one" });
    assert.deepEqual(splitCommandLine('echo $(id)'), { problem: "has $( outside quotes, which only a shell understands — the command is not run by a shell; write sh -c '…' to use one" });
    assert.deepEqual(splitCommandLine("it's"), { problem: "has a ' that is never closed" });
    assert.deepEqual(splitCommandLine('"open'), { problem: 'has a " that is never closed' });
  });
});
