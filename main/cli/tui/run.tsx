/**
 * Runs the terminal dashboard over a running WorkerHost until the user quits (`q`, Ctrl-C) or the caller stops
 * it (a signal). The screen is ink's; this file only owns the terminal's modes around it: the alternate screen
 * (so the shell's scrollback is untouched and the last frame does not linger after exit) and restoring it on
 * every way out, including a crash or a forced exit.
 */
import { render } from 'ink';
import type { LocalWorkerHost } from '../../core/worker';
import { toWorkerError } from '../../core/errors';
import { Dashboard } from './dashboard';
import type { Capabilities, WorkerAction } from './keys';
import type { TranscriptSource } from './transcript';

/**
 * DEC private mode 1049 (alternate screen with saved cursor). ink has no option for it; it is a mode switch
 * around ink's output, not drawing.
 */
const ENTER_ALT_SCREEN = '\u001b[?1049h';
const LEAVE_ALT_SCREEN = '\u001b[?1049l';

export interface TuiRun {
  /** Resolves when the user asked to quit. */
  quitRequested: Promise<void>;
  /** Unmounts ink, lets it write its last frame, then restores the terminal (idempotent). */
  close(): Promise<void>;
}

export interface TuiOptions {
  host: LocalWorkerHost;
  capabilities: Capabilities;
  transcripts: TranscriptSource;
  perform: (action: WorkerAction) => Promise<{ text: string; tone: 'info' | 'error' }>;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
}

export function runTui(options: TuiOptions): TuiRun {
  const stdout = options.stdout ?? process.stdout;
  const stdin = options.stdin ?? process.stdin;
  let resolveQuit: () => void = () => undefined;
  const quitRequested = new Promise<void>((resolve) => (resolveQuit = resolve));
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    try {
      if (stdin.isTTY) stdin.setRawMode(false);
      stdout.write(LEAVE_ALT_SCREEN);
    } catch {
      // The terminal is gone (hung-up SSH): nothing left to restore.
    }
  };
  // A crash or a forced exit must not leave the user's terminal in the alternate screen or raw mode; the
  // error line the CLI prints on a crash then lands on the normal screen where it can be read.
  process.on('exit', restore);
  process.prependListener('uncaughtException', restore);
  process.prependListener('unhandledRejection', restore);

  stdout.write(ENTER_ALT_SCREEN);
  const instance = render(
    <Dashboard
      snapshot={() => options.host.snapshot()}
      onChange={(l) => options.host.onChange(l)}
      capabilities={options.capabilities}
      transcripts={options.transcripts}
      perform={(a) =>
        options.perform(a).catch((e: unknown) => ({ text: toWorkerError(e).message, tone: 'error' as const }))
      }
      onQuit={() => resolveQuit()}
    />,
    { stdout, stdin, exitOnCtrlC: false, patchConsole: false, maxFps: 20 },
  );
  // Taken now: ink settles this promise when it unmounts, and one asked for after that would never settle.
  const exited = instance.waitUntilExit().catch(() => undefined);
  let closing: Promise<void> | null = null;
  const close = async (): Promise<void> => {
    instance.unmount();
    // ink writes its final frame (and moves the cursor) while unmounting; that must land on the alternate
    // screen, not after it on the user's shell screen.
    await exited;
    await new Promise((resolve) => setImmediate(resolve));
    instance.cleanup();
    restore();
    process.off('exit', restore);
    process.off('uncaughtException', restore);
    process.off('unhandledRejection', restore);
  };
  return {
    quitRequested,
    close: () => (closing ??= close()),
  };
}
