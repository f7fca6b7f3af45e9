/**
 * `blobhub-worker` — the headless shell over the core (protocol §2). Every failure ends as one JSON error
 * line on stderr and the exit status of its code; an unexpected exception becomes INTERNAL_ERROR (exit 1),
 * never a stack trace. No command at all prints the help on stderr and exits 2 (usage).
 */
import { codeInfo } from '../core/errors';
import { StatePaths, resolveStateRoot } from '../core/state/paths';
import { VERSION } from '../version';
import { HELP, commandHelp, parseCliArgs, type ParsedArgs } from './args';
import { printError, unexpected } from './output';
import { loginCommand } from './commands/login';
import { startCommand } from './commands/start';
import { whoamiCommand } from './commands/whoami';
import { statusCommand } from './commands/status';
import { resetCommand } from './commands/reset';
import { interruptCommand } from './commands/interrupt';
import { serviceCommand } from './commands/service';

async function run(argv: string[]): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseCliArgs(argv);
  } catch (e) {
    return printError(e);
  }
  if (args.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (args.help) {
    process.stdout.write(args.command ? commandHelp(args.command) : HELP);
    return 0;
  }
  if (!args.command) {
    // Nothing asked for: the help is the answer (on stderr, since nothing ran), with the usage status.
    process.stderr.write(HELP);
    return codeInfo('USAGE').exitStatus!;
  }
  const paths = new StatePaths(resolveStateRoot(args.home));
  try {
    switch (args.command) {
      case 'login':
        return await loginCommand(paths, args);
      case 'start':
        return await startCommand(paths, args);
      case 'whoami':
        return await whoamiCommand(paths, args);
      case 'status':
        return await statusCommand(paths, args);
      case 'reset':
        return await resetCommand(paths, args);
      case 'interrupt':
        return await interruptCommand(paths, args);
      case 'service':
        return await serviceCommand(paths, args);
    }
  } catch (e) {
    return printError(unexpected(e), process.stderr, args.command);
  }
}

// Last-resort nets: still one JSON line, still no stack trace.
process.on('uncaughtException', (e) => {
  process.exitCode = printError(unexpected(e));
  process.exit();
});
process.on('unhandledRejection', (e) => {
  process.exitCode = printError(unexpected(e));
  process.exit();
});

run(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (e: unknown) => {
    process.exitCode = printError(unexpected(e));
  },
);
