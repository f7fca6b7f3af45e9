/**
 * A real terminal for tests: a tmux server on a private socket (`tmux -L <unique>`), one session running a
 * command in a pane of a fixed size, keys sent with `send-keys`, the screen read with `capture-pane` (with
 * `-e`: the SGR colour codes as the terminal holds them). Every wait is bounded; `kill()` ends the server.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { waitFor } from './process';

const run = promisify(execFile);
export const TMUX = process.env.TMUX_PATH ?? '/usr/bin/tmux';

export function tmuxAvailable(): boolean {
  return existsSync(TMUX);
}

let counter = 0;

export class Terminal {
  readonly socket = `bhw-test-${process.pid}-${++counter}`;
  private readonly session = 'tui';

  private async tmux(...args: string[]): Promise<string> {
    // An empty environment besides PATH/HOME: the server must not inherit the test runner's TMUX variable.
    const { stdout } = await run(TMUX, ['-L', this.socket, ...args], {
      timeout: 10_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', LANG: 'C.UTF-8' },
    });
    return stdout;
  }

  /** Starts `command` (one shell word list, run by tmux's shell) in a `columns`×`rows` pane. */
  async start(command: string, columns = 80, rows = 24): Promise<void> {
    await this.tmux(
      '-f',
      '/dev/null',
      'new-session',
      '-d',
      '-s',
      this.session,
      '-x',
      String(columns),
      '-y',
      String(rows),
      command,
    );
    // The pane keeps its content after the command exits, so a crash is still readable in the capture.
    await this.tmux('set-option', '-t', this.session, 'remain-on-exit', 'on');
  }

  /** `send-keys` names (`q`, `Down`, `Enter`, `Escape`) or literal text with `literal`. */
  async send(keys: string[], literal = false): Promise<void> {
    await this.tmux('send-keys', '-t', this.session, ...(literal ? ['-l'] : []), ...keys);
  }

  /**
   * The visible screen; with `escapes`, including the SGR sequences (colours, bold, inverse); with `history`,
   * the lines scrolled off the top too.
   */
  async capture(escapes = false, history = false): Promise<string> {
    return this.tmux(
      'capture-pane',
      '-p',
      '-t',
      this.session,
      ...(escapes ? ['-e'] : []),
      ...(history ? ['-S', '-'] : []),
    );
  }

  async resize(columns: number, rows: number): Promise<void> {
    await this.tmux('resize-window', '-t', this.session, '-x', String(columns), '-y', String(rows));
  }

  /** Whether the pane's command has exited (remain-on-exit keeps the pane). */
  async exited(): Promise<boolean> {
    const out = await this.tmux('list-panes', '-t', this.session, '-F', '#{pane_dead}');
    return out.trim() === '1';
  }

  /** Waits until the plain screen satisfies `pred`; the failure names the last screen. */
  async waitScreen(pred: (plain: string) => boolean, what: string, timeoutMs = 20_000): Promise<string> {
    let last = '';
    try {
      return await waitFor(
        async () => {
          last = await this.capture();
          return pred(last) ? last : null;
        },
        what,
        { timeoutMs, intervalMs: 150 },
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- screen ---\n${last}`, { cause: e });
    }
  }

  async kill(): Promise<void> {
    await this.tmux('kill-server').catch(() => undefined);
  }
}
