import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isCometError } from '../errors.js';
import type { Message } from '../protocol/message.js';
import { checkRequestOrigin } from './cors.js';
import { readBatch, type Connection, type Engine } from './engine.js';
import { errorBatch } from './bayeux-error.js';
import type { ResolvedServerOptions } from './options.js';
import { closeFrame, encodeFrame, FrameError, FrameReader, OPCODE, STATUS, type FrameSink } from './websocket-frames.js';

type Headers = IncomingMessage['headers'];

/** What extensions see as `headers` when there are no extensions to see them. */
const NO_HEADERS: Headers = Object.freeze({});
/** RFC 6455 §1.3. */
const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** A client that does not answer our close frame within this long is cut off. */
const CLOSE_TIMEOUT = 5_000;
/** Frames queued behind the one being handled before the socket stops reading. */
const MAX_WAITING = 64;
/** Where a socket's connection is kept, so its listeners can be shared functions instead of closures per socket. */
const CONNECTION = Symbol('cometkit.connection');

/** A binary message in the queue: answered in its turn, with an error reply. */
const BINARY = Symbol('binary');
type Queued = string | typeof BINARY;

/** Node hands an upgrade over as a `Duplex`; it is the request's `net.Socket` (or `tls.TLSSocket`). */
type CometSocket = Socket & { [CONNECTION]?: SocketConnection };

const enum State {
  Open,
  /** We sent a close frame and wait for the client's. */
  Closing,
  /** Close frames exchanged or the connection failed: nothing more is read or written. */
  Closed,
}

/**
 * The `Connection` the engine writes to: one socket, frames are JSON arrays.
 * Batches from the socket are handled one at a time, in arrival order (a
 * subscribe must land before the publish sent after it).
 */
class SocketConnection implements Connection, FrameSink {
  readonly connectionType = 'websocket';
  #state = State.Open;
  readonly #reader: FrameReader;
  /** Messages that arrived while one was being handled; `null` when idle. */
  #waiting: Queued[] | null = null;

  constructor(
    readonly socket: CometSocket,
    readonly headers: Headers,
    readonly transport: WebSocketTransport,
  ) {
    this.#reader = new FrameReader(transport.options.maxBodyBytes);
  }

  send(messages: Message[]): void {
    this.sendText(JSON.stringify(messages));
  }

  sendText(frame: string): void {
    if (this.#state === State.Open) this.socket.write(encodeFrame(OPCODE.text, frame));
  }

  /** 1000 by default: the session ended or moved to a newer socket; nothing went wrong (RFC 6455 §7.4.1). */
  close(status: number = STATUS.normal, reason = 'replaced'): void {
    if (this.#state !== State.Open) return;
    this.#state = State.Closing;
    this.socket.write(closeFrame(status, reason));
    // Armed only now: a listener on every socket would cost memory on every socket.
    this.socket.once('timeout', onTimeout);
    this.socket.setTimeout(CLOSE_TIMEOUT);
  }

  /** Bytes from the socket. */
  read(chunk: Buffer): void {
    if (this.#state === State.Closed) return;
    try {
      this.#reader.read(chunk, this);
    } catch (error) {
      // A bug of ours costs this one connection (1011), never the process.
      if (error instanceof FrameError) this.#fail(error.status, error.message);
      else this.#fail(STATUS.internalError, 'Internal error');
    }
  }

  message(data: Buffer, binary: boolean): void {
    if (this.#state !== State.Open) return;
    const message = binary ? BINARY : data.toString('utf8');
    if (!this.#waiting) return void this.#run(message);
    // A client that sends faster than batches are handled waits in TCP, not in our memory.
    if (this.#waiting.push(message) === MAX_WAITING) this.socket.pause();
  }

  ping(data: Buffer): void {
    if (this.#state === State.Open) this.socket.write(encodeFrame(OPCODE.pong, data));
  }

  closing(status: number | undefined): void {
    // Answer a close we did not start with the same status (§5.5.1); ours was answered: done.
    if (this.#state === State.Open) this.socket.write(closeFrame(status));
    this.#end();
  }

  /** The client half-closed TCP without a close frame. */
  ended(): void {
    this.#end();
  }

  #fail(status: number, reason: string): void {
    if (this.#state === State.Open) this.socket.write(closeFrame(status, reason));
    this.#end();
  }

  /** The server closes TCP first (§7.1.1), once what it wrote has left. */
  #end(): void {
    this.#state = State.Closed;
    this.#waiting = null;
    this.socket.destroySoon();
  }

  async #run(message: Queued): Promise<void> {
    this.#waiting = [];
    let next: Queued | undefined = message;
    while (next !== undefined) {
      if (next === BINARY) this.send(errorBatch('400::Expected a text frame'));
      else await this.transport.onFrame(this, next).catch(() => {});
      next = this.#waiting?.shift();
    }
    this.#waiting = null;
    if (this.#state === State.Open && this.socket.isPaused()) this.socket.resume();
  }
}

// Listeners of every upgraded socket (`this` is the socket).
function onData(this: CometSocket, chunk: Buffer): void {
  this[CONNECTION]?.read(chunk);
}

function onEnd(this: CometSocket): void {
  this[CONNECTION]?.ended();
}

function onTimeout(this: CometSocket): void {
  this.destroy();
}

function onClose(this: CometSocket): void {
  const connection = this[CONNECTION];
  if (!connection) return;
  connection.transport.sockets.delete(connection);
  connection.transport.engine.detach(connection);
}

/** The status line and headers of a refused upgrade. */
function refuse(socket: Duplex, status: string, extra = ''): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n${extra}Content-Length: 0\r\n\r\n`);
}

/**
 * WebSocket upgrades on `<path>` (the `websocket` connection type), on the
 * server's own RFC 6455 layer (websocket-frames.ts). The upgrade's `Origin` is
 * checked like any request's (403). Per socket it keeps Node's socket, one
 * `SocketConnection` with its `FrameReader`, and the upgrade's headers (only
 * when there are extensions to read them): 10k sockets are held by one
 * process, so nothing per socket is a closure.
 */
export class WebSocketTransport {
  /** Every open socket's connection, to close them all. */
  readonly sockets = new Set<SocketConnection>();
  readonly #keepHeaders: boolean;

  constructor(
    readonly engine: Engine,
    readonly options: ResolvedServerOptions,
  ) {
    this.#keepHeaders = (options.extensions?.length ?? 0) > 0;
  }

  /** Take over an upgrade request for our path (the caller has given `socket` an 'error' listener). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const key = req.headers['sec-websocket-key'];
    const version = req.headers['sec-websocket-version'];
    if (req.method !== 'GET') return refuse(socket, '405 Method Not Allowed');
    if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string' || !/^[+/0-9A-Za-z]{22}==$/.test(key)) {
      return refuse(socket, '400 Bad Request');
    }
    if (version !== '13' && version !== '8') return refuse(socket, '400 Bad Request', 'Sec-WebSocket-Version: 13\r\n');
    if (!checkRequestOrigin(req, this.options.allowedOrigins).allowed) return refuse(socket, '403 Forbidden');
    if (!socket.readable || !socket.writable) return void socket.destroy();
    const accept = createHash('sha1').update(key + ACCEPT_GUID).digest('base64');
    // No subprotocol of ours: like `ws`, agree to the first one offered, so a client that insists on one still connects.
    const protocol = /^[!#$%&'*+.^`|~\w-]+/.exec(String(req.headers['sec-websocket-protocol'] ?? ''))?.[0];
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n` +
        (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '') +
        '\r\n',
    );
    // Keep only the headers: a socket lives for hours, and the whole request object would live with it.
    // Only extensions ever read them; without any, keep nothing.
    this.#serve(socket as CometSocket, this.#keepHeaders ? req.headers : NO_HEADERS, head);
  }

  /** Close every socket (1001: going away). */
  close(): void {
    for (const connection of this.sockets) connection.close(STATUS.goingAway, 'server closing');
  }

  #serve(socket: CometSocket, headers: Headers, head: Buffer): void {
    const connection = new SocketConnection(socket, headers, this);
    socket[CONNECTION] = connection;
    this.sockets.add(connection);
    socket.setTimeout(0);
    socket.setNoDelay(true);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onClose);
    if (head.length > 0) connection.read(head);
  }

  /** Handle one text frame from `connection`'s socket. */
  async onFrame(connection: SocketConnection, text: string): Promise<void> {
    let messages: Message[];
    try {
      messages = readBatch(text);
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
