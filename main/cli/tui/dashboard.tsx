/**
 * The terminal dashboard's ink components: they lay out what the view model (view-model.ts, keys.ts,
 * answer-form.ts) computed and hold no logic of their own beyond React state wiring. Every line is a
 * `wrap="truncate"` Text, so the frame is exactly the height the view model budgeted (the terminal never
 * scrolls, which is what keeps resizes clean).
 */
import { Box, Text, useApp, useInput, useStdout } from 'ink';
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { Snapshot } from '../../core/snapshot';
import { formLines, type AnswerForm } from './answer-form';
import {
  footerText,
  handleKey,
  initialUiState,
  onSnapshot,
  withMessage,
  type Capabilities,
  type WorkerAction,
  type UiState,
} from './keys';
import type { TranscriptEntry } from '../../core/transcript';
import { entryLines, visibleWindow, TRANSCRIPT_LIMIT, type TranscriptLine, type TranscriptSource } from './transcript';
import {
  buildDashboard,
  cell,
  findThread,
  fit,
  FOOTER_LINES,
  HEADER_LINES,
  RIBBON_CHROME,
  type Columns,
  type DashboardView,
  type PanelView,
  type RibbonEntry,
  type ThreadRow,
  type Tone,
} from './view-model';

const toneProps = (t: Tone): { color?: string; dimColor?: boolean; bold?: boolean } => ({
  ...(t.color ? { color: t.color } : {}),
  ...(t.dim ? { dimColor: true } : {}),
  ...(t.bold ? { bold: true } : {}),
});

function Header({ view, width }: { view: DashboardView['header']; width: number }): ReactNode {
  return (
    <Box flexDirection="column" width={width} height={HEADER_LINES}>
      <Text wrap="truncate">
        <Text bold color="cyan">
          {view.title}
        </Text>
        <Text> · {view.user} · </Text>
        <Text bold>{view.agents}</Text>
        <Text> · {view.clock}</Text>
      </Text>
      <Text dimColor wrap="truncate">
        {view.instance}
      </Text>
    </Box>
  );
}

function Row({ row, cols }: { row: ThreadRow; cols: Columns }): ReactNode {
  return (
    <Box flexDirection="column">
      <Text wrap="truncate" inverse={row.selected}>
        <Text>{fit(row.selected ? '▶' : '', cols.marker)}</Text>
        <Text bold>{cell(row.key.alias, cols.thread)}</Text>
        <Text {...toneProps(row.tone)}>{cell(row.stateLabel, cols.state)}</Text>
        <Text>{cell(row.agent, cols.agent)}</Text>
        <Text>{cell(row.session, cols.session)}</Text>
        <Text {...(row.prompt ? { color: 'magenta', bold: true } : row.state === 'failed' ? { color: 'red' } : {})}>
          {fit(row.lastEvent, cols.lastEvent)}
        </Text>
      </Text>
      <Text wrap="truncate" dimColor>
        {fit('', cols.marker)}
        {row.detail}
      </Text>
    </Box>
  );
}

function Panel({ panel, cols, focused }: { panel: PanelView; cols: Columns; focused: boolean }): ReactNode {
  const more: string[] = [];
  if (panel.hiddenAbove) more.push(`↑ ${panel.hiddenAbove} more`);
  if (panel.hiddenBelow) more.push(`↓ ${panel.hiddenBelow} more`);
  return (
    <Box
      flexDirection="column"
      borderStyle="round"
      borderColor={focused ? 'cyan' : 'gray'}
      paddingX={1}
      height={panel.height}
      flexShrink={0}
    >
      <Text wrap="truncate">
        <Text bold>{panel.title}</Text>
        <Text> </Text>
        <Text {...toneProps(panel.statusTone)}>{panel.status}</Text>
      </Text>
      <Text wrap="truncate" dimColor>
        {fit('', cols.marker)}
        {cell('Thread', cols.thread)}
        {cell('State', cols.state)}
        {cell('Agent', cols.agent)}
        {cell('Session', cols.session)}
        {fit('Last Event', cols.lastEvent)}
      </Text>
      {panel.rows.map((r) => (
        <Row key={r.key.alias} row={r} cols={cols} />
      ))}
      {panel.empty ? (
        <Text dimColor wrap="truncate">
          no threads yet — hand a thread off to the worker in BlobHub
        </Text>
      ) : more.length ? (
        <Text dimColor wrap="truncate">
          {more.join(' · ')}
        </Text>
      ) : null}
    </Box>
  );
}

function Ribbon({ entries, lines }: { entries: RibbonEntry[]; lines: number }): ReactNode {
  return (
    <Box
      flexDirection="column"
      borderStyle="round"
      borderColor={entries.length ? 'yellow' : 'gray'}
      paddingX={1}
      height={RIBBON_CHROME + lines}
      flexShrink={0}
    >
      <Text bold wrap="truncate">
        recent errors
      </Text>
      {entries.length === 0 ? (
        <Text dimColor>none</Text>
      ) : (
        entries.map((e, i) => (
          <Text key={`${e.at}-${i}`} wrap="truncate">
            <Text dimColor>{e.time} </Text>
            <Text {...toneProps(e.tone)} bold>
              {e.code}
            </Text>
            <Text>
              {' '}
              {e.where}: {e.message}
            </Text>
          </Text>
        ))
      )}
    </Box>
  );
}

function AnswerBox({ form, height }: { form: AnswerForm; height: number }): ReactNode {
  const f = formLines(form);
  const bodyRoom = Math.max(1, height - 3 - (f.input === null ? 0 : 1) - 1);
  return (
    <Box flexDirection="column" borderStyle="double" borderColor="magenta" paddingX={1} height={height} flexShrink={0}>
      <Text bold color="magenta" wrap="truncate">
        {f.title}
      </Text>
      {f.body.slice(0, bodyRoom).map((line, i) => (
        <Text key={i} wrap="truncate">
          {line}
        </Text>
      ))}
      {f.input === null ? null : (
        <Text wrap="truncate">
          <Text color="cyan">› </Text>
          <Text>{f.input}</Text>
          <Text inverse> </Text>
        </Text>
      )}
      <Text dimColor wrap="truncate">
        {f.keys}
      </Text>
    </Box>
  );
}

function TranscriptBox({
  title,
  lines,
  scroll,
  height,
}: {
  title: string;
  lines: TranscriptLine[] | null;
  scroll: number;
  height: number;
}): ReactNode {
  const room = Math.max(1, height - 3);
  const win = visibleWindow(lines ?? [], room, scroll);
  const where = win.scroll === 0 ? 'following' : `${win.scroll} line(s) up`;
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="cyan" paddingX={1} height={height} flexShrink={0}>
      <Text wrap="truncate">
        <Text bold>{title}</Text>
        <Text dimColor>
          {' '}
          · {where}
          {win.above ? ` · ${win.above} earlier` : ''}
        </Text>
      </Text>
      {lines === null ? (
        <Text dimColor>loading…</Text>
      ) : lines.length === 0 ? (
        <Text dimColor>nothing in this thread yet</Text>
      ) : (
        win.lines.map((l, i) => (
          <Text key={i} wrap="truncate">
            <Text dimColor>{fit(l.time, 9)}</Text>
            <Text {...toneProps(l.tone)}>{fit(l.label, 9)}</Text>
            <Text>{l.text}</Text>
          </Text>
        ))
      )}
    </Box>
  );
}

/** The terminal size, following `resize` events. */
function useTerminalSize(): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = (): { columns: number; rows: number } => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = (): void => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
    // `read` closes over the same stdout for the component's life.
  }, [stdout]);
  return size;
}

export interface DashboardProps {
  /** The current snapshot and a subscription to its changes (WorkerHost.snapshot / onChange). */
  snapshot: () => Snapshot;
  onChange: (listener: (s: Snapshot) => void) => () => void;
  capabilities: Capabilities;
  transcripts: TranscriptSource;
  /** Runs an action against the worker; resolves to the message the footer shows. */
  perform: (action: WorkerAction) => Promise<{ text: string; tone: 'info' | 'error' }>;
  /** Called once when the user asked to quit (`q`, Ctrl-C). */
  onQuit: () => void;
  /** Test seam for the clock. */
  now?: () => Date;
}

export function Dashboard(props: DashboardProps): ReactNode {
  const now = props.now ?? (() => new Date());
  const { exit } = useApp();
  const size = useTerminalSize();
  const [snap, setSnap] = useState<Snapshot>(props.snapshot);
  const [ui, setUi] = useState<UiState>(() => initialUiState(props.snapshot()));
  const [tick, setTick] = useState(() => now());
  const [transcript, setTranscript] = useState<TranscriptEntry[] | null>(null);
  const transcriptLines = useMemo(() => (transcript ? transcript.flatMap(entryLines) : null), [transcript]);
  const snapRef = useRef(snap);
  snapRef.current = snap;
  const quitting = useRef(false);

  useEffect(
    () =>
      props.onChange((s) => {
        setSnap(s);
        setUi((u) => onSnapshot(u, s, Date.now()));
      }),
    [props],
  );
  // The header clock and the "12s ago" columns move once a second.
  useEffect(() => {
    const timer = setInterval(() => setTick(now()), 1000);
    return () => clearInterval(timer);
  }, [now]);

  const transcriptKey = ui.mode.kind === 'transcript' ? ui.mode.key : null;
  const transcriptId = transcriptKey ? `${transcriptKey.sectionId}\u0000${transcriptKey.alias}` : null;
  useEffect(() => {
    if (!transcriptKey) return;
    setTranscript(null);
    return props.transcripts.subscribe(transcriptKey, TRANSCRIPT_LIMIT, setTranscript);
    // Resubscribe only when the viewed thread changes, not on every state object.
  }, [transcriptId, props.transcripts]);

  useInput((input, key) => {
    const result = handleKey(ui, { ...key, input }, snapRef.current, props.capabilities, Date.now());
    setUi(result.state);
    for (const action of result.actions) {
      if (action.type === 'quit') {
        if (quitting.current) continue;
        quitting.current = true;
        setUi((u) => withMessage(u, 'stopping the worker…', 'info', Date.now()));
        props.onQuit();
        continue;
      }
      props.perform(action).then(
        (m) => setUi((u) => withMessage(u, m.text, m.tone, Date.now())),
        (e: unknown) => setUi((u) => withMessage(u, String(e), 'error', Date.now())),
      );
    }
  });

  // The worker stopped (q, or a signal): unmount so the shell can restore the terminal.
  useEffect(() => {
    if (snap.phase === 'stopped' && quitting.current) exit();
  }, [snap.phase, exit]);

  const view = useMemo(() => buildDashboard(snap, ui.selected, size, tick), [snap, ui.selected, size, tick]);
  const footer = footerText(ui, props.capabilities, tick.getTime());
  const height = Math.max(8, size.rows - 1);
  const middle = height - HEADER_LINES - FOOTER_LINES - (view.ribbonLines ? RIBBON_CHROME + view.ribbonLines : 0);

  let body: ReactNode;
  if (ui.mode.kind === 'answer') {
    body = <AnswerBox form={ui.mode.form} height={middle} />;
  } else if (ui.mode.kind === 'transcript') {
    const found = findThread(snap, ui.mode.key);
    const state = found ? ` · ${found.thread.state.replace('_', ' ')}` : ' · gone';
    body = (
      <TranscriptBox
        title={`${ui.mode.key.alias}${state} · transcript`}
        lines={transcriptLines}
        scroll={ui.mode.scroll}
        height={middle}
      />
    );
  } else {
    body = (
      <Box flexDirection="column" height={middle} overflow="hidden">
        {view.panels.length === 0 ? (
          <Text dimColor wrap="truncate">
            {snap.phase === 'running' ? 'no sections' : `worker ${snap.phase}`}
          </Text>
        ) : (
          view.panels.map((p) => (
            <Panel key={p.sectionId} panel={p} cols={view.columns} focused={p.sectionId === ui.selected?.sectionId} />
          ))
        )}
        {view.hiddenSections ? (
          <Text dimColor wrap="truncate">
            + {view.hiddenSections} more section(s) — select a thread in them with ↓, or enlarge the terminal
          </Text>
        ) : null}
      </Box>
    );
  }

  return (
    <Box flexDirection="column" width={size.columns} height={height} overflow="hidden">
      <Header view={view.header} width={size.columns} />
      {body}
      {view.ribbonLines ? <Ribbon entries={view.ribbon} lines={view.ribbonLines} /> : null}
      <Text
        wrap="truncate"
        {...(footer.tone === 'error'
          ? { color: 'red' }
          : footer.tone === 'info'
            ? { color: 'cyan' }
            : { dimColor: true })}
      >
        {footer.text}
      </Text>
    </Box>
  );
}
