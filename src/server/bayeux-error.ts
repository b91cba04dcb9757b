import { HANDSHAKE, type Advice, type Message } from '../protocol/message.js';

/** An argument as echoed in an error: a client's own input, so never more than 200 characters of it. */
const arg = (value: unknown): string => (typeof value === 'string' ? value.slice(0, 200) : '');

/**
 * Bayeux error strings, `"<code>:<args>:<text>"` (Bayeux 1.0 §3.5.2). Codes
 * follow the spec's examples and Faye where they agree; clients act on
 * `advice`, not on the code (docs/wire.md).
 */
export const bayeuxError = {
  unknownClient: (clientId: unknown) => `402:${arg(clientId)}:Unknown client`,
  versionMismatch: (version: unknown) => `300:${arg(version)}:Version mismatch`,
  connectionType: (type: string) => `301:${arg(type)}:Connection type not supported`,
  connectionTypes: (types: string[]) => `301:${arg(types.join(','))}:Connection types not supported`,
  badRequest: (why: string) => `400::${why}`,
  missing: (field: string) => `400:${field}:Missing required parameter`,
  forbidden: (channel: string) => `403:${arg(channel)}:Forbidden channel`,
  overflow: (clientId: string) => `409:${clientId}:Too far behind: messages were dropped`,
  noStream: (type: string) => `410:${arg(type)}:No stream of that type is open for this client`,
  tooLarge: (channel: string) => `413:${arg(channel)}:Message too large to deliver`,
  full: (most: number) => `503::At most ${most} session${most === 1 ? '' : 's'}: try again later`,
  tooManySubscriptions: (pattern: string, most: number) => `403:${arg(pattern)}:At most ${most} subscriptions per client`,
  invalidChannel: (channel: unknown) => `405:${arg(channel)}:Invalid channel`,
  tooDeep: (pattern: string, most: number) => `405:${arg(pattern)}:A /** wildcard may follow at most ${most} segments`,
} as const;

/** The advice that sends a client back to the handshake. */
export const HANDSHAKE_ADVICE: Advice = Object.freeze({ reconnect: 'handshake' });

/** The advice that has a client reconnect on its session at once (a new stream, a new socket). */
export const RETRY_ADVICE: Advice = Object.freeze({ reconnect: 'retry', interval: 0 });

/** A failed reply to `request`. */
export function failure(request: Pick<Message, 'channel' | 'id' | 'clientId'>, error: string, advice?: Advice): Message {
  const reply: Message = { channel: request.channel, successful: false, error };
  if (request.id !== undefined) reply.id = request.id;
  if (request.clientId !== undefined) reply.clientId = request.clientId;
  if (advice) reply.advice = { ...advice };
  return reply;
}

/**
 * The HTTP status for a response carrying `replies`: 503 when a handshake was refused with
 * 503 (the server is full, `maxSessions`), so that clients take it as the server being
 * unavailable and retry with backoff, rather than as a refused handshake; else 200. Only a
 * handshake's: an extension's 503 on another message must not fail the whole request.
 */
export const httpStatus = (replies: readonly Message[]): number =>
  replies.some((r) => r.channel === HANDSHAKE && r.error?.startsWith('503:')) ? 503 : 200;

/** A `400`/`403`/`413` body: one failed reply naming `/meta/unknown`, as docs/wire.md specifies. */
export const errorBatch = (error: string): Message[] => [failure({ channel: '/meta/unknown' }, error)];
