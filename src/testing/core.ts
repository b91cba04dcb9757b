/**
 * The state every mock handler shares: the engine (the reference server's own
 * protocol code), the simulated network faults, the advice override, what is
 * held open, and the log of received messages. Handlers stay thin: they only
 * translate between msw and the engine's adapter contract (see the top of
 * src/server/engine.ts).
 */
import type { Advice, Message, TransportName } from '../protocol/message.js';
import { CONNECT, CONNECTION_TYPES } from '../protocol/message.js';
import { Engine, type Connection, type EngineOptions, type ServerEvents } from '../server/engine.js';

/** How a simulated network treats a transport. */
export type Fault = 'refuse' | 'hang' | 'swallow';

/** Something held open for a client: a socket, a stream, a held long-poll. */
export interface Held {
  readonly transport: TransportName;
  /** End it the way a network failure would. */
  cut(): void;
  /** Write one raw frame to it. */
  inject(raw: string): void;
}

/** The SDK transport name for a Bayeux connectionType, if it is one of ours. */
export function transportOf(connectionType: string | undefined): TransportName | undefined {
  return (Object.keys(CONNECTION_TYPES) as TransportName[]).find((name) => CONNECTION_TYPES[name] === connectionType);
}

/**
 * An engine `Connection` bound to the engine it was made for. After
 * `forgetClients()` the old engine closes its connections while shutting down;
 * `retired` keeps that from cutting sockets and streams the test still uses.
 * Like the real server's, it takes deliveries as text (`sendText`) and
 * serialises only replies, after the advice override (`outgoing`).
 */
export class MockConnection implements Connection {
  retired = false;
  readonly #write: (frame: string) => void;
  readonly #close: () => void;
  readonly #outgoing: (messages: Message[]) => Message[];

  constructor(
    readonly connectionType: string,
    readonly engine: Engine,
    write: (frame: string) => void,
    close: () => void,
    outgoing: (messages: Message[]) => Message[],
  ) {
    this.#write = write;
    this.#close = close;
    this.#outgoing = outgoing;
  }

  send(messages: Message[]): void {
    this.#write(JSON.stringify(this.#outgoing(messages)));
  }

  sendText(frame: string): void {
    this.#write(frame);
  }

  close(): void {
    if (!this.retired) this.#close();
  }
}

/** A listener that survives engine swaps: `bind` attaches it to an engine and returns how to detach it. */
type Listener = { bind: (engine: Engine) => () => void; off: () => void };

export class MockCore {
  engine: Engine;
  /** Every message the server received over HTTP or a WebSocket, in arrival order. */
  readonly requests: Message[] = [];
  readonly faults = new Map<TransportName, Fault>();
  advice: Advice | null = null;
  readonly held = new Set<Held>();
  /** Raw frames for long-poll clients that had no connect held when injected. */
  readonly queued: string[] = [];
  readonly #options: EngineOptions;
  readonly #connections = new Set<MockConnection>();
  readonly #listeners = new Set<Listener>();

  constructor(options: EngineOptions) {
    this.#options = options;
    this.engine = new Engine(options);
  }

  /** Log what arrived, unless the simulated network ate it. */
  record(messages: readonly Message[]): void {
    this.requests.push(...messages.map((m) => structuredClone(m)));
  }

  /** A batch on its way out: connect replies carry the advice set by `advise()`. */
  outgoing(messages: Message[]): Message[] {
    const advice = this.advice;
    if (!advice) return messages;
    return messages.map((m) => (m.channel === CONNECT ? { ...m, advice: { ...m.advice, ...advice } } : m));
  }

  /** A `Connection` for the current engine, tracked so `forget()` can retire it; `write` gets each batch's JSON text. */
  connection(connectionType: string, write: (frame: string) => void, close: () => void): MockConnection {
    const connection = new MockConnection(connectionType, this.engine, write, close, (m) => this.outgoing(m));
    this.#connections.add(connection);
    return connection;
  }

  /** Tell the connection's engine it ended by itself. */
  detach(connection: MockConnection | null | undefined): void {
    if (!connection) return;
    this.#connections.delete(connection);
    connection.engine.detach(connection);
  }

  /** Cut everything held open. */
  cut(): void {
    for (const held of [...this.held]) held.cut();
    this.held.clear();
  }

  /** Swap in a fresh engine and store: every clientId becomes unknown; sockets and streams stay open. */
  async forget(): Promise<void> {
    const old = this.engine;
    for (const connection of this.#connections) connection.retired = true;
    this.#connections.clear();
    this.engine = new Engine(this.#options);
    for (const listener of this.#listeners) listener.off = listener.bind(this.engine);
    await old.close();
  }

  on<K extends keyof ServerEvents>(event: K, fn: (payload: ServerEvents[K]) => void): () => void {
    const bind = (engine: Engine) => engine.on(event, fn);
    const listener: Listener = { bind, off: bind(this.engine) };
    this.#listeners.add(listener);
    return () => {
      listener.off();
      this.#listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.cut();
    for (const listener of this.#listeners) listener.off();
    this.#listeners.clear();
    await this.engine.close();
  }
}
