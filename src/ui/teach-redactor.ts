/** What the redactor must know of a deploy dir: every secret value in it, and every URL credential of prod.env. */
import type { Config } from '../config/index.js';
import { isSecretSetting, urlCredentials } from './redact.js';
import type { Reporter } from './reporter.js';
import { REFERENCE_STANDIN } from '../secrets/references.js';

/** Every secret value of the deploy dir: redacted from whatever the tool prints (log lines included). */
export function teachRedactor(reporter: Reporter, cfg: Config): void {
  // a value from secrets.env is learnt once it is fetched (secrets/resolve.ts teaches it then); its stand-in is none
  const known = (v: string | Buffer | undefined) => v !== undefined && String(v) !== REFERENCE_STANDIN;
  for (const s of cfg.secrets) if (known(s.data)) reporter.redactor.add(s.data);
  if (known(cfg.registry.REGISTRY_TOKEN)) reporter.redactor.add(cfg.registry.REGISTRY_TOKEN);
  for (const c of urlCredentials(cfg.cluster.DEPLOY_HEALTHCHECK_URL)) reporter.redactor.add(c);
  for (const [k, v] of Object.entries(cfg.prodEnv)) {
    if (!known(v)) continue;
    if (isSecretSetting(k)) reporter.redactor.add(v);
    // a password inside any URL value (CACHE_URL=redis://:pass@cache:6379/0), whatever the key is called
    for (const c of urlCredentials(v, 'secret')) reporter.redactor.add(c);
  }
}
