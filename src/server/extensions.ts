import type { Message } from '../protocol/message.js';

/** What an extension learns about the message it sees besides the message itself. */
export interface ExtensionContext {
  /** The session the message belongs to; `null` for a handshake or a server-side publish. */
  readonly clientId: string | null;
  /** How the message arrived: `'websocket'`, `'http'`, `'jsonp'`, or `'server'` for server-side publishes. */
  readonly transport: string;
  /** Request headers (lower-case names) when the message came over HTTP or a WebSocket upgrade. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * A server extension in Faye's style: hooks that see (and may change) every
 * incoming message before the server acts on it and every outgoing reply or
 * delivery before it is written. An incoming hook denies a message by setting
 * `message.error` (e.g. `"403::Invalid token"`); the reply is then unsuccessful
 * with that error and the message has no effect.
 * @example
 * const auth: Extension = {
 *   incoming(message) {
 *     if (message.channel === '/meta/handshake' && message.ext?.token !== secret) message.error = '403::Invalid token';
 *   },
 * };
 */
export interface Extension {
  incoming?(message: Message, context: ExtensionContext): void | Promise<void>;
  outgoing?(message: Message, context: ExtensionContext): void | Promise<void>;
}

/**
 * Run one direction of every extension over `message`, in order. A throwing
 * extension denies the message instead of failing the whole batch.
 */
export async function runExtensions(
  extensions: readonly Extension[],
  direction: 'incoming' | 'outgoing',
  message: Message,
  context: ExtensionContext,
): Promise<void> {
  for (const extension of extensions) {
    const hook = extension[direction];
    if (!hook) continue;
    try {
      await hook.call(extension, message, context);
    } catch {
      message.error ??= '500::Extension failed';
    }
  }
}
