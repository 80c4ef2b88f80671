import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { imagePlatform, nodePlatforms, parseNodes } from '../../../src/steps/nodes-eval.js';
import { buildPlatforms, laptopPlatform, offeredPlatforms, platformProblem } from '../../../src/steps/platforms.js';

const node = (id: string, arch: string, state = 'ready') =>
  JSON.stringify({ ID: `${id}xxxxxxxxxxxx`, Description: { Hostname: id, Platform: { Architecture: arch, OS: 'linux' } }, Status: { State: state, Addr: '10.0.0.1' }, Spec: { Role: 'worker', Availability: 'active' } });

describe('images for the nodes\' CPU', () => {
  it('nodes report x86_64 / aarch64: mapped to the platforms images name', () => {
    assert.equal(imagePlatform('linux', 'x86_64'), 'linux/amd64');
    assert.equal(imagePlatform('linux', 'aarch64'), 'linux/arm64');
    assert.equal(imagePlatform('linux', 'armv7l'), 'linux/arm/v7');
    const nodes = parseNodes([node('a', 'x86_64'), node('b', 'aarch64'), node('c', 'x86_64', 'down')].join('\n'));
    assert.deepEqual([...nodePlatforms(nodes).keys()], ['linux/amd64', 'linux/arm64']);
    assert.deepEqual(nodePlatforms(nodes).get('linux/amd64')!.map((n) => n.hostname), ['a']);
  });
  it('the build targets the nodes when they run another platform than this machine; none when it is the same', () => {
    const amd = parseNodes([node('a', 'x86_64'), node('b', 'x86_64')].join('\n'));
    assert.equal(laptopPlatform('arm64'), 'linux/arm64');
    assert.equal(laptopPlatform('x64'), 'linux/amd64');
    assert.deepEqual(buildPlatforms(amd, 'linux/arm64'), ['linux/amd64']);
    assert.equal(buildPlatforms(amd, 'linux/amd64'), undefined);
    const mixed = parseNodes([node('a', 'x86_64'), node('b', 'aarch64')].join('\n'));
    assert.deepEqual(buildPlatforms(mixed, 'linux/amd64'), ['linux/amd64', 'linux/arm64']);
    assert.equal(buildPlatforms([], 'linux/amd64'), undefined);
  });
  it('what an image offers, from docker manifest inspect --verbose: one manifest, or a list (attestations skipped)', () => {
    const one = JSON.stringify({ Ref: 'r/x:1', Descriptor: { platform: { architecture: 'arm64', os: 'linux' } } });
    const list = JSON.stringify([
      { Descriptor: { platform: { architecture: 'amd64', os: 'linux' } } },
      { Descriptor: { platform: { architecture: 'arm', os: 'linux', variant: 'v7' } } },
      { Descriptor: { platform: { architecture: 'unknown', os: 'unknown' } } },
    ]);
    assert.deepEqual(offeredPlatforms(one), ['linux/arm64']);
    assert.deepEqual(offeredPlatforms(list), ['linux/amd64', 'linux/arm/v7']);
    assert.deepEqual(offeredPlatforms('not json'), []);
  });
  it('an image that offers no platform of some nodes is named with what it offers and which nodes need what', () => {
    const nodes = parseNodes([node('a', 'x86_64'), node('b', 'x86_64')].join('\n'));
    assert.equal(platformProblem('r/api:1', ['linux/amd64', 'linux/arm64'], nodes), undefined);
    assert.equal(
      platformProblem('r/api:1', ['linux/arm64'], nodes),
      "r/api:1 offers linux/arm64, but nodes need linux/amd64 (axxxxxxxxxxx (a, 10.0.0.1), bxxxxxxxxxxx (b, 10.0.0.1)) — swarm would never place it there: build for the nodes (DEPLOY_PLATFORM=linux/amd64, or leave DEPLOY_PLATFORM unset and let the build target the nodes), or push a multi-platform image (see the README's multi-arch section)",
    );
    assert.equal(platformProblem('r/api:1', [], nodes), undefined, 'a registry that does not say is not judged');
  });
});
