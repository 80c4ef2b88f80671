import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DIGEST_WARNING } from '../../../src/steps/stack-deploy.js';

describe('the digest warning of docker stack deploy', () => {
  it('is recognised as docker prints it (wrapped over lines)', () => {
    const text =
      'image registry.example.com/honeydue/honeydue-api:abc1234 could not be accessed on a registry to record\n' +
      'its digest. Each node will access registry.example.com/honeydue/honeydue-api:abc1234 independently,\n' +
      'possibly leading to different nodes running different\nversions of the image.\n';
    assert.ok(DIGEST_WARNING.test(text));
  });
  it('is not seen in an ordinary deploy', () => {
    assert.ok(!DIGEST_WARNING.test('Updating service honeydue_api (id: x)\nUpdating service honeydue_worker (id: y)\n'));
  });
});
