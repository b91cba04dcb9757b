import { CometError } from './errors.js';
import { MAX_FRAME_CHARS, MIN_MESSAGE_CHARS } from './protocol/frame.js';
import type { BackoffOptions } from './backoff.js';
import type { Extension } from './extensions.js';
import type { Platform } from './platform.js';
import type { TransportFactory } from './transports/transport.js';

/** Options of {@link CometClient}; every field but `url` is optional. */
export interface CoreOptions {
  /**
   * The Bayeux endpoint, e.g. `https://example.com/cometd`; the WebSocket URL is derived from it.
   * In a page it may be relative (`'/cometd'`), resolved against the page's address.
   */
  url: string | URL;
  /** Transports to use, most preferred first. */
  transports: readonly TransportFactory[];
  /** How long (ms) a transport may take to connect before the next one is started
   * in parallel (staggered race, as in Happy Eyeballs). By default it follows the
   * network: 6 × the handshake's round trip, at least 400 and at most 1000. */
  fallbackDelay?: number | undefined;
  /** A transport that has not completed a `/meta/connect` round trip within this
   * time is abandoned, even if it opened. Also the grace added to a held connect. @default 8000 */
  connectTimeout?: number | undefined;
  /** Reconnect backoff: exponential with full jitter. */
  reconnect?: { [K in keyof BackoffOptions]?: BackoffOptions[K] | undefined } | undefined;
  /** Message hooks, e.g. {@link authTokenExtension}. @default [] */
  extensions?: readonly Extension[] | undefined;
  /** Extra headers on HTTP requests (not possible on WebSocket or EventSource). @default {} */
  headers?: Record<string, string> | undefined;
  /** Frames and outgoing messages longer than this many characters are refused; at least 2048. @default 1048576 */
  maxMessageChars?: number | undefined;
  /** A stream (SSE, iframe) is reopened after this many characters, bounding memory. @default 524288 */
  streamCharLimit?: number | undefined;
  /** After connecting on a transport other than the most preferred one, try the
   * better ones again in the background after this delay (0 = never). @default 15000 */
  upgradeDelay?: number | undefined;
  /** Remember per endpoint, in `localStorage`, which transport worked last. @default true */
  rememberTransport?: boolean | undefined;
  /** Host objects to use instead of the globals (Node, tests, fake timers). */
  platform?: Partial<Platform> | undefined;
}

/** {@link CoreOptions} with every default filled in. */
export type ResolvedOptions = Required<Omit<CoreOptions, 'url' | 'reconnect' | 'platform' | 'fallbackDelay'>> & {
  /** Unset: it follows the handshake's round trip. */
  fallbackDelay?: number;
  url: URL;
  reconnect: BackoffOptions;
  /** As given: the client fills in the rest from globalThis when it connects (resolvePlatform). */
  platform?: Partial<Platform>;
};

/** The defaults. */
export const DEFAULTS: Readonly<Omit<ResolvedOptions, 'url' | 'transports' | 'extensions' | 'headers' | 'platform' | 'fallbackDelay'>> = {
  connectTimeout: 8000,
  maxMessageChars: MAX_FRAME_CHARS,
  streamCharLimit: 1 << 19,
  upgradeDelay: 15_000,
  rememberTransport: true,
  reconnect: { initialDelay: 500, maxDelay: 30_000, factor: 2, jitter: true },
};

/**
 * `o` without its undefined or null values (plain JavaScript's null is "not given": the default),
 * each delay checked on the way. Plain JavaScript is not held to the types, and a delay that is
 * not a number of ms within a timer's range would fail far from here: `connectTimeout: '5000'`
 * (from an environment variable) is added to a held connect's timeout as a string, and a timer
 * given `Infinity`, a negative number or NaN fires at once, so every connect would time out, or
 * reconnects would never wait. The delays are the options named `…Delay` and `…Timeout`
 * (reconnect's `initialDelay` and `maxDelay` among them), and reconnect's `factor` with them.
 */
const defined = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(
    Object.entries(o).filter(([key, v]) => {
      // Math.min/max, not comparisons: NaN and strings fail them, and terser may turn `!(v >= 0)` into `v < 0`.
      if (v != null && /Del|Tim|fac/.test(key) && v !== Math.min(Math.max(0, v), 2 ** 31 - 1)) throw badOption(`${key} as a number from 0 to 2^31 - 1`, typeof v === 'string' ? JSON.stringify(v) : v);
      return v != null;
    }),
  ) as Partial<T>;

/** A `bad_options` CometError: `Expected <what> but got <got>`. */
export const badOption = (what: string, got: unknown) => new CometError('bad_options', `Expected ${what} but got ${got}`);

/**
 * Validate and fill in options; a mistake throws a `bad_options` CometError at construction, not at connect.
 * (Plain JavaScript may pass nothing, or null, which is then reported as a missing url.)
 */
export function resolveOptions(options: CoreOptions): ResolvedOptions {
  options ||= {} as CoreOptions; // plain JavaScript's undefined or null
  let url: URL | undefined;
  try {
    // A relative url (`'/cometd'`) is the page's own server: resolved against its address (a Location reads as
    // its href), where there is a page. Not an empty or missing one, which would resolve to the page itself.
    if (options.url) url = new URL(options.url, (globalThis as unknown as { location?: string }).location);
  } catch {
    // reported below: test() reads a missing protocol as 'undefined', which fails too
  }
  if (!/^https?:$/.test(url?.protocol as string)) throw badOption('an absolute http(s) URL', options.url);
  if (!Array.isArray(options.transports) || !options.transports.length) throw badOption('a list of transports', JSON.stringify(options.transports));
  // One extension passed as itself, or `useAuth && [auth]` giving false: it would throw "not iterable" from connect().
  if (options.extensions != null && !Array.isArray(options.extensions)) throw badOption('a list of extensions', JSON.stringify(options.extensions));
  if (options.maxMessageChars! < MIN_MESSAGE_CHARS) throw badOption(`maxMessageChars of at least ${MIN_MESSAGE_CHARS}`, options.maxMessageChars);
  return {
    ...DEFAULTS,
    extensions: [],
    headers: {},
    ...defined(options),
    url,
    reconnect: { ...DEFAULTS.reconnect, ...defined(options.reconnect ?? {}) },
  } as ResolvedOptions;
}
