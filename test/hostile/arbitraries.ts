/**
 * fast-check arbitraries for hostile Bayeux wire text, shared by the client
 * and server property tests, and the oracle that says how many errors a frame
 * must at least cause on the client. Add a shape here when a new kind of bad
 * input turns up; every property test picks it up.
 */
import fc from 'fast-check';
import { isValidChannel, isWildcard } from '../../src/protocol/channel.js';

/** Channel names of every wrong kind: wildcards, malformed, meta, prototype names. */
const channelName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '/a/*',
    '/a/**',
    '/**',
    '/',
    '',
    'no-slash',
    '/a//b',
    '/a/**/b',
    '/meta/connect',
    '/meta/handshake',
    '/meta/unknown',
    '/service/x',
    '/never/subscribed',
    '/check/*',
    '/__proto__',
    '/constructor/prototype',
    '/' + 'x'.repeat(2000),
  ),
  fc.string({ maxLength: 30 }),
  fc.string({ maxLength: 10 }).map((s) => '/' + s),
);

/** Channel values of every wrong kind, names and non-strings. */
export const hostileChannel: fc.Arbitrary<unknown> = fc.oneof(
  channelName,
  fc.integer(),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.object({ maxDepth: 1 }),
);

/** A message-shaped object whose every field may have the wrong type or be missing. */
export const hostileMessage: fc.Arbitrary<Record<string, unknown>> = messageWith(hostileChannel, []);

/** Like {@link hostileMessage} but with a string channel, so whole batches get past the frame check. */
export const namedHostileMessage: fc.Arbitrary<Record<string, unknown>> = messageWith(channelName, ['channel']);

function messageWith(channel: fc.Arbitrary<unknown>, requiredKeys: Array<'channel'>): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(
    {
      channel,
      // Never a string the client could have issued (its ids are base-36 counters).
      id: fc.oneof(fc.constant({}), fc.integer(), fc.string({ maxLength: 8 }).map((s) => `evil${s}`), fc.constant(null), fc.array(fc.nat(), { maxLength: 2 })),
      data: fc.jsonValue({ maxDepth: 3 }),
      successful: fc.oneof(fc.constant('yes'), fc.constant(1), fc.constant(null), fc.boolean(), fc.object({ maxDepth: 1 })),
      clientId: fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.constant(null)),
      ext: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.record({ seq: fc.oneof(fc.double(), fc.string({ maxLength: 4 }), fc.integer(), fc.constant(null)) })),
      advice: fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.record({ reconnect: fc.constantFrom('none', 'handshake', 'retry', 5, null), interval: fc.oneof(fc.integer(), fc.string({ maxLength: 4 })), timeout: fc.integer() }),
      ),
      error: fc.jsonValue({ maxDepth: 1 }),
      subscription: fc.oneof(hostileChannel, fc.array(hostileChannel, { maxLength: 3 })),
    },
    { requiredKeys },
  );
}

/** Raw text that tries prototype pollution through every field the client reads. */
export const POLLUTION = [
  '[{"channel":"/check","data":{"__proto__":{"polluted":1}},"__proto__":{"polluted":1}}]',
  '[{"channel":"/p","constructor":{"prototype":{"polluted":1}},"ext":{"__proto__":{"polluted":1},"seq":{"__proto__":{"polluted":1}}},"advice":{"__proto__":{"polluted":1}}}]',
  '{"__proto__":{"polluted":1},"channel":"/meta/connect","id":"evil","successful":true,"advice":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}}',
  '[{"channel":"/__proto__/polluted","data":1},{"channel":"/constructor/prototype","data":{"polluted":1}}]',
  '[{"channel":"/meta/subscribe","id":"__proto__","successful":true},{"channel":"/meta/publish","id":"constructor","successful":false}]',
  '{"channel":"/x","__proto__":[]}',
];

/** Replies nobody asked for: no id, or one the client never issued, with advice to stop or re-handshake. */
export const UNSOLICITED = [
  '[{"channel":"/meta/connect","successful":false,"error":"500::x","advice":{"reconnect":"none"}}]',
  '[{"channel":"/meta/connect","successful":true,"advice":{"interval":-1,"timeout":"x"}}]',
  '[{"channel":"/meta/handshake","successful":false,"advice":{"reconnect":"handshake"}}]',
  '[{"channel":"/meta/subscribe","id":"evil","successful":false,"advice":{"reconnect":"handshake"}}]',
];

/**
 * Whole frames: arbitrary text, truncated JSON, any JSON value, batches of
 * hostile messages, a lone hostile message, pollution attempts, one frame over
 * `max` characters and one big frame under it.
 */
export function hostileFrame(max: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.string({ maxLength: 40 }).map((s) => `[{"channel":${s}`),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.array(hostileMessage, { minLength: 1, maxLength: 4 }).map((a) => JSON.stringify(a)),
    fc.array(namedHostileMessage, { minLength: 1, maxLength: 4 }).map((a) => JSON.stringify(a)),
    hostileMessage.map((m) => JSON.stringify(m)),
    fc.constantFrom(...POLLUTION, ...UNSOLICITED),
    fc.constant(JSON.stringify([{ channel: '/huge', data: 'x'.repeat(max) }])),
    fc.constant(JSON.stringify([{ channel: '/big', data: 'y'.repeat(Math.floor(max / 2)) }])),
  );
}

/**
 * The fewest `error` events the client must emit for one frame: one for a frame
 * it cannot use at all (too long, not JSON, an element without a string
 * channel), else one per delivery on a malformed or wildcard channel.
 */
export function minimumErrors(text: string, max: number): number {
  if (text.length > max) return 1;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 1;
  }
  const list = (Array.isArray(value) ? value : [value]) as Array<Record<string, unknown> | null>;
  if (list.some((m) => typeof m?.channel !== 'string')) return 1;
  return list.filter((m) => {
    const channel = m!.channel as string;
    return m!.successful === undefined && !channel.startsWith('/meta/') && (!isValidChannel(channel) || isWildcard(channel));
  }).length;
}

/** True when `Object.prototype` (and so every plain object) carries a key it should not. */
export function polluted(): boolean {
  const probe: Record<string, unknown> = {};
  return probe.polluted !== undefined || Object.keys(Object.prototype).length > 0 || 'polluted' in Object.prototype;
}
