import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { isCometError } from '../errors.js';
import type { Message } from '../protocol/message.js';
import { checkRequestOrigin } from './cors.js';
import { readBatch, type Connection, type Engine } from './engine.js';
import { errorBatch } from './http.js';
import type { ResolvedServerOptions } from './options.js';

/** The `Connection` the engine writes to: one socket, frames are JSON arrays. */
class SocketConnection implements Connection {
  readonly connectionType = 'websocket';

  constructor(readonly socket: WebSocket) {}

  send(messages: Message[]): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(messages));
  }

  close(): void {
    // 1000: the session ended or moved to a newer socket; nothing went wrong (RFC 6455 §7.4.1).
    if (this.socket.readyState === this.socket.OPEN) this.socket.close(1000, 'replaced');
  }
}

/**
 * WebSocket upgrades on `<path>` (the `websocket` connection type), through the
 * `ws` package in `noServer` mode so the HTTP server's other upgrade listeners
 * keep working. The upgrade's `Origin` is checked like any request's (403).
 */
export class WebSocketTransport {
  readonly #wss: WebSocketServer;

  constructor(
    readonly engine: Engine,
    readonly options: ResolvedServerOptions,
  ) {
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxBodyBytes });
  }

  /** Take over an upgrade request for our path. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { allowed } = checkRequestOrigin(req, this.options.allowedOrigins);
    if (!allowed) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    // Keep only the headers: a socket lives for hours, and the whole request object would live with it.
    const headers = req.headers;
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#serve(ws, headers));
  }

  /** Close every socket (1001: going away) and stop accepting. */
  close(): void {
    for (const ws of this.#wss.clients) ws.close(1001, 'server closing');
    this.#wss.close();
  }

  #serve(ws: WebSocket, headers: IncomingMessage['headers']): void {
    const connection = new SocketConnection(ws);
    // Batches are handled in arrival order: a subscribe must land before the publish sent after it.
    let queue: Promise<void> = Promise.resolve();
    ws.on('message', (data: RawData, isBinary: boolean) => {
      queue = queue.then(() => this.#onFrame(connection, headers, data, isBinary)).catch(() => {});
    });
    ws.on('close', () => this.engine.detach(connection));
    // Errors (bad frames, resets) are followed by 'close'; without a listener they would crash the process.
    ws.on('error', () => {});
  }

  async #onFrame(connection: SocketConnection, headers: IncomingMessage['headers'], data: RawData, isBinary: boolean): Promise<void> {
    if (isBinary) return connection.send(errorBatch('400::Expected a text frame'));
    let messages: Message[];
    try {
      messages = readBatch(rawText(data));
    } catch (error) {
      return connection.send(errorBatch(`400::${isCometError(error) ? error.message : 'Bad request'}`));
    }
    try {
      const replies = await this.engine.handle(messages, { transport: 'websocket', connection, headers });
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
