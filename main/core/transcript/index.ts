/** The transcript model (docs/desktop.md "Thread view"): entries, stats, the per-thread store and the hub. */
export * from './schema';
export { TranscriptBuilder, type TranscriptInput, boundedText, outputPreview } from './builder';
export { TranscriptRing } from './ring';
export { TranscriptHub, threadKey, type TranscriptListener } from './hub';
export { ThreadTranscript, readTranscriptFile, type RecordSink } from './thread-transcript';
export { readPage, scanTail, parseRecordLine } from './log-reader';
