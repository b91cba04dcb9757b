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
  /** `link` failed: the host closes it, then carries on without it. */
  down(link: Link, error: CometError): void;
  /** A batch as it arrived; its connect replies are the link's, for the host to skip. */
  received(messages: Message[]): void;
  report(error: CometError): void;
}

/** A transport carrying one session, as the client sees it; see {@link openLink}. */
export interface Link {
  readonly name: TransportName;
  /** When the first connect succeeded (platform clock), or 0. */
  since: number;
  /** Send a batch (never a connect: the link owns those). */
  send(messages: Message[]): void;
  /** Send the next connect now rather than after `interval` (a streaming link's early ack). */
  connectSoon(): void;
  /** Become the session's link: keep connecting from now on. */
  activate(): void;
  close(): void;
}

/**
 * Open one transport carrying one session, plus its `/meta/connect` loop: connect
 * as soon as the transport opens, watch every connect with a deadline (so a
 * WebSocket a proxy lets open but never passes a frame through, or a stream a
 * buffering proxy swallows, is abandoned), and, once active, reconnect after
 * each reply as the server's advice says.
 * A closure, not a class: its state is local variables, which minify to one letter each.
 */
export function openLink(factory: TransportFactory, host: LinkHost): Link {
  // The host's platform is fixed for the host's life, so one read serves the link's.
  const platform = host.platform;
  const transport = factory.create();
  const advice: Advice = { ...host.sessionAdvice() };
  let active = false;
  let closed = false;
  let inflight: string | undefined;
  let timer: unknown;

  const connect = (first: boolean): void => {
    // A held connect may legitimately last `timeout`; past that plus the grace, the link is dead.
    // Armed first: a connect an extension drops (or throws on) must not stop the loop unnoticed.
    if (!first) deadline(advice.timeout ?? 0);
    const message = host.connectMessage(factory.connectionType, first);
    if (!message) return;
    inflight = message.id;
    transport.send([message]);
  };

  const deadline = (hold: number): void => {
    platform.clearTimeout(timer);
    timer = platform.setTimeout(() => down(new CometError('timeout', 'No /meta/connect in time')), hold + host.connectTimeout);
  };

  const schedule = (): void => {
    if (closed || !active || inflight || timer !== undefined) return;
    // No timer to clear: the check above found none.
    timer = platform.setTimeout(() => {
      timer = undefined;
      connect(false);
    }, advice.interval ?? 0);
  };

  // The host's down() closes the link first.
  const down = (error: CometError): void => {
    if (!closed) host.down(self, error);
  };

  const self: Link = {
    name: factory.name,
    since: 0,
    send(messages) {
      if (!closed) transport.send(messages);
    },
    connectSoon() {
      // connect() re-arms the one timer, cancelling the wait for `interval`.
      if (active && !inflight) connect(false);
    },
    activate() {
      active = true;
      schedule();
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
  transport.open(host.context(), {
    // A reopened stream connects again: that carries the ack at once and learns
    // quickly if the server forgot the session (its 402 on a stream has no id).
    // (A transport makes no sink call after close(), so no guard is needed here.)
    onOpen: () => connect(!self.since),
    onMessages: (messages) => {
      // Deliveries first, so the next connect acknowledges them.
      host.received(messages);
      for (const reply of messages) {
        // Only the answer to the connect in flight counts; an unsolicited one (no id, none in flight) is ignored.
        if (reply.channel !== CONNECT || closed || (reply.id ?? 0) !== inflight) continue;
        inflight = undefined;
        platform.clearTimeout(timer);
        timer = undefined;
        Object.assign(advice, reply.advice);
        // `none` stops the client even on a successful reply (Bayeux §5.3, as Faye and CometD do).
        if (reply.successful !== true || reply.advice?.reconnect === 'none') {
          host.refused(self, reply);
          continue;
        }
        self.since ||= platform.now();
        host.connected(self, reply);
        schedule();
      }
    },
    onError: host.report,
    onClose: down,
  });
  return self;
}
