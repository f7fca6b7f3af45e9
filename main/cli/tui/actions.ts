/**
 * What the dashboard's actions do: each becomes one WorkerHost call, and its outcome one footer message. A
 * refused call (a thread that changed state meanwhile, a prompt answered in the thread first) is a message,
 * never a crash of the dashboard.
 */
import { toWorkerError } from '../../core/errors';
import type { WorkerHost } from '../../core/host';
import type { Capabilities, WorkerAction } from './keys';

type Outcome = { text: string; tone: 'info' | 'error' };

/** The part of a host that can stop a running turn (present once the core offers it). */
interface Interruptible {
  interruptTurn(sectionId: string, alias: string): Promise<unknown>;
}

function interruptible(host: WorkerHost): (WorkerHost & Interruptible) | null {
  const candidate = host as WorkerHost & Partial<Interruptible>;
  return typeof candidate.interruptTurn === 'function' ? (candidate as WorkerHost & Interruptible) : null;
}

/** The core takes an approval "for this session" (protocol §9.2a) through `answerPrompt`. */
export const SESSION_SCOPE = true;

export function capabilitiesOf(host: WorkerHost, options: { sessionScope: boolean }): Capabilities {
  return { interrupt: interruptible(host) !== null, sessionScope: options.sessionScope };
}

export async function performAction(host: WorkerHost, action: WorkerAction): Promise<Outcome> {
  const where = action.key.alias;
  try {
    switch (action.type) {
      case 'reset':
        await host.resetThread(action.key.sectionId, action.key.alias);
        return { text: `${where}: reset to pending`, tone: 'info' };
      case 'answer':
        await host.answerPrompt(action.promptId, action.answer);
        return { text: `${where}: answered (${action.description})`, tone: 'info' };
      case 'interrupt': {
        const h = interruptible(host);
        if (!h) return { text: 'stop not available in this worker version', tone: 'error' };
        await h.interruptTurn(action.key.sectionId, action.key.alias);
        return { text: `${where}: stop requested`, tone: 'info' };
      }
    }
  } catch (e) {
    const err = toWorkerError(e);
    return { text: `${where}: ${err.code}: ${err.message}`, tone: 'error' };
  }
}
