import type { Clock } from './engine-options.js';

/** `Date.now` and the global timers, unref'd where the runtime has `unref` (Node). */
export const defaultClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const handle = globalThis.setTimeout(fn, ms) as unknown as { unref?: () => void };
    // A held connect or the sweep must never keep a Node process alive by itself.
    handle?.unref?.();
    return handle;
  },
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** 128 bits from the platform CSPRNG (`crypto.getRandomValues`), as base-36 text. */
export function defaultRandomId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let out = '';
  for (const b of bytes) out += b.toString(36).padStart(2, '0');
  return out;
}
