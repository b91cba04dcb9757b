import { expand } from '../protocol/channel.js';
import type { Message } from '../protocol/message.js';
import type { BacklogEntry, SessionInfo, Store } from './store.js';

/** How many recent publish ids per client are remembered for de-duplication. */
const RECENT_IDS = 32;

/**
 * Per-client state, kept deliberately small (10k clients must fit in well under
 * 100 MB): arrays and sets are created only once they hold something.
 */
class ClientState implements SessionInfo {
  acked = 0;
  seq = 0;
  lastSeen: number;
  backlog: BacklogEntry[] | null = null;
  patterns: Set<string> | null = null;
  /** Ring of recent publish ids; `recentAt` is the next slot to overwrite. */
  recent: string[] | null = null;
  recentAt = 0;

  constructor(
    readonly ack: boolean,
    now: number,
  ) {
    this.lastSeen = now;
  }
}

/**
 * The default `Store`: everything in this process's memory. Subscriptions are
 * indexed by pattern, so a publish looks up only the patterns `expand()` yields
 * for its channel instead of scanning every client.
 */
export class MemoryStore implements Store {
  #clients = new Map<string, ClientState>();
  #byPattern = new Map<string, Set<string>>();
  #listeners = new Set<(clientId: string) => void>();

  async createSession(clientId: string, options: { ack: boolean }, now: number): Promise<void> {
    this.#clients.set(clientId, new ClientState(options.ack, now));
  }

  async touch(clientId: string, now: number): Promise<SessionInfo | null> {
    const client = this.#clients.get(clientId);
    if (!client) return null;
    client.lastSeen = now;
    return { ack: client.ack, acked: client.acked };
  }

  async destroySession(clientId: string): Promise<string[] | null> {
    const client = this.#clients.get(clientId);
    if (!client) return null;
    this.#clients.delete(clientId);
    const patterns = [...(client.patterns ?? [])];
    for (const pattern of patterns) this.#unindex(clientId, pattern);
    return patterns;
  }

  async subscribe(clientId: string, pattern: string): Promise<boolean | null> {
    const client = this.#clients.get(clientId);
    if (!client) return false;
    client.patterns ??= new Set();
    if (client.patterns.has(pattern)) return null;
    client.patterns.add(pattern);
    let ids = this.#byPattern.get(pattern);
    if (!ids) this.#byPattern.set(pattern, (ids = new Set()));
    ids.add(clientId);
    return true;
  }

  async unsubscribe(clientId: string, pattern: string): Promise<boolean | null> {
    const client = this.#clients.get(clientId);
    if (!client) return false;
    if (!client.patterns?.delete(pattern)) return null;
    if (client.patterns.size === 0) client.patterns = null;
    this.#unindex(clientId, pattern);
    return true;
  }

  async subscribers(channel: string): Promise<string[]> {
    const out = new Set<string>();
    for (const pattern of expand(channel)) {
      for (const id of this.#byPattern.get(pattern) ?? []) out.add(id);
    }
    return [...out];
  }

  async enqueue(clientId: string, message: Message, limit: number): Promise<number> {
    const client = this.#clients.get(clientId);
    if (!client) return 0;
    client.backlog ??= [];
    if (client.backlog.length >= limit) {
      if (client.ack) return -1;
      client.backlog.shift();
    }
    const seq = ++client.seq;
    client.backlog.push({ seq, message });
    for (const listener of [...this.#listeners]) listener(clientId);
    return seq;
  }

  async pending(clientId: string, afterSeq: number): Promise<BacklogEntry[]> {
    const backlog = this.#clients.get(clientId)?.backlog;
    if (!backlog) return [];
    // Entries are in seq order; most calls want the tail, so scan from the end.
    let i = backlog.length;
    while (i > 0 && backlog[i - 1]!.seq > afterSeq) i--;
    return backlog.slice(i);
  }

  async acknowledge(clientId: string, seq: number): Promise<void> {
    const client = this.#clients.get(clientId);
    if (!client) return;
    const upTo = Math.min(seq, client.seq);
    if (upTo <= client.acked) return;
    client.acked = upTo;
    const backlog = client.backlog;
    if (!backlog) return;
    let n = 0;
    while (n < backlog.length && backlog[n]!.seq <= upTo) n++;
    backlog.splice(0, n);
    if (backlog.length === 0) client.backlog = null;
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

  #unindex(clientId: string, pattern: string): void {
    const ids = this.#byPattern.get(pattern);
    if (!ids) return;
    ids.delete(clientId);
    if (ids.size === 0) this.#byPattern.delete(pattern);
  }
}
