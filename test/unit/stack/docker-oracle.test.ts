/**
 * docker is the oracle for the renderer: for every template and value in the corpus, what `docker stack
 * config` makes of the template (with the values in its environment) equals what it makes of the file the
 * tool renders and uploads (with an empty environment) — parsed, key by key.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { renderStack, STACK_VARIABLES, type StackVariable } from '../../../src/stack/render.js';
import { tempDir } from '../../helpers/tmp.js';

const dockerCli = spawnSync('docker', ['stack', 'config', '--help'], { encoding: 'utf8' }).status === 0;
const skip = dockerCli || process.env.CI === 'true' ? false : 'no docker CLI with `docker stack config` on this machine';

const TEMPLATES: Record<string, string> = {
  environment: `version: "3.8"
services:
  api:
    image: \${API_IMAGE}
    environment:
      DEPLOY_TAG: \${DEPLOY_TAG}
      QUOTED: "\${DEPLOY_TAG}"
      SINGLE: '\${DEPLOY_TAG}'
      MIXED: v-\${DEPLOY_TAG}-\${DEPLOY_ID}
      BARE: $DEPLOY_TAG
      SSL: \${DB_SSLMODE:-require}
      EMPTY_DEFAULT: \${NOT_PROVIDED-}
      NUMERIC_DEFAULT: \${NOT_PROVIDED:-0803128}
      LITERAL: $$HOME and $$\${DEPLOY_TAG}
    labels:
      - "tag=\${DEPLOY_TAG}"
      - com.example.id=\${DEPLOY_ID}
    command: ["serve", "--tag", "\${DEPLOY_TAG}"]
    deploy:
      replicas: \${API_REPLICAS}
`,
  cast: `version: "3.8"
services:
  api:
    image: reg.example.com/api:\${DEPLOY_TAG:-latest}
    ports:
      - target: 8000
        published: \${DOZZLE_PORT}
        mode: host
    deploy:
      replicas: \${WORKER_REPLICAS}
      update_config:
        parallelism: \${ADMIN_REPLICAS}
        max_failure_ratio: \${RATIO:-0.5}
    read_only: \${RO:-no}
    environment:
      - DEPLOY_TAG=\${DEPLOY_TAG}
      - "ID=\${DEPLOY_ID}"
networks:
  n:
    external: \${EXTERNAL:-false}
`,
  block: `version: "3.8"
x-env: &env
  TAG: \${DEPLOY_TAG}
services:
  api:
    image: x
    environment:
      <<: *env
      NOTE: |
        release \${DEPLOY_TAG}
        id \${DEPLOY_ID}
      FOLDED: >-
        \${DEPLOY_TAG}
`,
};

const VALUES = [
  '0803128', '0000000', '1234567', '007', '1.10', '12e4567', '1e5', '0x1F', '0o17', '1_000', '.5', '-1', '+1', '.inf', '.NaN',
  'true', 'false', 'no', 'yes', 'on', 'off', 'y', 'n', 'null', 'Null', '~', '',
  'a:b', 'a: b', 'x #not a comment', '#hash', "it's", 'say "hi"', '{a: 1}', '[1, 2]', '- item', '*star', '&amp', '!tag', '%pct', '@at', '`tick`',
  'two\nlines', 'tab\there', 'trailing space ', ' leading', 'ünïcødé ✓', '日本語', 'p$ss', '$$', '${NOPE}', 'back\\slash',
];

async function dockerConfig(dir: string, name: string, text: string, env: Record<string, string>): Promise<{ ok: boolean; doc?: unknown; err: string }> {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  try {
    const r = await promisify(execFile)('docker', ['stack', 'config', '-c', file], { encoding: 'utf8', env: { PATH: process.env.PATH!, HOME: dir, DOCKER_CONFIG: dir, ...env } });
    return { ok: true, doc: YAML.parse(r.stdout), err: '' };
  } catch (e) {
    return { ok: false, err: String((e as { stderr?: string }).stderr ?? e) };
  }
}

function varsFor(tag: string): Record<StackVariable, string> {
  const v = Object.fromEntries(STACK_VARIABLES.map((n) => [n, `v-${n.toLowerCase()}`])) as Record<StackVariable, string>;
  return { ...v, API_IMAGE: 'reg.example.com/honeydue-api:t', DEPLOY_TAG: tag, DEPLOY_ID: `${tag}_20261128000000`, API_REPLICAS: '3', WORKER_REPLICAS: '1', ADMIN_REPLICAS: '2', DOZZLE_PORT: '9999' };
}

describe('the rendered stack file means what docker makes of the template', { skip }, () => {
  const dir = tempDir('hd-oracle-');
  for (const [name, template] of Object.entries(TEMPLATES)) {
    it(`${name}: ${VALUES.length} values agree with docker stack config, key by key`, async () => {
      await Promise.all(VALUES.map(async (value, i) => {
        const vars = varsFor(value);
        const rendered = renderStack(template, vars, `${name}.yml`);
        assert.deepEqual(rendered.problems, [], JSON.stringify(value));
        const expected = await dockerConfig(dir, `${name}-${i}.yml`, template, vars);
        const actual = await dockerConfig(dir, `${name}-${i}.rendered.yml`, rendered.text, {});
        assert.ok(expected.ok, `docker refused the template with ${JSON.stringify(value)}: ${expected.err}`);
        assert.ok(actual.ok, `docker refused the rendered file with ${JSON.stringify(value)}: ${actual.err}\n${rendered.text}`);
        assert.deepEqual(actual.doc, expected.doc, `value ${JSON.stringify(value)}`);
      }));
    });
  }
});

/**
 * A plan does not wait for `docker stack config` on the packaged template (subcommands/deploy.ts): this is
 * why that is safe. Every value the tool can put into it — any tag (it reaches the images, DEPLOY_TAG,
 * DEPLOY_ID and the secret names), the replica counts and the Dozzle port at their limits — gives a file
 * docker accepts, together with a prod.env of the shapes the config loader lets through.
 */
describe('the packaged template is accepted by docker for every value the tool can give it', { skip }, () => {
  const template = fs.readFileSync(path.join(import.meta.dirname, '../../../templates/swarm-stack.yml'), 'utf8');
  const dir = tempDir('hd-packaged-');
  fs.writeFileSync(path.join(dir, 'prod.env'), 'DB_HOST=ep-x.neon.tech\nEMPTY=\nSPACES=a b  c\nQUOTES="x" \'y\'\nHASH=a#b\nDOLLAR=$HOME ${X}\nUNICODE=ünïcødé ✓\nDOTTED.KEY-1=v\n');
  const cases: Array<[string, Partial<Record<StackVariable, string>>]> = [
    ...VALUES.filter((v) => !/[\n\t]/.test(v)).map((tag): [string, Partial<Record<StackVariable, string>>] => [`tag ${JSON.stringify(tag)}`, {
      DEPLOY_TAG: tag, DEPLOY_ID: `${tag}_20261128000000`, API_IMAGE: `reg.example.com/honeydue-api:${tag}`,
      POSTGRES_PASSWORD_SECRET: `honeydue_postgres_password_${tag}_20261128000000`,
    }]),
    ['replicas 0', { API_REPLICAS: '0', WORKER_REPLICAS: '0', ADMIN_REPLICAS: '0' }],
    ['replicas 100', { API_REPLICAS: '100', WORKER_REPLICAS: '100', ADMIN_REPLICAS: '100' }],
    ['port 1', { DOZZLE_PORT: '1' }],
    ['port 65535', { DOZZLE_PORT: '65535' }],
    ['pinned digests', { REDIS_IMAGE: `redis@sha256:${'a'.repeat(64)}`, DOZZLE_IMAGE: 'mirror.example.com:5000/amir20/dozzle:v8.12.4' }],
  ];
  it(`${cases.length} renderings pass docker stack config`, async () => {
    await Promise.all(cases.map(async ([what, values], i) => {
      const vars = { ...varsFor('t1'), REDIS_IMAGE: 'redis:7-alpine', DOZZLE_IMAGE: 'amir20/dozzle:v8.12.4', ...values };
      const rendered = renderStack(template, vars, 'swarm-stack.yml');
      assert.deepEqual(rendered.problems, [], what);
      fs.writeFileSync(path.join(dir, `s${i}.yml`), rendered.text);
      const r = await promisify(execFile)('docker', ['stack', 'config', '-c', path.join(dir, `s${i}.yml`)], { encoding: 'utf8', env: { PATH: process.env.PATH!, HOME: dir, DOCKER_CONFIG: dir } }).then(
        () => '',
        (e: { stderr?: string }) => String(e.stderr ?? e),
      );
      assert.equal(r, '', `${what}: docker refused the packaged template`);
    }));
  });
});
