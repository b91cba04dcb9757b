import { CometError } from '../errors.js';
import { parseFrame } from '../protocol/frame.js';
import type { Message } from '../protocol/message.js';
import type { TransportContext, TransportSink } from './transport.js';

/**
 * What every transport shares: the guarded path to its sink and the POST used
 * for sending. Once the link is closed (or has failed) no sink call gets
 * through, so a transport's `close()` is simply `link.close()`.
 */
export interface Link {
  /** Report `onOpen` (a stream transport reports each reopened stream). */
  open(): void;
  /**
   * Parse one frame and deliver its messages (empty batches are dropped). False when the
   * frame, or an element of it, was bad: each goes to `onError`, and the rest is still delivered.
   */
  feed(text: string): boolean;
  /** Release everything and report `onClose(transport_failed)` once, on a later microtask. */
  fail(why: string, cause?: unknown): void;
  /** POST one batch; the response is fed back like any frame. */
  post(messages: Message[]): void;
  /** Release everything; nothing reaches the sink afterwards. */
  close(): void;
  /** True until `close()` or `fail()`. */
  live(): boolean;
}

/**
 * Build a transport's {@link Link}. `stop`, when given, releases the transport's own
 * resources (socket, stream, iframe); it runs on close and on failure.
 */
export function createLink(c: TransportContext, s: TransportSink, stop?: () => void): Link {
  let live = true;
  let closed = false;
  const aborts = new Set<AbortController>();
  const end = () => {
    live = false;
    aborts.forEach((a) => a.abort());
    stop?.();
  };
  const k: Link = {
    open: () => {
      if (live) s.onOpen();
    },
    feed(text) {
      let m: Message[] = [];
      let whole = true;
      const bad = (e: CometError) => {
        whole = false;
        if (live) s.onError(e);
      };
      try {
        m = parseFrame(text, c.maxMessageChars, bad);
      } catch (e) {
        bad(e as CometError); // a frame that is not JSON, or too long: nothing to deliver
      }
      if (live && m.length) s.onMessages(m);
      return whole;
    },
    fail(why, cause) {
      if (!live) return;
      end();
      // Deferred so that a failure found inside open() never re-enters the client;
      // a close() in between still silences it.
      queueMicrotask(() => closed || s.onClose(new CometError('transport_failed', why, { cause })));
    },
    post(messages) {
      const a = new AbortController();
      aborts.add(a);
      // A fetch that throws instead of rejecting (plain JavaScript's `platform: { fetch: 5 }`) fails the request too,
      // rather than throwing out of connect() and leaving the client connecting for ever.
      new Promise<Response>((r) =>
        r(
          c.platform.fetch(c.url, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', ...c.headers },
            body: JSON.stringify(messages),
            signal: a.signal,
          }),
        ),
      )
        .then((r) => r.text().then((t) => [r, t] as const))
        .then(
          ([r, t]) => {
            aborts.delete(a);
            if (!r.ok && (r.status < 400 || r.status > 499)) return k.fail(`HTTP ${r.status}`);
            if (r.ok && k.feed(t)) return;
            // The server refused this request only (400 bad JSON, 403, 413 too large),
            // or answered it with garbage, in whole or in part: fail each sent call, so the
            // client settles exactly those instead of waiting for replies that will never
            // come (a call the good part of the answer settled ignores its failure).
            const error = r.ok ? '502::Bad response' : `${r.status}::${r.statusText}`;
            const replies = messages.filter((m) => m.id).map(({ id, channel }) => ({ id, channel, successful: false, error }));
            if (live && replies.length) s.onMessages(replies);
          },
          (e) => k.fail('Request failed', e),
        );
    },
    close() {
      closed = true;
      end();
    },
    live: () => live,
  };
  return k;
}
