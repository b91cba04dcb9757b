/**
 * The transport-agnostic Bayeux engine: sessions, subscriptions, the dispatch of
 * an incoming batch into replies, the `ack` backlog (docs/wire.md) and delivery
 * to whatever connection a session currently has. It imports nothing from Node,
 * so the Node server (`./server.ts`) and the msw mock server (`src/testing/`)
 * run the very same protocol code. Shared state lives behind `Store`.
 *
 * How an adapter uses it:
 *
 * 1. Create one engine: `const engine = new Engine({ timeout, backlog, ... })`.
 *    Parse a request body with `readBatch(text)` (from `./batch.js`; it throws a
 *    `bad_message` CometError for a bad body, which you answer with
 *    `400` and `[failure({ channel: '/meta/unknown' }, '400::' + error.message)]`).
 *
 * 2. Feed every batch to `engine.handle(messages, context)`; it resolves with the
 *    replies to send back, in request order.
 *    - Request/response transports (`long-polling` POST, `callback-polling` GET)
 *      pass `{ transport: 'http' | 'jsonp', headers, signal }`. A batch with a
 *      `/meta/connect` resolves only when that connect is released: when
 *      deliveries arrive (connect reply first, then the deliveries), after
 *      `timeout`, when a newer connect replaces it, or at `close()`. The first
 *      connect of a session is answered at once. Abort `signal` when the
 *      request dies so the hold is dropped (the promise then resolves `[]`).
 *    - A WebSocket passes `{ transport: 'websocket', connection, headers }` where
 *      `connection` is a `Connection` wrapping the socket. Its `/meta/connect`
 *      attaches the socket to the session: deliveries are pushed at once as their
 *      own frames with `connection.sendText(json)` (or `connection.send([...])`
 *      without it), and the held connect reply is sent through
 *      `connection.send([reply])` when released, so `handle()` resolves without
 *      it (send nothing when it resolves `[]`).
 *
 * 3. A streaming transport (`eventsource`, `iframe-streaming`) calls
 *    `await engine.attach(clientId, connection)` when its GET arrives (`false`:
 *    unknown client, so answer with `unknownClientReply(clientId)`). Every
 *    unacknowledged message is (re)delivered on it at once, and a later
 *    `/meta/connect` for that connectionType is answered on the stream
 *    (`handle()` then resolves `[]` for the POST); with a shared store, on the
 *    stream of whichever process holds it (`Store.relay`). Attach before the
 *    stream's first byte: the client connects once it sees the stream open. A
 *    newer connection for the same client makes the engine call `close()` on
 *    the older one (on a replaced stream, 5 s later: see `#retire`).
 *
 * 4. Call `engine.detach(connection)` when a socket or stream ends by itself,
 *    so nothing more is written to it; unacknowledged messages wait for the next
 *    connect or stream.
 *
 * 5. `engine.publish(channel, data)` for server-side publishes; `engine.on(...)`
 *    for events; `await engine.close()` releases every held connect and closes
 *    every attached connection (shared sessions stay in the store).
 *
 * Timers: one periodic sweep removes sessions idle for `sessionTimeout`, and
 * held connects time out through one timer per hold length (`Holds`);
 * deliveries never start timers.
 *
 * (Over 400 lines because of this contract and the re-exports that make this
 * file the one import adapters need; per-session delivery state is in link.ts.)
 */
import { CometError } from '../errors.js';
import { isMeta, isService, isValidChannel, isWildcard } from '../protocol/channel.js';
import { CONNECT, DISCONNECT, HANDSHAKE, SUBSCRIBE, UNSUBSCRIBE } from '../protocol/message.js';
import type { Advice, Message } from '../protocol/message.js';
import { bayeuxError, failure, HANDSHAKE_ADVICE, RETRY_ADVICE } from './bayeux-error.js';
import { checkEngineOptions } from './check-options.js';
import { Emitter } from '../emitter.js';
import {
  CONNECTION_TYPES,
  ENGINE_DEFAULTS,
  POLLING_TYPES,
  STREAMING_TYPES,
  type Clock,
  type DisconnectReason,
  type EngineOptions,
  type ServerEvents,
  type ServerStats,
} from './engine-options.js';
import { runExtensions, type Extension, type ExtensionContext } from './extensions.js';
import { MemoryStore } from './memory-store.js';
import { deepBase } from './pattern-index.js';
import { BacklogLost, MAX_REMEMBERED_ID, MAX_WILDCARD_DEPTH, type RelayedReply, type SessionInfo, type Store } from './store.js';
import type { Connection } from './connection.js';
import { Link, type FlushLimits } from './link.js';
import { clientFrameChars, fitsInFrame } from './frame-text.js';
import { Held, Holds } from './holds.js';
import { defaultClock, defaultRandomId } from './defaults.js';

export { readBatch, toMessages } from './batch.js';
export { failure, bayeuxError, errorBatch, httpStatus } from './bayeux-error.js';
export { CONNECTION_TYPES } from './engine-options.js';
export type { Clock, EngineOptions, ServerEvents, ServerStats, DisconnectReason } from './engine-options.js';
export type { Extension, ExtensionContext } from './extensions.js';
export type { Store, SessionInfo, BacklogEntry, RelayedReply } from './store.js';
export { MemoryStore } from './memory-store.js';
export type { Connection } from './connection.js';

/** Where a batch came from; every field is optional. */
export interface RequestContext {
  /** Shown to extensions as `context.transport`. @default 'http' */
  transport?: string;
  /** The persistent connection the batch arrived on (a WebSocket). */
  connection?: Connection;
  /** Request headers, lower-case names; shown to extensions. */
  headers?: Readonly<Record<string, string | string[] | undefined>>;
  /** Aborted when the request's HTTP exchange dies; drops a held connect. */
  signal?: AbortSignal;
}

/** How long a stream replaced by a newer connection stays open for its client to close it (see `#retire`). */
const REPLACED_STREAM_GRACE = 5_000;
/** How long a connect for a stream that ended waits for the client to open a new one (it reopens at once). */
const STREAM_REOPEN_GRACE = 1_000;

/** Most flushes `#flushDue` runs before letting the event loop turn. */
const FLUSHING = 256;

/**
 * Messages of one batch handled before the engine lets the event loop turn. With the
 * memory store a batch otherwise runs in one turn: one 4 MiB POST of 58k publishes to
 * 200 subscribers held every other client for 5 s.
 */
const SLICE = 100;

/** Most patterns in one `/meta/subscribe` or `/meta/unsubscribe` (clients send one; 350k in one held the process 1.5 s). */
export const MAX_PATTERNS = 1_000;

/** Resolves after the event loop turned once (I/O callbacks and Node's nextTick queue ran). */
const turn = (): Promise<void> =>
  new Promise((resolve) => (globalThis.setImmediate ? globalThis.setImmediate(resolve) : globalThis.setTimeout(resolve, 0)));

// A throwing listener is the app's bug: report it, but never let it fail the request that triggered it.
const newEmitter = () => new Emitter<ServerEvents>((error) => console.error('cometkit: a server event listener threw', error));

/** A held connect's replies, kept apart so later messages in the batch are not delayed. */
type Outcome = Message[] | { later: Promise<Message[]> };

/** A failed reply for a request (by default a connect) from an unknown or expired client. */
export const unknownClientReply = (clientId: string | undefined, request: Pick<Message, 'channel' | 'id'> = { channel: CONNECT }): Message =>
  failure({ ...request, clientId }, bayeuxError.unknownClient(clientId), HANDSHAKE_ADVICE);

/**
 * The Bayeux engine. See the top of this file for how adapters drive it. A wrong
 * option (type, `NaN`, a negative or zero count) throws a `bad_options` CometError.
 * @example
 * const engine = new Engine({ timeout: 30_000 });
 * const replies = await engine.handle(readBatch(body), { transport: 'http', signal });
 */
export class Engine {
  /** The connection types offered in handshake replies. */
  readonly connectionTypes: readonly string[];
  readonly #timeout: number;
  readonly #interval: number;
  readonly #limits: FlushLimits;
  readonly #sessionTimeout: number;
  readonly #maxSubscriptions: number;
  readonly #maxSessions: number;
  readonly #extensions: readonly Extension[];
  readonly #store: Store;
  readonly #ownsStore: boolean;
  readonly #clock: Clock;
  readonly #randomId: () => string;
  #emitter = newEmitter();
  readonly #links = new Map<string, Link>();
  /** Links with deliveries to flush at the end of this tick. */
  #due: Link[] = [];
  readonly #connections = new Map<Connection, string>();
  readonly #unwatch: () => void;
  readonly #holds: Holds;
  #sweepTimer: unknown = null;
  #messageSeq = 0;
  // Processes sharing a store (Redis) must not hand out the same delivery ids.
  readonly #idPrefix: string;
  readonly #sharedAdvice: { readonly streaming: Advice; readonly holding: Advice };
  #closed = false;

  constructor(options: EngineOptions = {}) {
    checkEngineOptions(options);
    this.#timeout = options.timeout ?? ENGINE_DEFAULTS.timeout;
    this.#interval = options.interval ?? 0;
    // `backlog` and `backlogChars` as one object, given to the store with every publish.
    const backlog = Object.freeze({ count: options.backlog ?? ENGINE_DEFAULTS.backlog, chars: options.backlogChars ?? ENGINE_DEFAULTS.backlogChars });
    this.#limits = { backlog, frameChars: options.maxFrameChars ?? ENGINE_DEFAULTS.maxFrameChars };
    this.#sessionTimeout = options.sessionTimeout ?? ENGINE_DEFAULTS.sessionTimeout;
    this.#maxSubscriptions = options.maxSubscriptions ?? ENGINE_DEFAULTS.maxSubscriptions;
    this.#maxSessions = options.maxSessions ?? ENGINE_DEFAULTS.maxSessions;
    this.#extensions = options.extensions ?? [];
    this.#ownsStore = !options.store;
    this.#store = options.store ?? new MemoryStore();
    this.#clock = options.clock ?? defaultClock;
    this.#holds = new Holds(this.#clock);
    this.#randomId = options.randomId ?? defaultRandomId;
    this.#idPrefix = this.#randomId().slice(0, 8) + '.';
    this.connectionTypes = options.connectionTypes ?? CONNECTION_TYPES;
    this.#sharedAdvice = {
      streaming: Object.freeze({ reconnect: 'retry', interval: this.#timeout, timeout: 0 }),
      holding: Object.freeze({ reconnect: 'retry', interval: this.#interval, timeout: this.#timeout }),
    };
    this.#unwatch = this.#store.watch((clientId, relayed) => (relayed ? this.#relayed(clientId, relayed) : this.#schedule(clientId)));
    this.#armSweep();
  }

  /**
   * A connect reply's advice. Without extensions nothing changes it after this,
   * so every reply shares one frozen object: 10k held connects, 10k objects fewer.
   */
  #connectAdvice(streaming: boolean): Advice {
    const shared = streaming ? this.#sharedAdvice.streaming : this.#sharedAdvice.holding;
    return this.#extensions.length === 0 ? shared : { ...shared };
  }

  /** Listen to an engine event; returns a function that stops listening. */
  on<K extends keyof ServerEvents>(event: K, listener: (payload: ServerEvents[K]) => void): () => void {
    return this.#emitter.on(event, listener);
  }

  /** Most characters of JSON written in one frame (`maxFrameChars`). */
  get frameChars(): number {
    return this.#limits.frameChars;
  }

  /**
   * The longest frame to write on `connection` with `replies`: the limit its client announced
   * (`ext.maxMessageChars`), within `maxFrameChars`. The client is the connection's owner; on a
   * connection that carries no session yet, the first reply that names one (a handshake's).
   * Not just the first reply's: a failed request sent without a clientId is answered without one.
   */
  frameCharsFor(connection: Connection, replies: readonly Message[]): number {
    const clientId = this.#connections.get(connection) ?? replies.find((r) => typeof r.clientId === 'string')?.clientId;
    const link = clientId === undefined ? undefined : this.#links.get(clientId);
    return link ? link.frameChars(this.#limits.frameChars) : this.#limits.frameChars;
  }

  /**
   * How long a client with a live session can leave its connection silent: a held
   * connect's `timeout`, the advised `interval`, then `sessionTimeout`, after which
   * the session is gone anyway.
   */
  get silenceLimit(): number {
    return this.#timeout + this.#interval + this.#sessionTimeout;
  }

  /** Process one batch; resolves with the replies for its sender, in request order. */
  async handle(messages: readonly Message[], context: RequestContext = {}): Promise<Message[]> {
    const outcomes: Outcome[] = [];
    let handshakes = 0;
    for (let i = 0; i < messages.length; i++) {
      if (i > 0 && i % SLICE === 0) await turn();
      const message = messages[i]!;
      // No client sends two: a batch of 46k handshakes made 46k sessions in 1.5 s.
      const again = message.channel === HANDSHAKE && ++handshakes > 1;
      outcomes.push(await this.#dispatch(message, context, again));
    }
    const replies: Message[] = [];
    for (const outcome of outcomes) replies.push(...(Array.isArray(outcome) ? outcome : await outcome.later));
    return replies;
  }

  /**
   * Attach a stream (or socket) to a session: it receives every unacknowledged
   * message now and every delivery from now on. `false` for an unknown client.
   * `ack` is the client's ack sent with the stream request (`?ack=`), so a
   * reopened stream does not replay what the client already has.
   */
  async attach(clientId: string, connection: Connection, ack?: unknown): Promise<boolean> {
    if (this.#closed) return false;
    const session = await this.#store.touch(clientId, this.#clock.now());
    if (!session) return false;
    const link = this.#link(clientId, session);
    this.#setConnection(clientId, link, connection, await this.#acknowledge(link, session, ack));
    return true;
  }

  /** A connection that was `blocked` takes writes again: what waits for it in the backlog is written. */
  drained(connection: Connection): void {
    const clientId = this.#connections.get(connection);
    if (clientId !== undefined) this.#schedule(clientId);
  }

  /** Forget a connection that ended by itself; nothing more is written to it. */
  detach(connection: Connection): void {
    const clientId = this.#connections.get(connection);
    if (clientId === undefined) return;
    this.#connections.delete(connection);
    const link = this.#links.get(clientId);
    if (link?.connection !== connection) return;
    link.connection = null;
    if (link.held?.connection === connection) link.drop();
    // The session timeout counts from the moment the client lost its connection.
    this.#store.touch(clientId, this.#clock.now()).catch(() => {});
  }

  /**
   * Publish from the server to every subscriber of `channel`. Rejects with a
   * CometError: `closed` after `close()`, `bad_channel`, `bad_message` (data JSON cannot carry: a cycle, a
   * BigInt, a function; `undefined` goes as `null`), `too_large`, or `publish_failed` when the store
   * failed (Redis unreachable: `cause` says why).
   */
  async publish(channel: string, data: unknown): Promise<void> {
    // After close() nobody is subscribed here any more: succeeding would lose the message without a word.
    if (this.#closed) throw new CometError('closed', `Server closed: nothing was published on ${JSON.stringify(channel)}`);
    if (!isValidChannel(channel) || isWildcard(channel) || isMeta(channel) || isService(channel)) {
      throw new CometError('bad_channel', `Expected a concrete broadcast channel but got ${JSON.stringify(channel)}`);
    }
    // A function or symbol would vanish from the frame, leaving a delivery without data.
    if (typeof data === 'function' || typeof data === 'symbol') throw new CometError('bad_message', `Expected data JSON can carry on ${channel} but got a ${typeof data}`);
    // JSON has no undefined: null, as the client sends it (Bayeux deliveries carry data).
    const message = await this.#delivery(channel, data ?? null);
    let fits: boolean;
    try {
      fits = fitsInFrame(message, this.#limits.frameChars);
    } catch (cause) {
      throw new CometError('bad_message', `Expected data JSON can carry on ${channel}`, { cause });
    }
    // A delivery no frame can carry would be refused by every client, and redelivered to it forever.
    if (!fits) {
      throw new CometError('too_large', `Expected a message that fits in maxFrameChars (${this.#limits.frameChars}) on ${channel}`);
    }
    await this.#fanOut(message).catch((cause: unknown) => {
      throw new CometError('publish_failed', `The store failed to queue a message on ${channel}`, { cause });
    });
  }

  /** What this process holds right now: sessions, open connections by type, held connects. */
  stats(): ServerStats {
    const connections: Record<string, number> = {};
    for (const connection of this.#connections.keys()) connections[connection.connectionType] = (connections[connection.connectionType] ?? 0) + 1;
    let heldConnects = 0;
    for (const link of this.#links.values()) if (link.held) heldConnects++;
    return { sessions: this.#links.size, connections, heldConnects };
  }

  /** Remove sessions idle for longer than `sessionTimeout`. Runs periodically by itself. */
  async sweep(): Promise<void> {
    const now = this.#clock.now();
    const alive: Promise<unknown>[] = [];
    // A held connect proves the client is there. An attached socket or stream does not (a peer can vanish
    // without a FIN), so those clients stay alive through the connects they keep sending instead.
    for (const [id, link] of this.#links) {
      if (link.held) alive.push(this.#store.touch(id, now));
      // With a shared store another process may end the session; an idle local record of it would stay forever.
      else if (!link.connection && link.used < now - this.#sessionTimeout) this.#links.delete(id);
    }
    await Promise.all(alive);
    for (const id of await this.#store.expired(now - this.#sessionTimeout)) await this.#remove(id, 'timeout');
  }

  /** Release every held connect, close every attached connection and stop the sweep. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimeout(this.#sweepTimer);
    this.#holds.clear();
    this.#unwatch();
    for (const link of this.#links.values()) {
      if (link.held) link.release(link.held);
      link.connection?.close();
      link.connection = null;
    }
    this.#connections.clear();
    this.#links.clear();
    this.#emitter = newEmitter(); // listeners are released with the old one
    if (this.#ownsStore) await this.#store.close();
  }

  /** Run `message` through the extensions and its handler; `refused`: a handshake after the batch's first, answered 400. */
  async #dispatch(message: Message, context: RequestContext, refused: boolean): Promise<Outcome> {
    const extContext: ExtensionContext = {
      clientId: message.channel === HANDSHAKE ? null : (message.clientId ?? null),
      transport: context.transport ?? 'http',
      headers: context.headers ?? {},
    };
    await runExtensions(this.#extensions, 'incoming', message, extContext);
    let outcome: Outcome;
    if (message.error !== undefined) outcome = [failure(message, String(message.error))];
    else if (refused) outcome = [failure(message, bayeuxError.badRequest('One handshake per batch'))];
    else if (message.channel === HANDSHAKE) outcome = await this.#handshake(message);
    else if (message.channel === CONNECT) outcome = await this.#connect(message, context);
    else if (message.channel === SUBSCRIBE || message.channel === UNSUBSCRIBE) outcome = await this.#subscription(message);
    else if (message.channel === DISCONNECT) outcome = await this.#disconnect(message, context);
    else outcome = await this.#publish(message);
    if (Array.isArray(outcome)) {
      for (const reply of outcome) await runExtensions(this.#extensions, 'outgoing', reply, extContext);
    }
    return outcome;
  }

  async #handshake(message: Message): Promise<Message[]> {
    const reply = failure.bind(null, message);
    if (!message.version) return [reply(bayeuxError.missing('version'))];
    if (!message.version.startsWith('1.')) return [reply(bayeuxError.versionMismatch(message.version))];
    const offered = message.supportedConnectionTypes;
    if (!offered?.length) return [reply(bayeuxError.missing('supportedConnectionTypes'))];
    if (!offered.some((type) => this.connectionTypes.includes(type))) {
      return [reply(bayeuxError.connectionTypes(offered))];
    }
    // Retry advice: a session ends or idles out soon enough (and on HTTP the 503 makes clients back off).
    if (this.#links.size >= this.#maxSessions) return [reply(bayeuxError.full(this.#maxSessions), RETRY_ADVICE)];
    const clientId = this.#randomId();
    // Only our per-message variant: a CometD client's `ack: true` expects per-batch acks (see docs/wire.md).
    const ack = message.ext?.ack === 'seq';
    const maxChars = clientFrameChars(message.ext?.maxMessageChars);
    await this.#store.createSession(clientId, { ack, maxChars }, this.#clock.now());
    // Held from here, not from the first connect: stats() counts sessions that never connect (a flood of handshakes).
    this.#link(clientId, { ack, acked: 0, maxChars });
    this.#emitter.emit('handshake', { clientId });
    const out: Message = withId(message, {
      channel: HANDSHAKE,
      successful: true,
      version: '1.0',
      supportedConnectionTypes: [...this.connectionTypes],
      clientId,
      advice: { reconnect: 'retry', interval: this.#interval, timeout: this.#timeout },
    });
    if (ack) out.ext = { ack: 'seq' };
    return [out];
  }

  async #connect(message: Message, context: RequestContext): Promise<Outcome> {
    const clientId = message.clientId;
    const session = clientId ? await this.#store.touch(clientId, this.#clock.now()) : null;
    if (!clientId || !session) return [unknownClientReply(clientId, message)];
    const type = message.connectionType;
    if (!type) return [failure(message, bayeuxError.missing('connectionType'))];
    if (!this.connectionTypes.includes(type)) {
      return [failure(message, bayeuxError.connectionType(type))];
    }
    const link = this.#link(clientId, session);
    const from = await this.#acknowledge(link, session, message.ext?.ack);
    const streaming = STREAMING_TYPES.has(type);
    const advice = this.#connectAdvice(streaming);
    // A literal, not withId's spread: a held reply lives as long as its connect, on every client at once.
    const reply: Message =
      message.id === undefined ? { channel: CONNECT, clientId, successful: true, advice } : { id: message.id, channel: CONNECT, clientId, successful: true, advice };
    const extContext = { clientId, transport: context.transport ?? 'http', headers: context.headers ?? {} };
    await runExtensions(this.#extensions, 'outgoing', reply, extContext);
    if (streaming) {
      link.connected = true;
      const stream = link.connection;
      if (stream?.connectionType === type) {
        stream.send([reply]);
        return [];
      }
      // With a shared store the stream may be on another process: the reply goes there (see Store.relay).
      if (this.#store.relay) {
        this.#store.relay(clientId, type, reply);
        return [];
      }
      // The client's stream of that type ended here, nothing replaced it, and the client still connects for it.
      // Either it is reopening the stream (it does at `streamCharLimit`, and a connect may cross the reopen),
      // or the stream died without the client noticing (Chromium fires nothing in an iframe whose connection
      // was cut). So the connect waits a moment for a new stream and is answered on it; failing it at once made
      // every reopen under load a reconnect. Without one, a success on the POST would keep the client waiting
      // on the dead stream for ever, so the connect fails and the client (cometkit's: the ack extension; it
      // backs off) opens a new one. A stream another connection replaced is not failed: that is a client
      // moving to a better transport, whose old link may still connect.
      if (!stream && link.ack && link.streamType === type) {
        return {
          later: this.#reopened(link).then(async (next) => {
            if (next?.connectionType === type) {
              next.send([reply]);
              return [];
            }
            if (next) return [reply];
            const failed = failure(message, bayeuxError.noStream(type), RETRY_ADVICE);
            await runExtensions(this.#extensions, 'outgoing', failed, extContext);
            return [failed];
          }),
        };
      }
      // No stream of that type here yet: answer on the POST as Faye does (wrapped so `#dispatch` does not run the outgoing extensions twice).
      return { later: Promise.resolve([reply]) };
    }
    const polling = POLLING_TYPES.has(type) || !context.connection;
    if (!polling && context.connection) this.#setConnection(clientId, link, context.connection, from);
    else link.sent = from;
    if (link.held) link.release(link.held);
    const held = new Held(reply, link);
    let later: Promise<Message[]> | null = null;
    if (polling) {
      later = new Promise((resolve) => (held.resolve = resolve));
      const signal = context.signal;
      if (signal) {
        const drop = () => link.drop(held);
        signal.addEventListener('abort', drop, { once: true });
        // A batch of many connects (each replacing the last) must not pile listeners on one request's signal.
        void later.then(() => signal.removeEventListener('abort', drop));
      }
    } else {
      held.connection = context.connection!;
    }
    link.held = held;
    const first = !link.connected;
    link.connected = true;
    // A client may ask for a shorter hold (advice.timeout, Bayeux §5.3; Faye honours it too), never a longer one.
    const hold = Math.min(this.#timeout, Math.max(0, message.advice?.timeout ?? this.#timeout));
    if (first || hold === 0 || this.#closed) {
      // Answer at once, with whatever was already waiting for this client.
      await this.#flush(link);
      link.release(held);
    } else {
      this.#holds.add(held, hold);
      this.#schedule(clientId);
    }
    return later ? { later } : [];
  }

  async #subscription(message: Message): Promise<Message[]> {
    const clientId = message.clientId;
    if (!clientId || !(await this.#store.touch(clientId, this.#clock.now()))) {
      return [unknownClientReply(clientId, message)];
    }
    const raw = message.subscription;
    const patterns = typeof raw === 'string' ? [raw] : (raw ?? []);
    if (patterns.length === 0) return [failure(message, bayeuxError.missing('subscription'))];
    if (patterns.length > MAX_PATTERNS) return [failure(message, bayeuxError.badRequest(`At most ${MAX_PATTERNS} subscriptions per message`))];
    for (const pattern of patterns) {
      if (!isValidChannel(pattern)) return [failure(message, bayeuxError.invalidChannel(pattern))];
      if (isMeta(pattern)) return [failure(message, bayeuxError.forbidden(pattern))];
      if ((deepBase(pattern)?.length ?? 0) > MAX_WILDCARD_DEPTH) return [failure(message, bayeuxError.tooDeep(pattern, MAX_WILDCARD_DEPTH))];
    }
    const subscribing = message.channel === SUBSCRIBE;
    const changed: string[] = [];
    for (const subscription of patterns) {
      const outcome = subscribing
        ? await this.#store.subscribe(clientId, subscription, this.#maxSubscriptions)
        : await this.#store.unsubscribe(clientId, subscription);
      if (outcome === 'full') {
        // All or nothing: the reply fails the whole message, so its client holds none of these patterns.
        for (const added of changed) await this.#store.unsubscribe(clientId, added);
        return [failure(message, bayeuxError.tooManySubscriptions(subscription, this.#maxSubscriptions))];
      }
      if (outcome) changed.push(subscription);
    }
    for (const subscription of changed) this.#emitter.emit(subscribing ? 'subscribe' : 'unsubscribe', { clientId, subscription });
    return [withId(message, { channel: message.channel, clientId, successful: true, subscription: raw! })];
  }

  async #disconnect(message: Message, context: RequestContext): Promise<Message[]> {
    const clientId = message.clientId;
    if (!clientId || !(await this.#store.touch(clientId, this.#clock.now()))) {
      return [unknownClientReply(clientId, message)];
    }
    await this.#remove(clientId, 'disconnect', context.connection);
    return [withId(message, { channel: DISCONNECT, clientId, successful: true })];
  }

  async #publish(message: Message): Promise<Message[]> {
    const channel = message.channel;
    if (isMeta(channel)) return [failure(message, bayeuxError.forbidden(channel))];
    if (!isValidChannel(channel) || isWildcard(channel)) return [failure(message, bayeuxError.invalidChannel(channel))];
    const clientId = message.clientId;
    if (!clientId || !(await this.#store.touch(clientId, this.#clock.now()))) {
      return [unknownClientReply(clientId, message)];
    }
    if (message.data === undefined) return [failure(message, bayeuxError.missing('data'))];
    const delivery = isService(channel) ? null : await this.#delivery(channel, message.data);
    if (delivery && !fitsInFrame(delivery, this.#limits.frameChars)) return [failure(message, bayeuxError.tooLarge(channel))];
    const reply = withId(message, { channel, clientId, successful: true });
    // A client re-sending an unacknowledged publish after a reconnect must not publish it twice.
    const id = message.id;
    if (id !== undefined && id.length <= MAX_REMEMBERED_ID && (await this.#store.seen(clientId, id))) return [reply];
    this.#emitter.emit('publish', { clientId, channel, data: message.data, message });
    if (delivery) await this.#fanOut(delivery);
    return [reply];
  }

  /** What subscribers of `channel` receive: the server's own id, never the publisher's ext or clientId. */
  async #delivery(channel: string, data: unknown): Promise<Message> {
    const message: Message = { channel, data, id: this.#idPrefix + (++this.#messageSeq).toString(36) };
    await runExtensions(this.#extensions, 'outgoing', message, { clientId: null, transport: 'server', headers: {} });
    return message;
  }

  async #fanOut(message: Message): Promise<void> {
    const channel = message.channel;
    const ids = await this.#store.subscribers(channel);
    // One call for every recipient: with a shared store, a few round trips per publish, not one per client.
    const seqs = await this.#store.enqueue(ids, message, this.#limits.backlog);
    // A loop, not a filter: most publishes overflow no one, and then allocate nothing here.
    let overflowed: Promise<void>[] | undefined;
    for (let i = 0; i < ids.length; i++) if (seqs[i]! < 0) (overflowed ??= []).push(this.#remove(ids[i]!, 'overflow'));
    if (overflowed) await Promise.all(overflowed);
  }

  #link(clientId: string, session: SessionInfo): Link {
    let link = this.#links.get(clientId);
    if (!link) this.#links.set(clientId, (link = new Link(clientId, session.ack, session.acked, this.#holds, session.maxChars)));
    link.used = this.#clock.now();
    return link;
  }

  #setConnection(clientId: string, link: Link, connection: Connection, from: number): void {
    // Ended while its session was looked up: its detach() has come and gone.
    if (link.connection === connection || connection.ended) return;
    const previousOwner = this.#connections.get(connection);
    if (previousOwner !== undefined && previousOwner !== clientId) {
      // A socket that carried another session now carries this one.
      const other = this.#links.get(previousOwner);
      if (other?.connection === connection) {
        other.connection = null;
        if (other.held?.connection === connection) other.drop();
      }
    }
    const old = link.connection;
    if (old) {
      this.#connections.delete(old);
      if (link.held?.connection === old) link.drop();
      this.#retire(old);
    }
    link.connection = connection;
    if (STREAMING_TYPES.has(connection.connectionType)) link.streamType = connection.connectionType;
    link.sent = from;
    this.#connections.set(connection, clientId);
    // Copied: each waiter removes itself.
    for (const waiter of [...(link.streamWaiters ?? [])]) waiter(connection);
    this.#schedule(clientId);
  }

  /**
   * End a connection a newer one replaced; nothing more is written to it. A stream
   * is left open for `REPLACED_STREAM_GRACE` ms first: a client moving to another
   * transport closes it itself once the new one answered, but a stream the server
   * ends before that looks to the client like one to reopen, and the reopened stream
   * would replace the new connection in turn (a WebSocket upgrade then fell back to
   * a reconnect). A socket carries the client's own messages, so it ends at once.
   */
  #retire(connection: Connection): void {
    if (!STREAMING_TYPES.has(connection.connectionType)) return connection.close();
    this.#clock.setTimeout(() => connection.close(), REPLACED_STREAM_GRACE);
  }

  /** A connect reply another process relayed: written on this process's stream for the client, if it has one of that type. */
  #relayed(clientId: string, { connectionType, reply }: RelayedReply): void {
    const stream = this.#links.get(clientId)?.connection;
    if (stream?.connectionType === connectionType) stream.send([reply]);
  }

  /** The next connection attached for `link` within `STREAM_REOPEN_GRACE` ms, or null. */
  #reopened(link: Link): Promise<Connection | null> {
    return new Promise((resolve) => {
      const waiters = (link.streamWaiters ??= []);
      // One waits, as one connect is held: a newer one fails the older at once (a batch of 40k
      // such connects held 40k timers and their replies for a second).
      waiters[0]?.(null);
      const done = (connection: Connection | null) => {
        this.#clock.clearTimeout(timer);
        const at = waiters.indexOf(done);
        if (at >= 0) waiters.splice(at, 1);
        resolve(connection);
      };
      const timer = this.#clock.setTimeout(() => done(null), STREAM_REOPEN_GRACE);
      waiters.push(done);
    });
  }

  /**
   * Apply a client's ack (a number ≥ 0, else ignored); resolves with the seq redelivery starts after.
   * An ack above every seq given out counts as the last one: taken as it came, the seqs up to it,
   * given to later messages, would count as delivered and never be sent.
   */
  async #acknowledge(link: Link, { acked, seq }: SessionInfo, given: unknown): Promise<number> {
    if (!link.ack || typeof given !== 'number' || !Number.isInteger(given) || given < 0) return acked;
    // Checked, not defaulted: a plain-JavaScript store's `seq: null` would make every ack 0.
    const ack = Number.isInteger(seq) ? Math.min(given, seq!) : given;
    await this.#store.acknowledge(link.clientId, ack);
    link.acked = Math.max(link.acked, ack);
    return Math.max(acked, ack);
  }

  #flush(link: Link): Promise<void> {
    return link.flush(this.#store, this.#limits, () => this.#links.get(link.clientId) === link).catch((error: unknown) => {
      // A gap the client would wait at for ever: end the session, as an overflow does (its connect gets 409).
      if (error instanceof BacklogLost) return this.#remove(link.clientId, 'overflow').catch(() => {});
    });
  }

  #schedule(clientId: string): void {
    const link = this.#links.get(clientId);
    if (!link || link.scheduled) return;
    link.scheduled = true;
    this.#due.push(link);
    // Deliveries enqueued in the same tick leave in one batch.
    if (this.#due.length === 1) queueMicrotask(() => void this.#flushDue());
  }

  /**
   * Flush the links scheduled in the last tick, `FLUSHING` at a time, letting the
   * event loop turn between chunks. A publish to 10k clients otherwise runs every
   * flush in one microtask drain, and everything each send leaves for later (its
   * backlog read, frame, write completion) is still alive when the young
   * generation is collected: V8 promotes it all to the old generation, which then
   * grows by megabytes per publish. Chunked, each chunk's garbage dies young.
   */
  async #flushDue(): Promise<void> {
    const due = this.#due;
    this.#due = [];
    for (let start = 0; start < due.length; start += FLUSHING) {
      if (start > 0) await turn();
      const chunk = due.slice(start, start + FLUSHING);
      await Promise.all(
        chunk.map((link) => {
          link.scheduled = false;
          return this.#flush(link);
        }),
      );
    }
  }

  async #remove(clientId: string, reason: DisconnectReason, keep?: Connection): Promise<void> {
    const link = this.#links.get(clientId);
    this.#links.delete(clientId);
    if (link) {
      // A client that fell too far behind hears why at once (its connect fails), not just a 402 next time.
      if (link.held) link.release(link.held, [], reason === 'overflow' ? failure(link.held.reply, bayeuxError.overflow(clientId), HANDSHAKE_ADVICE) : undefined);
      if (link.connection) {
        this.#connections.delete(link.connection);
        if (link.connection !== keep) link.connection.close();
        link.connection = null;
      }
    }
    const patterns = await this.#store.destroySession(clientId);
    if (!patterns) return;
    for (const subscription of patterns) this.#emitter.emit('unsubscribe', { clientId, subscription });
    this.#emitter.emit('disconnect', { clientId, reason });
  }

  #armSweep(): void {
    if (this.#closed) return;
    const every = Math.min(5_000, Math.max(20, this.#sessionTimeout / 2));
    this.#sweepTimer = this.#clock.setTimeout(() => {
      this.sweep()
        .catch(() => {})
        .finally(() => this.#armSweep());
    }, every);
  }
}

/** `fields`, with the request's `id` first as Bayeux replies echo it. */
function withId(request: Message, fields: Message): Message {
  return request.id === undefined ? fields : { id: request.id, ...fields };
}
