/** Start at login: login items on macOS/Windows, an XDG autostart file on Linux (see main/desktop/autostart.ts). */
import { app } from 'electron';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { homedir } from 'node:os';
import { HIDDEN_FLAG, autostartExec, linuxAutostartEntry, linuxAutostartPath } from '../desktop/autostart';

export interface Autostart {
  get(): Promise<boolean>;
  set(enabled: boolean): Promise<void>;
}

export function createAutostart(): Autostart {
  if (process.platform === 'linux') {
    const file = linuxAutostartPath(process.env, homedir());
    return {
      get: () => Promise.resolve(existsSync(file)),
      async set(enabled) {
        if (!enabled) return rm(file, { force: true });
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, linuxAutostartEntry({ exec: autostartExec(process.execPath, process.env) }), {
          mode: 0o644,
        });
      },
    };
  }
  return {
    get: () => Promise.resolve(app.getLoginItemSettings({ args: [HIDDEN_FLAG] }).openAtLogin),
    set(enabled) {
      app.setLoginItemSettings({ openAtLogin: enabled, args: [HIDDEN_FLAG] });
      return Promise.resolve();
    },
  };
}
