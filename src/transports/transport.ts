import type { CometError } from '../errors.js';
import type { Message, TransportName } from '../protocol/message.js';
import type { Platform } from '../platform.js';

/**
 * What a transport reports back to the client. Callbacks from a transport the
 * client has already dropped are ignored by the client, so transports need not
 * guard against late calls themselves.
 */
export interface TransportSink {
  /** The channel can carry messages now (socket open, stream open, or at once for long-poll); again after a stream reopens. */
  onOpen(): void;
  /** A parsed batch arrived: replies and deliveries, in wire order. */
  onMessages(messages: Message[]): void;
  /** A frame was unusable; the transport stays up. */
  onError(error: CometError): void;
  /** The transport is dead and will not call again. */
  onClose(error: CometError): void;
}

/** Everything a transport needs to open, resolved by the client. */
export interface TransportContext {
  /** The Bayeux endpoint, e.g. `http://host/cometd`. */
  url: URL;
  /** The session the transport carries; streams are opened per client. */
  clientId: string;
  platform: Platform;
  /** Frames longer than this (characters) are rejected with `too_large`. */
  maxMessageChars: number;
  /** A stream that has received this many characters is reopened, bounding memory. */
  streamCharLimit: number;
  /** Extra request headers for HTTP requests (auth). */
  headers: Record<string, string>;
  /** The session's ack now (the `ack` extension's seq), 0 without one; streams send it when they (re)open. */
  ack(): number;
}

/**
 * One way of carrying Bayeux batches. A transport knows nothing of
 * subscriptions or sessions: it moves batches and reports what happened.
 */
export interface Transport {
  /** Start; report through `sink`. Never throws: failures go to `sink.onClose`. */
  open(context: TransportContext, sink: TransportSink): void;
  /** Send one batch. A `/meta/connect` is always sent alone, so a transport may hold it. */
  send(messages: Message[]): void;
  /** Stop and release everything; no sink call follows. */
  close(): void;
}

/** A transport implementation, passed to `createClient` by the core entry. */
export interface TransportFactory {
  readonly name: TransportName;
  /** Bayeux connectionType announced in the handshake. */
  readonly connectionType: string;
  /** False when this environment lacks what the transport needs (no `WebSocket` global ...). */
  isSupported(platform: Platform): boolean;
  create(): Transport;
}
