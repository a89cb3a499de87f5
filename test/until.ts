/**
 * Polls `check` every 100 ms until it holds; fails after `timeoutMs` naming what it waited for
 * (and `detail()`, e.g. a server's output). For effects that land after the response, such as an
 * asynchronous log write or another replica's reload.
 */
export async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  options: { timeoutMs?: number; detail?: () => string } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${options.detail === undefined ? "" : `: ${options.detail()}`}`);
}
