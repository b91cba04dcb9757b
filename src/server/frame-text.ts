/**
 * The JSON text of the frames the engine writes, built so that a message shared
 * by every recipient of a publish is serialised once, not once per recipient
 * (#5): its text is kept beside it, and each recipient's frame joins those texts
 * into an array, with `ext.seq` spliced in for ack clients. The bytes are
 * exactly what `JSON.stringify` of the same batch gives
 * (test/server/frame-text.test.ts pins that).
 */
import { MIN_MESSAGE_CHARS } from '../protocol/frame.js';
import type { Message } from '../protocol/message.js';
import type { BacklogEntry } from './store.js';

/**
 * Where a delivered message keeps its JSON text: a non-enumerable symbol key,
 * which `JSON.stringify` and object spread (`withSeq`'s copies) both skip. A
 * WeakMap did the same at the cost of an ephemeron per message, which the GC
 * pays for on every publish.
 */
const TEXT = Symbol('json');
type WithText = Message & { [TEXT]?: string };

/** A message's kept text, or its JSON when it has none (not kept: most messages are written once). */
const textOf = (message: Message): string => (message as WithText)[TEXT] ?? JSON.stringify(message);

/** `message` keeping `text`, which must be exactly `JSON.stringify(message)` (e.g. what it was parsed from). */
export const keepText = <M extends Message>(message: M, text: string): M => Object.defineProperty(message, TEXT, { value: text });

/**
 * A message's JSON text, serialised on first use and kept as long as the message.
 * Only for messages no one changes afterwards: deliveries once enqueued, replies once extended.
 */
export function messageText(message: Message): string {
  let text = (message as WithText)[TEXT];
  if (text === undefined) keepText(message, (text = JSON.stringify(message)));
  return text;
}

/** A backlog entry as written to an ack client: its seq in `ext`. */
function withSeq(entry: BacklogEntry): Message {
  return { ...entry.message, ext: { ...entry.message.ext, seq: entry.seq } };
}

/**
 * `JSON.stringify(withSeq(entry))` without serialising the message again: the
 * spread puts a new `ext` last, so it is the shared text with
 * `,"ext":{"seq":N}` before its closing brace. A message with an `ext` key of
 * its own (rare: an outgoing extension set one) keeps it where it is, so that
 * one is serialised whole.
 */
function seqText(entry: BacklogEntry): string {
  if ('ext' in entry.message) return JSON.stringify(withSeq(entry));
  const text = messageText(entry.message);
  return `${text.slice(0, -1)},"ext":{"seq":${entry.seq}}}`;
}

/** The longest `ext.seq` a message can gain in an ack client's frame (a safe-integer seq). */
const SEQ_EXT = `,"ext":{"seq":${Number.MAX_SAFE_INTEGER}}`.length;

/** True when `message` fits, alone, in a frame of `chars` characters, for any client (the engine refuses publishes that do not). */
export const fitsInFrame = (message: Message, chars: number): boolean => messageText(message).length + SEQ_EXT + 2 <= chars;

/**
 * The longest frame a client said in its handshake it accepts (`ext.maxMessageChars`,
 * cometkit's client sends its `maxMessageChars`), raised to `MIN_MESSAGE_CHARS` (src/protocol/frame.ts);
 * `undefined` when it said nothing usable.
 */
export function clientFrameChars(said: unknown): number | undefined {
  return typeof said === 'number' && Number.isSafeInteger(said) && said > 0 ? Math.max(said, MIN_MESSAGE_CHARS) : undefined;
}

/**
 * What a client that could not accept `entry` (in a frame of `chars` characters)
 * gets in its place: the channel, the id and those characters (`ext.tooLarge`),
 * under the same seq. With the ack extension the client must see every seq, or it
 * would hold all later messages waiting for this one, and be sent it again after
 * every reconnect.
 */
export function leftOut(entry: BacklogEntry, chars: number): BacklogEntry {
  const { channel, id } = entry.message;
  return { seq: entry.seq, message: { channel, id, ext: { tooLarge: chars } } };
}

/** A backlog entry as written to a client without ack: the shared text. */
const entryText = (entry: BacklogEntry): string => messageText(entry.message);

/**
 * The texts of the leading `items` from `from` on that fit in one frame of `chars`
 * characters (at least one always goes), each item's text from `text`.
 */
function fitting<T>(items: readonly T[], from: number, text: (item: T) => string, chars: number): string[] {
  const parts: string[] = [];
  // `[` + parts joined by `,` + `]`: one bracket, then each part with the separator or bracket after it.
  let total = 1;
  for (let i = from; i < items.length; i++) {
    const part = text(items[i]!);
    if ((total += part.length + 1) > chars && parts.length > 0) break;
    parts.push(part);
  }
  return parts;
}

/**
 * The texts of the leading entries that fit in one frame of `chars` characters
 * (at least one always goes). A client refuses a frame over its own limit
 * (cometkit's `maxMessageChars`) and, with ack, would be sent the same frame
 * again on every reconnect: a big backlog (a long-poll that fell behind) must
 * leave in pieces.
 */
export const firstFrame = (entries: readonly BacklogEntry[], ack: boolean, chars: number): string[] =>
  fitting(entries, 0, ack ? seqText : entryText, chars);

/**
 * `messages` as the texts of frames of at most `chars` characters each, in order (a
 * message longer than that alone gets a frame of its own): the replies to a batch a
 * client sent near its limit can be longer than the batch (`"successful":true` each).
 */
export function frameTexts(messages: readonly Message[], chars: number): string[] {
  const frames: string[] = [];
  for (let i = 0; i < messages.length; ) {
    const parts = fitting(messages, i, textOf, chars);
    frames.push(frameText(parts));
    i += parts.length;
  }
  return frames;
}

/** A frame's text from its parts (see `firstFrame`). */
export const frameText = (parts: readonly string[]): string => `[${parts.join(',')}]`;

/**
 * The entries `firstFrame` chose (`parts`, their texts) as messages, for a poll's
 * response or a `Connection` without `sendText`: ack clients get copies with
 * `ext.seq`, each keeping its part as its text, so `batchText` writes it without
 * serialising the copy again.
 */
export const frameMessages = (entries: readonly BacklogEntry[], parts: readonly string[], ack: boolean): Message[] =>
  parts.map((part, i) => (ack ? keepText(withSeq(entries[i]!), part) : entries[i]!.message));

/**
 * `JSON.stringify(messages)`, reusing the kept text of the shared deliveries
 * among them (a poll's response to a client without ack); everything else is
 * serialised here as usual.
 * @example
 * res.end(batchText(await engine.handle(readBatch(body), context)));
 */
export const batchText = (messages: readonly Message[]): string => frameText(messages.map(textOf));
