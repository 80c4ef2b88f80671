/**
 * A stand-in for `docker config` that keeps objects by name exactly as swarm does (a name that exists cannot be
 * created again; every write takes the next Raft index): the command values the swarm store builds are what it
 * interprets. `failAfter`: the number of creates that succeed before every later one fails as a lost manager would.
 */
import type { Command } from '../../src/commands/command.js';
import { STACK_LABEL } from '../../src/commands/secrets.js';
import { ID_LABEL } from '../../src/commands/store.js';
import type { RunResult } from '../../src/io/runner.js';

export class FakeConfigs {
  objects = new Map<string, { labels: Record<string, string>; data: string; seq: number }>();
  calls: string[][] = [];
  failAfter?: number;
  /** swarm's Raft index: every write takes the next one */
  private index = 100;
  put(name: string, labels: Record<string, string>, data: string): void {
    this.objects.set(name, { labels, data, seq: (this.index += 3) });
  }
  async run(c: Command): Promise<RunResult> {
    this.calls.push([...c.argv]);
    const a = c.argv;
    const ok = (stdout = ''): RunResult => ({ exitCode: 0, stdout, stderr: '' });
    const spec = (name: string) => `${this.objects.get(name)!.seq} ${JSON.stringify({ Name: name, Labels: this.objects.get(name)!.labels, Data: Buffer.from(this.objects.get(name)!.data).toString('base64') })}`;
    if (a[0] === 'docker' && a[2] === 'create') {
      if (this.failAfter !== undefined && this.failAfter-- <= 0) return { exitCode: 1, stdout: '', stderr: 'Error response from daemon: rpc error: code = Unknown desc = The swarm does not have a leader.' };
      const labels: Record<string, string> = {};
      for (let i = 3; i < a.length - 2; i += 2) {
        const [k, ...v] = a[i + 1]!.split('=');
        labels[k!] = v.join('=');
      }
      const name = a.at(-2)!;
      if (this.objects.has(name)) return { exitCode: 1, stdout: '', stderr: `Error response from daemon: rpc error: code = AlreadyExists desc = config ${name} already exists` };
      this.put(name, labels, String(c.stdin!.data));
      return ok(`${name}\n`);
    }
    if (a[0] === 'docker' && a[2] === 'inspect') {
      const name = a.at(-1)!;
      return this.objects.has(name) ? ok(`${spec(name)}\n`) : { exitCode: 1, stdout: '', stderr: `Error: No such config: ${name}` };
    }
    if (a[0] === 'docker' && a[2] === 'rm') {
      const missing = a.slice(3).filter((n) => !this.objects.has(n));
      for (const n of a.slice(3)) this.objects.delete(n);
      return missing.length ? { exitCode: 1, stdout: '', stderr: `Error: No such config: ${missing[0]}` } : ok();
    }
    if (a[0] === 'docker' && a[2] === 'ls') {
      const want = a.filter((x, i) => a[i - 1] === '--filter').map((f) => f.replace(/^label=/, '').split('='));
      return ok([...this.objects.keys()].filter((n) => want.every(([k, v]) => this.objects.get(n)!.labels[k!] === v)).map((n) => `${n}\n`).join(''));
    }
    if (a[0] === 'sh' && a[4] === STACK_LABEL) {
      const [, , script, , , stack, kindLabel, kind] = a;
      const names = [...this.objects.keys()].filter((n) => this.objects.get(n)!.labels[STACK_LABEL] === stack && (!kind || this.objects.get(n)!.labels[kindLabel!] === kind));
      // swarm lists configs in no particular order: the index is what orders them
      names.reverse();
      if (script!.includes('{{.Spec.Name}}')) return ok(names.map((n) => `${this.objects.get(n)!.seq} ${n}\n`).join(''));
      return ok(names.map((n) => `${spec(n)}\n`).join(''));
    }
    if (a[0] === 'sh' && a[5] === ID_LABEL) {
      const [, , , , name, label, id] = a;
      const o = this.objects.get(name!);
      if (o && o.labels[label!] === id) this.objects.delete(name!);
      return ok();
    }
    throw new Error(`unexpected command ${a.join(' ')}`);
  }
}

