/** Stable error codes: branch on these, never on `message`. */
export type CometErrorCode =
  | 'handshake_failed'
  | 'transport_failed'
  | 'connect_failed'
  | 'publish_failed'
  | 'subscribe_denied'
  | 'unsubscribe_failed'
  | 'bad_message'
  | 'bad_channel'
  | 'bad_options'
  | 'too_large'
  | 'timeout'
  | 'closed'
  | 'listener_failed';

/**
 * The one error type the SDK raises or emits.
 * @example
 * client.on('error', (e) => { if (e.code === 'subscribe_denied') showLogin(); });
 */
export class CometError extends Error {
  override readonly name = 'CometError' as const;
  // `declare`: set in the constructor, so no field initialiser is emitted (bundle bytes).
  /** Stable machine-readable reason. */
  declare readonly code: CometErrorCode;
  /** The Bayeux message that carried the failure, when there was one. */
  declare readonly reply: unknown;

  constructor(code: CometErrorCode, message: string, options?: { cause?: unknown; reply?: unknown }) {
    super(message, options); // Error reads only `cause`
    this.code = code;
    this.reply = options?.reply;
  }
}

/**
 * True for a `CometError`, also one from another realm (the iframe transport
 * crosses window boundaries, where `instanceof` fails).
 */
export function isCometError(value: unknown): value is CometError {
  return (value as Error)?.name === 'CometError';
}
