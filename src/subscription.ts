import type { Message } from './protocol/message.js';

/** Called with each message's `data`, and the whole Bayeux message. */
export type MessageCallback<T = unknown> = (data: T, message: Message) => void;

/** A live subscription, returned by `client.subscribe()`. */
export interface Subscription {
  /** The channel or pattern subscribed to, e.g. `/stocks/*`. */
  readonly channel: string;
  /**
   * Settles when the server confirms; rejects with `subscribe_denied` (then the subscription
   * is gone), or with the client's own failure (`handshake_failed`, `closed`).
   */
  readonly ready: Promise<void>;
  /** Stop receiving; resolves when the server confirms (at once when other subscriptions share the channel). */
  unsubscribe(): Promise<void>;
}

/** One server-side subscription, shared by every local Subscription to the same pattern. */
export interface Channel {
  readonly callbacks: Set<MessageCallback<never>>;
  /** Settles with the latest subscribe request for this pattern. */
  ready: Promise<void>;
  /** The current session's server confirmed it. */
  confirmed?: boolean;
}
