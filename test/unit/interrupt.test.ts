import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Interrupted } from '../../src/errors.js';
import { Interrupt } from '../../src/interrupt.js';

describe('interrupts', () => {
  it('the first signal requests a stop at the next safe point and cancels builds; the second hurries', () => {
    const i = new Interrupt();
    assert.doesNotThrow(() => i.check());
    i.trigger('SIGTERM');
    assert.equal(i.abortSignal.aborted, true);
    assert.throws(() => i.check(), (e: unknown) => e instanceof Interrupted && e.signal === 'SIGTERM');
    assert.equal(i.hurried, false);
    i.trigger('SIGINT');
    assert.equal(i.hurried, true);
    assert.equal(i.signal, 'SIGTERM');
  });
  it('a signal ends a sleep early', async () => {
    const i = new Interrupt();
    const started = Date.now();
    setTimeout(() => i.trigger('SIGINT'), 20);
    await i.sleep(10_000);
    assert.ok(Date.now() - started < 5000);
  });
});
