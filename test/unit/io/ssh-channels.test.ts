/** The channel rules of the run's one SSH connection: a deadline for every answer, a limit on session channels. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChannelGate, NoAnswer, openSession, withDeadline } from '../../../src/io/ssh-channels.js';

describe('channel deadlines', () => {
  it('an answer in time is the value; no answer is NoAnswer (a lost connection) naming the setting; a late channel is closed', async () => {
    assert.equal(await withDeadline<number>(1000, 'x', (cb) => setTimeout(() => cb(undefined, 7), 5)), 7);
    const closed: number[] = [];
    await assert.rejects(withDeadline<number>(50, 'the manager was asked to run a command', (cb) => setTimeout(() => cb(undefined, 9), 150), (v) => closed.push(v)), (e: unknown) =>
      e instanceof NoAnswer && e.message === 'the manager was asked to run a command: no answer within 0s (DEPLOY_SSH_TIMEOUT)');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(closed, [9]);
  });
});

describe('the channel limit', () => {
  it('at most `limit` open at once; the others wait their turn in order', async () => {
    const gate = new ChannelGate(2);
    const a = await gate.acquire();
    const b = await gate.acquire();
    let third = false;
    const c = gate.acquire().then((free) => {
      third = true;
      return free;
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(third, false);
    a();
    (await c)();
    assert.equal(third, true);
    b();
    assert.equal(gate.inUse, 0);
  });
  it('a refusal ("open failed", MaxSessions) lowers the limit to what the server took and is asked again, never a failure', async () => {
    const gate = new ChannelGate(4);
    let serverOpen = 0;
    const serverMax = 2;
    let refused = 0;
    const open = () =>
      openSession<{ close(): void }>(gate, {
        deadlineMs: 1000,
        what: 'x',
        sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5))),
        start: (cb) =>
          setTimeout(() => {
            if (serverOpen >= serverMax) {
              refused += 1;
              return cb(new Error('(SSH) Channel open failure: open failed'));
            }
            serverOpen += 1;
            cb(undefined, { close: () => (serverOpen -= 1) });
          }, 1),
        close: (c) => c.close(),
      });
    const done = await Promise.all(
      Array.from({ length: 7 }, async () => {
        const { channel, free } = await open();
        await new Promise((r) => setTimeout(r, 10));
        channel.close();
        free();
        return true;
      }),
    );
    assert.equal(done.length, 7);
    assert.ok(refused >= 1);
    assert.equal(gate.limit, 2);
  });
  it('any other channel failure is not retried', async () => {
    const gate = new ChannelGate(2);
    await assert.rejects(openSession(gate, { deadlineMs: 100, what: 'x', start: (cb) => cb(new Error('(SSH) Channel open failure: Connection refused')), close: () => undefined }), /Connection refused/);
    assert.equal(gate.inUse, 0);
  });
});
