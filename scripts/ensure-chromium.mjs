#!/usr/bin/env node
// Makes sure a Chromium that playwright-core can drive exists before `vitest run`.
// The browser tests must run on a fresh Debian machine (CI, root) and must never be
// skipped silently: so this script installs Debian's `chromium` when it can, and
// otherwise fails the test run with instructions instead of letting tests skip.
//
// Usage: node scripts/ensure-chromium.mjs   (exit 0: ready, exit 1: not available)
// CHROMIUM_PATH overrides the executable (default /usr/bin/chromium), and is what
// test/browser/chromium.ts launches too.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const executable = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** The `--version` line of a working Chromium, or null when missing or broken. */
function version() {
  if (!existsSync(executable)) return null;
  const r = spawnSync(executable, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) {
    process.stderr.write(`ensure-chromium: ${executable} --version failed (status ${r.status}): ${r.stderr || r.error || ''}\n`);
    return null;
  }
  return r.stdout.trim();
}

/** Run a command with the terminal attached; true on exit 0. */
function run(command, args) {
  process.stdout.write(`ensure-chromium: $ ${command} ${args.join(' ')}\n`);
  const r = spawnSync(command, args, {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.error) process.stderr.write(`ensure-chromium: ${command}: ${r.error.message}\n`);
  return r.status === 0;
}

function fail(why) {
  process.stderr.write(`
########################################################################
#  ensure-chromium: ${why}
#
#  The browser tests (test/browser/**) need a real Chromium and are
#  never skipped. Install it, then run the tests again:
#
#    Debian/Ubuntu (as root):  apt-get update && apt-get install -y chromium
#    elsewhere:                install Chromium and set CHROMIUM_PATH=/path/to/chromium
#
#  Looked for: ${executable}
########################################################################
`);
  process.exit(1);
}

let found = version();
if (found) {
  process.stdout.write(`ensure-chromium: ${found} (${executable})\n`);
  process.exit(0);
}

if (process.getuid?.() !== 0) fail('Chromium is missing and this is not root, so it cannot be installed here.');
if (process.env.CHROMIUM_PATH && executable !== '/usr/bin/chromium') {
  fail(`CHROMIUM_PATH points at ${executable}, which does not run; apt-get would install /usr/bin/chromium instead.`);
}

if (!run('apt-get', ['update']) || !run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'])) {
  fail('installing Chromium with apt-get failed (see the output above).');
}
found = version();
if (!found) fail('apt-get finished but Chromium still does not run.');
process.stdout.write(`ensure-chromium: installed ${found} (${executable})\n`);
