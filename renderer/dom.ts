/**
 * A tiny element builder. Text goes in through text nodes only (never innerHTML), so server data such as
 * thread aliases or error messages can never become markup.
 */
type Child = Node | string | number | null | undefined | false;
type Handler = (event: Event) => void;

export interface Props {
  class?: string;
  /** Event listeners: `{ click: fn }`. */
  on?: Record<string, Handler>;
  /** Any other attribute (aria-*, data-*, type, for, …); `false`/`null` omits it, `true` sets it empty. */
  [attr: string]: string | number | boolean | null | undefined | Record<string, Handler>;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (key === 'on') {
      for (const [type, fn] of Object.entries(value as Record<string, Handler>)) el.addEventListener(type, fn);
    } else if (key === 'class') {
      if (typeof value === 'string' && value) el.className = value;
    } else if (value === true) {
      el.setAttribute(key, '');
    } else if (typeof value === 'string' || typeof value === 'number') {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/**
 * Replaces `root`'s content and puts the focus back on the element with the same `data-key` (if the
 * focus was inside), so a live re-render does not throw keyboard users back to the top.
 */
export function render(root: Element, ...children: Child[]): void {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && root.contains(active) ? active.dataset.key : undefined;
  root.replaceChildren();
  append(root, children);
  if (key) root.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`)?.focus();
}

let uid = 0;
/** A unique id for label/for and aria-describedby pairs. */
export function nextId(prefix: string): string {
  uid += 1;
  return `${prefix}-${uid}`;
}
