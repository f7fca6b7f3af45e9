/**
 * Prompts for `login` over one stdin reader: visible lines (URL, y/N) and a secret line (the key) that is
 * never echoed — raw-mode TTY reading char by char; when stdin is not a terminal, the next line is taken
 * as is (so scripted input works and nothing is echoed either). Prompts go to stderr, keeping stdout clean.
 */
import { WorkerError } from '../core/errors';

export class Prompter {
  private buf = '';
  private ended = false;
  private started = false;
  private wake: (() => void) | null = null;
  private readonly onData = (chunk: Buffer | string): void => {
    this.buf += chunk.toString();
    this.notify();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    this.notify();
  };

  constructor(
    private readonly input: NodeJS.ReadStream = process.stdin,
    private readonly output: NodeJS.WritableStream = process.stderr,
  ) {}

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private begin(): void {
    if (this.started) return;
    this.started = true;
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    this.input.on('error', this.onEnd);
  }

  private async more(): Promise<void> {
    this.input.resume();
    await new Promise<void>((resolve) => (this.wake = resolve));
  }

  /** A visible line; `null` at end of input. */
  async line(prompt: string): Promise<string | null> {
    this.begin();
    this.output.write(prompt);
    try {
      return await this.takeLine();
    } finally {
      // Piped input is not echoed by a terminal: end the prompt line ourselves.
      if (!this.input.isTTY) this.output.write('\n');
    }
  }

  private async takeLine(): Promise<string | null> {
    for (;;) {
      const nl = this.buf.indexOf('\n');
      if (nl >= 0) {
        const out = this.buf.slice(0, nl).replace(/\r$/, '');
        this.buf = this.buf.slice(nl + 1);
        this.input.pause();
        return out;
      }
      if (this.ended) {
        const out = this.buf;
        this.buf = '';
        return out === '' ? null : out;
      }
      await this.more();
    }
  }

  /** A line that is never echoed. */
  async secret(prompt: string): Promise<string | null> {
    if (!this.input.isTTY || typeof this.input.setRawMode !== 'function') return this.line(prompt);
    this.begin();
    // No echo before the prompt shows: keys typed (or pasted) the moment it appears must not reach the screen.
    this.input.setRawMode(true);
    this.output.write(prompt);
    let value = '';
    try {
      for (;;) {
        while (this.buf.length > 0) {
          const ch = this.buf[0];
          this.buf = this.buf.slice(1);
          if (ch === '\r' || ch === '\n') return value;
          if (ch === '\u0003') throw new WorkerError('USAGE', 'login cancelled');
          if (ch === '\u0004') {
            if (value === '') return null;
            return value;
          }
          if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
          else if (ch >= ' ') value += ch;
        }
        if (this.ended) return value === '' ? null : value;
        await this.more();
      }
    } finally {
      this.input.setRawMode(false);
      this.input.pause();
      this.output.write('\n');
    }
  }

  /** y/N; anything but y/yes is No. */
  async confirm(prompt: string): Promise<boolean> {
    const answer = await this.line(prompt);
    return answer !== null && /^(y|yes)$/i.test(answer.trim());
  }

  close(): void {
    if (!this.started) return;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('error', this.onEnd);
    this.input.pause();
  }
}

/** All of stdin (for `--api-key-stdin`), bounded so a runaway pipe cannot eat memory. */
export async function readAllStdin(input: NodeJS.ReadStream = process.stdin, limit = 64 * 1024): Promise<string> {
  let out = '';
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    out += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (out.length > limit) throw new WorkerError('USAGE', 'stdin is too long for an API key');
  }
  return out;
}
