// The session state machine: handshake, transport race, connect loop (each link's, #link),
// requests and replies, ordered exactly-once delivery, reconnect. It is one class
// because every part reads the same session state (clientId, active link, pending
// requests, sequence numbers); a link's connect loop is a closure in it for that
// reason too (and for bytes: no host interface between the two). The pieces that
// stand alone live beside it (negotiate, backoff, transport-memory, emitter, events, options).
import { backoffDelay } from './backoff.js';
import { Emitter } from './emitter.js';
import { CometError, type CometErrorCode } from './errors.js';
import { orderTransports, race, type Race } from './negotiate.js';
import { resolvePlatform, type Platform } from './platform.js';
import { isMeta, isValidChannel, isWildcard, matches } from './protocol/channel.js';
import { createLink } from './transports/http.js';
import { messageChars, tooLarge } from './protocol/frame.js';
import { CONNECT, DISCONNECT, HANDSHAKE, SUBSCRIBE, UNSUBSCRIBE, type Advice, type Message, type TransportName } from './protocol/message.js';
import type { Extension } from './extensions.js';
import type { Channel, MessageCallback, Subscription } from './subscription.js';
import { SOON, transportMemory, type TransportMemory } from './transport-memory.js';
import type { TransportContext, TransportFactory, TransportSink } from './transports/transport.js';
import type { ClientEvents, ClientState, ClientStats } from './events.js';
// Last: where options.ts lands in the CDN bundle, which gzips 3 bytes smaller so.
import { badOption, resolveOptions, type CoreOptions, type ResolvedOptions } from './options.js';

export type { ClientEvents, ClientState, ClientStats, StateEvent, TransportEvent } from './events.js';

/** A transport carrying the session, as the client sees it; see #link. */
interface Link {
  readonly name: TransportName;
  /** Send a batch (never a connect: the link owns those). */
  send(messages: Message[]): void;
  /** Send the next connect now rather than after `interval` (a streaming link's early ack). */
  connectSoon(): void;
  close(): void;
}

interface Waiter {
  promise: Promise<void>;
  resolve(): void;
  fail(e: CometError): void;
}

interface Pending {
  request: Message;
  /** The code its failure gets. */
  errorCode: CometErrorCode;
  resolve(reply: Message): void;
  fail(error: CometError): void;
  /** The link it went out on; re-sent when that link is gone. */
  link?: Link | undefined;
}

/** Acknowledge at least this often, counted in messages, so the server's backlog stays short. */
const ACK_EVERY = 64;
/**
 * Characters a request leaves in its frame for its reply, which can be longer (`"successful":true`)
 * and on long-polling comes back in one response with the others'.
 */
const REPLY_ROOM = 64;
/** `code`, for a channel name that is not one (or not one that may be used here). */
const channelError = (code: CometErrorCode, channel: unknown) => new CometError(code, `Expected a channel but got ${JSON.stringify(channel)}`);
// The error (without one, the advice: a bare `reconnect: 'none'` says why) as JSON, not interpolated: a hostile
// `{"toString":0}` would make the template throw, leaving the call unsettled.
const failed = (code: CometErrorCode, reply: Message) => new CometError(code, `${reply.channel} failed: ${JSON.stringify(reply.error ?? reply.advice)}`, { reply });

/**
 * A Bayeux client over pluggable transports. `createClient` (the default
 * entry) builds one with all four; use this class with only the transports
 * you import to ship less.
 * @example
 * import { CometClient, websocketTransport, longPollTransport } from 'cometkit';
 * const client = new CometClient({ url, transports: [websocketTransport, longPollTransport] });
 */
export class CometClient {
  readonly #o: ResolvedOptions;
  readonly #events = new Emitter<ClientEvents>((error, type) => {
    if (type !== 'error') this.#threw(error);
  });
  #platform!: Platform;
  #memory!: TransportMemory;
  #state: ClientState = 'disconnected';
  #clientId: string | null = null;
  #serverTypes: string[] | undefined;
  #advice: Advice = {};
  /** How long the last handshake took (ms): the network's round trip, as far as we know it. */
  #rtt = 0;
  #ack = false;
  #leaving = false;
  #flushing = false;
  #lastSeq = 0;
  /** When the session's handshake succeeded (platform clock). */
  #born = 0;
  #held = new Map<number, Message>();
  #acked = 0;
  #active: Link | null = null;
  #race: Race<Link> | null = null;
  #upgrade: Link | null = null;
  #pending = new Map<string, Pending>();
  #channels = new Map<string, Channel>();
  /** Channel name → the callbacks a delivery on it reaches; emptied whenever a subscription changes. */
  #routes = new Map<string, MessageCallback[]>();
  /** The last message id handed out (ids are its decimal string, one per request). */
  #nextId = 0;
  #attempt = 0;
  #timers = new Set<unknown>();
  #waiter: Waiter | null = null;
  #unlisten = () => {};
  #handshaking: { close(): void } | undefined;
  readonly stats: ClientStats = { delivered: 0, duplicates: 0 };

  constructor(options: CoreOptions) {
    this.#o = resolveOptions(options);
  }

  // #drop and #ext sit here, not with the session and the plumbing below, because the CDN
  // bundle gzips 6 bytes smaller so (member order only: they are private).

  /** Close every link and race; the session (clientId, pending requests) stays. */
  #drop(): void {
    this.#handshaking?.close(); // a handshake the server never answers must not outlive the client
    const previous = this.transport;
    this.#race?.close();
    this.#race = null;
    this.#active?.close();
    this.#active = null;
    this.#upgrade?.close();
    this.#upgrade = null;
    this.#timers.forEach((t) => this.#platform.clearTimeout(t));
    this.#timers.clear();
    if (previous) this.#events.emit('transport', { transport: null, previous });
  }

  /** Pass a message through every extension's hook for its direction; null when one drops it. */
  #ext(m: Message | null, hook: keyof Extension = 'outgoing'): Message | null {
    for (const ext of this.#o.extensions) {
      try {
        if (m && ext[hook]) m = ext[hook](m);
      } catch (error) {
        // The app's code, as a listener is: reported, and skipped (the message goes on as it was).
        this.#threw(error);
      }
    }
    return m;
  }

  /** Current state; every change is a `state` event. */
  get state(): ClientState {
    return this.#state;
  }

  /** The transport carrying the session, or `null` while none is connected. */
  get transport(): TransportName | null {
    return this.#active?.name ?? null;
  }

  /** The Bayeux session id, or `null` before the handshake. */
  get clientId(): string | null {
    return this.#clientId;
  }

  /** Listen to an event; returns a function that stops listening. */
  on<K extends keyof ClientEvents>(type: K, listener: (payload: ClientEvents[K]) => void): () => void {
    return this.#events.on(type, listener);
  }

  /**
   * Connect (handshake, then negotiate a transport). Resolves once connected;
   * rejects if the server refuses the handshake or `disconnect()` is called.
   * While the server cannot be reached the client keeps retrying with backoff.
   */
  connect(): Promise<void> {
    if (this.#state === 'connected') return Promise.resolve();
    let w = this.#waiter;
    if (!w) {
      w = this.#waiter = {} as Waiter;
      w.promise = new Promise<void>((resolve, reject) => Object.assign(w!, { resolve, fail: reject }));
      w.promise.catch(() => {}); // the caller may not await connect(); failures are also `error` events
    }
    // #start may settle it at once (an extension that drops the handshake).
    if (this.#state === 'disconnected' || this.#state === 'closed') this.#start();
    return w.promise;
  }

  /**
   * Subscribe to a channel or a wildcard pattern (`/a/*`, `/a/**`); connects if needed.
   * @throws CometError `bad_channel` for a malformed pattern, `bad_options` for a callback that is not a function, `closed` after `disconnect()`
   */
  subscribe<T = unknown>(channel: string, callback: MessageCallback<T>): Subscription {
    if (!isValidChannel(channel) || isMeta(channel)) throw channelError('bad_channel', channel);
    // Plain JavaScript's slip (no callback, or an options object): said now, not as a listener_failed per message.
    if (typeof callback != 'function') throw badOption('a callback function', typeof callback);
    if (this.#state === 'closed') throw new CometError('closed', 'Client closed');
    const entry = this.#channels.get(channel) ?? this.#subscribe(channel, { callbacks: new Set() } as Channel);
    entry.callbacks.add(callback as MessageCallback<never>);
    this.#routes.clear();
    return {
      channel,
      ready: entry.ready,
      unsubscribe: async () => {
        this.#routes.clear();
        if (!entry.callbacks.delete(callback as MessageCallback<never>) || entry.callbacks.size || this.#channels.get(channel) !== entry) return;
        this.#channels.delete(channel);
        if (this.#clientId) await this.#request({ channel: UNSUBSCRIBE, subscription: channel }, 'unsubscribe_failed');
      },
    };
  }

  /**
   * Publish `data` to a channel; resolves when the server acknowledges it.
   * Rejects with `bad_channel`, `too_large`, `bad_message` (data JSON cannot carry), `publish_failed` or `closed`.
   */
  async publish(channel: string, data: unknown): Promise<void> {
    if (!isValidChannel(channel) || isWildcard(channel) || isMeta(channel)) throw channelError('bad_channel', channel);
    // JSON has no undefined: the message would go without data, which Faye's server and ours refuse. null, as in a JSON array.
    await this.#request({ channel, data: data ?? null }, 'publish_failed');
  }

  /** Leave the session (best effort, briefly waiting for the server) and release everything. */
  async disconnect(): Promise<void> {
    // An active link implies a session: clientId goes only after #drop has cleared the link.
    if (this.#active) {
      // No more connects from here: a connect sent after the disconnect would be
      // answered 402 and start a new session that nobody owns.
      this.#leaving = true;
      await Promise.race([this.#request({ channel: DISCONNECT }, 'closed').catch(() => {}), new Promise<void>((r) => this.#after(1000, r))]);
    }
    this.#teardown();
  }

  // ---- session ----------------------------------------------------------

  #start(): void {
    this.#platform = resolvePlatform(this.#o.platform);
    this.#memory = transportMemory(this.#o.url, this.#platform, this.#o.rememberTransport);
    const win = this.#platform.window;
    // Back online while waiting to reconnect: try again now, not when the backoff ends.
    const online = () => {
      if (this.#state !== 'reconnecting' || this.#race) return;
      this.#attempt = 0;
      // Reconnecting with no race: #retry or #rehandshake has closed every link, so this clears the retry's timer.
      this.#drop();
      if (this.#clientId) this.#negotiate();
      else this.#handshake();
    };
    win?.addEventListener?.('online', online);
    this.#unlisten = () => win?.removeEventListener?.('online', online);
    this.#setState('connecting');
    this.#handshake();
  }

  #handshake(): void {
    this.#drop();
    this.#clientId = null;
    // Network failure, 5xx, garbage or silence: the server may come back. (#retry → #drop closes the request.)
    const fail = (error: CometError) => this.#retry(error);
    // A server that accepts the request and never answers must not hold us in `connecting`.
    const timer = this.#platform.setTimeout(() => fail(new CometError('timeout', 'No handshake reply')), this.#o.connectTimeout);
    // The request is the client's #handshaking before the extensions run: one that ends this
    // session from its hook (disconnect()) closes it, so that nothing it receives is acted on.
    const http = (this.#handshaking = createLink(
      this.#context(),
      // A POST and nothing else: it never opens, so it needs no onOpen.
      {
        onMessages: (messages) => {
          const reply = messages.map((m) => this.#ext(m, 'incoming')).find((m) => m?.channel === HANDSHAKE);
          // Not if an incoming hook ended the session (disconnect(), which closed this request).
          if (!http.live()) return;
          http.close();
          this.#rtt = this.#platform.now() - sent;
          this.#handshaken(reply);
        },
        onError: fail,
        onClose: fail,
      } as TransportSink,
      () => this.#platform.clearTimeout(timer),
    ));
    const message = this.#ext({
      channel: HANDSHAKE,
      version: '1.0',
      supportedConnectionTypes: this.#o.transports.map((t) => t.connectionType),
      id: '' + ++this.#nextId,
      // 'seq', not CometD's `true`: a CometD server with its (per-batch) ack extension must not take us for one of its clients.
      // maxMessageChars: cometkit's server then sends no frame we would refuse (docs/wire.md).
      ext: { ack: 'seq', maxMessageChars: this.#o.maxMessageChars },
    });
    // An outgoing hook that ended the session (disconnect()) closed the request: nothing goes out.
    if (!http.live()) return;
    if (!message) return this.#handshaken({ channel: HANDSHAKE, error: 'Dropped by an extension' }); // fails it (and #drop closes the request)
    const sent = this.#platform.now();
    http.post([message]);
  }

  #handshaken(reply: Message | null | undefined): void {
    if (reply?.successful !== true || typeof reply.clientId !== 'string') {
      // The server answered and said no (bad credentials, 4xx, version): retrying cannot help.
      return this.#teardown(failed('handshake_failed', reply ?? { channel: HANDSHAKE, error: 'no reply' }));
    }
    this.#clientId = reply.clientId;
    this.#born = this.#platform.now();
    this.#serverTypes = Array.isArray(reply.supportedConnectionTypes) ? reply.supportedConnectionTypes : undefined;
    this.#advice = { ...reply.advice };
    this.#ack = reply.ext?.ack === 'seq';
    this.#lastSeq = this.#acked = 0;
    this.#held.clear();
    // The new session knows none of our subscriptions: renew the confirmed ones (those
    // still unanswered are pending requests, which #flush re-sends on the new session's link),
    // ahead of every queued request, so that a publish queued while the server was away finds them.
    const queued = this.#pending;
    this.#pending = new Map();
    this.#channels.forEach((entry, channel) => entry.confirmed && this.#subscribe(channel, entry));
    queued.forEach((p, id) => this.#pending.set(id, p));
    this.#negotiate();
  }

  #negotiate(): void {
    const candidates = orderTransports(this.#o.transports, this.#serverTypes, this.#platform, this.#memory);
    if (!candidates.length) {
      // Say which half is missing: what the server offers, or what runs here (Node 20 has no WebSocket).
      const here = orderTransports(this.#o.transports, undefined, this.#platform, this.#memory).map((t) => t.connectionType);
      return this.#teardown(new CometError('transport_failed', `No transport supported (server: ${JSON.stringify(this.#serverTypes)}; here: ${here.join() || 'none'})`));
    }
    (this.#race = race<Link>(
      candidates,
      (factory) => this.#link(factory),
      (reasons) => {
        this.#race = null;
        this.#retry(new CometError('transport_failed', `No transport connected (${reasons.join('; ')})`));
      },
      this.#platform,
      // A WebSocket takes a few round trips (TCP, TLS, upgrade, connect): past 6 it is likely stuck (RFC 8305 bounds it too).
      this.#o.fallbackDelay ?? Math.min(1000, Math.max(400, 6 * this.#rtt)),
    )).begin();
  }

  #promote(link: Link): void {
    const previous = this.transport;
    this.#race = null;
    this.#active?.close();
    this.#active = link;
    this.#memory.worked(link.name);
    if (previous !== link.name) this.#events.emit('transport', { transport: link.name, previous });
    this.#setState('connected');
    this.#waiter?.resolve();
    this.#waiter = null;
    this.#flush();
    // Started on a lesser transport (the better one hung, or memory said so)?
    // Try the better ones again in the background and switch without a gap. Only
    // with the ack extension: it makes the server redeliver whatever was in
    // flight on the old transport, so the switch cannot lose a message.
    if (!this.#ack || !this.#o.upgradeDelay) return;
    const target = orderTransports(this.#o.transports, this.#serverTypes, this.#platform, { ...this.#memory, last: undefined })[0];
    if (!target || target.name === link.name) return;
    this.#after(this.#o.upgradeDelay, () => {
      if (this.#active !== link || this.#upgrade) return;
      this.#upgrade = this.#link(target);
    });
  }

  /** Lost the link (or never got one, or the session: then clientId is gone): wait, then try again. */
  #retry(error?: CometError): void {
    // Leaving: nothing to reconnect for. (Retrying cleared the timers, disconnect()'s wait among them, and it never ended.)
    if (this.#leaving) return this.#teardown();
    this.#drop();
    if (error) this.#events.emit('error', error);
    // A listener of those events ended the client (disconnect()): that stands.
    if (this.#state === 'closed') return;
    this.#setState('reconnecting');
    // Offline: don't burn attempts; the `online` event resumes at once.
    if (this.#platform.window?.navigator?.onLine === false) return;
    const delay = Math.max(this.#advice.interval ?? 0, backoffDelay(this.#attempt++, this.#o.reconnect));
    // A new session (#handshake, #teardown) clears this timer in #drop; the state check
    // covers a listener of the events above that ended `reconnecting` before it was set.
    this.#after(delay, () => this.#state === 'reconnecting' && (this.#clientId ? this.#negotiate() : this.#handshake()));
  }

  /**
   * The server forgot us (402 / unknown client): a retry like any other, on a new session with the same
   * subscriptions. With backoff, as a server that cannot keep a session (behind a balancer without sticky
   * sessions or a shared engine) forgets every new one at once, and must not be asked again in a loop.
   */
  #rehandshake(error?: CometError): void {
    if (!this.#clientId) return; // one is already under way
    // A session that lived SOON (10 s) was lost (a restart, an outage past sessionTimeout), not refused:
    // the server answered, so ask it again after the first backoff step, not after the one the outage built up.
    if (this.#platform.now() - this.#born >= SOON) this.#attempt = 0;
    this.#clientId = null;
    this.#retry(error);
  }

  /** Close for good: with `error`, the client failed (emitted as `error`); without, it was asked to. */
  #teardown(error?: CometError): void {
    this.#leaving = false;
    this.#drop();
    this.#unlisten();
    this.#clientId = null;
    this.#channels.clear();
    this.#routes.clear();
    this.#held.clear();
    const reason = error ?? new CometError('closed', 'Client closed');
    this.#pending.forEach((p) => p.fail(reason));
    this.#pending.clear();
    this.#waiter?.fail(reason);
    this.#waiter = null;
    if (error) this.#events.emit('error', error);
    this.#setState('closed');
  }

  // ---- links ------------------------------------------------------------

  /**
   * What a transport is given; built for each, as it reads the session's state. The resolved
   * options carry url, headers and the limits under the context's names. Recycling a stream
   * is lossless only when the server redelivers (ack): never recycle otherwise (Faye).
   */
  #context(): TransportContext {
    return {
      ...this.#o,
      clientId: this.#clientId ?? '',
      platform: this.#platform,
      streamCharLimit: this.#ack ? this.#o.streamCharLimit : Infinity,
      ack: () => this.#lastSeq, // stays 0 without the ack extension
    };
  }

  /**
   * Open one transport carrying the session, plus its `/meta/connect` loop: connect
   * as soon as the transport opens, watch every connect with a deadline (so a
   * WebSocket a proxy lets open but never passes a frame through, or a stream a
   * buffering proxy swallows, is abandoned), and, once active, reconnect after
   * each reply as the server's advice says. A closure in the client, not a class
   * of its own: its state is local variables, and it reads the session's directly.
   */
  #link(factory: TransportFactory): Link {
    const platform = this.#platform;
    const transport = factory.create();
    // The session's advice from the handshake is the starting point of each link's.
    const advice: Advice = { ...this.#advice };
    let active = false;
    let closed = false;
    /** When the first connect succeeded (platform clock), or 0. */
    let since = 0;
    let inflight: string | undefined;
    let timer: unknown;

    const connect = (first: boolean): void => {
      // A held connect may legitimately last `timeout`; past that plus the grace, the link is dead.
      // Armed first: a connect an extension drops (or throws on) must not stop the loop unnoticed.
      if (!first) deadline(advice.timeout ?? 0);
      if (this.#leaving) return;
      // An open link implies a session: clientId goes only where #drop closes every link (race
      // runners, active, upgrade) with nothing run in between (#handshake and #teardown drop first,
      // #rehandshake just before its #retry drops), and a closed link neither connects nor is called back.
      const m = this.#ext({
        channel: CONNECT,
        clientId: this.#clientId!,
        connectionType: factory.connectionType,
        id: '' + ++this.#nextId,
        // Ask for an immediate answer to the first connect: it is how a transport proves itself.
        ...(first && { advice: { timeout: 0 } }),
        ...(this.#ack && { ext: { ack: (this.#acked = this.#lastSeq) } }),
      });
      if (!m) return;
      inflight = m.id;
      transport.send([m]);
    };

    const deadline = (hold: number): void => {
      platform.clearTimeout(timer);
      // Within a timer's range, which a server's huge `timeout` or a connectTimeout near 2^31 ms would leave: it would fire at once.
      timer = platform.setTimeout(() => down(new CometError('timeout', 'No /meta/connect in time')), Math.min(hold + this.#o.connectTimeout, 2 ** 31 - 1));
    };

    const schedule = (): void => {
      if (closed || !active || inflight || timer !== undefined) return;
      // No timer to clear: the check above found none.
      timer = platform.setTimeout(() => {
        timer = undefined;
        connect(false);
      }, advice.interval ?? 0);
    };

    // The link failed: close it, then carry on without it.
    const down = (error: CometError): void => {
      if (closed) return;
      self.close();
      if (this.#race?.failed(self, `${self.name}: ${error.message}`)) return;
      if (self === this.#upgrade) {
        this.#upgrade = null;
        this.#memory.died(self.name, 0);
      } else if (self === this.#active) {
        if (since) this.#memory.died(self.name, platform.now() - since);
        this.#retry(error);
      }
    };

    const self: Link = {
      name: factory.name,
      send(messages) {
        if (!closed) transport.send(messages);
      },
      connectSoon() {
        // connect() re-arms the one timer, cancelling the wait for `interval`.
        if (active && !inflight) connect(false);
      },
      close() {
        if (closed) return;
        closed = true;
        platform.clearTimeout(timer);
        transport.close();
      },
    };

    // The deadline runs from here: a transport that never even opens (an upgrade
    // left unanswered, a stream that never delivers its first chunk) is abandoned too.
    deadline(0);
    transport.open(this.#context(), {
      // A reopened stream connects again: that carries the ack at once and learns
      // quickly if the server forgot the session (its 402 on a stream has no id).
      // (A transport makes no sink call after close(), so no guard is needed here.)
      onOpen: () => connect(!since),
      onMessages: (messages) => {
        // Deliveries first, so the next connect acknowledges them.
        for (const message of messages) {
          const m = message.channel !== CONNECT && this.#ext(message, 'incoming'); // connect replies are the link's
          if (!m) continue;
          if (m.successful !== undefined || isMeta(m.channel)) this.#reply(m);
          else if (!this.#route(m.channel)) this.#events.emit('error', channelError('bad_message', m.channel));
          else this.#sequence(m);
        }
        for (const reply of messages) {
          // Only the answer to the connect in flight counts; an unsolicited one (no id, none in flight) is ignored.
          if (reply.channel !== CONNECT || closed || (reply.id ?? 0) !== inflight) continue;
          inflight = undefined;
          platform.clearTimeout(timer);
          timer = undefined;
          Object.assign(advice, reply.advice);
          const reconnect = reply.advice?.reconnect;
          // `none` stops the client even on a successful reply (Bayeux §5.3, as Faye and CometD do).
          if (reply.successful !== true || reconnect === 'none') {
            const error = failed('connect_failed', reply);
            if (reconnect === 'none') this.#teardown(error);
            else if (reconnect === 'handshake') this.#rehandshake(error);
            else down(error);
            continue;
          }
          since ||= platform.now();
          // Held SOON (10 s): the session is kept, so the next failure starts the backoff afresh. Not at the first connect:
          // a server that forgets each new session (a balancer without sticky sessions) answers one, then refuses the next.
          if (platform.now() - since >= SOON) this.#attempt = 0;
          // A runner of the race wins it, an upgrade takes over; the active link goes on.
          // (While a race runs there is no upgrade: the #drop before every race cleared it, and
          // only the active link plans one.) #promote ends the race.
          if (this.#race?.connected(self) || self === this.#upgrade) {
            // The session's link from now on: it keeps connecting (armed before #promote runs listeners).
            active = true;
            schedule();
            this.#upgrade = null;
            this.#promote(self);
          } else schedule();
        }
      },
      onError: (error) => this.#events.emit('error', error),
      onClose: down,
    });
    return self;
  }

  // ---- messages ---------------------------------------------------------

  /**
   * The callbacks a delivery on `channel` reaches, in the order their patterns
   * were subscribed (a callback subscribed to two matching patterns runs
   * twice), or undefined for a name no one may publish to. Cached per channel:
   * a busy channel costs a Map lookup (two per delivery: `received` validates,
   * #dispatch routes, as a callback may change subscriptions in between), not
   * a regex and four pattern lookups. The
   * arrays are never changed (a change of subscriptions empties the cache
   * instead), so a dispatch can iterate one while its callbacks subscribe and
   * unsubscribe.
   */
  #route(channel: string): MessageCallback[] | undefined {
    let route = this.#routes.get(channel);
    if (!route && isValidChannel(channel) && !isWildcard(channel)) {
      // A server publishing to ever new channels must not grow it without end.
      if (this.#routes.size > 999) this.#routes.clear();
      // A loop, not a closure: a closure over `channel` would cost an allocation on every call, hits included.
      this.#routes.set(channel, (route = []));
      for (const [pattern, entry] of this.#channels) if (matches(pattern, channel)) route.push(...(entry.callbacks as Set<MessageCallback>));
    }
    return route;
  }

  #reply(reply: Message): void {
    const id = reply.id as string;
    const p = this.#pending.get(id); // a hostile id of another type simply finds nothing
    if (!p) return;
    // Unknown client: keep the request; #flush re-sends it on the new session's link.
    if (reply.successful !== true && reply.advice?.reconnect === 'handshake') return this.#rehandshake();
    this.#pending.delete(id);
    if (reply.successful === true) p.resolve(reply);
    else p.fail(failed(p.errorCode, reply));
  }

  /** Hand deliveries to the app once each, in the server's order (the ack extension's `seq`). */
  #sequence(m: Message): void {
    const seq = (this.#ack && m.ext?.seq) as number;
    // No (usable) number, or no ack extension (false): nothing to order by. A hostile one must not sit in `held` forever.
    if (!Number.isSafeInteger(seq)) return this.#dispatch(m);
    if (seq <= this.#lastSeq || this.#held.has(seq)) {
      this.stats.duplicates++;
      return;
    }
    // Out of order (a redelivery raced a newer message): hold it until the gap
    // fills, which it does, since the server redelivers every unacknowledged
    // message on the next connection and ends a session rather than drop one.
    // The next in line (the usual case) goes out at once, then whatever it unblocks.
    if (seq > this.#lastSeq + 1) this.#held.set(seq, m);
    else for (let next: Message | undefined = m; next; next = this.#held.get(this.#lastSeq + 1)) {
      this.#held.delete(++this.#lastSeq);
      this.#dispatch(next);
    }
    // Streams acknowledge only with their keep-alive connect: on a busy channel, ack sooner.
    if (this.#lastSeq - this.#acked >= ACK_EVERY) this.#active?.connectSoon();
  }

  #dispatch(m: Message): void {
    // A message longer than maxMessageChars, which the server left out (it sends this notice under its seq instead).
    // Only cometkit's server (the one that answers `ack: 'seq'`) sends them, and it never passes on a publisher's `ext`.
    const chars = m.ext?.tooLarge;
    if (chars && this.#ack) return this.#events.emit('error', tooLarge(this.#o.maxMessageChars, chars, m));
    this.stats.delivered++;
    this.#events.emit('message', m);
    // Every callback subscribed when the dispatch began runs, even one unsubscribed meanwhile (as with `on()` listeners).
    for (const cb of this.#route(m.channel)!) {
      try {
        cb(m.data, m);
      } catch (error) {
        this.#threw(error);
      }
    }
  }

  /** Ask the server for `channel` (again, after a new handshake) and track the answer in `entry`. */
  #subscribe(channel: string, entry: Channel): Channel {
    this.#channels.set(channel, entry);
    entry.confirmed = false;
    (entry.ready = this.#request({ channel: SUBSCRIBE, subscription: channel }, 'subscribe_denied').then(() => void (entry.confirmed = true), (error: CometError) => {
      if (this.#channels.get(channel) === entry) this.#channels.delete(channel);
      this.#routes.clear();
      // Closed: #teardown has reported why already (or was asked to close).
      if (this.#state !== 'closed') this.#events.emit('error', error);
      throw error;
    })).catch(() => {}); // unawaited `ready` must not become an unhandled rejection
    return entry;
  }

  #request(message: Message, code: CometErrorCode): Promise<Message> {
    return new Promise<Message>((resolve, reject) => {
      // A throw in here rejects the request.
      if (this.#state === 'closed') throw new CometError('closed', 'Client closed');
      const id = '' + ++this.#nextId;
      // #flush checks it as sent, once extensions have added their fields; offline, fail fast too.
      if (!this.#active) messageChars(message, this.#o.maxMessageChars);
      this.#pending.set(id, { request: { ...message, id }, errorCode: code, resolve, fail: reject });
      // Connects if disconnected; otherwise connect() only hands out a promise (made if
      // none is pending), which nobody sees but the next caller of connect(), who would get its twin.
      void this.connect();
      if (!this.#flushing) {
        this.#flushing = true;
        queueMicrotask(() => this.#flush());
      }
    });
  }

  /** Send every request not yet on the active link, in as few frames as the size limit allows. */
  #flush(): void {
    this.#flushing = false;
    const link = this.#active;
    if (!link) return;
    const max = this.#o.maxMessageChars;
    let batch: Message[] = [];
    let chars = 1; // the frame so far: `[`, then each message with the `,` or `]` after it, and REPLY_ROOM
    this.#pending.forEach((p, id) => {
      if (p.link === link) return;
      p.link = link;
      const m = this.#ext({ ...p.request, clientId: this.#clientId! }); // set while a link is active
      try {
        if (!m) throw new CometError(p.errorCode, 'Dropped by an extension');
        const size = messageChars(m, max);
        // A server refuses an oversized frame whole (HTTP 413; on a WebSocket a close, which
        // the re-send after reconnecting would repeat forever): start another frame instead.
        if ((chars += size + (1 + REPLY_ROOM)) > max && batch.length) {
          link.send(batch);
          batch = [];
          chars = size + (2 + REPLY_ROOM);
        }
        batch.push(m);
      } catch (error) {
        // Nothing will answer it, so settle it here.
        this.#pending.delete(id);
        p.fail(error as CometError);
      }
    });
    if (batch.length) link.send(batch);
  }

  // ---- plumbing ---------------------------------------------------------

  #after(ms: number, fn: () => void): void {
    const handle = this.#platform.setTimeout(() => {
      this.#timers.delete(handle);
      fn();
    }, ms);
    this.#timers.add(handle);
  }

  #setState(state: ClientState): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.#events.emit('state', { state, previous });
  }

  /** Report an exception from the app's code (a listener, a callback, an extension). */
  #threw(cause: unknown): void {
    this.#events.emit('error', new CometError('listener_failed', 'A listener threw', { cause }));
  }
}
