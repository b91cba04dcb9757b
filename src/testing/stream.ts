/**
 * What the mock's two stream adapters (`eventsource`, `iframe-streaming`) share:
 * attaching a held-open stream to the engine as the real server does (the engine
 * redelivers the backlog on it; an unknown client gets its 402 reply on the
 * stream, which then ends), registering it so faults can cut it, and ending it
 * exactly once whoever ends it first: the engine, a fault, or the client.
 */
import type { TransportName } from '../protocol/message.js';
import { unknownClientReply } from '../server/engine.js';
import type { Held, MockCore } from './core.js';

/** How one stream writes to its client. */
export interface StreamIo {
  clientId: string;
  /** The request's `?ack=` (see the server's `streamAck`). */
  ack: unknown;
  connectionType: 'eventsource' | 'iframe-streaming';
  transport: TransportName;
  /** A buffering proxy: nothing written reaches the client. */
  swallow: boolean;
  /** Write raw text (already framed). */
  write(text: string): void;
  /** Frame one batch's JSON text for this stream. */
  frame(batchText: string): string;
  /** End the response normally (the engine closed the stream). */
  close(): void;
  /** End it as a network cut would. */
  cut(): void;
}

/**
 * Attach `io` to the engine. Returns `end`, for when the client goes away
 * (abort, cancelled body), and `attached`, settled once the engine has the stream.
 */
export function attachStream(core: MockCore, io: StreamIo): { end: () => void; attached: Promise<void> } {
  let open = true;
  const write = (text: string) => {
    if (open && !io.swallow) io.write(text);
  };
  const ender = (then: () => void) => () => {
    if (!open) return;
    open = false;
    core.held.delete(held);
    core.detach(connection);
    then();
  };
  const connection = core.connection(io.connectionType, (frame) => write(io.frame(frame)), ender(io.close));
  const held: Held = { transport: io.transport, cut: ender(io.cut), inject: (raw) => write(io.frame(raw)) };
  core.held.add(held);
  const attached = connection.engine.attach(io.clientId, connection, io.ack).then((known) => {
    if (known) return;
    connection.send([unknownClientReply(io.clientId)]);
    connection.close();
  });
  return { end: ender(() => {}), attached };
}
