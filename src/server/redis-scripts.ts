/**
 * The Lua scripts behind `RedisStore` (./redis-store.ts). Each `Store` call is
 * one script (a big `enqueue`, one per chunk of recipients) so it is atomic on
 * its own, as the `Store` contract asks: two processes enqueueing for one client
 * can never hand out the same seq, and a session cannot vanish between a check
 * and a write.
 *
 * Key layout (P = the store's prefix, `cometkit:` by default; see redis-store.ts):
 *   P c:<id>:s     hash   ack (0|1), acked, seq (last seq handed out), seen (last sign of life, ms),
 *                         max (the longest frame the client accepts, 0 unknown; absent in sessions
 *                         an older version created, read as 0), chars (characters of JSON in the
 *                         backlog, the sum of its entries' sizes; absent read as 0, and taken as 0
 *                         whenever the backlog is found empty, so it can never outlive its entries)
 *   P c:<id>:subs  set    the client's subscription patterns
 *   P c:<id>:q     zset   the backlog: score seq, member "<seq>:<body>" (the seq makes members unique);
 *                         the body id ends in ".<size>", the delivery's length in characters of
 *                         JSON (JavaScript's, not Lua's bytes), so dropping an entry needs no read
 *   P m:<body>     hash   one delivery, shared by every backlog that holds it: j (its JSON), n (how
 *                         many backlog entries refer to it; the last one to go deletes it)
 *   P c:<id>:ids   list   recent publish ids, newest first (dedupe)
 *   P p:<pattern>  set    client ids subscribed to that exact pattern (a publish reads the few sets
 *                         of the patterns matching its channel instead of scanning clients)
 *   P clients      zset   client id by last sign of life, for `expired()`
 * Every per-client key carries a TTL that each touch renews, so sessions abandoned
 * while no process runs a sweep still vanish; a delivery's body carries twice that
 * TTL, renewed whenever it is enqueued or read, so the entries of abandoned sessions
 * cannot hold it for ever. A live session's entry always finds it: an entry is read
 * again at the latest when its client reconnects, and the TTL `createServer` gives the
 * store, 2 × (sessionTimeout + timeout), outlasts any held connect plus the session's
 * timeout twice over. (Renewing bodies on every touch would cost a touch the whole
 * backlog, up to `backlog` entries a request.) Pattern sets and `clients` have no
 * TTL of their own and are cleaned lazily (`SUBSCRIBERS` drops ids whose session is
 * gone; `expired()` hands such ids to `DESTROY`).
 *
 * The per-client keys are passed in KEYS; scripts that must reach keys named by
 * data (pattern sets, sessions of subscribers) build them from the prefix, which
 * single-node Redis allows and Redis Cluster does not (see docs/scaling.md).
 * `ENQUEUE` touches the keys of many clients in one script, which is fine on one
 * Redis; a Redis Cluster would need every key of a script in one hash slot (hash
 * tags such as `{cometkit}c:<id>:s`, i.e. everything on one shard), which is not
 * implemented.
 */

/** KEYS s, clients · ARGV ack, now, ttl, id, max */
export const CREATE = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'ack', ARGV[1], 'acked', 0, 'seq', 0, 'seen', ARGV[2], 'max', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
return 1`;

/**
 * `body(member)` → the body id a backlog member refers to and the position of its ':'. The
 * previous version stored the message itself ("<seq>:<message JSON>"); such an entry, still in a
 * backlog after an upgrade in place, has no body (nil) and is read as it is. A body id never
 * starts with '{' (see RedisStore.enqueue), a message's JSON always does.
 */
const BODY = `
local function body(member)
  local colon = string.find(member, ':', 1, true)
  if not colon or string.byte(member, colon + 1) == 123 then return nil, colon end
  return string.sub(member, colon + 1), colon
end
`;

/**
 * `size(member)` → the characters of JSON a backlog member counts for: the ".<size>" its body id
 * ends in. An entry of a previous version (an inline one, or a body id of two parts) was never
 * counted in `chars`, so it counts 0.
 */
const SIZE = `${BODY}
local function size(member)
  local id = body(member)
  local n = id and string.match(id, '^[^.]*%.[^.]*%.(%d+)$')
  return n and tonumber(n) or 0
end
`;

/** KEYS s, subs, q, ids, clients · ARGV now, ttl, id → nil or {ack, acked, max, seq} */
export const TOUCH = `
local v = redis.call('HMGET', KEYS[1], 'ack', 'acked', 'max', 'seq')
if not v[1] then return nil end
redis.call('HSET', KEYS[1], 'seen', ARGV[1])
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
redis.call('ZADD', KEYS[5], ARGV[1], ARGV[3])
return {tonumber(v[1]), tonumber(v[2]), tonumber(v[3] or 0), tonumber(v[4] or 0)}`;

/**
 * Drop one backlog entry's reference to its body (`prefix` names body keys), deleting the body
 * with the last. An inline entry (no body) and a missing member (ZPOPMIN of nothing) hold none.
 */
const RELEASE = `${SIZE}
local function release(prefix, member)
  if not member then return end
  local id = body(member)
  if not id then return end
  local key = prefix .. id
  if redis.call('HINCRBY', key, 'n', -1) <= 0 then redis.call('DEL', key) end
end
`;

/** KEYS s, subs, q, ids, clients · ARGV id, pattern-key prefix, body-key prefix → nil (unknown) or the patterns */
export const DESTROY = `${RELEASE}
for _, m in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do release(ARGV[3], m) end
local existed = redis.call('EXISTS', KEYS[1])
local patterns = redis.call('SMEMBERS', KEYS[2])
for _, p in ipairs(patterns) do redis.call('SREM', ARGV[2] .. p, ARGV[1]) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
redis.call('ZREM', KEYS[5], ARGV[1])
if existed == 0 then return nil end
return patterns`;

/** KEYS s, subs, p:<pattern> · ARGV id, pattern, ttl, most → 0 unknown client, -1 already subscribed, -2 at most already, 1 added */
export const SUBSCRIBE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 1 then return -1 end
if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[4]) then return -2 end
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[1])
return 1`;

/** KEYS s, subs, p:<pattern> · ARGV id, pattern → 0 unknown client, -1 not subscribed, 1 removed */
export const UNSUBSCRIBE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('SREM', KEYS[2], ARGV[2]) == 0 then return -1 end
redis.call('SREM', KEYS[3], ARGV[1])
return 1`;

/**
 * ARGV pattern-key prefix, session-key prefix, session-key suffix, channel, max wildcard depth
 * → live client ids subscribed to any pattern matching the concrete channel, each once.
 * The pattern keys (the channel, its `/*` and every `/**` above it: `/a/b`, `/a/*`,
 * `/a/**`, `/**`) are built here from the channel, so a publish sends Redis its channel, not a key
 * per segment; `/**` keys stop at MAX_WILDCARD_DEPTH segments (the engine refuses deeper
 * wildcards). Ids whose session expired away are removed from the set.
 */
export const SUBSCRIBERS = `
local prefix, channel = ARGV[1], ARGV[4]
local slashes = {}
local at = string.find(channel, '/', 1, true)
while at do
  slashes[#slashes + 1] = at
  at = string.find(channel, '/', at + 1, true)
end
local keys = {prefix .. channel, prefix .. string.sub(channel, 1, slashes[#slashes]) .. '*'}
for i = 1, math.min(#slashes - 1, tonumber(ARGV[5])) + 1 do
  keys[#keys + 1] = prefix .. string.sub(channel, 1, slashes[i]) .. '**'
end
local out, live = {}, {}
for _, k in ipairs(keys) do
  for _, id in ipairs(redis.call('SMEMBERS', k)) do
    local alive = live[id]
    if alive == nil then
      alive = redis.call('EXISTS', ARGV[2] .. id .. ARGV[3]) == 1
      live[id] = alive
      if alive then out[#out + 1] = id end
    end
    if not alive then redis.call('SREM', k, id) end
  end
end
return out`;

/**
 * KEYS s, q of each recipient, in pairs (s1, q1, s2, q2, …) · ARGV count limit, body id (ending in
 * ".<size>"), message JSON, ttl, body-key prefix, body ttl, chars limit, size → one result per pair,
 * in order: the seq, 0 unknown client, -1 when the message would take an ack backlog over either
 * limit. A backlog without ack drops its oldest entries until the message fits (an empty one takes it).
 * One script serves many recipients (RedisStore sends them in chunks); the message
 * travels once per script, not once per recipient, and Redis keeps it once, however
 * many backlogs hold it.
 */
export const ENQUEUE = `${RELEASE}
local limit, body, prefix = tonumber(ARGV[1]), ARGV[2], ARGV[5]
local maxChars, chars = tonumber(ARGV[7]), tonumber(ARGV[8])
local out, refs = {}, 0
for i = 1, #KEYS, 2 do
  local s, q = KEYS[i], KEYS[i + 1]
  local v = redis.call('HMGET', s, 'ack', 'chars')
  local ack = v[1]
  local seq = 0
  if ack then
    local n = redis.call('ZCARD', q)
    local total = n > 0 and tonumber(v[2] or 0) or 0
    if n > 0 and ack == '1' and (n >= limit or total + chars > maxChars) then
      seq = -1
    else
      while n > 0 and (n >= limit or total + chars > maxChars) do
        local m = redis.call('ZPOPMIN', q)[1]
        total = math.max(0, total - size(m))
        release(prefix, m)
        n = n - 1
      end
      if n == 0 then total = 0 end
      seq = redis.call('HINCRBY', s, 'seq', 1)
      redis.call('HSET', s, 'chars', total + chars)
      redis.call('ZADD', q, seq, seq .. ':' .. body)
      redis.call('PEXPIRE', q, ARGV[4])
      refs = refs + 1
    end
  end
  out[#out + 1] = seq
end
if refs > 0 then
  local key = prefix .. body
  redis.call('HSETNX', key, 'j', ARGV[3])
  redis.call('HINCRBY', key, 'n', refs)
  redis.call('PEXPIRE', key, ARGV[6])
end
return out`;

/**
 * KEYS q, s · ARGV after seq, body-key prefix, body ttl → seq, body id, JSON, seq, body id, JSON, … of the
 * entries after that seq; an inline entry of the previous version comes with an empty body id. An entry
 * whose body is gone (Redis evicted it) is left out, but for an ack session the answer is nil instead:
 * its client would wait for that seq for ever.
 */
export const PENDING = `${BODY}
local out = {}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')) do
  local id, colon = body(m)
  local json
  if id then
    local key = ARGV[2] .. id
    json = redis.call('HGET', key, 'j')
    if json then redis.call('PEXPIRE', key, ARGV[3])
    elseif redis.call('HGET', KEYS[2], 'ack') == '1' then return false end
  elseif colon then
    id, json = '', string.sub(m, colon + 1)
  end
  if json then
    out[#out + 1] = string.sub(m, 1, colon - 1)
    out[#out + 1] = id
    out[#out + 1] = json
  end
end
return out`;

/** KEYS s, q · ARGV seq, body-key prefix → the new ack, or 0 when it did not move */
export const ACKNOWLEDGE = `${RELEASE}
local v = redis.call('HMGET', KEYS[1], 'acked', 'seq', 'chars')
if not v[1] then return 0 end
local upTo = math.min(tonumber(ARGV[1]), tonumber(v[2]))
if upTo <= tonumber(v[1]) then return 0 end
local total = tonumber(v[3] or 0)
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', upTo)) do
  total = total - size(m)
  release(ARGV[2], m)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', upTo)
if redis.call('ZCARD', KEYS[2]) == 0 then total = 0 end
redis.call('HSET', KEYS[1], 'acked', upTo, 'chars', math.max(0, total))
return upTo`;

/** KEYS s, ids · ARGV publish id, ttl, how many to remember → 1 seen before, 0 new (or unknown client) */
export const SEEN = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('LPOS', KEYS[2], ARGV[1]) then return 1 end
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 0`;
