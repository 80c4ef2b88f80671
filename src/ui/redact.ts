
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
    // the same secret as it appears inside JSON (the plan's --json, audit lines): quotes and backslashes escaped;
    // and as Go's encoding/json writes it (a Go service's log lines): <, >, & and U+2028/9 as \u escapes too
    const json = forms.map((f) => JSON.stringify(f).slice(1, -1));
    const goJson = json.map((f) => f.replace(/&/g, '\\u0026').replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029'));
    const candidates = [...forms, ...json, ...goJson];
    for (const c of candidates) {
      // short fragments (e.g. a PEM "-----END" line) would redact ordinary text
      if (c.length >= MIN_REDACTED_LENGTH && !/^-----(BEGIN|END) [A-Z ]+-----$/.test(c) && !this.needles.includes(c)) this.needles.push(c);
    }
    this.needles.sort((a, b) => b.length - a.length);
  }

  /**
   * Every place any secret stands in the text, found in the original text, overlapping places merged, each
   * merged stretch replaced once: two secrets that overlap are redacted whole, not one of them in part.
   */
  redact(text: string): string {
    const spans: Array<[number, number]> = [];
    for (const n of this.needles) {
      for (let at = text.indexOf(n); at !== -1; at = text.indexOf(n, at + 1)) spans.push([at, at + n.length]);
    }
    if (!spans.length) return text;
    spans.sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const sp of spans) {
      const last = merged.at(-1);
      if (last && sp[0] <= last[1]) last[1] = Math.max(last[1], sp[1]);
      else merged.push([sp[0], sp[1]]);
    }
    let out = '';
    let from = 0;
    for (const [a, b] of merged) {
      out += `${text.slice(from, a)}[redacted]`;
      from = b;
    }
    return out + text.slice(from);
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

/** scheme://user:password@ — the credentials part of a URL, wherever it stands in a value. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^/\s:@?#]*)(?::([^/\s@?#]*))?@/gi;

/**
 * A value as it may be shown: the password of every URL in it (or the user part when it stands alone, a token)
 * replaced with [redacted] — `redis://:OldPass@cache:6379/0` shows as `redis://:[redacted]@cache:6379/0`.
 */
export function maskUrlCredentials(value: string): string {
  return value.replace(URL_CREDENTIALS, (_all, scheme: string, user: string, password: string | undefined) =>
    password !== undefined ? `${scheme}${user}:${password ? '[redacted]' : ''}@` : user ? `${scheme}[redacted]@` : `${scheme}@`,
  );
}

/** prod.env keys whose names say they hold a secret: redacted like the secret files (and refused when too short). */
const SECRET_KEY_NAME = /(PASSWORD|PASSWD|_PASS|SECRET|TOKEN|_KEY$|APP_KEY|API_KEY|PRIVATE|CREDENTIAL|_DSN$|^DSN$|^DATABASE_URL$)/i;

export function isSecretSetting(key: string): boolean {
  return SECRET_KEY_NAME.test(key);
}

/** A prod.env value that is a secret: its key's name says so, or it holds a URL's password. */
export function isSecretValue(key: string, value: string): boolean {
  return isSecretSetting(key) || urlCredentials(value, 'secret').length > 0;
}
