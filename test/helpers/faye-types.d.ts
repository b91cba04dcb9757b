// faye 1.4.3 ships no types: the part of its API the interop tests use.
// https://faye.jcoglan.com/node.html
declare module 'faye' {
  import type { Server as HttpServer } from 'node:http';

  /** A Bayeux message as Faye passes it to extensions. */
  export interface FayeMessage {
    channel: string;
    clientId?: string;
    id?: string;
    data?: unknown;
    successful?: boolean;
    error?: string;
    subscription?: string | string[];
    connectionType?: string;
    advice?: Record<string, unknown>;
    ext?: Record<string, unknown>;
    [key: string]: unknown;
  }

  /**
   * Faye extension: call `callback` with the (possibly changed) message, or
   * `null` to drop it. (Server extensions may also take `(message, request,
   * callback)`; the tests use the two-argument form only.)
   */
  export interface FayeExtension {
    incoming?(message: FayeMessage, callback: (message: FayeMessage | null) => void): void;
    outgoing?(message: FayeMessage, callback: (message: FayeMessage | null) => void): void;
  }

  /** Faye's deferrables are thenables. */
  export interface Deferrable extends PromiseLike<unknown> {
    then<R1 = unknown, R2 = never>(onfulfilled?: ((value: unknown) => R1 | PromiseLike<R1>) | null, onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2>;
  }

  export interface FayeSubscription extends Deferrable {
    cancel(): void;
    unsubscribe(): void;
    withChannel(callback: (channel: string, data: unknown) => void): this;
  }

  export interface ClientOptions {
    /** Seconds. */
    timeout?: number;
    /** Seconds between reconnect attempts. */
    retry?: number;
    interval?: number;
  }

  export class Client {
    constructor(endpoint: string, options?: ClientOptions);
    /** e.g. `'websocket'`, `'eventsource'`, `'autodisconnect'`. */
    disable(feature: string): void;
    setHeader(name: string, value: string): void;
    addExtension(extension: FayeExtension): void;
    subscribe(channel: string, callback: (data: any) => void): FayeSubscription;
    unsubscribe(channel: string, subscription?: FayeSubscription): void;
    publish(channel: string, data: unknown): Deferrable;
    connect(callback?: () => void): void;
    disconnect(): Deferrable | undefined;
    getClientId(): string | null;
    bind(event: 'transport:up' | 'transport:down', listener: () => void): void;
  }

  export interface NodeAdapterOptions {
    mount?: string;
    /** Seconds a `/meta/connect` is held. */
    timeout?: number;
    ping?: number;
    extensions?: FayeExtension[];
  }

  export class NodeAdapter {
    constructor(options?: NodeAdapterOptions);
    attach(server: HttpServer): void;
    getClient(): Client;
    addExtension(extension: FayeExtension): void;
    close(): void;
    /** Server events: `handshake`, `subscribe`, `unsubscribe`, `publish`, `disconnect`. */
    on(event: string, listener: (...args: any[]) => void): void;
  }

  const faye: { Client: typeof Client; NodeAdapter: typeof NodeAdapter; VERSION: string };
  export default faye;
}
