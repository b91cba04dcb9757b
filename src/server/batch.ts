import { CometError } from '../errors.js';
import type { Message } from '../protocol/message.js';

/**
 * Turn a request body into messages, strictly: docs/wire.md requires a JSON
 * array of objects that each have a string `channel`. Anything else throws a
 * `bad_message` CometError whose text goes into a `400::<why>` reply. Only the
 * fields the server reads are copied, with their types checked, so nothing
 * hostile (`__proto__` keys, getters, wrong types) reaches the engine.
 */
export function readBatch(text: string): Message[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CometError('bad_message', `Expected a JSON array of messages but got ${JSON.stringify(text.slice(0, 40))}`);
  }
  return toMessages(value);
}

/** Like `readBatch` for a value that is already parsed (e.g. by msw). */
export function toMessages(value: unknown): Message[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new CometError('bad_message', 'Expected a non-empty JSON array of messages');
  }
  return value.map((m) => {
    if (m === null || typeof m !== 'object' || Array.isArray(m) || typeof (m as { channel?: unknown }).channel !== 'string') {
      throw new CometError('bad_message', 'Expected every message to be an object with a string channel');
    }
    return clean(m as Record<string, unknown>);
  });
}

function clean(raw: Record<string, unknown>): Message {
  const m: Message = { channel: raw.channel as string };
  if (typeof raw.id === 'string' || typeof raw.id === 'number') m.id = String(raw.id);
  if (typeof raw.clientId === 'string') m.clientId = raw.clientId;
  if ('data' in raw) m.data = raw.data;
  if (isRecord(raw.ext)) m.ext = raw.ext;
  if (typeof raw.subscription === 'string') m.subscription = raw.subscription;
  else if (Array.isArray(raw.subscription)) m.subscription = raw.subscription.filter((s): s is string => typeof s === 'string');
  if (typeof raw.connectionType === 'string') m.connectionType = raw.connectionType;
  if (Array.isArray(raw.supportedConnectionTypes)) {
    m.supportedConnectionTypes = raw.supportedConnectionTypes.filter((s): s is string => typeof s === 'string');
  }
  if (isRecord(raw.advice) && typeof raw.advice.timeout === 'number' && Number.isFinite(raw.advice.timeout)) {
    m.advice = { timeout: raw.advice.timeout };
  }
  if (typeof raw.version === 'string') m.version = raw.version;
  if (typeof raw.minimumVersion === 'string') m.minimumVersion = raw.minimumVersion;
  return m;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
