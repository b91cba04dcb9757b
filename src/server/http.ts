import type { IncomingMessage, ServerResponse } from 'node:http';
import { isCometError } from '../errors.js';
import type { Message } from '../protocol/message.js';
import { readBatch, type Engine, type RequestContext } from './engine.js';
import { checkRequestOrigin, corsHeaders } from './cors.js';
import type { ResolvedServerOptions } from './options.js';

import { errorBatch, httpStatus } from './bayeux-error.js';
import { batchText } from './frame-text.js';

/** Write a JSON batch with `status`. */
export function sendJson(res: ServerResponse, status: number, body: Message[], headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = batchText(body);
  res
    .writeHead(status, {
      ...headers,
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Content-Length': String(Buffer.byteLength(text)),
    })
    .end(text);
}

/** Thrown by `readBody` for a body over the limit. */
class TooLarge extends Error {}

/** Read a request body as UTF-8, rejecting with `TooLarge` past `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) return reject(new TooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new TooLarge());
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** An AbortSignal that fires when the response dies before it was written. */
export function responseSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}

/**
 * `POST <path>`: a batch in, its replies out. A held `/meta/connect` keeps the
 * response open until the engine releases it (long-polling).
 */
export async function handlePost(req: IncomingMessage, res: ServerResponse, engine: Engine, options: ResolvedServerOptions): Promise<void> {
  const { origin, allowed } = checkRequestOrigin(req, options.allowedOrigins);
  if (!allowed) return sendJson(res, 403, errorBatch(`403::Origin ${origin!.slice(0, 100)} is not allowed`));
  const cors = corsHeaders(origin, options.allowedOrigins);
  let text: string;
  try {
    text = await readBody(req, options.maxBodyBytes);
  } catch (error) {
    if (error instanceof TooLarge) {
      return sendJson(res, 413, errorBatch(`413::Expected a body of at most ${options.maxBodyBytes} bytes`), {
        ...cors,
        Connection: 'close',
      });
    }
    return;
  }
  let messages: Message[];
  try {
    messages = readBatch(text);
  } catch (error) {
    return sendJson(res, 400, errorBatch(`400::${isCometError(error) ? error.message : 'Bad request'}`), cors);
  }
  const context: RequestContext = { transport: 'http', headers: req.headers, signal: responseSignal(res) };
  const replies = await engine.handle(messages, context);
  sendJson(res, httpStatus(replies), replies, cors);
}
