import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { isCometError } from '../errors.js';
import type { Message } from '../protocol/message.js';
import { checkRequestOrigin } from './cors.js';
import { readBatch, type Connection, type Engine } from './engine.js';
import { errorBatch } from './bayeux-error.js';
import type { ResolvedServerOptions } from './options.js';

type Headers = IncomingMessage['headers'];

/** What extensions see as `headers` when there are no extensions to see them. */
const NO_HEADERS: Headers = Object.freeze({});

/**
 * The `Connection` the engine writes to: one socket, frames are JSON arrays.
 * Batches from the socket are handled one at a time, in arrival order (a
 * subscribe must land before the publish sent after it).
 */
class SocketConnection implements Connection {
  readonly connectionType = 'websocket';
  /** Frames that arrived while one was being handled; `null` when idle. */
  #waiting: [RawData, boolean][] | null = null;

  constructor(
    readonly socket: CometSocket,
    readonly headers: Headers,
    readonly transport: WebSocketTransport,
  ) {}

  send(messages: Message[]): void {
    this.sendText(JSON.stringify(messages));
  }

  sendText(frame: string): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(frame);
  }

  close(): void {
    // 1000: the session ended or moved to a newer socket; nothing went wrong (RFC 6455 §7.4.1).
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(1000, 'replaced');
  }

  /** A frame arrived: handle it now, or after the ones before it. */
  receive(data: RawData, isBinary: boolean): void {
    if (this.#waiting) this.#waiting.push([data, isBinary]);
    else void this.#run(data, isBinary);
  }

  async #run(data: RawData, isBinary: boolean): Promise<void> {
    this.#waiting = [];
    let next: [RawData, boolean] | undefined = [data, isBinary];
    while (next) {
      await this.transport.onFrame(this, next[0], next[1]).catch(() => {});
      next = this.#waiting.shift();
    }
    this.#waiting = null;
  }
}

/** A `ws` socket that knows its `Connection`, so its listeners can be shared functions instead of closures per socket. */
class CometSocket extends WebSocket {
  connection: SocketConnection | null = null;
}

// Listeners of every socket (`this` is the socket; `ws` creates only `CometSocket`s here).
function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  (this as CometSocket).connection?.receive(data, isBinary);
}

function onClose(this: WebSocket): void {
  const connection = (this as CometSocket).connection;
  if (!connection) return;
  connection.transport.sockets.delete(connection.socket);
  connection.transport.engine.detach(connection);
}

// Errors (bad frames, resets) are followed by 'close'; without a listener they would crash the process.
function onError(): void {}

/**
 * WebSocket upgrades on `<path>` (the `websocket` connection type), through the
 * `ws` package in `noServer` mode so the HTTP server's other upgrade listeners
 * keep working. The upgrade's `Origin` is checked like any request's (403).
 * Per socket it keeps the `ws` objects, one `SocketConnection` and the upgrade's
 * headers (only when there are extensions to read them): 10k sockets are held
 * by one process, so nothing per socket is a closure.
 */
export class WebSocketTransport {
  readonly #wss: WebSocketServer;
  /** Every open socket, to close them all (`ws` would track them with a closure each). */
  readonly sockets = new Set<CometSocket>();
  readonly #keepHeaders: boolean;

  constructor(
    readonly engine: Engine,
    readonly options: ResolvedServerOptions,
  ) {
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxBodyBytes,
      // Both are ws's defaults today; stated because they matter: per-socket zlib state, per-socket close closure.
      perMessageDeflate: false,
      clientTracking: false,
      WebSocket: CometSocket,
    });
    this.#keepHeaders = (options.extensions?.length ?? 0) > 0;
  }

  /** Take over an upgrade request for our path. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { allowed } = checkRequestOrigin(req, this.options.allowedOrigins);
    if (!allowed) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    // Keep only the headers: a socket lives for hours, and the whole request object would live with it.
    // Only extensions ever read them; without any, keep nothing.
    const headers = this.#keepHeaders ? req.headers : NO_HEADERS;
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#serve(ws as CometSocket, headers));
  }

  /** Close every socket (1001: going away) and stop accepting. */
  close(): void {
    for (const ws of this.sockets) ws.close(1001, 'server closing');
    this.#wss.close();
  }

  #serve(ws: CometSocket, headers: Headers): void {
    ws.connection = new SocketConnection(ws, headers, this);
    this.sockets.add(ws);
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.on('error', onError);
  }

  /** Handle one frame from `connection`'s socket. */
  async onFrame(connection: SocketConnection, data: RawData, isBinary: boolean): Promise<void> {
    if (isBinary) return connection.send(errorBatch('400::Expected a text frame'));
    let messages: Message[];
    try {
      messages = readBatch(rawText(data));
    } catch (error) {
      return connection.send(errorBatch(`400::${isCometError(error) ? error.message : 'Bad request'}`));
    }
    try {
      const replies = await this.engine.handle(messages, { transport: 'websocket', connection, headers: connection.headers });
      if (replies.length > 0) connection.send(replies);
    } catch {
      // A failing store must cost one batch, never the socket or the process.
      connection.send(errorBatch('500::Server error'));
    }
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}
