import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isCometError } from '../errors.js';
import type { Message } from '../protocol/message.js';
import { checkRequestOrigin } from './cors.js';
import { readBatch, type Connection, type Engine } from './engine.js';
import { errorBatch } from './bayeux-error.js';
import { frameTexts } from './frame-text.js';
import type { ResolvedServerOptions } from './options.js';
import { closeFrame, encodeFrame, FrameError, FrameReader, OPCODE, STATUS, type FrameSink } from './websocket-frames.js';

type Headers = IncomingMessage['headers'];

/** What extensions see as `headers` when there are no extensions to see them. */
const NO_HEADERS: Headers = Object.freeze({});
/** RFC 6455 §1.3. */
const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Once closing, a socket is destroyed after this long, whatever the client does meanwhile. */
const CLOSE_TIMEOUT = 5_000;
/** Messages queued behind the one being handled before the socket stops reading. */
const MAX_WAITING = 64;
/** Frames' worth of unread writes (at up to 3 bytes a character) after which a client that stopped reading is cut off. */
const UNREAD_FRAMES = 8;
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
 * subscribe must land before the publish sent after it). The socket stops
 * reading while too much waits to be handled or the client is not reading what
 * it is sent, so a fast or stalled client waits in TCP, not in our memory.
 */
class SocketConnection implements Connection, FrameSink {
  readonly connectionType = 'websocket';
  #state = State.Open;
  readonly #reader: FrameReader;
  /** Messages that arrived while one was being handled, and their characters; `null` when idle. */
  #waiting: Queued[] | null = null;
  #waitingChars = 0;
  /** A 'drain' listener is armed. */
  #draining = false;
  /** Destroys the socket once closing has taken too long. */
  #cutoff: ReturnType<typeof setTimeout> | undefined;
  /** When the client last sent anything (`Date.now()`). */
  lastRead = Date.now();

  constructor(
    readonly socket: CometSocket,
    readonly headers: Headers,
    readonly transport: WebSocketTransport,
  ) {
    this.#reader = new FrameReader(transport.options.maxBodyBytes);
  }

  /** True once nothing more is read or written: the socket is closed or about to be. */
  get ended(): boolean {
    return this.#state === State.Closed;
  }

  /** The client is not reading what it was sent: deliveries wait in the backlog (see `drained`). */
  get blocked(): boolean {
    return this.socket.writableNeedDrain;
  }

  send(messages: Message[]): void {
    this.sendText(JSON.stringify(messages));
  }

  sendText(frame: string): void {
    if (this.#state === State.Open) this.#write(encodeFrame(OPCODE.text, frame));
  }

  /**
   * Start the closing handshake: 1001 when the server is closing, otherwise 1000
   * (the session ended or moved to a newer socket; nothing went wrong, RFC 6455 §7.4.1).
   */
  close(): void {
    if (this.#state !== State.Open) return;
    this.#state = State.Closing;
    const closing = this.transport.closing;
    this.#write(closeFrame(closing ? STATUS.goingAway : STATUS.normal, closing ? 'server closing' : 'replaced'));
    this.#armCutoff();
    this.#flow(); // read on, even if paused: the client's answer is what we wait for
  }

  /** Bytes from the socket. */
  read(chunk: Buffer): void {
    if (this.#state === State.Closed) return;
    this.lastRead = Date.now();
    try {
      this.#reader.read(chunk, this);
    } catch (error) {
      // A bug of ours costs this one connection (1011), never the process.
      if (error instanceof FrameError) this.#fail(error.status, error.message);
      else this.#fail(STATUS.internalError, 'Internal error');
    }
    this.#flow();
  }

  message(data: Buffer, binary: boolean): void {
    if (this.#state !== State.Open) return;
    const message = binary ? BINARY : data.toString('utf8');
    if (!this.#waiting) return void this.#run(message);
    this.#waiting.push(message);
    this.#waitingChars += message === BINARY ? 0 : message.length;
  }

  ping(data: Buffer): void {
    if (this.#state === State.Open) this.#write(encodeFrame(OPCODE.pong, data));
  }

  closing(status: number | undefined): void {
    // Answer a close we did not start with the same status (§5.5.1); ours was answered: done.
    if (this.#state === State.Open) this.#write(closeFrame(status));
    this.#end();
  }

  /** The client half-closed TCP without a close frame. */
  halfClosed(): void {
    this.#end();
  }

  /** The socket is gone, whoever ended it. */
  gone(): void {
    this.#state = State.Closed;
    this.#waiting = null;
    clearTimeout(this.#cutoff);
  }

  /** What the client was sent has left: read again if that was what held us. */
  drained(): void {
    this.#draining = false;
    this.#flow();
    this.transport.engine.drained(this);
  }

  #write(bytes: Buffer): void {
    const socket = this.socket;
    socket.write(bytes);
    // A client that stops reading must not hold our memory: it is cut off, its session stays
    // (and with the ack extension its backlog waits for its next socket). Deliveries stop at
    // `blocked` already; this bounds what replies and pongs can pile up.
    if (socket.writableLength > this.transport.unreadLimit) socket.destroy();
    else if (socket.writableNeedDrain) this.#flow(); // stop reading, and hear when it drains
  }

  #fail(status: number, reason: string): void {
    if (this.#state === State.Open) this.#write(closeFrame(status, reason));
    this.#end();
  }

  /** The server closes TCP first (§7.1.1), once what it wrote has left, or at the cutoff. */
  #end(): void {
    this.#state = State.Closed;
    this.#waiting = null;
    this.socket.destroySoon();
    this.#armCutoff();
  }

  #armCutoff(): void {
    // A timer only while closing; a socket that lives for hours has none.
    this.#cutoff ??= setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT);
    this.#cutoff.unref();
  }

  /** Pause reading while too much waits or the client is not reading us; resume when neither holds. */
  #flow(): void {
    const socket = this.socket;
    if (socket.destroyed || this.#state === State.Closed) return;
    const busy = this.#waiting !== null && (this.#waiting.length >= MAX_WAITING || this.#waitingChars >= this.#reader.maxPayload);
    const blocked = socket.writableNeedDrain;
    if (blocked && !this.#draining) {
      this.#draining = true;
      socket.once('drain', onDrain);
    }
    // Closing, only the client's close frame is read (messages are dropped), so read on.
    const stop = this.#state === State.Open && (busy || blocked);
    if (stop && !socket.isPaused()) socket.pause();
    else if (!stop && socket.isPaused()) socket.resume();
  }

  async #run(message: Queued): Promise<void> {
    this.#waiting = [];
    this.#waitingChars = 0;
    let next: Queued | undefined = message;
    while (next !== undefined) {
      if (next === BINARY) this.send(errorBatch('400::Expected a text frame'));
      else await this.transport.onFrame(this, next).catch(() => {});
      next = this.#waiting?.shift();
      if (typeof next === 'string') this.#waitingChars -= next.length;
      this.#flow(); // the queue shrank: read again once it is short enough
    }
    this.#waiting = null;
  }
}

// Listeners of every upgraded socket (`this` is the socket).
function onData(this: CometSocket, chunk: Buffer): void {
  this[CONNECTION]?.read(chunk);
}

function onEnd(this: CometSocket): void {
  this[CONNECTION]?.halfClosed();
}

function onDrain(this: CometSocket): void {
  this[CONNECTION]?.drained();
}

function onClose(this: CometSocket): void {
  const connection = this[CONNECTION];
  if (!connection) return;
  connection.gone();
  connection.transport.sockets.delete(connection);
  connection.transport.engine.detach(connection);
}

/**
 * Answer an upgrade with an HTTP error and close the connection once it is
 * written: Node's HTTP sockets allow half-open connections, so `end()` alone
 * would keep the socket until the client hung up.
 */
export function refuseUpgrade(socket: Duplex, status: string, extraHeaders = ''): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n${extraHeaders}Content-Length: 0\r\n\r\n`, () => socket.destroy());
}

/**
 * WebSocket upgrades on `<path>` (the `websocket` connection type), on the
 * server's own RFC 6455 layer (websocket-frames.ts; docs/wire.md says what it
 * accepts). The upgrade's `Origin` is checked like any request's (403). Per
 * socket it keeps Node's socket, one `SocketConnection` with its `FrameReader`,
 * and the upgrade's headers (only when there are extensions to read them):
 * 10k sockets are held by one process, so nothing per socket is a closure or a
 * timer; one sweep (`sweep`) cuts off sockets silent for longer than any live
 * session allows.
 */
export class WebSocketTransport {
  /** Every open socket's connection, to close them all. */
  readonly sockets = new Set<SocketConnection>();
  /** Set once the server is closing: sockets then close as "going away" (1001). */
  closing = false;
  /** Bytes a client may leave unread (see `UNREAD_FRAMES`). */
  readonly unreadLimit: number;
  readonly #keepHeaders: boolean;

  constructor(
    readonly engine: Engine,
    readonly options: ResolvedServerOptions,
  ) {
    this.#keepHeaders = (options.extensions?.length ?? 0) > 0;
    this.unreadLimit = UNREAD_FRAMES * 3 * engine.frameChars;
  }

  /** Take over an upgrade request for our path (the caller has given `socket` an 'error' listener). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const key = req.headers['sec-websocket-key'];
    const version = req.headers['sec-websocket-version'];
    if (req.method !== 'GET') return refuseUpgrade(socket, '405 Method Not Allowed');
    if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string' || !/^[+/0-9A-Za-z]{22}==$/.test(key)) {
      return refuseUpgrade(socket, '400 Bad Request');
    }
    if (version !== '13' && version !== '8') return refuseUpgrade(socket, '400 Bad Request', 'Sec-WebSocket-Version: 13\r\n');
    if (!checkRequestOrigin(req, this.options.allowedOrigins).allowed) return refuseUpgrade(socket, '403 Forbidden');
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
    this.closing = true;
    for (const connection of this.sockets) connection.close();
  }

  /**
   * Cut off every socket silent for longer than a live session allows (a peer
   * that vanished without closing, or a socket that never carried a session).
   */
  sweep(now = Date.now()): void {
    const limit = this.engine.silenceLimit;
    for (const connection of this.sockets) if (now - connection.lastRead > limit) connection.socket.destroy();
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

  /** Handle one text message from `connection`'s socket. */
  async onFrame(connection: SocketConnection, text: string): Promise<void> {
    let messages: Message[];
    try {
      messages = readBatch(text);
    } catch (error) {
      return connection.send(errorBatch(`400::${isCometError(error) ? error.message : 'Bad request'}`));
    }
    try {
      const replies = await this.engine.handle(messages, { transport: 'websocket', connection, headers: connection.headers });
      // Within the client's limit: the replies to a batch it sent near it can be longer than the batch.
      for (const frame of frameTexts(replies, this.engine.frameCharsFor(connection, replies))) connection.sendText(frame);
    } catch {
      // A failing store must cost one batch, never the socket or the process.
      connection.send(errorBatch('500::Server error'));
    }
  }
}
