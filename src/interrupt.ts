import { Interrupted } from './errors.js';

/**
 * SIGINT/SIGTERM do not kill the run: they are recorded and honoured at the next safe point. The first one
 * stops the run (rolling back if needed); a second one skips waiting for the rollback to converge; cleanup
 * (logout, unlock) always runs.
 */
export class Interrupt {
  count = 0;
  signal?: string;
  private readonly controller = new AbortController();
  private listeners: Array<() => void> = [];

  /** aborted on the first signal: cancels local builds and pushes */
  get abortSignal(): AbortSignal {
    return this.controller.signal;
  }

  get requested(): boolean {
    return this.count > 0;
  }

  /** a second signal: stop waiting for anything that is not cleanup */
  get hurried(): boolean {
    return this.count > 1;
  }

  trigger(signal: string): void {
    this.count += 1;
    this.signal ??= signal;
    if (this.count === 1) this.controller.abort(new Interrupted(signal));
    for (const l of this.listeners) l();
  }

  onTrigger(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** a safe point: throw if a signal arrived */
  check(): void {
    if (this.requested) throw new Interrupted(this.signal ?? 'SIGINT');
  }

  /** sleep that ends early on a signal */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.onTrigger(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
