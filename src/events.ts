import type { CometError } from './errors.js';
import type { Message, TransportName } from './protocol/message.js';

/**
 * The client's life: `disconnected → connecting → connected ⇄ reconnecting`, and `closed`
 * after `disconnect()` or a failure retrying cannot mend (a refused handshake). A closed
 * client starts over, as a new session, when `connect()` is called again.
 */
export type ClientState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** Payload of the `state` event. */
export interface StateEvent {
  state: ClientState;
  previous: ClientState;
}

/** Payload of the `transport` event; `null` while no transport is connected. */
export interface TransportEvent {
  transport: TransportName | null;
  previous: TransportName | null;
}

/** The events of {@link CometClient}, one payload each. */
export interface ClientEvents {
  state: StateEvent;
  transport: TransportEvent;
  /** Every message delivered to this client, before the subscription callbacks. */
  message: Message;
  /** Everything that went wrong; the client carries on unless its state says otherwise. */
  error: CometError;
}

/** Delivery counters, for monitoring and tests. */
export interface ClientStats {
  /** Messages handed to the application. */
  delivered: number;
  /** Redelivered copies dropped so the application sees each message once. */
  duplicates: number;
}
