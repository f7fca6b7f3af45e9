/**
 * Maps the pure TrayModel onto Electron's Tray + Menu. The whole menu is rebuilt and set again on every
 * change: Linux (AppIndicator) only picks up changes that way, and it is cheap everywhere.
 */
import { Menu, Tray, nativeImage, type MenuItemConstructorOptions } from 'electron';
import { join } from 'node:path';
import type { TrayItem, TrayModel } from '../desktop/tray-model';
import type { Command } from '../ipc/contract';

export interface TrayController {
  render(model: TrayModel): void;
  destroy(): void;
}

function toTemplate(items: TrayItem[], run: (command: Command) => void): MenuItemConstructorOptions[] {
  return items.map((item): MenuItemConstructorOptions => {
    switch (item.kind) {
      case 'separator':
        return { type: 'separator' };
      case 'label':
        return { label: item.label, enabled: false };
      case 'action':
        return { id: item.id, label: item.label, enabled: item.enabled, click: () => run(item.command) };
      case 'checkbox':
        return {
          id: item.id,
          type: 'checkbox',
          label: item.label,
          checked: item.checked,
          click: () => run(item.command),
        };
      case 'submenu':
        return { id: item.id, label: item.label, submenu: toTemplate(item.items, run) };
    }
  });
}

export function createTray(iconsDir: string, run: (command: Command) => void): TrayController {
  let tray: Tray | null = null;
  let clickOpensDashboard = false;
  let lastIcon = '';
  return {
    render(model) {
      const iconPath = join(iconsDir, model.iconFile);
      if (!tray) {
        tray = new Tray(iconPath);
        tray.on('click', () => {
          if (clickOpensDashboard) run({ channel: 'window:open', input: { view: 'dashboard' } });
        });
      } else if (iconPath !== lastIcon) {
        const image = nativeImage.createFromPath(iconPath);
        image.setTemplateImage(model.template);
        tray.setImage(image);
      }
      lastIcon = iconPath;
      clickOpensDashboard = model.clickOpensDashboard;
      tray.setToolTip(model.tooltip);
      if (model.title !== null) tray.setTitle(model.title);
      tray.setContextMenu(Menu.buildFromTemplate(toTemplate(model.items, run)));
    },
    destroy() {
      tray?.destroy();
      tray = null;
    },
  };
}
