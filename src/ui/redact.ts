import type { Config } from '../config/index.js';
import type { Reporter } from './reporter.js';

/**
 * Replaces every known secret value with [redacted]. Built from the secret files, the registry token and
 * the secret-looking values of prod.env; applied to everything the tool prints.
 */
export class Redactor {
  private needles: string[] = [];

  add(value: string | Buffer | undefined): void {
    if (value === undefined) return;
    const text = Buffer.isBuffer(value) ? value.toString('utf8') : value;
    const forms = [text, text.trim(), ...text.split(/\r?\n/).map((l) => l.trim())];
    // the same secret as it appears inside JSON (the plan's --json, audit lines): quotes and backslashes escaped
    const candidates = [...forms, ...forms.map((f) => JSON.stringify(f).slice(1, -1))];
    for (const c of candidates) {
      // short fragments (e.g. a PEM "-----END" line) would redact ordinary text
      if (c.length >= MIN_REDACTED_LENGTH && !/^-----(BEGIN|END) [A-Z ]+-----$/.test(c) && !this.needles.includes(c)) this.needles.push(c);
    }
    this.needles.sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const n of this.needles) if (out.includes(n)) out = out.split(n).join('[redacted]');
    return out;
  }
}

/** Shorter values cannot be told from ordinary text, so they are not redacted: secrets that short are refused. */
export const MIN_REDACTED_LENGTH = 6;

/** Every form of a URL's credentials that may be printed: raw (percent-encoded) and decoded, user and password. */
export function urlCredentials(url: string | undefined, only?: 'secret'): string[] {
  if (!url) return [];
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [];
  }
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  // with `only: 'secret'`: the password, or the user part when it stands alone (a token)
  const parts = only === 'secret' ? [u.password || u.username] : [u.username, u.password];
  return parts.filter(Boolean).flatMap((s) => [s, decode(s)]);
}

const SECRET_KEY_NAME = /(PASSWORD|SECRET|TOKEN|APP_KEY|PRIVATE|CREDENTIAL)/i;

export function isSecretSetting(key: string): boolean {
  return SECRET_KEY_NAME.test(key);
}

/** Every secret value of the deploy dir: redacted from whatever the tool prints (log lines included). */
export function teachRedactor(reporter: Reporter, cfg: Config): void {
  for (const s of cfg.secrets) reporter.redactor.add(s.data);
  reporter.redactor.add(cfg.registry.REGISTRY_TOKEN);
  for (const c of urlCredentials(cfg.cluster.DEPLOY_HEALTHCHECK_URL)) reporter.redactor.add(c);
  for (const [k, v] of Object.entries(cfg.prodEnv)) if (isSecretSetting(k)) reporter.redactor.add(v);
}
