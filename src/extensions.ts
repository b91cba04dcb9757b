import { CONNECT, type Message } from './protocol/message.js';

/**
 * A hook on every message crossing the wire, in Faye's and CometD's style.
 * Return the message (changed or not) to let it pass, or `null` to drop it.
 */
export interface Extension {
  /** Called on each message before it is sent. */
  outgoing?(message: Message): Message | null;
  /** Called on each message received, before the client acts on it; not on `/meta/connect` replies, which drive the connection itself. */
  incoming?(message: Message): Message | null;
}

/**
 * The worked example of an extension: puts an auth token into `ext.authToken`
 * of every handshake, subscribe and publish (never the frequent `/meta/connect`).
 * The server checks it and denies with an error such as `403::Invalid token`,
 * which the client reports as `handshake_failed` or `subscribe_denied`.
 * @example
 * createClient({ url, extensions: [authTokenExtension(() => session.token)] });
 */
export function authTokenExtension(token: string | (() => string)): Extension {
  return {
    outgoing(message) {
      if (message.channel === CONNECT) return message;
      message.ext = { ...message.ext, authToken: typeof token === 'function' ? token() : token };
      return message;
    },
  };
}
