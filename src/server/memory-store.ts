import type { Message } from '../protocol/message.js';
import { messageText } from './frame-text.js';
import { PatternIndex } from './pattern-index.js';
import { RECENT_IDS, type BacklogEntry, type BacklogLimits, type SessionInfo, type Store } from './store.js';

/** A client's patterns are an array up to this many (a Set costs ~150 bytes even for one), a Set beyond. */
const FEW_PATTERNS = 8;

/**
 * Per-client state, kept deliberately small (10k clients must fit in well under
 * 100 MB): arrays and sets are created only once they hold something.
 */
class ClientState implements SessionInfo {
  acked = 0;
  /** Seq of the newest message enqueued; the backlog holds seqs `seq - backlog.length + 1 … seq`. */
  seq = 0;
  lastSeen: number;
  /** Unacknowledged messages, oldest first (shared objects: an entry costs one array slot). */
  backlog: Message[] | null = null;
  /** Characters of JSON in `backlog` (the sum of its messages' `messageText` lengths), kept as it changes. */
  chars = 0;
  patterns: string[] | Set<string> | null = null;
  /** Ring of recent publish ids; `recentAt` is the next slot to overwrite. */
  recent: string[] | null = null;
  recentAt = 0;

  constructor(
    readonly ack: boolean,
    now: number,
    readonly maxChars?: number,
  ) {
    this.lastSeen = now;
  }
}

/**
 * The default `Store`: everything in this process's memory. Subscriptions are
 * indexed by pattern (`PatternIndex`), so a publish looks up only the patterns
 * that can match its channel instead of scanning every client.
 */
export class MemoryStore implements Store {
  #clients = new Map<string, ClientState>();
  #byPattern = new PatternIndex();
  #listeners = new Set<(clientId: string) => void>();

  async createSession(clientId: string, options: { ack: boolean; maxChars?: number }, now: number): Promise<void> {
    this.#clients.set(clientId, new ClientState(options.ack, now, options.maxChars));
  }

  async touch(clientId: string, now: number): Promise<SessionInfo | null> {
    const client = this.#clients.get(clientId);
    if (!client) return null;
    client.lastSeen = now;
    return { ack: client.ack, acked: client.acked, seq: client.seq, maxChars: client.maxChars };
  }

  async destroySession(clientId: string): Promise<string[] | null> {
    const client = this.#clients.get(clientId);
    if (!client) return null;
    this.#clients.delete(clientId);
    const patterns = [...(client.patterns ?? [])];
    for (const pattern of patterns) this.#unindex(clientId, pattern);
    return patterns;
  }

  async subscribe(clientId: string, pattern: string, most = Infinity): Promise<boolean | null | 'full'> {
    const client = this.#clients.get(clientId);
    if (!client) return false;
    const patterns = (client.patterns ??= []);
    if (Array.isArray(patterns)) {
      if (patterns.includes(pattern)) return null;
      if (patterns.length >= most) return 'full';
      if (patterns.length < FEW_PATTERNS) patterns.push(pattern);
      else client.patterns = new Set([...patterns, pattern]);
    } else {
      if (patterns.has(pattern)) return null;
      if (patterns.size >= most) return 'full';
      patterns.add(pattern);
    }
    this.#byPattern.add(pattern, clientId);
    return true;
  }

  async unsubscribe(clientId: string, pattern: string): Promise<boolean | null> {
    const client = this.#clients.get(clientId);
    if (!client) return false;
    const patterns = client.patterns;
    if (Array.isArray(patterns)) {
      const i = patterns.indexOf(pattern);
      if (i < 0) return null;
      patterns.splice(i, 1);
      if (patterns.length === 0) client.patterns = null;
    } else {
      if (!patterns?.delete(pattern)) return null;
      if (patterns.size === 0) client.patterns = null;
    }
    this.#unindex(clientId, pattern);
    return true;
  }

  async subscribers(channel: string): Promise<string[]> {
    return this.#byPattern.match(channel);
  }

  async enqueue(clientIds: readonly string[], message: Message, limits: BacklogLimits): Promise<number[]> {
    // Kept on the message (the engine measured it already): every recipient reads the same length.
    const size = messageText(message).length;
    return clientIds.map((clientId) => this.#enqueue(clientId, message, size, limits));
  }

  async pending(clientId: string, afterSeq: number): Promise<BacklogEntry[]> {
    const client = this.#clients.get(clientId);
    const backlog = client?.backlog;
    if (!backlog) return [];
    const first = client.seq - backlog.length + 1;
    const out: BacklogEntry[] = [];
    for (let i = Math.max(0, afterSeq + 1 - first); i < backlog.length; i++) out.push({ seq: first + i, message: backlog[i]! });
    return out;
  }

  async acknowledge(clientId: string, seq: number): Promise<void> {
    const client = this.#clients.get(clientId);
    if (!client) return;
    const upTo = Math.min(seq, client.seq);
    if (upTo <= client.acked) return;
    client.acked = upTo;
    const backlog = client.backlog;
    if (!backlog) return;
    // Entries up to `upTo` are the first `upTo - first + 1`.
    const count = Math.max(0, upTo - (client.seq - backlog.length));
    if (count >= backlog.length) {
      client.backlog = null;
      client.chars = 0;
      return;
    }
    for (let i = 0; i < count; i++) client.chars -= messageText(backlog[i]!).length;
    backlog.splice(0, count);
  }

  async seen(clientId: string, id: string): Promise<boolean> {
    const client = this.#clients.get(clientId);
    if (!client) return false;
    client.recent ??= [];
    if (client.recent.includes(id)) return true;
    client.recent[client.recentAt] = id;
    client.recentAt = (client.recentAt + 1) % RECENT_IDS;
    return false;
  }

  async expired(before: number): Promise<string[]> {
    const out: string[] = [];
    for (const [id, client] of this.#clients) if (client.lastSeen < before) out.push(id);
    return out;
  }

  watch(listener: (clientId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#listeners.clear();
  }

  /** `size`: `message`'s characters of JSON. */
  #enqueue(clientId: string, message: Message, size: number, limits: BacklogLimits): number {
    const client = this.#clients.get(clientId);
    if (!client) return 0;
    const backlog = (client.backlog ??= []);
    // An empty backlog takes any message: it fitted in a frame, and the count limit is at least 1.
    if (backlog.length > 0 && (backlog.length >= limits.count || client.chars + size > limits.chars)) {
      if (client.ack) return -1;
      // Oldest first until the message fits (shift, unlike splice, allocates nothing); at worst it stays alone.
      do client.chars -= messageText(backlog.shift()!).length;
      while (backlog.length > 0 && (backlog.length >= limits.count || client.chars + size > limits.chars));
      if (backlog.length === 0) client.chars = 0;
    }
    const seq = ++client.seq;
    backlog.push(message);
    client.chars += size;
    // A Set visits each listener once even if one unwatches another meanwhile.
    for (const listener of this.#listeners) listener(clientId);
    return seq;
  }

  #unindex(clientId: string, pattern: string): void {
    this.#byPattern.delete(pattern, clientId);
  }
}
