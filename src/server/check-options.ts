/**
 * The checks on the engine's and the server's options: a mistake throws a
 * `bad_options` CometError naming the option when the server is created, rather
 * than failing later and obscurely. Without them `heartbeat: 0` ticks every
 * millisecond while idle, `path: 5` throws a bare TypeError, `NaN` or a delay over
 * 2^31 − 1 ms makes a timer fire after 1 ms (Node's and browsers' timers clamp
 * it), and a string `allowedOrigins` would be matched as a substring.
 *
 * Every option has a rule (the mapped types make a new option without one a type
 * error); `undefined` counts as absent, so it is never checked. A name that is no
 * option is refused even with `undefined`: it is a slip either way.
 */
import { CometError } from '../errors.js';
import { MIN_MESSAGE_CHARS } from '../protocol/frame.js';
import { CONNECTION_TYPES, type EngineOptions } from './engine-options.js';
import type { ServerOptions } from './options.js';

/** What an option must be; `expected` reads after "Expected option <name> to be". */
interface Rule {
  expected: string;
  accepts(value: unknown): boolean;
}

/** The longest delay a timer honours (a signed 32-bit count of ms). */
const MAX_DELAY = 2 ** 31 - 1;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
const isFunction = (value: unknown): boolean => typeof value === 'function';

const delay: Rule = {
  expected: `a number of milliseconds from 0 to ${MAX_DELAY}`,
  accepts: (value) => typeof value === 'number' && value >= 0 && value <= MAX_DELAY,
};
const positiveDelay: Rule = {
  expected: `a number of milliseconds above 0, at most ${MAX_DELAY}`,
  accepts: (value) => typeof value === 'number' && value > 0 && value <= MAX_DELAY,
};
/** Connection types drawn from `served`: an adapter offering any other would never answer it. */
const typesOf = (served: readonly string[]): Rule => ({
  expected: `a non-empty array of ${served.join(', ')}`,
  accepts: (value) => Array.isArray(value) && value.length > 0 && value.every((type) => served.includes(type)),
});
const positiveInteger: Rule = {
  expected: 'a positive integer',
  accepts: (value) => Number.isSafeInteger(value) && (value as number) > 0,
};

/** At least the smallest frame limit a client may announce (`maxMessageChars`). */
const atLeastMessageChars: Rule = {
  expected: `an integer of at least ${MIN_MESSAGE_CHARS}`,
  accepts: (value) => Number.isSafeInteger(value) && (value as number) >= MIN_MESSAGE_CHARS,
};

const ENGINE_RULES: { [K in keyof EngineOptions]-?: Rule } = {
  timeout: delay,
  interval: delay,
  backlog: positiveInteger,
  backlogChars: positiveInteger,
  maxSubscriptions: positiveInteger,
  maxSessions: positiveInteger,
  // A frame must carry the notice of a message left out as too long, which repeats its channel (docs/wire.md).
  maxFrameChars: atLeastMessageChars,
  sessionTimeout: positiveDelay,
  extensions: { expected: 'an array of extension objects', accepts: (value) => Array.isArray(value) && value.every(isObject) },
  store: { expected: 'a Store object', accepts: isObject },
  randomId: { expected: 'a function returning a string', accepts: isFunction },
  clock: {
    expected: 'an object with now, setTimeout and clearTimeout functions',
    accepts: (value) => isObject(value) && isFunction(value.now) && isFunction(value.setTimeout) && isFunction(value.clearTimeout),
  },
  connectionTypes: {
    expected: 'a non-empty array of connection type names',
    accepts: (value) => Array.isArray(value) && value.length > 0 && value.every((type) => typeof type === 'string'),
  },
};

type ServerOnly = Omit<ServerOptions, keyof EngineOptions>;

const SERVER_RULES: { [K in keyof ServerOnly]-?: Rule } & { connectionTypes: Rule } = {
  path: { expected: 'a string starting with "/"', accepts: (value) => typeof value === 'string' && value.startsWith('/') },
  allowedOrigins: {
    expected: "'*', an array of origins or a function",
    accepts: (value) => value === '*' || isFunction(value) || (Array.isArray(value) && value.every((origin) => typeof origin === 'string')),
  },
  // A stream's heartbeat timer ticks every heartbeat / 4: below 100 ms it would busy the process while idle.
  heartbeat: {
    expected: `a number of milliseconds from 100 to ${MAX_DELAY}`,
    accepts: (value) => typeof value === 'number' && value >= 100 && value <= MAX_DELAY,
  },
  streamLimit: positiveInteger,
  // Not below the least maxMessageChars a client may have: such a client's frames would be refused (`1` refused every POST).
  maxBodyBytes: atLeastMessageChars,
  redis: { expected: 'a redis:// URL or RedisStore options', accepts: (value) => typeof value === 'string' || (isObject(value) && !Array.isArray(value)) },
  // The Node server has an entry point for these types only; any other name (say the client's 'long-poll') offers nothing.
  connectionTypes: typesOf(CONNECTION_TYPES),
};

/** Throw a `bad_options` CometError for the first option of the engine's that breaks its rule. */
export function checkEngineOptions(options: EngineOptions): void {
  check(options, ENGINE_RULES);
}

/**
 * Throw a `bad_options` CometError for the first option of the server's (its engine's included)
 * that breaks its rule, or that is no option at all: a misspelt `allowedOrigin` would otherwise
 * leave the default allow-list in place without a word.
 */
export function checkServerOptions(options: ServerOptions): void {
  check(options, { ...ENGINE_RULES, ...SERVER_RULES }, true);
}

/**
 * Throw a `bad_options` CometError for `createMockServer`'s options: the engine's (no store,
 * and only the `connectionTypes` it serves), its `url` (required) and `wsUrl`, and no other
 * name, as with `createServer`.
 */
export function checkMockOptions(options: object, connectionTypes: readonly string[]): void {
  const { store: _store, ...engine } = ENGINE_RULES;
  const url: Rule = { expected: 'an http(s):// URL', accepts: (value) => typeof value === 'string' && /^https?:\/\//.test(value) };
  const wsUrl: Rule = { expected: 'a ws(s):// URL', accepts: (value) => typeof value === 'string' && /^wss?:\/\//.test(value) };
  check(options, { ...engine, connectionTypes: typesOf(connectionTypes), url, wsUrl }, true);
  const given = (options as { url?: unknown }).url;
  if (given === undefined) throw new CometError('bad_options', `Expected option url to be ${url.expected} but got undefined`);
}

/** `known`: a name without a rule is a mistake too (the engine alone takes the server's options as well). */
function check(options: unknown, rules: Record<string, Rule>, known = false): void {
  if (!isObject(options)) throw new CometError('bad_options', `Expected the options to be an object but got ${shown(options)}`);
  const unknown = known ? Object.keys(options).find((name) => !Object.hasOwn(rules, name)) : undefined;
  if (unknown !== undefined) {
    const like = closest(unknown, Object.keys(rules));
    throw new CometError('bad_options', `Expected a known option but got ${JSON.stringify(unknown)}${like ? ` (did you mean ${like}?)` : ''}`);
  }
  for (const [name, rule] of Object.entries(rules)) {
    const value = options[name];
    if (value !== undefined && !rule.accepts(value)) {
      throw new CometError('bad_options', `Expected option ${name} to be ${rule.expected} but got ${shown(value)}`);
    }
  }
}

/** The name among `names` at most two edits from `name` (letter case aside), if one is. */
function closest(name: string, names: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of names) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Levenshtein distance (insertions, deletions and substitutions of one character). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}

/** A value as a message shows it: `NaN`, `"30s"`, `["long-poll"]`, `a function`. */
function shown(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value !== 'object' || value === null) return typeof value === 'string' ? JSON.stringify(value).slice(0, 100) : String(value);
  try {
    return JSON.stringify(value).slice(0, 100);
  } catch {
    return Object.prototype.toString.call(value); // circular
  }
}
