/**
 * Channel names and wildcard matching (Bayeux 1.0 §2.2).
 * `/a/*` matches one segment below `/a`; `/a/**` matches any depth below it.
 */

// Segments of Bayeux's channel grammar; a wildcard (`*`, `**`) only as the last segment:
// it must end the name (its `$`), so no segment can follow it.
const CHANNEL = /^(\/([\w!~()$@'+,;=.:-]+|\*\*?$))+$/;

/** True when `name` is an absolute channel name with non-empty segments. */
export const isValidChannel = (name: unknown): name is string => typeof name === 'string' && name.length <= 1024 && CHANNEL.test(name);

/** True for a (valid) pattern that ends in `*` or `**`. */
export const isWildcard = (name: string): boolean => name.endsWith('*');

/** True for `/meta/**`: protocol channels, never published to by applications. */
export const isMeta = (name: string): boolean => name.startsWith('/meta/');

/** True for `/service/**`: client-to-server only, never broadcast. */
export const isService = (name: string): boolean => name.startsWith('/service/');

/** True when subscription `pattern` covers concrete channel `channel` (both valid names). */
export function matches(pattern: string, channel: string): boolean {
  // What a wildcard's segment stands for follows `base`: `/a/` for both `/a/*` and `/a/**`.
  const base = pattern.replace(/\*+$/, '');
  if (base === pattern) return pattern === channel;
  return channel.startsWith(base) && (pattern.endsWith('**') || !channel.includes('/', base.length));
}
