// Collects whatever escapes as an uncaughtException or unhandledRejection while
// a hostile-input file runs: a property then asserts the list stays empty.
// Call once at the top level of a test file; it registers its own hooks.
import { afterAll, beforeAll } from 'vitest';

export function watchEscapes(): unknown[] {
  const escaped: unknown[] = [];
  const onEscape = (e: unknown) => void escaped.push(e);
  beforeAll(() => {
    process.on('uncaughtException', onEscape);
    process.on('unhandledRejection', onEscape);
  });
  afterAll(() => {
    process.off('uncaughtException', onEscape);
    process.off('unhandledRejection', onEscape);
  });
  return escaped;
}
