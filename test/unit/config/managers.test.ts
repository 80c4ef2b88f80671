import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseManagerList, showEntry } from '../../../src/config/managers.js';
import { makeConfig, runCli } from '../../helpers/config.js';

describe('the manager list (DEPLOY_MANAGER_HOST)', () => {
  it('takes host, host:port, [v6]:port, a bare v6 address and aliases, in order', () => {
    const { entries, problems } = parseManagerList('m1.example.com, 10.0.0.2:2222,[fd00::3]:22,fd00::4, prod-manager');
    assert.deepEqual(problems, []);
    assert.deepEqual(entries, [{ host: 'm1.example.com' }, { host: '10.0.0.2', port: 2222 }, { host: 'fd00::3', port: 22 }, { host: 'fd00::4' }, { host: 'prod-manager' }]);
    assert.deepEqual(entries.map(showEntry), ['m1.example.com', '10.0.0.2:2222', '[fd00::3]:22', '[fd00::4]', 'prod-manager']);
  });
  it('says what is wrong with each bad entry', () => {
    assert.deepEqual(parseManagerList('a,,b:0,c:70000,[zz]:1,d e,a').problems, [
      'an empty entry (two commas, or a comma at an end)',
      '"b:0": 0 is not a port (1-65535)',
      '"c:70000": 70000 is not a port (1-65535)',
      '"[zz]:1" is not [IPv6 address]:port',
      '"d e" is not a host name, address or ssh alias',
      '"a" is listed twice',
    ]);
  });
  it('a bad list is exit 2 naming the file and key, before anything connects', async () => {
    const c = makeConfig({ 'cluster.env': { DEPLOY_MANAGER_HOST: 'm1,m1:99999' } });
    const r = await runCli(['plan', '--deploy-dir', 'deploy', '--tag', 't1'], { cwd: c.root });
    assert.equal(r.code, 2);
    assert.ok(r.stderr.includes('deploy/cluster.env: DEPLOY_MANAGER_HOST: "m1:99999": 99999 is not a port (1-65535) — write the managers as host, host:port or [IPv6]:port (or ~/.ssh/config aliases), several separated by commas'), r.stderr);
  });
  it('the plan names every manager in order', async () => {
    const c = makeConfig({ 'cluster.env': { DEPLOY_MANAGER_HOST: '127.0.0.1:2201,127.0.0.2:2202,127.0.0.3' } });
    const r = await runCli(['plan', '--deploy-dir', 'deploy', '--tag', 't1'], { cwd: c.root });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /managers, tried in this order: 127\.0\.0\.1:2201, 127\.0\.0\.2:2202, 127\.0\.0\.3; the first that answers/);
    assert.match(r.stdout, /manager 3: one SSH connection \S+@127\.0\.0\.3:\d+ for the whole run/);
  });
});
