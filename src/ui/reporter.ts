import chalk from 'chalk';
import type { Ora } from 'ora';
import { Redactor } from './redact.js';

export interface StepHandle {
  /** progress text for the running step (spinner text on a TTY, a line per change otherwise) */
  progress(text: string): void;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Narrower than this (or a terminal that reports 0 columns, as `stty cols 0` and some CI shells do), a spinner cannot redraw itself: plain lines. */
export const MIN_SPINNER_COLUMNS = 20;

/** A spinner only on a real terminal of a usable width; CI and pipes get plain, greppable lines. */
export function spinnerFits(out: Pick<NodeJS.WriteStream, 'isTTY' | 'columns'>, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(out.isTTY) && env.CI !== 'true' && env.TERM !== 'dumb' && (out.columns ?? 0) >= MIN_SPINNER_COLUMNS;
}

/**
 * The only place that formats output. Everything passes through the redactor. On a TTY each step is an
 * ora spinner with its duration; otherwise (CI, pipes) plain, greppable lines.
 */
export class Reporter {
  readonly redactor: Redactor;
  private readonly tty: boolean;
  private spinner?: Ora;
  private lastProgress = '';

  constructor(
    private out: NodeJS.WriteStream = process.stdout,
    private readonly err: NodeJS.WriteStream = process.stderr,
    redactor = new Redactor(),
  ) {
    this.redactor = redactor;
    this.tty = spinnerFits(out);
  }

  /** With --json, stdout carries the JSON document alone: everything for people goes to stderr. */
  humanOutputToStderr(): void {
    this.out = this.err;
  }

  private write(stream: NodeJS.WriteStream, text: string): void {
    if (this.spinner?.isSpinning) this.spinner.clear();
    stream.write(`${this.redactor.redact(text)}\n`);
    if (this.spinner?.isSpinning) this.spinner.render();
  }

  line(text = ''): void {
    this.write(this.out, text);
  }

  /** Many lines (a plan) in one write. */
  lines(texts: readonly string[]): void {
    this.write(this.out, texts.join('\n'));
  }

  info(text: string): void {
    this.write(this.out, `    ${text}`);
  }

  warn(text: string): void {
    this.write(this.out, `${this.tty ? chalk.yellow('warning:') : 'warning:'} ${text}`);
  }

  error(text: string): void {
    this.write(this.err, this.tty ? chalk.red(text) : text);
  }

  heading(text: string): void {
    this.write(this.out, this.tty ? chalk.bold(text) : text);
  }

  async step<T>(title: string, fn: (h: StepHandle) => Promise<T>): Promise<T> {
    const started = Date.now();
    this.lastProgress = '';
    const handle: StepHandle = {
      progress: (text) => {
        const clean = this.redactor.redact(text);
        if (this.spinner) this.spinner.text = `${title} — ${clean}`;
        else if (clean !== this.lastProgress) this.out.write(`    ${clean}\n`);
        this.lastProgress = clean;
      },
    };
    if (this.tty) {
      const { default: ora } = await import('ora');
      this.spinner = ora({ text: title, stream: this.out }).start();
    }
    else this.out.write(`==> ${title}\n`);
    try {
      const result = await fn(handle);
      const took = seconds(Date.now() - started);
      if (this.spinner) this.spinner.succeed(`${title} ${chalk.dim(`(${took})`)}`);
      else this.out.write(`    ok (${took})\n`);
      return result;
    } catch (err) {
      const took = seconds(Date.now() - started);
      if (this.spinner) this.spinner.fail(`${title} ${chalk.dim(`(${took})`)}`);
      else this.out.write(`    FAILED (${took})\n`);
      throw err;
    } finally {
      this.spinner = undefined;
    }
  }
}
