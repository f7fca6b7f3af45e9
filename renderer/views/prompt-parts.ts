/**
 * Pieces of the prompt window: a unified diff with colours and old/new line numbers (protocol §9.1
 * `metadata.prompt.diff`, made by jsdiff in the core), and a plan rendered from markdown with markdown-it
 * (`html: false`: raw HTML in the plan is shown as text, never parsed; links open nothing).
 */
import MarkdownIt from 'markdown-it';
import { h } from '../dom';

const HUNK = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$/;

/** A table of diff lines: file headers, hunk headers, context, additions and removals, numbered. */
export function diffView(diff: string, summary: string | null): HTMLElement {
  const rows: HTMLElement[] = [];
  let oldNo = 0;
  let newNo = 0;
  const row = (cls: string, a: string, b: string, sign: string, text: string): HTMLElement =>
    h(
      'tr',
      { class: `diff-${cls}` },
      h('td', { class: 'ln' }, a),
      h('td', { class: 'ln' }, b),
      h('td', { class: 'sign' }, sign),
      h('td', { class: 'code' }, text),
    );
  const lines = diff.endsWith('\n') ? diff.slice(0, -1).split('\n') : diff.split('\n');
  for (const line of lines) {
    if (line.startsWith('--- ') || line.startsWith('+++ ')) {
      if (line.startsWith('+++ '))
        rows.push(h('tr', { class: 'diff-file' }, h('td', { colspan: '4' }, line.slice(4).replace(/^b\//, ''))));
      continue;
    }
    const hunk = HUNK.exec(line);
    if (hunk) {
      oldNo = Number(hunk[1]);
      newNo = Number(hunk[2]);
      rows.push(row('hunk', '', '', '', line));
    } else if (line.startsWith('+')) {
      rows.push(row('add', '', String(newNo++), '+', line.slice(1)));
    } else if (line.startsWith('-')) {
      rows.push(row('del', String(oldNo++), '', '−', line.slice(1)));
    } else if (line.startsWith('\\')) {
      rows.push(row('meta', '', '', '', line));
    } else if (line.startsWith('… [')) {
      rows.push(row('meta', '', '', '', line)); // the §8.2 truncation marker
    } else {
      rows.push(row('ctx', String(oldNo++), String(newNo++), ' ', line.startsWith(' ') ? line.slice(1) : line));
    }
  }
  return h(
    'section',
    { class: 'diff', 'aria-label': 'Changes' },
    summary ? h('p', { class: 'diff-summary', 'data-testid': 'diff-summary' }, summary) : null,
    h(
      'div',
      { class: 'diff-scroll', tabindex: '0' },
      h('table', { class: 'diff-table', 'data-testid': 'diff' }, h('tbody', null, ...rows)),
    ),
  );
}

const md = new MarkdownIt({ html: false, linkify: false, typographer: false });

/** The plan as HTML from markdown-it with raw HTML disabled; links are shown but lead nowhere. */
export function planView(markdown: string): HTMLElement {
  const box = h('article', { class: 'plan', 'data-testid': 'plan' });
  // markdown-it with html:false escapes every tag in the source; its own output is trusted markup.
  box.innerHTML = md.render(markdown || '_The agent sent no plan text._');
  for (const a of box.querySelectorAll('a')) {
    a.removeAttribute('href');
    a.setAttribute('role', 'text');
  }
  return box;
}
