import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logOptionProblems, redactingLineWriter } from '../../../src/subcommands/logs.js';
import { Redactor } from '../../../src/ui/redact.js';

describe('logs', () => {
  it('redacts whole lines, also a secret split across two chunks', () => {
    const r = new Redactor();
    r.add('sk-very-secret-value');
    const out: string[] = [];
    const w = redactingLineWriter(r, (t) => out.push(t));
    w.write(Buffer.from('worker | key is sk-very-se'));
    assert.deepEqual(out, [], 'nothing is printed before the line is complete');
    w.write(Buffer.from('cret-value\nnext | partial'));
    w.flush();
    assert.equal(out.join(''), 'worker | key is [redacted]\nnext | partial');
  });
  it('a secret whose multibyte character falls across two chunks is still redacted', () => {
    const r = new Redactor();
    r.add('pässwörd-ÿ-12345');
    const out: string[] = [];
    const w = redactingLineWriter(r, (t) => out.push(t));
    const line = Buffer.from('api | pässwörd-ÿ-12345 in use\n');
    const cut = line.indexOf(Buffer.from('ä')) + 1; // inside the two bytes of ä
    w.write(line.subarray(0, cut));
    w.write(line.subarray(cut));
    w.flush();
    assert.equal(out.join(''), 'api | [redacted] in use\n');
  });
  it('checks --since and --tail', () => {
    assert.deepEqual(logOptionProblems({ since: '10m', tail: '100' }), []);
    assert.deepEqual(logOptionProblems({ since: '2026-11-28T08:00:00Z', tail: 'all' }), []);
    assert.deepEqual(logOptionProblems({ since: 'yesterday', tail: '-5' }), [
      'command line: --since: "yesterday" is not a time — write a duration like 10m or 2h, or a date like 2026-11-28T08:00:00Z',
      'command line: --tail: "-5" is not a line count — write a whole number or all',
    ]);
  });
});
