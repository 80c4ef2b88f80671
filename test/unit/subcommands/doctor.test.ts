import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { publishedPortChecks } from '../../../src/subcommands/doctor.js';

const svc = (name: string, ports: Array<{ PublishedPort: number; PublishMode: string }>) => JSON.stringify({ Spec: { Name: `hd_${name}` }, Endpoint: { Ports: ports } });

describe('doctor: published ports', () => {
  it('the Dozzle port anywhere fails; admin on the ingress mesh fails; admin in host mode warns; the api is fine', () => {
    const checks = publishedPortChecks('hd', [
      svc('api', [{ PublishedPort: 8000, PublishMode: 'ingress' }]),
      svc('admin', [{ PublishedPort: 3000, PublishMode: 'host' }]),
      svc('worker', [{ PublishedPort: 9999, PublishMode: 'host' }]),
    ].join('\n'), 9999);
    assert.deepEqual(checks.map((c) => [c.level, c.text.split(':')[0]]), [
      ['warn', 'admin publishes 3000 (host mode) on all interfaces of the node that runs it — restrict 3000 to your IP at the cloud firewall (docker\'s rules bypass ufw)'],
      ['fail', 'worker publishes 9999 (host mode) on all interfaces'],
    ]);
    assert.equal(publishedPortChecks('hd', svc('admin', [{ PublishedPort: 3000, PublishMode: 'ingress' }]), 9999)[0]!.level, 'fail');
    assert.equal(publishedPortChecks('hd', svc('api', []), 9999)[0]!.level, 'pass');
  });
});
