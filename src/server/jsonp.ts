import type { IncomingMessage, ServerResponse } from 'node:http';
import { isCometError } from '../errors.js';
import type { Message } from '../protocol/message.js';
import { checkScriptOrigin } from './cors.js';
import { readBatch, type Engine } from './engine.js';
import { errorBatch, httpStatus } from './bayeux-error.js';
import { batchText } from './frame-text.js';
import { responseSignal, sendJson } from './http.js';
import type { ResolvedServerOptions } from './options.js';

/**
 * A plain JavaScript identifier, nothing else: the name is written into a
 * script, so dots, brackets or quotes could turn it into arbitrary code.
 */
const CALLBACK_NAME = /^[A-Za-z_$][\w$]{0,127}$/;

/** A JSONP body: `/**\/` first so the response can never start a `//` comment or be read as another format. */
function script(callback: string, messages: Message[]): string {
  // U+2028/U+2029 are valid in JSON but ended lines in JavaScript before ES2019.
  const json = batchText(messages).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  return `/**/${callback}(${json});`;
}

function sendScript(res: ServerResponse, status: number, callback: string, messages: Message[]): void {
  if (res.headersSent || res.destroyed) return;
  const text = script(callback, messages);
  res
    .writeHead(status, {
      'Content-Type': 'text/javascript; charset=utf-8',
      'X-Content-Type-Options': 'nosniff',
      // As Faye sends it: a response opened as a page or link downloads as an inert
      // text file (no reflected-file-download); <script> loads ignore it.
      'Content-Disposition': 'attachment; filename=f.txt',
      'Cache-Control': 'no-store',
      'Content-Length': String(Buffer.byteLength(text)),
    })
    .end(text);
}

/**
 * `GET <path>?message=<json>&jsonp=<callback>` (the `callback-polling`
 * connection type, as Faye speaks it). A callback that is not a plain
 * identifier gets a JSON `400` and is never echoed; a bad `message` gets the
 * failed reply through the callback with status `400`.
 */
export async function handleJsonp(
  req: IncomingMessage,
  res: ServerResponse,
  params: URLSearchParams,
  engine: Engine,
  options: ResolvedServerOptions,
): Promise<void> {
  // <script> loads carry no Origin: the page is known from Sec-Fetch-Site and Referer instead.
  if (!checkScriptOrigin(req, options.allowedOrigins).allowed) {
    return sendJson(res, 403, errorBatch('403::Origin is not allowed'));
  }
  const callback = params.get('jsonp');
  if (callback === null || !CALLBACK_NAME.test(callback)) {
    return sendJson(res, 400, errorBatch('400::Expected the jsonp parameter to be a JavaScript identifier'));
  }
  const text = params.get('message') ?? '';
  if (Buffer.byteLength(text) > options.maxBodyBytes) {
    return sendScript(res, 413, callback, errorBatch(`413::Expected a message of at most ${options.maxBodyBytes} bytes`));
  }
  let messages: Message[];
  try {
    messages = readBatch(text);
  } catch (error) {
    return sendScript(res, 400, callback, errorBatch(`400::${isCometError(error) ? error.message : 'Bad request'}`));
  }
  const replies = await engine.handle(messages, { transport: 'jsonp', headers: req.headers, signal: responseSignal(res) });
  sendScript(res, httpStatus(replies), callback, replies);
}
