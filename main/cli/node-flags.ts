/**
 * The V8 flags `blobhub-worker` runs with by default: the package's launcher (packages/cli/bin, its line 2)
 * passes them, and so do the service unit and plist (`service install`). A test keeps the launcher in step.
 *
 * `--optimize-for-size` makes V8 favour memory over speed (smaller young generation, slower heap growth):
 * the 20 sections × 5 idle threads bench rests ≈ 35 MB lower (docs/performance.md). V8 reads flags only
 * when the process starts, so they cannot be set from inside.
 */
export const NODE_FLAGS: readonly string[] = ['--optimize-for-size'];
