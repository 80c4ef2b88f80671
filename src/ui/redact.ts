/**
 * Replaces every known secret value with [redacted]. Built from the secret files, the registry token and
 * the secret-looking values of prod.env; applied to everything the tool prints.
 */
export class Redactor {
  private needles: string[] = [];

  add(value: string | Buffer | undefined): void {
    if (value === undefined) return;
    const text = Buffer.isBuffer(value) ? value.toString('utf8') : value;
    const candidates = [text, text.trim(), ...text.split(/\r?\n/).map((l) => l.trim())];
    for (const c of candidates) {
      // short fragments (e.g. a PEM "-----END" line) would redact ordinary text
      if (c.length >= 6 && !/^-----(BEGIN|END) [A-Z ]+-----$/.test(c) && !this.needles.includes(c)) this.needles.push(c);
    }
    this.needles.sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const n of this.needles) if (out.includes(n)) out = out.split(n).join('[redacted]');
    return out;
  }
}

const SECRET_KEY_NAME = /(PASSWORD|SECRET|TOKEN|APP_KEY|PRIVATE|CREDENTIAL)/i;

export function isSecretSetting(key: string): boolean {
  return SECRET_KEY_NAME.test(key);
}
