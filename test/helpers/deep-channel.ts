/**
 * Deep channels, for the tests that a lookup or a subscription check costs work
 * linear in a channel's length, not a string per segment: `head`, then segments
 * (`/s0/s1/…` by default, each different) to a given depth or while they fit.
 * @example
 * deepChannel({ depth: 3 });                               // '/s0/s1/s2'
 * deepChannel();                                           // the longest valid channel of /sN segments (~250 deep)
 * deepChannel({ head: '/x', segment: () => 'a' });         // '/x/a/a/…/a', 1,024 characters (511 deep)
 */

/** The longest valid channel, in characters (`isChannel` in src/protocol/channel.ts). */
export const MAX_CHANNEL_LENGTH = 1024;

export interface DeepChannelOptions {
  /** The segments after `head`. @default as many as fit in `length` */
  depth?: number;
  /** The most characters the channel may have, when no `depth` is given. @default MAX_CHANNEL_LENGTH */
  length?: number;
  /** What comes before the segments, e.g. `/x` (so channels differ by their head). @default '' */
  head?: string;
  /** The segment at `index` (0 first). @default `s${index}` */
  segment?: (index: number) => string;
}

/** A channel `depth` segments deep after `head`, or as deep as fits in `length` (see above). */
export function deepChannel({ depth, length = MAX_CHANNEL_LENGTH, head = '', segment = (i) => `s${i}` }: DeepChannelOptions = {}): string {
  let channel = head;
  for (let i = 0; depth === undefined || i < depth; i++) {
    const next = `${channel}/${segment(i)}`;
    if (depth === undefined && next.length > length) break;
    channel = next;
  }
  return channel;
}

/** How many segments `channel` has (`/a/b`: 2). */
export const depthOf = (channel: string): number => channel.split('/').length - 1;
