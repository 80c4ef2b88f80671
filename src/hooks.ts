/**
 * Hooks: executables in <deploy dir>/hooks/, run on the laptop around a deploy or a rollback (Slack messages,
 * checks, a named incident owner). A failing pre- hook stops the run before anything on the cluster is touched
 * (exit 2); a failing post- hook is a warning and never changes the outcome. The environment a hook gets is the
 * operator's own, minus any variable holding one of the deploy's secret values, plus HONEYDUE_* describing the run.
 */
import { operatorName } from './audit.js';
import type { Command } from './commands/command.js';
import type { LocalRunner } from './io/local.js';
import type { Outcome } from './outcome.js';
import type { Redactor } from './ui/redact.js';
import { HOOK_WHEN, type Hook, type HookName } from './config/hook-files.js';

export { findHooks, HOOK_NAMES, HOOK_WHEN, HOOKS_DIR, type Hook, type HookName } from './config/hook-files.js';

/** What a hook is told about the run. */
export interface HookRun {
  command: 'deploy' | 'rollback';
  stack: string;
  deployId: string;
  tag: string;
  manager: string;
  deployDir: string;
  /** the known-good release before the run, when known */
  previousId?: string;
  /** post- hooks: how the run ended */
  outcome?: Outcome;
  exitCode?: number;
  /** post- hooks: the result in words, and the deploy id serving when known */
  serving?: string;
  servingId?: string;
}

/** The HONEYDUE_* variables, documented in README ("Hooks"). */
export function hookVariables(name: HookName, r: HookRun): Record<string, string> {
  const v: Record<string, string> = {
    HONEYDUE_HOOK: name,
    HONEYDUE_COMMAND: r.command,
    HONEYDUE_STACK: r.stack,
    HONEYDUE_DEPLOY_ID: r.deployId,
    HONEYDUE_TAG: r.tag,
    HONEYDUE_PERFORMER: operatorName(),
    HONEYDUE_MANAGER: r.manager,
    HONEYDUE_DEPLOY_DIR: r.deployDir,
    HONEYDUE_PREVIOUS_ID: r.previousId ?? '',
  };
  if (name.startsWith('post-')) {
    v.HONEYDUE_OUTCOME = r.outcome ?? '';
    v.HONEYDUE_EXIT_CODE = r.exitCode === undefined ? '' : String(r.exitCode);
    v.HONEYDUE_SERVING = r.serving ?? '';
    v.HONEYDUE_SERVING_ID = r.servingId ?? '';
  }
  return v;
}

/** The operator's environment without anything that holds a secret of the deploy, plus the hook's variables. */
export function hookEnvironment(base: NodeJS.ProcessEnv, redactor: Redactor, vars: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v === undefined || k.startsWith('HONEYDUE_')) continue;
    if (redactor.redact(v) !== v || redactor.redact(`${k}=${v}`) !== `${k}=${v}`) continue;
    env[k] = v;
  }
  return { ...env, ...vars };
}

export function hookCommand(hook: Hook, deployDir: string): Command {
  return { where: 'local', argv: [hook.path], cwd: deployDir };
}

export interface HookResult {
  ok: boolean;
  /** why it failed: its exit code or the timeout, with its last lines */
  why?: string;
}

/** Runs one hook: its output goes to `print` line by line (redacted there), stopped after `timeoutSeconds`. */
export async function runHook(hook: Hook, o: { local: LocalRunner; deployDir: string; env: Record<string, string>; timeoutSeconds: number; print: (line: string) => void; cancel?: AbortSignal }): Promise<HookResult> {
  const lines: string[] = [];
  const r = await o.local.run(hookCommand(hook, o.deployDir), {
    env: o.env,
    timeoutMs: o.timeoutSeconds * 1000,
    cancel: o.cancel,
    onLine: (l) => {
      lines.push(l);
      o.print(`${hook.name}: ${l}`);
    },
  });
  if (r.exitCode === 0 && !r.timedOut) return { ok: true };
  const last = lines.slice(-5).join(' | ');
  const how = r.timedOut ? `did not finish within ${o.timeoutSeconds}s (DEPLOY_HOOK_TIMEOUT) and was stopped` : r.exitCode === 127 && !lines.length ? `could not be started: ${r.stderr.trim().split('\n').pop()}` : `exited with ${r.exitCode}`;
  return { ok: false, why: `the ${hook.name} hook (${hook.path}) ${how}${last ? `; its last lines: ${last}` : ''}` };
}

/** `init`'s samples: commented, not executable (rename without .sample and chmod +x to use one). */
export function hookSample(name: HookName): string {
  const lines = [
    '#!/bin/sh',
    `# honeydue-deploy ${name} hook — runs on this machine ${HOOK_WHEN[name]}.`,
    `# To use it: rename this file to ${name} (without .sample) and chmod +x it. Stopped after DEPLOY_HOOK_TIMEOUT seconds.`,
    '# It gets your environment (without any variable that holds one of the deploy\'s secret values) and:',
    '#   HONEYDUE_HOOK HONEYDUE_COMMAND HONEYDUE_STACK HONEYDUE_DEPLOY_ID HONEYDUE_TAG HONEYDUE_PERFORMER',
    '#   HONEYDUE_MANAGER HONEYDUE_DEPLOY_DIR HONEYDUE_PREVIOUS_ID',
    ...(name.startsWith('post-') ? ['#   HONEYDUE_OUTCOME HONEYDUE_EXIT_CODE HONEYDUE_SERVING HONEYDUE_SERVING_ID'] : []),
    '#',
    ...(name === 'pre-deploy'
      ? ['# Example: refuse deploys outside working hours, or name the incident owner.', '# [ -n "$INCIDENT_OWNER" ] || { echo "set INCIDENT_OWNER"; exit 1; }']
      : name === 'post-deploy'
        ? ['# Example: tell the team.', '# curl -fsS -X POST -H "Content-Type: application/json" \\', '#   -d "{\\"text\\": \\"$HONEYDUE_PERFORMER deployed $HONEYDUE_TAG: $HONEYDUE_OUTCOME\\"}" "$SLACK_WEBHOOK_URL"']
        : name === 'pre-rollback'
          ? ['# Example: say who rolls back.', '# echo "$HONEYDUE_PERFORMER rolls $HONEYDUE_STACK back to $HONEYDUE_DEPLOY_ID"']
          : ['# Example: tell the team what serves now.', '# echo "$HONEYDUE_STACK: $HONEYDUE_SERVING"']),
    'exit 0',
    '',
  ];
  return lines.join('\n');
}
