/**
 * What the dashboard's actions do: each becomes one WorkerHost call, and its outcome one footer message. A
 * refused call (a thread that changed state meanwhile, a prompt answered in the thread first) is a message,
 * never a crash of the dashboard.
 */
import { toWorkerError } from '../../core/errors';
import type { WorkerHost } from '../../core/host';
import type { Capabilities, WorkerAction } from './keys';

type Outcome = { text: string; tone: 'info' | 'error' };

/** What the dashboard offers over this core: stopping a turn and "allow for this session" (protocol §9.2a). */
export function capabilitiesOf(host: WorkerHost): Capabilities {
  return { interrupt: typeof host.interruptTurn === 'function', sessionScope: true };
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
      case 'interrupt':
        await host.interruptTurn(action.key.sectionId, action.key.alias);
        return { text: `${where}: turn stopped`, tone: 'info' };
    }
  } catch (e) {
    const err = toWorkerError(e);
    return { text: `${where}: ${err.code}: ${err.message}`, tone: 'error' };
  }
}
