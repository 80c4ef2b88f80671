import { looseObject, optional as zOptional, output, pipe, string, strictObject, transform, NEVER } from 'zod/mini';

/**
 * The shape of each env file. Every field parses from the text dotenv produced (or undefined when unset)
 * and its message says what is wrong and what to do; `formatProblems` adds `FILE: KEY: ` in front.
 */
type Check<T> = (value: string | undefined) => T | Problem;

export class Problem {
  constructor(readonly message: string) {}
}

/** Values are echoed in messages to help; credentials inside them (scheme://user:pass@host) never are. */
export function shownValue(v: string): string {
  return v.replace(/([a-z][a-z0-9+.-]*:\/\/)?[^\s/@]+@/i, (_m, scheme: string | undefined) => `${scheme ?? ''}[redacted]@`);
}

function field<T>(check: Check<T>) {
  return pipe(
    zOptional(string()),
    transform((value: string | undefined, ctx) => {
      const result = check(value);
      if (result instanceof Problem) {
        ctx.issues.push({ code: 'custom', message: result.message, input: value });
        return NEVER as T;
      }
      return result;
    }),
  );
}

export const NOT_SET = 'is not set';
export const MANAGER_USER_HINT = 'set it to the SSH user on the manager (in the docker group)';

export function required(hint: string) {
  return field((v) => (v === undefined ? new Problem(`${NOT_SET} — ${hint}`) : v));
}

export function optional() {
  return field((v) => v);
}

function wholeNumber(v: string): number | undefined {
  return /^\d+$/.test(v) ? Number(v) : undefined;
}

export function port<F extends number | undefined>(fallback: F) {
  return field((v): number | F | Problem => {
    if (v === undefined) return fallback;
    const n = wholeNumber(v);
    return n !== undefined && n >= 1 && n <= 65535 ? n : new Problem(`"${v}" is not a port — use a whole number from 1 to 65535`);
  });
}

export function replicas(fallback: number) {
  return field((v) => {
    if (v === undefined) return fallback;
    const n = wholeNumber(v);
    return n !== undefined ? n : new Problem(`"${v}" is not a replica count — use a whole number, 0 or more`);
  });
}

export function seconds(fallback: number) {
  return field((v) => {
    if (v === undefined) return fallback;
    const n = wholeNumber(v);
    return n !== undefined && n > 0 ? n : new Problem(`"${v}" is not a timeout — use a whole number of seconds greater than 0`);
  });
}

export function count(fallback: number | undefined, what: string) {
  return field((v) => {
    if (v === undefined) return fallback;
    const n = wholeNumber(v);
    return n !== undefined && n > 0 ? n : new Problem(`"${v}" is not a valid ${what} — use a whole number greater than 0`);
  });
}

export function httpUrl() {
  return field((v) => {
    if (v === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      return new Problem(`"${shownValue(v)}" is not a URL — use a full http(s) URL such as https://api.example.com/api/health/`);
    }
    return url.protocol === 'http:' || url.protocol === 'https:'
      ? v
      : new Problem(`"${shownValue(v)}" is not an http(s) URL — use a full http(s) URL such as https://api.example.com/api/health/`);
  });
}

export function pattern(re: RegExp, fallback: string | undefined, rule: string) {
  return field((v) => {
    if (v === undefined) return fallback;
    return re.test(v) ? v : new Problem(`"${shownValue(v)}" ${rule}`);
  });
}

/** Go's time.ParseDuration units, e.g. 600s, 10m, 1h30m. */
export function goDuration(fallback: string) {
  return pattern(/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/, fallback, 'is not a duration — write it like 600s, 10m or 1h30m');
}

/** An image reference: [registry/]name[:tag][@sha256:digest]. */
const IMAGE_REF = /^[a-z0-9]+([._:\/-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
const IMAGE_RULE = 'is not an image reference — write it like redis:7-alpine, mirror.example.com/redis:7-alpine or redis@sha256:<digest>';

export const SSL_MODES_ALLOWED = ['require', 'verify-ca', 'verify-full'] as const;

export const clusterSchema = strictObject({
  DEPLOY_MANAGER_HOST: required("set it to the manager's host name, IP or ~/.ssh/config alias"),
  // required unless an ~/.ssh/config alias gives a User: see rules.ts managerUser
  DEPLOY_MANAGER_USER: optional(),
  // unset: ~/.ssh/config's Port for an alias, else 22 (resolved when connecting)
  DEPLOY_MANAGER_SSH_PORT: port(undefined),
  DEPLOY_SSH_KEY: optional(),
  DEPLOY_KNOWN_HOSTS: optional(),
  // like ssh -F: the ssh config file to resolve the managers and jump hosts with, instead of ~/.ssh/config
  DEPLOY_SSH_CONFIG: optional(),
  // jump hosts like ssh -J: [user@]host[:port], comma-separated; wins over ~/.ssh/config's ProxyJump
  // session channels open at once on the run's one connection (commands, SFTP): below the managers' sshd MaxSessions
  DEPLOY_SSH_MAX_CHANNELS: count(4, 'number of SSH channels'),
  DEPLOY_SSH_JUMP: pattern(
    /^(none|((ssh:\/\/)?([^@\s:/,]+@)?(\[[0-9a-fA-F:.]+\]|[^@\s:/,[\]]+)(:\d{1,5})?)(,(ssh:\/\/)?([^@\s:/,]+@)?(\[[0-9a-fA-F:.]+\]|[^@\s:/,[\]]+)(:\d{1,5})?)*)$/,
    undefined,
    'is not a list of jump hosts — write [user@]host[:port], several separated by commas (as for ssh -J), or none',
  ),
  DEPLOY_STACK_NAME: pattern(/^[a-z0-9][a-z0-9_-]{0,29}$/, 'honeydue', 'is not a stack name — use up to 30 lowercase letters, digits, _ or -, starting with a letter or digit'),
  // `~` would mean the home folder in a person's shell but a folder named ~ to the tool: one meaning only, so refused
  // and not `/` (or `//`): the working folder must be a folder of its own, whose old release folders may be removed
  DEPLOY_REMOTE_DIR: pattern(/^(?!~)(?!\/+$)[^\n\r\0]+$/, undefined, 'is not a usable path — write a folder on the manager on one line, relative to the deploy user\'s home (e.g. honeydue-deploy/honeydue) or absolute; not starting with ~, and not / itself'),
  API_REPLICAS: replicas(3),
  WORKER_REPLICAS: replicas(1),
  ADMIN_REPLICAS: replicas(1),
  DEPLOY_HEALTHCHECK_URL: httpUrl(),
  DEPLOY_HEALTHCHECK_EXPECT: optional(),
  DOZZLE_PORT: port(9999),
  // teams pin a digest or use a mirror; the defaults are the references the stack was written for
  REDIS_IMAGE: pattern(IMAGE_REF, 'redis:7-alpine', IMAGE_RULE),
  DOZZLE_IMAGE: pattern(IMAGE_REF, 'amir20/dozzle:v8.12.4', IMAGE_RULE),
  DEPLOY_CONVERGE_TIMEOUT: seconds(300),
  // a leader change or a node that has just rejoined: how long placement waits for the swarm's view of its nodes to settle
  DEPLOY_SETTLE_TIMEOUT: seconds(60),
  // requests per second to the health URL while the stack is updated or rolled back (0: not watched)
  DEPLOY_WATCH_RATE: field((v) => {
    if (v === undefined) return 4;
    const n = wholeNumber(v);
    return n !== undefined && n <= 20 ? n : new Problem(`"${v}" is not a rate — use a whole number of requests per second from 0 (not watched) to 20`);
  }),
  // release folders kept on the manager (what `releases` lists and `rollback DEPLOY_ID` can go back to)
  DEPLOY_KEEP_RELEASES: count(5, 'number of releases to keep'),
  DEPLOY_HEALTHCHECK_TIMEOUT: seconds(120),
  // the pre-deploy job: a command for the new api image (replacing its CMD, as compose's command: does); empty: none
  DEPLOY_MIGRATE_COMMAND: optional(),
  DEPLOY_MIGRATE_TIMEOUT: seconds(600),
  // each hook of <deploy dir>/hooks/ is stopped after this many seconds
  DEPLOY_HOOK_TIMEOUT: seconds(120),
});

export const registrySchema = strictObject({
  REGISTRY: pipe(
    pattern(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/, undefined, 'is not a registry host — write host[:port] without a scheme or path, e.g. registry.example.com or 127.0.0.1:5000'),
    string({ error: `${NOT_SET} — set it to the registry host[:port], e.g. registry.example.com` }),
  ),
  REGISTRY_NAMESPACE: pattern(/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/, undefined, 'is not a registry namespace — use lowercase path components such as myteam or org/team'),
  REGISTRY_USERNAME: required('set it to the registry user that may push and pull'),
  // never echo the token's value: a bad token is only ever reported as unset or refused by the registry
  REGISTRY_TOKEN: required('set it to a registry token with push and pull rights'),
});

/** prod.env is passed to the containers whole; only the keys the tool reasons about are checked. */
export const prodSchema = looseObject({
  DB_HOST: required('set it to the Postgres host (e.g. the Neon endpoint)'),
  DB_PORT: port(5432),
  DB_NAME: required('set it to the database name'),
  DB_USER: required('set it to the database user'),
  DB_SSLMODE: field((v) => {
    if (v === undefined) return new Problem(`${NOT_SET} — set it to require (Neon), verify-ca or verify-full; never leave the database connection unencrypted`);
    if (v === 'disable' || v === 'allow' || v === 'prefer')
      return new Problem(`"${v}" lets the database connection fall back to plain text — use require (Neon) or verify-full`);
    return (SSL_MODES_ALLOWED as readonly string[]).includes(v) ? v : new Problem(`"${v}" is not an sslmode — use require, verify-ca or verify-full`);
  }),
  DB_MAX_OPEN_CONNS: count(25, 'connection count'),
  DB_MAX_IDLE_CONNS: count(10, 'connection count'),
  DB_MAX_LIFETIME: goDuration('600s'),
  DB_CONNECTION_LIMIT: count(undefined, 'connection limit'),
  B2_ENDPOINT: field((v) => {
    if (v === undefined) return undefined;
    let url: URL | undefined;
    try {
      url = new URL(v);
    } catch {
      url = undefined;
    }
    return url?.protocol === 'https:' ? v : new Problem(`"${shownValue(v)}" is not an https URL — uploads must travel encrypted: use the https endpoint, e.g. https://s3.eu-central-003.backblazeb2.com`);
  }),
  B2_KEY_ID: optional(),
  B2_APP_KEY: optional(),
  B2_BUCKET_NAME: optional(),
  EMAIL_HOST: required('set it to the SMTP host'),
  EMAIL_PORT: port(587),
  EMAIL_HOST_USER: required('set it to the SMTP user'),
  DEFAULT_FROM_EMAIL: required('set it to the From address of outgoing mail'),
  APNS_KEY_ID: required('set it to the APNS key id from the Apple developer account'),
  APNS_TEAM_ID: required('set it to the Apple team id'),
  APNS_TOPIC: required("set it to the iOS app's bundle id"),
});

export type ClusterConfig = output<typeof clusterSchema>;
export type RegistryConfig = output<typeof registrySchema>;
export type ProdConfig = output<typeof prodSchema>;
