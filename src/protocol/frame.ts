import { CometError } from '../errors.js';
import type { Message } from './message.js';

/** Largest frame a client accepts by default: 1 MiB of JSON text. */
export const MAX_FRAME_CHARS = 1 << 20;

/**
 * The least `maxMessageChars` a client may have, and what cometkit's server raises a
 * smaller announced one to: a server's notice of a message left out as too long repeats
 * its channel (up to 1,024 characters), beside a connect reply on long-polling.
 */
export const MIN_MESSAGE_CHARS = 2048;

/** `convert(value)`, with what JSON cannot parse or carry turned into `bad_message`. (No closure: it runs for every frame.) */
function json<A, T>(convert: (value: A) => T, value: A): T {
  try {
    return convert(value);
  } catch (cause) {
    // The cause's text says which way it failed ("… is not valid JSON", "Converting circular structure …", "… a BigInt").
    throw new CometError('bad_message', `Not JSON (${(cause as Error)?.message})`, { cause });
  }
}

/**
 * Parse one wire frame (a JSON array of messages, or a lone message object,
 * which some servers send) into messages. Everything a hostile or broken
 * server could send turns into a `bad_message` / `too_large` CometError here,
 * so nothing past this point sees malformed input: a frame that is not JSON
 * (or too long) throws; an element that is not a message (no string `channel`)
 * goes to `bad` and is left out, so the frame's other messages still arrive.
 */
export function parseFrame(text: string, maxChars: number, bad: (error: CometError) => void): Message[] {
  if (text.length > maxChars) throw tooLarge(maxChars, text.length);
  const value: unknown = json(JSON.parse, text);
  const list = (Array.isArray(value) ? value : [value]) as Message[]; // an array's elements, or the lone message
  // The usual frame, all messages, is returned as parsed: no copy, no closure (this runs for every frame).
  return list.every(isMessage) ? list : list.filter((m) => isMessage(m) || (bad(new CometError('bad_message', 'Expected messages with a channel', { reply: m })), false));
}

const isMessage = (m: Message | null): boolean => typeof m?.channel === 'string';

/** The `too_large` CometError for `chars` characters where at most `maxChars` are accepted. */
export const tooLarge = (maxChars: number, chars: unknown, reply?: Message) =>
  // JSON, not interpolated: `chars` may come from a server, and a hostile `{"toString":0}` would make the template throw.
  new CometError('too_large', `Expected at most ${maxChars} characters (maxMessageChars) but got ${JSON.stringify(chars)}`, { reply });

/**
 * The characters `message` takes in a frame; `too_large` when a frame of its own
 * (brackets included) would be over `maxChars`, `bad_message` for data JSON cannot
 * carry (a cycle, a BigInt).
 */
export function messageChars(message: Message, maxChars: number): number {
  const text = json(JSON.stringify, message);
  // Counted with its brackets, so that the error names the limit the app set, not 2 less.
  if (text.length + 2 > maxChars) throw tooLarge(maxChars, text.length + 2);
  return text.length;
}
