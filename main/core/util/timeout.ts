/**
 * Waits for `work` at most `ms`; never rejects (a failure of `work` counts as settled). Resolves true when
 * `work` settled in time. The timer is cleared when the work wins, so a finished shutdown never keeps the
 * process alive for the rest of the bound.
 */
export async function settleWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
