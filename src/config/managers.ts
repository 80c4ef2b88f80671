/**
 * DEPLOY_MANAGER_HOST: one manager or several, comma-separated, tried in order. Each entry is `host`,
 * `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address (no port then), and may be an ~/.ssh/config alias.
 */
export interface ManagerEntry {
  /** as written: a host name, an address or an ~/.ssh/config alias */
  host: string;
  /** given in the entry; otherwise DEPLOY_MANAGER_SSH_PORT, ~/.ssh/config's Port, or 22 */
  port?: number;
}

const HOST = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const V6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/;

function parseEntry(raw: string): ManagerEntry | string {
  const e = raw.trim();
  if (!e) return 'an empty entry (two commas, or a comma at an end)';
  // a URL or user@host, as ssh takes them: said plainly, with what to write instead
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(e);
  if (scheme) return `"${e}" is a URL (${scheme[1]}://) — write the host alone (host or host:port); the user goes in DEPLOY_MANAGER_USER`;
  if (e.includes('@')) return `"${e}" names a user — write the host alone (host or host:port); the user goes in DEPLOY_MANAGER_USER`;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(e);
  let host: string;
  let port: string | undefined;
  if (bracket) {
    host = bracket[1]!;
    port = bracket[2];
    if (!V6.test(host) || !host.includes(':')) return `"${e}" is not [IPv6 address]:port`;
  } else if ((e.match(/:/g) ?? []).length > 1) {
    if (!V6.test(e)) return `"${e}" is not an IPv6 address`;
    host = e;
  } else {
    [host, port] = e.split(':') as [string, string | undefined];
    if (!HOST.test(host)) return `"${e}" is not a host name, address or ssh alias`;
  }
  if (port !== undefined) {
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return `"${e}": ${port} is not a port (1-65535)`;
    return { host, port: Number(port) };
  }
  return { host };
}

/** The entries in order, or the problems (each names the entry and what is wrong). Duplicates are refused. */
export function parseManagerList(text: string): { entries: ManagerEntry[]; problems: string[] } {
  const entries: ManagerEntry[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const raw of text.split(',')) {
    const r = parseEntry(raw);
    if (typeof r === 'string') {
      problems.push(r);
      continue;
    }
    const key = `${r.host}:${r.port ?? ''}`;
    if (seen.has(key)) problems.push(`"${raw.trim()}" is listed twice`);
    seen.add(key);
    entries.push(r);
  }
  return { entries, problems };
}

/** How an entry is written in messages and the plan. */
export function showEntry(e: ManagerEntry): string {
  const host = e.host.includes(':') ? `[${e.host}]` : e.host;
  return e.port === undefined ? host : `${host}:${e.port}`;
}
