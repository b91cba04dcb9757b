/**
 * `RedisStore`: the `Store` (./store.ts) that lets several server processes share
 * sessions, subscriptions, backlogs and publishes through one Redis, so they can
 * run behind a load balancer without sticky sessions (docs/scaling.md).
 *
 * - State lives in keys with a TTL (layout in ./redis-scripts.ts); each `Store`
 *   call is one Lua script, so seqs are allocated atomically (HINCRBY) and no call
 *   sees half of another. The exception is a publish's `enqueue`: one script per
 *   `ENQUEUE_CHUNK` recipients, all sent at once, so a publish costs a few round
 *   trips instead of one per recipient while no single script keeps Redis from
 *   serving other clients for long. Each recipient is still served atomically.
 * - Wake-ups: after messages are enqueued, the store PUBLISHes the client ids on
 *   `<prefix>wake`. Every process SUBSCRIBEs to it and calls its `watch` listeners,
 *   so a connect held (or a stream attached) on process A is flushed when process B
 *   publishes. Ids enqueued in one event-loop turn leave in one PUBLISH, and the
 *   publishing process wakes its own listeners directly (it skips its own PUBLISH).
 *   Pub/sub is fire-and-forget: a wake lost while the subscriber reconnects only
 *   delays delivery until the client's next connect, which reads the backlog anyway.
 * - Relays: a streaming client's connect that reaches a process without its stream
 *   is PUBLISHed on `<prefix>reply`, so the process holding the stream answers it
 *   there (`Store.relay`). A lost relay makes that connect time out on the client,
 *   which then reopens its stream.
 * - `ioredis` is an optional peer dependency, imported on first use: servers without
 *   the `redis` option never load it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { CometError } from '../errors.js';
import type { Message } from '../protocol/message.js';
import { keepText, messageText } from './frame-text.js';
import * as lua from './redis-scripts.js';
import { BacklogLost, MAX_WILDCARD_DEPTH, RECENT_IDS, type BacklogEntry, type BacklogLimits, type RelayedReply, type SessionInfo, type Store } from './store.js';

/** Options of {@link RedisStore}; every field is optional. */
export interface RedisStoreOptions {
  /** @default 'redis://127.0.0.1:6379' */
  url?: string | undefined;
  /** Extra ioredis `RedisOptions` (TLS, password, db, retryStrategy ...), merged over the URL's. */
  connection?: Record<string, unknown> | undefined;
  /**
   * Prefix of every key and of the pub/sub channels; give each cometkit cluster
   * sharing one Redis its own.
   * @default 'cometkit:'
   */
  prefix?: string | undefined;
  /**
   * Milliseconds a session's keys outlive its last sign of life (a delivery's body: twice
   * that). Keep it above the server's `sessionTimeout` + `timeout` (`createServer` uses
   * twice that): the sweep should remove sessions (and emit `disconnect`) first, and a
   * delivery written during a held connect must still be there when its client
   * reconnects; the TTL only catches sessions abandoned while no process runs.
   * @default 120000
   */
  ttl?: number | undefined;
}

/**
 * Most recipients per `ENQUEUE` script. Redis serves no one else while a script
 * runs, and one recipient costs ~5 calls, 5–10 µs (measured on a 2-vCPU VM):
 * 1,000 recipients block Redis for 5–10 ms, about Redis's default slowlog
 * threshold, where one script for 10k would block it for ~80 ms. The chunks of a publish
 * are sent at once, so they cost about one round trip, and other clients'
 * commands run between them.
 */
export const ENQUEUE_CHUNK = 1000;
/** Parsed backlog messages kept, so a fan-out to many clients parses each message once. */
const PARSED_CACHE = 256;

type Listener = (clientId: string, relayed?: RelayedReply) => void;

interface Connections {
  command: Redis;
  subscriber: Redis;
}

/**
 * A `Store` in Redis, shared by every server process that uses the same Redis
 * and prefix. `createServer({ redis: 'redis://…' })` builds one; build it yourself
 * to pass it to an `Engine`.
 * @example
 * const comet = createServer({ redis: 'redis://127.0.0.1:6379', sessionTimeout: 60_000 });
 * // or, for the engine alone:
 * const engine = new Engine({ store: new RedisStore({ url: 'redis://127.0.0.1:6379' }) });
 */
export class RedisStore implements Store {
  readonly #prefix: string;
  readonly #ttl: number;
  readonly #instance = randomBytes(6).toString('base64url');
  /** ioredis loaded and both connections made (not yet connected). */
  readonly #created: Promise<Connections>;
  /** …and the pub/sub channels subscribed, which waits for Redis however long it takes to come up. */
  readonly #ready: Promise<Connections>;
  readonly #listeners = new Set<Listener>();
  readonly #shas = new Map<string, string>();
  #wakes = new Set<string>();
  #wakeScheduled = false;
  #bodyCount = 0;
  readonly #parsed = new Map<string, Message>();
  #closed = false;

  constructor(options: RedisStoreOptions = {}) {
    this.#prefix = options.prefix ?? 'cometkit:';
    this.#ttl = Math.max(1000, Math.round(options.ttl ?? 120_000));
    this.#created = this.#create(options.url ?? 'redis://127.0.0.1:6379', options.connection ?? {});
    this.#ready = this.#created.then(async (connections) => {
      await connections.subscriber.subscribe(`${this.#prefix}wake`, `${this.#prefix}reply`);
      return connections;
    });
    // Failures surface on the first call that awaits them; never as an unhandled rejection.
    this.#ready.catch(() => {});
  }

  /**
   * Resolves once both connections are up and the pub/sub channels are subscribed, however
   * long Redis takes to come up (calls made meanwhile wait for it); rejects if ioredis is missing.
   */
  async ready(): Promise<void> {
    await this.#ready;
  }

  async createSession(clientId: string, options: { ack: boolean; maxChars?: number }, now: number): Promise<void> {
    await this.#run(lua.CREATE, [this.#key(clientId, 's'), this.#clients], [options.ack ? 1 : 0, now, this.#ttl, clientId, options.maxChars ?? 0]);
  }

  async touch(clientId: string, now: number): Promise<SessionInfo | null> {
    const r = (await this.#run(lua.TOUCH, this.#clientKeys(clientId), [now, this.#ttl, clientId])) as [number, number, number, number] | null;
    return r ? { ack: r[0] === 1, acked: Number(r[1]), seq: Number(r[3]), maxChars: Number(r[2]) || undefined } : null;
  }

  async destroySession(clientId: string): Promise<string[] | null> {
    return (await this.#run(lua.DESTROY, this.#clientKeys(clientId), [clientId, `${this.#prefix}p:`, this.#bodies])) as string[] | null;
  }

  async subscribe(clientId: string, pattern: string, most = Number.MAX_SAFE_INTEGER): Promise<boolean | null | 'full'> {
    const r = await this.#run(lua.SUBSCRIBE, [this.#key(clientId, 's'), this.#key(clientId, 'subs'), this.#pattern(pattern)], [clientId, pattern, this.#ttl, most]);
    return r === 1 ? true : r === 0 ? false : r === -2 ? 'full' : null;
  }

  async unsubscribe(clientId: string, pattern: string): Promise<boolean | null> {
    const r = await this.#run(lua.UNSUBSCRIBE, [this.#key(clientId, 's'), this.#key(clientId, 'subs'), this.#pattern(pattern)], [clientId, pattern]);
    return r === 1 ? true : r === 0 ? false : null;
  }

  async subscribers(channel: string): Promise<string[]> {
    return (await this.#run(lua.SUBSCRIBERS, [], [this.#pattern(''), `${this.#prefix}c:`, ':s', channel, MAX_WILDCARD_DEPTH])) as string[];
  }

  async enqueue(clientIds: readonly string[], message: Message, limits: BacklogLimits): Promise<number[]> {
    if (clientIds.length === 0) return [];
    // The engine measured the delivery already (fitsInFrame): its text is kept.
    const json = messageText(message);
    // Unique across processes: every store has its own instance id (base64url, so never ':', '.' and never a
    // leading '{'). Its last part is the delivery's size, which the scripts count without reading the body.
    const body = `${this.#instance}.${(++this.#bodyCount).toString(36)}.${json.length}`;
    const chunks: Promise<unknown>[] = [];
    for (let start = 0; start < clientIds.length; start += ENQUEUE_CHUNK) {
      const keys: string[] = [];
      for (const id of clientIds.slice(start, start + ENQUEUE_CHUNK)) keys.push(this.#key(id, 's'), this.#key(id, 'q'));
      chunks.push(this.#run(lua.ENQUEUE, keys, [limits.count, body, json, this.#ttl, this.#bodies, this.#bodyTtl, limits.chars, json.length]));
    }
    const seqs = (await Promise.all(chunks)).flatMap((r) => (r as Array<number | string>).map(Number));
    this.#wake(clientIds.filter((_, i) => seqs[i]! > 0));
    return seqs;
  }

  async pending(clientId: string, afterSeq: number): Promise<BacklogEntry[]> {
    const flat = (await this.#run(lua.PENDING, [this.#key(clientId, 'q'), this.#key(clientId, 's')], [afterSeq, this.#bodies, this.#bodyTtl])) as string[] | null;
    if (!flat) throw new BacklogLost(clientId);
    const entries: BacklogEntry[] = [];
    // An inline entry left by the previous version has no body id: its JSON keys the cache instead.
    for (let i = 0; i < flat.length; i += 3) entries.push({ seq: Number(flat[i]), message: this.#parse(flat[i + 1] || flat[i + 2]!, flat[i + 2]!) });
    return entries;
  }

  async acknowledge(clientId: string, seq: number): Promise<void> {
    await this.#run(lua.ACKNOWLEDGE, [this.#key(clientId, 's'), this.#key(clientId, 'q')], [seq, this.#bodies]);
  }

  async seen(clientId: string, id: string): Promise<boolean> {
    return (await this.#run(lua.SEEN, [this.#key(clientId, 's'), this.#key(clientId, 'ids')], [id, this.#ttl, RECENT_IDS])) === 1;
  }

  async expired(before: number): Promise<string[]> {
    const { command } = await this.#ready;
    return command.zrangebyscore(this.#clients, '-inf', `(${before}`);
  }

  watch(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  relay(clientId: string, connectionType: string, reply: Message): void {
    const text = JSON.stringify([this.#instance, clientId, connectionType, reply]);
    this.#ready.then(({ command }) => command.publish(`${this.#prefix}reply`, text)).catch(() => {});
  }

  /** Close both Redis connections (the data stays in Redis). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    let connections: Connections;
    try {
      // Not #ready: a Redis that never came up must not hold the shutdown.
      connections = await this.#created;
    } catch {
      return;
    }
    this.#publishWakes();
    // QUIT to a connection that is not up would wait for it; disconnect() just stops it.
    const end = (redis: Redis) => (redis.status === 'ready' ? redis.quit().then(() => {}, () => {}) : redis.disconnect());
    await Promise.all([end(connections.command), end(connections.subscriber)]);
  }

  get #clients(): string {
    return `${this.#prefix}clients`;
  }

  /** A delivery body's TTL: twice the keys' of the sessions holding it (redis-scripts.ts). */
  get #bodyTtl(): number {
    return 2 * this.#ttl;
  }

  /** The prefix of delivery bodies' keys. */
  get #bodies(): string {
    return `${this.#prefix}m:`;
  }

  #key(clientId: string, part: string): string {
    return `${this.#prefix}c:${clientId}:${part}`;
  }

  #clientKeys(clientId: string): string[] {
    return [this.#key(clientId, 's'), this.#key(clientId, 'subs'), this.#key(clientId, 'q'), this.#key(clientId, 'ids'), this.#clients];
  }

  #pattern(pattern: string): string {
    return `${this.#prefix}p:${pattern}`;
  }

  async #create(url: string, connection: Record<string, unknown>): Promise<Connections> {
    let RedisClass: typeof Redis;
    try {
      ({ Redis: RedisClass } = await import('ioredis'));
    } catch (cause) {
      throw new CometError('bad_options', 'The redis option needs the ioredis package: npm install ioredis', { cause });
    }
    const command = new RedisClass(url, { enableAutoPipelining: true, ...connection });
    // The subscription waits out an outage however long (ioredis re-subscribes after every
    // reconnect). With ioredis's default of 20 attempts per command, a Redis that came up
    // ~10 s after this process left the store failing every call until a restart.
    const subscriber = command.duplicate({ maxRetriesPerRequest: null });
    // ioredis reconnects by itself; without a listener it would print every failed attempt.
    command.on('error', () => {});
    subscriber.on('error', () => {});
    subscriber.on('message', (channel: string, text: string) => (channel === `${this.#prefix}wake` ? this.#onWake(text) : this.#onRelay(text)));
    return { command, subscriber };
  }

  /** EVALSHA, loading the script on a NOSCRIPT reply (first use, or Redis restarted). */
  async #run(script: string, keys: string[], args: Array<string | number>): Promise<unknown> {
    const { command } = await this.#ready;
    let sha = this.#shas.get(script);
    if (!sha) this.#shas.set(script, (sha = createHash('sha1').update(script).digest('hex')));
    try {
      return await command.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
      return command.eval(script, keys.length, ...keys, ...args);
    }
  }

  /** The delivery stored as `body` (or, for an inline entry, its JSON), parsed once for all its recipients. */
  #parse(body: string, json: string): Message {
    let message = this.#parsed.get(body);
    if (!message) {
      // Parsed from its own JSON text: keep it, so frames reuse it instead of serialising the copy again.
      message = keepText(JSON.parse(json) as Message, json);
      if (this.#parsed.size >= PARSED_CACHE) this.#parsed.delete(this.#parsed.keys().next().value!);
      this.#parsed.set(body, message);
    }
    return message;
  }

  #wake(clientIds: readonly string[]): void {
    if (clientIds.length === 0) return;
    for (const id of clientIds) {
      // Listeners only schedule a flush; none adds or removes a listener while this runs.
      for (const listener of this.#listeners) listener(id);
      this.#wakes.add(id);
    }
    if (this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    // Publishes enqueued in the same turn share one PUBLISH.
    setImmediate(() => this.#publishWakes());
  }

  #publishWakes(): void {
    this.#wakeScheduled = false;
    if (this.#wakes.size === 0) return;
    const text = `${this.#instance} ${[...this.#wakes].join(' ')}`;
    this.#wakes = new Set();
    this.#ready.then(({ command }) => command.publish(`${this.#prefix}wake`, text)).catch(() => {});
  }

  #onWake(text: string): void {
    const ids = text.split(' ');
    if (ids[0] === this.#instance) return;
    for (let i = 1; i < ids.length; i++) for (const listener of this.#listeners) listener(ids[i]!);
  }

  #onRelay(text: string): void {
    let relayed: [string, string, string, Message];
    try {
      relayed = JSON.parse(text) as typeof relayed;
    } catch {
      return; // not one of ours: something else published on the channel
    }
    const [instance, clientId, connectionType, reply] = relayed;
    if (instance === this.#instance || typeof clientId !== 'string' || typeof reply !== 'object' || reply === null) return;
    for (const listener of this.#listeners) listener(clientId, { connectionType, reply });
  }
}
