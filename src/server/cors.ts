import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AllowedOrigins } from './options.js';

/**
 * Origin policy for every entry point. Browsers attach `Origin` to cross-origin
 * fetches, EventSource requests and WebSocket upgrades; a request without it
 * does not come from a page (curl, a Node client) and has nothing to protect
 * against. A page on the server's own origin is always allowed.
 */
export function isOriginAllowed(origin: string, host: string | undefined, allowed: AllowedOrigins): boolean {
  if (host !== undefined && sameHost(origin, host)) return true;
  if (allowed === '*') return true;
  if (typeof allowed === 'function') return judged(allowed, origin);
  return allowed.includes(origin);
}

/**
 * What the app's predicate says of `origin`; an origin it throws on (e.g. its
 * `new URL(origin)` on `Origin: garbage`) is refused, not an exception: one in a
 * WebSocket upgrade escaped into Node's `upgrade` event and ended the process.
 */
function judged(allowed: (origin: string) => boolean, origin: string): boolean {
  try {
    // Only `true` allows: an async predicate's Promise would otherwise allow every origin.
    return allowed(origin) === true;
  } catch {
    return false;
  }
}

/** The request's `Origin`, `undefined` when absent; `allowed` says whether it may proceed. */
export function checkRequestOrigin(req: IncomingMessage, allowed: AllowedOrigins): { origin: string | undefined; allowed: boolean } {
  const origin = header(req, 'origin');
  if (origin === undefined) return { origin, allowed: true };
  return { origin, allowed: isOriginAllowed(origin, header(req, 'host'), allowed) };
}

/**
 * Like `checkRequestOrigin`, for requests a page can make with a classic
 * `<script src>` (JSONP), which carries no `Origin`: a browser still tells where
 * the load came from with `Sec-Fetch-Site` and, unless the page's referrer
 * policy forbids it, `Referer`. So without `Origin`: a same-origin or
 * user-initiated load passes; otherwise the `Referer`'s origin must be allowed,
 * and a cross-site load without one is refused. A request with none of these
 * headers is not from a browser and passes, as everywhere else.
 */
export function checkScriptOrigin(req: IncomingMessage, allowed: AllowedOrigins): { origin: string | undefined; allowed: boolean } {
  const check = checkRequestOrigin(req, allowed);
  if (check.origin !== undefined) return check;
  const site = header(req, 'sec-fetch-site');
  if (site === 'same-origin' || site === 'none') return check;
  const origin = refererOrigin(header(req, 'referer'));
  if (origin === undefined) return { origin, allowed: site === undefined };
  return { origin, allowed: isOriginAllowed(origin, header(req, 'host'), allowed) };
}

/**
 * CORS response headers for an allowed cross-origin request. Credentials (cookies) only
 * for origins the app named: with `'*'` any site could otherwise send a visitor's cookies
 * and read the replies. cometkit's client never sends credentials, so `*` serves it.
 */
export function corsHeaders(origin: string | undefined, allowed: AllowedOrigins): Record<string, string> {
  if (origin === undefined) return {};
  if (allowed === '*') return { 'Access-Control-Allow-Origin': '*' };
  return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' };
}

/** Answer a CORS preflight (`OPTIONS`); an origin that is not allowed gets `403`. */
export function answerPreflight(req: IncomingMessage, res: ServerResponse, allowed: AllowedOrigins): void {
  const check = checkRequestOrigin(req, allowed);
  if (!check.allowed) {
    res.writeHead(403, { 'Content-Length': '0' }).end();
    return;
  }
  // Echo requested header names, restricted to header-name characters so nothing can be injected.
  const requested = (header(req, 'access-control-request-headers') ?? '').replace(/[^\w\-, ]/g, '').slice(0, 500);
  res
    .writeHead(204, {
      ...corsHeaders(check.origin, allowed),
      'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
      'Access-Control-Allow-Headers': requested || 'Content-Type',
      'Access-Control-Max-Age': '600',
      'Content-Length': '0',
    })
    .end();
}

/** A single header value (the first, when repeated). */
function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The origin of a `Referer` URL, `undefined` when absent or not http(s). */
function refererOrigin(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    const url = new URL(referer);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/** True when `origin` is `<scheme>://<host>` with the given Host header. */
function sameHost(origin: string, host: string): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === host.toLowerCase();
  } catch {
    return false;
  }
}
