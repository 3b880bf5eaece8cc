// The Lua scripts of the shared idempotency window (idempotency-store.ts), each run
// atomically in Redis. KEYS[1] is a session's hash (one field per call id, plus `~ack` and
// `~bytes`), KEYS[2] its index: the call ids in a sorted set, oldest first.

/**
 * Shared by the scripts (KEYS[1]: the hash, KEYS[2]: its fields by call id, oldest first):
 * Redis's clock in ms, whether field value `v` is a live claim, and dropping a field with
 * the bytes of its outcome.
 */
const COMMON = `
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local function live(v)
  if not v then return false end
  if string.sub(v, 1, 2) == 'd|' then return true end
  local leaseEnd = tonumber(string.match(v, '|(%d+)$'))
  return leaseEnd ~= nil and leaseEnd > nowMs
end
local function acked(field)
  local ack = redis.call('HGET', KEYS[1], '~ack')
  local seq = tonumber(field)
  return ack ~= false and seq ~= nil and seq <= tonumber(ack)
end
local function outcomeBytes(v)
  if not v or string.sub(v, 1, 2) ~= 'd|' then return 0 end
  return #v - #string.match(v, '^d|[^|]*|')
end
local function drop(field)
  local freed = outcomeBytes(redis.call('HGET', KEYS[1], field))
  if freed > 0 and redis.call('HINCRBY', KEYS[1], '~bytes', -freed) < 0 then
    redis.call('HSET', KEYS[1], '~bytes', 0)
  end
  redis.call('HDEL', KEYS[1], field)
  redis.call('ZREM', KEYS[2], field)
end
local function keep(ttlMs)
  redis.call('PEXPIRE', KEYS[1], ttlMs)
  redis.call('PEXPIRE', KEYS[2], ttlMs)
end
`;

/**
 * ARGV: field, fingerprint, token, leaseMs, ttlMs, call id, maxKeys.
 * Returns false when claimed, 'a' when acknowledged, else the value holding the key. Past
 * maxKeys calls the oldest goes, as the server's own window pushes out its oldest.
 */
export const CLAIM_LUA = `${COMMON}
if acked(ARGV[1]) then return 'a' end
local v = redis.call('HGET', KEYS[1], ARGV[1])
if live(v) then return v end
redis.call('HSET', KEYS[1], ARGV[1], 'r|' .. ARGV[2] .. '|' .. ARGV[3] .. '|' .. string.format('%d', nowMs + tonumber(ARGV[4])))
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
while redis.call('ZCARD', KEYS[2]) > tonumber(ARGV[7]) do
  drop(redis.call('ZRANGE', KEYS[2], 0, 0)[1])
end
keep(ARGV[5])
return false
`;

/**
 * ARGV: field, fingerprint, token, outcome, ttlMs, maxBytes. 1 when stored, 0 when another
 * run owns the key. Past maxBytes of outcomes the oldest finished calls go.
 */
export const FINISH_LUA = `${COMMON}
if acked(ARGV[1]) then return 0 end
local v = redis.call('HGET', KEYS[1], ARGV[1])
local mine = 'r|' .. ARGV[2] .. '|' .. ARGV[3] .. '|'
if live(v) and string.sub(v, 1, #mine) ~= mine then return 0 end
local maxBytes = tonumber(ARGV[6])
local function over() return tonumber(redis.call('HGET', KEYS[1], '~bytes') or '0') + #ARGV[4] > maxBytes end
local after = '-inf'
while over() do
  -- Oldest first, 32 at a time: running calls in front are passed over, not read in full.
  local chunk = redis.call('ZRANGEBYSCORE', KEYS[2], after, '+inf', 'WITHSCORES', 'LIMIT', 0, 32)
  if #chunk == 0 then break end
  for i = 1, #chunk, 2 do
    after = '(' .. chunk[i + 1]
    if chunk[i] ~= ARGV[1] and outcomeBytes(redis.call('HGET', KEYS[1], chunk[i])) > 0 then drop(chunk[i]) end
    if not over() then break end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], 'd|' .. ARGV[2] .. '|' .. ARGV[4])
redis.call('HINCRBY', KEYS[1], '~bytes', #ARGV[4])
keep(ARGV[5])
return 1
`;

/** ARGV: field, fingerprint, token, leaseMs. 1 when still ours and extended. */
export const EXTEND_LUA = `${COMMON}
local v = redis.call('HGET', KEYS[1], ARGV[1])
local mine = 'r|' .. ARGV[2] .. '|' .. ARGV[3] .. '|'
if not v or string.sub(v, 1, #mine) ~= mine then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], mine .. string.format('%d', nowMs + tonumber(ARGV[4])))
return 1
`;

/** ARGV: field, fingerprint, token. Deletes the claim if still ours. */
export const RELEASE_LUA = `${COMMON}
local v = redis.call('HGET', KEYS[1], ARGV[1])
local mine = 'r|' .. ARGV[2] .. '|' .. ARGV[3] .. '|'
if not v or string.sub(v, 1, #mine) ~= mine then return 0 end
drop(ARGV[1])
return 1
`;

/** ARGV: field. The live value, or false. */
export const LOOKUP_LUA = `${COMMON}
local v = redis.call('HGET', KEYS[1], ARGV[1])
if live(v) then return v end
return false
`;

/** ARGV: call id, ttlMs. Drops every entry up to the call id (found by its index), remembers it. */
export const ACK_LUA = `${COMMON}
local upTo = tonumber(ARGV[1])
local previous = tonumber(redis.call('HGET', KEYS[1], '~ack') or '-1')
if upTo <= previous then return 0 end
for _, field in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', upTo)) do drop(field) end
redis.call('HSET', KEYS[1], '~ack', ARGV[1])
keep(ARGV[2])
return 1
`;
