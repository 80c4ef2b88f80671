/**
 * `honeydue-deploy diff`: what the next deploy would change against the serving known-good release. Read-only:
 * one SSH connection, the store and the services are read, nothing is written. `--exit-code` makes a difference
 * exit 1, as `git diff --exit-code` does.
 */
import { loadConfig } from '../config/index.js';
import { readGit } from '../config/repository.js';
import { resolveSettings, type Flags } from '../config/settings.js';
import { releaseDiff, diffLines, parseEnvFile, type Side } from '../diff/release-diff.js';
import { EXIT } from '../errors.js';
import { Interrupt } from '../interrupt.js';
import { LocalRunner } from '../io/local.js';
import { ManagerSession } from '../io/ssh.js';
import crypto from 'node:crypto';
import type { Config } from '../config/index.js';
import { buildRelease, dockerEnvFile, releaseRecord, type Release } from '../release.js';
import type { ReleaseRecord } from '../store/store.js';
import { digestInputs, digestSecrets } from '../store/withheld.js';
import { finalLine, type ActionResult } from '../result.js';
import { sessionOptions, sshTargets } from '../steps/connect.js';
import { RunState, type Ctx } from '../steps/context.js';
import { readStack } from '../steps/converge.js';
import { readKnownGood } from '../steps/releases.js';
import { SwarmStore } from '../store/swarm.js';
import { resolveReferences } from '../secrets/resolve.js';
import { teachRedactor } from '../ui/teach-redactor.js';
import type { Reporter } from '../ui/reporter.js';

export interface DiffFlags extends Flags {
  exitCode?: boolean;
}

export async function diffAction(flags: DiffFlags, env: NodeJS.ProcessEnv, reporter: Reporter): Promise<ActionResult> {
  const settings = resolveSettings({ deployDir: flags.deployDir, tag: flags.tag, context: flags.context, sshTimeout: flags.sshTimeout, json: flags.json, ageIdentity: flags.ageIdentity, secretTimeout: flags.secretTimeout }, env, { plan: true });
  const local = new LocalRunner();
  const cfg = loadConfig(settings.deployDir, env, { ageIdentity: settings.ageIdentity });
  // a changed secret is told by its value: the values secrets.env refers to are fetched (never shown)
  await resolveReferences(cfg, { local, timeoutSeconds: settings.secretTimeoutSeconds, redactor: reporter.redactor });
  teachRedactor(reporter, cfg);
  for (const w of cfg.warnings) reporter.warn(w);
  const release = buildRelease(cfg, settings, env, await readGit(settings.context, local), new Date());
  if (release.tagSource === 'placeholder') reporter.warn(`${settings.context} is not a git repository and no --tag (DEPLOY_TAG) was given: the next release's tag is a placeholder`);
  const session = await ManagerSession.connect(sshTargets({ cfg }), sessionOptions(cfg, settings));
  const ctx: Ctx = { cfg, settings, release, reporter, local, interrupt: new Interrupt(), state: new RunState(), session, store: new SwarmStore(session, release.stackName, (w) => reporter.warn(w)) };
  try {
    const serving = await readKnownGood(ctx);
    const running = serving ? Object.fromEntries((await readStack(ctx)).services.map((s) => [s.name, s.specDigest ? `${s.specImage}@${s.specDigest}` : s.specImage])) : {};
    const next = await comparableNext(cfg, release, serving);
    const side = (r: { deployId: string; tag: string; stackFile?: string; envFile?: string; secretHashes?: Record<string, string>; withheld?: string[] }): Side => ({
      deployId: r.deployId, tag: r.tag, stackFile: r.stackFile ?? '', envFile: r.envFile ?? '', secretHashes: r.secretHashes, withheld: r.withheld,
    });
    const d = releaseDiff(serving ? side(servingComparable(serving)) : undefined, side(next), release.stackName, cfg.secrets.map((s) => ({ key: s.key, file: s.file })), running);
    if (flags.json) process.stdout.write(`${reporter.redactor.redact(JSON.stringify(d, null, 2))}\n`);
    else reporter.lines(diffLines(d));
    const count = d.services.filter((s) => s.status !== 'same').length;
    const secrets = d.secrets.filter((s) => s.status === 'changed' || s.status === 'added').length;
    const text = !serving
      ? `no release is serving: everything is new; nothing was changed`
      : d.changed
        ? `${count} service(s), ${secrets} secret file(s)${d.stackDiff ? ' and the stack file' : ''} differ from the serving release ${serving.deployId}; nothing was changed`
        : `no difference from the serving release ${serving.deployId}; nothing was changed`;
    const code = flags.exitCode && d.changed ? 1 : EXIT.ok;
    return { exitCode: code, finalLine: finalLine(code, text, code === 1 ? 'differs' : undefined) };
  } finally {
    session.close();
  }
}

/**
 * The serving record as `diff` compares it: its digests (or, in a record of an earlier version, its plain hashes)
 * as the secrets' values, each withheld prod.env value as its digest.
 */
function servingComparable(serving: ReleaseRecord): ReleaseRecord {
  const d = serving.secretDigests;
  if (!d) return serving;
  const env = parseEnvFile(serving.envFile ?? '');
  for (const k of serving.withheld ?? []) env[k] = d.values[`env:${k}`] ?? '';
  return { ...serving, envFile: dockerEnvFile(env), secretHashes: Object.fromEntries(Object.entries(d.values).filter(([k]) => !k.startsWith('env:'))) };
}

/** The next release with its secrets digested as the serving record's were (its salt), so equal values compare equal. */
async function comparableNext(cfg: Config, release: Release, serving: ReleaseRecord | undefined): Promise<ReleaseRecord> {
  const record = releaseRecord(release);
  if (serving?.secretDigests) {
    const withheld = [...new Set([...release.withheld, ...(serving.withheld ?? [])])];
    const digests = await digestSecrets(digestInputs(cfg.secrets, cfg.prodEnv, withheld), serving.secretDigests.salt);
    const env = parseEnvFile(release.envFile);
    for (const k of withheld) if (k in env) env[k] = digests.values[`env:${k}`]!;
    return { ...record, withheld, envFile: dockerEnvFile(env), secretHashes: Object.fromEntries(cfg.secrets.map((s) => [s.key, digests.values[s.key]!])) };
  }
  // a serving record of an earlier version kept plain hashes: compared in memory, never written anywhere
  if (serving?.secretHashes) return { ...record, envFile: release.envFile, secretHashes: Object.fromEntries(cfg.secrets.map((s) => [s.key, crypto.createHash('sha256').update(s.data).digest('hex')])) };
  return record;
}
