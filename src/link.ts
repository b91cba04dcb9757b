import { CometError } from './errors.js';
import { CONNECT, type Advice, type Message, type TransportName } from './protocol/message.js';
import type { Platform } from './platform.js';
import type { Transport, TransportContext, TransportFactory } from './transports/transport.js';

/** What a {@link Link} needs from the client, and how it reports back. */
export interface LinkHost {
  readonly platform: Platform;
  readonly connectTimeout: number;
  context(): TransportContext;
  /** A connect message for this session (id, clientId, ack, extensions applied). */
  connectMessage(connectionType: string, first: boolean): Message | null;
  /** The session's advice from the handshake, the starting point of each link's. */
  sessionAdvice(): Advice;
  connected(link: Link, reply: Message): void;
  refused(link: Link, reply: Message): void;
  down(link: Link, error: CometError): void;
  /** A batch as it arrived; its connect replies are the link's, for the host to skip. */
  received(messages: Message[]): void;
  report(error: CometError): void;
}

/**
 * One transport carrying one session, plus its `/meta/connect` loop: connect
 * as soon as the transport opens, watch every connect with a deadline (so a
 * WebSocket a proxy lets open but never passes a frame through, or a stream a
 * buffering proxy swallows, is abandoned), and, once active, reconnect after
 * each reply as the server's advice says.
 */
export class Link {
  // `declare`: set in the constructor, so no field initialiser is emitted (bundle bytes).
  declare readonly name: TransportName;
  declare readonly connectionType: string;
  /** When the first connect succeeded (platform clock), or 0. */
  since = 0;
  readonly #transport: Transport;
  readonly #host: LinkHost;
  #advice: Advice;
  #active = false;
  #closed = false;
  #inflight: string | undefined;
  #timer: unknown;

  constructor(factory: TransportFactory, host: LinkHost) {
    this.name = factory.name;
    this.connectionType = factory.connectionType;
    this.#transport = factory.create();
    this.#host = host;
    this.#advice = { ...host.sessionAdvice() };
  }

  open(): this {
    // The deadline runs from here: a transport that never even opens (an upgrade
    // left unanswered, a stream that never delivers its first chunk) is abandoned too.
    this.#deadline(0);
    this.#transport.open(this.#host.context(), {
      // A reopened stream connects again: that carries the ack at once and learns
      // quickly if the server forgot the session (its 402 on a stream has no id).
      // (A transport makes no sink call after close(), so no guard is needed here.)
      onOpen: () => this.#connect(!this.since),
      onMessages: (messages) => this.#receive(messages),
      onError: this.#host.report,
      onClose: (error) => this.#down(error),
    });
    return this;
  }

  /** Send a batch (never a connect: the link owns those). */
  send(messages: Message[]): void {
    if (!this.#closed) this.#transport.send(messages);
  }

  /** Send the next connect now rather than after `interval` (a streaming link's early ack). */
  connectSoon(): void {
    // #connect re-arms the one timer, cancelling the wait for `interval`.
    if (this.#active && !this.#inflight) this.#connect(false);
  }

  /** Become the session's link: keep connecting from now on. */
  activate(): void {
    this.#active = true;
    this.#schedule();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#host.platform.clearTimeout(this.#timer);
    this.#transport.close();
  }

  #connect(first: boolean): void {
    // A held connect may legitimately last `timeout`; past that plus the grace, the link is dead.
    // Armed first: a connect an extension drops (or throws on) must not stop the loop unnoticed.
    if (!first) this.#deadline(this.#advice.timeout ?? 0);
    const message = this.#host.connectMessage(this.connectionType, first);
    if (!message) return;
    this.#inflight = message.id;
    this.#transport.send([message]);
  }

  #receive(messages: Message[]): void {
    // Deliveries first, so the next connect acknowledges them.
    this.#host.received(messages);
    for (const reply of messages) {
      // Only the answer to the connect in flight counts; an unsolicited one (no id, none in flight) is ignored.
      if (reply.channel !== CONNECT || this.#closed || (reply.id ?? 0) !== this.#inflight) continue;
      this.#inflight = undefined;
      this.#host.platform.clearTimeout(this.#timer);
      this.#timer = undefined;
      Object.assign(this.#advice, reply.advice);
      // `none` stops the client even on a successful reply (Bayeux §5.3, as Faye and CometD do).
      if (reply.successful !== true || reply.advice?.reconnect === 'none') {
        this.#host.refused(this, reply);
        continue;
      }
      this.since ||= this.#host.platform.now();
      this.#host.connected(this, reply);
      this.#schedule();
    }
  }

  #deadline(hold: number): void {
    this.#host.platform.clearTimeout(this.#timer);
    this.#timer = this.#host.platform.setTimeout(() => this.#down(new CometError('timeout', 'No /meta/connect in time')), hold + this.#host.connectTimeout);
  }

  #schedule(): void {
    if (this.#closed || !this.#active || this.#inflight || this.#timer !== undefined) return;
    // No timer to clear: the check above found none.
    this.#timer = this.#host.platform.setTimeout(() => {
      this.#timer = undefined;
      this.#connect(false);
    }, this.#advice.interval ?? 0);
  }

  #down(error: CometError): void {
    if (this.#closed) return;
    this.close();
    this.#host.down(this, error);
  }
}
