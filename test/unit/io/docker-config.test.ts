import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createLocalDockerConfig, removeStaleLocalConfigs, withoutCredentials } from '../../../src/io/docker-config.js';
import { tempDir } from '../../helpers/tmp.js';

describe('the per-run docker config', () => {
  it('keeps the user\'s settings and drops every credential', () => {
    const user = JSON.stringify({ auths: { 'r.example': { auth: 'c2VjcmV0' } }, credsStore: 'desktop', credHelpers: { 'x.example': 'ecr' }, currentContext: 'prod', aliases: { builder: 'buildx' } });
    const only = { auths: { 'honeydue-deploy.invalid': {} } };
    assert.deepEqual(JSON.parse(withoutCredentials(user)), { currentContext: 'prod', aliases: { builder: 'buildx' }, ...only });
    assert.deepEqual(JSON.parse(withoutCredentials(undefined)), only);
    assert.deepEqual(JSON.parse(withoutCredentials('not json')), only);
    assert.deepEqual(JSON.parse(withoutCredentials('[1]')), only);
  });
  it('is a 0700 folder with config.json 0600 and links to the user\'s plugins, contexts and builders', () => {
    const home = tempDir('hd-dc-home-');
    const user = path.join(home, 'docker');
    fs.mkdirSync(path.join(user, 'cli-plugins'), { recursive: true });
    fs.mkdirSync(path.join(user, 'contexts'));
    fs.writeFileSync(path.join(user, 'config.json'), JSON.stringify({ auths: { r: { auth: 'eA==' } }, currentContext: 'c' }));
    const tmp = tempDir('hd-dc-tmp-');
    const dir = createLocalDockerConfig({ DOCKER_CONFIG: user }, tmp);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(dir, 'config.json')).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')), { currentContext: 'c', auths: { 'honeydue-deploy.invalid': {} } });
    assert.equal(fs.readlinkSync(path.join(dir, 'cli-plugins')), path.join(user, 'cli-plugins'));
    assert.equal(fs.readlinkSync(path.join(dir, 'contexts')), path.join(user, 'contexts'));
    assert.equal(fs.existsSync(path.join(dir, 'buildx')), false);
    assert.match(path.basename(dir), new RegExp(`^honeydue-deploy-docker-${process.pid}-`));
  });
  it('folders of killed runs are removed; those of running ones are left', () => {
    const tmp = tempDir('hd-dc-tmp-');
    const dead = path.join(tmp, 'honeydue-deploy-docker-999999999-abc');
    const mine = path.join(tmp, `honeydue-deploy-docker-${process.pid}-def`);
    for (const d of [dead, mine]) fs.mkdirSync(d);
    assert.deepEqual(removeStaleLocalConfigs(tmp), [dead]);
    assert.ok(fs.existsSync(mine));
  });
});
