/**
 * Launches the system Chromium (Debian `chromium`) through playwright-core for the
 * browser tests. It exists so every browser test starts Chromium the same verified way
 * (flags from /work/shared/TOOLCHAIN.md: nothing is downloaded, no sandbox as root, no
 * background traffic) and so a missing browser FAILS the run loudly: browser tests are
 * never skipped. `scripts/ensure-chromium.mjs` installs Chromium before `vitest run`.
 *
 * Extend it by adding options to `launchChromium()` (e.g. `{ args }` appended to the
 * fixed flags) rather than calling `chromium.launch` in a test; keep `--user-data-dir`
 * out of `args` (playwright manages the profile itself).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

/** Where Chromium lives: `CHROMIUM_PATH`, else Debian's `/usr/bin/chromium`. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The flags every browser test runs with (verified in TOOLCHAIN.md). */
export const CHROMIUM_ARGS: readonly string[] = Object.freeze([
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]);

/**
 * Start headless Chromium. Throws (never skips) when the executable is missing.
 * @example
 * const browser = await launchChromium();
 * afterAll(() => browser.close());
 */
export async function launchChromium(options: { args?: string[]; timeout?: number } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Expected a Chromium executable at ${CHROMIUM_PATH} but found none. ` +
        'Run `node scripts/ensure-chromium.mjs` (installs Debian chromium as root) ' +
        'or set CHROMIUM_PATH. Browser tests never skip.',
    );
  }
  const launch: LaunchOptions = {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
    timeout: options.timeout ?? 60_000,
  };
  return chromium.launch(launch);
}
