/**
 * The broker's Lua scripts. Each runs atomically in Redis, so numbering, logging and
 * publishing a message are one step: positions come from Redis, never from a node's clock,
 * and every listener sees a topic's messages in the order of their offsets.
 *
 * Keys of a topic T (all share the hash tag {T}, so they live on one cluster slot):
 *
 *   <prefix>:m:{T}   hash   e = epoch (a random id), o = offset of the newest message
 *   <prefix>:h:{T}   stream one entry per message: o = offset, p = payload;
 *                           entry ids carry Redis's clock (for the age bound)
 *   <prefix>:p:{T}   channel (sharded where the server has it): "<epoch>:<offset> <payload>"
 *
 * The stream holds a contiguous run of offsets ending at the newest one: entries are only
 * appended (in offset order) and trimmed from the front. So the k newest entries are
 * offsets newest-k+1 … newest, and "after offset a" is the (newest - a) newest entries.
 *
 * An epoch is made together with the counter. Whenever the hash is missing (never
 * published, expired after `topicTtlMs` idle, or lost in a Redis restart) a new epoch
 * starts and any old stream is deleted, so a position from an earlier life never matches:
 * a restarted Redis without persistence is a gap, never a silent loss.
 */

/** Shared by the scripts: the epoch of KEYS[1], made (with a fresh stream) when missing. */
const EPOCH = `
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'e', epoch)
  redis.call('DEL', KEYS[2])
end
`;

/**
 * KEYS: meta, stream, channel. ARGV: epoch candidate, payload, maxMessages, maxAgeMs,
 * topicTtlMs, '1' for SPUBLISH or '0' for PUBLISH. Returns the position.
 */
export const PUBLISH_LUA = `${EPOCH}
-- %d, not tostring(): Lua 5.1 writes numbers of 15+ digits in exponent notation.
local offset = string.format('%d', redis.call('HINCRBY', KEYS[1], 'o', 1))
local maxAgeMs = tonumber(ARGV[4])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'o', offset, 'p', ARGV[2])
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('XTRIM', KEYS[2], 'MINID', '~', math.max(0, nowMs - maxAgeMs))
-- Idle topics disappear: the log once all of it is too old, the counter after topicTtlMs.
redis.call('PEXPIRE', KEYS[2], maxAgeMs + 1000)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
local position = epoch .. ':' .. offset
if ARGV[6] == '1' then
  redis.call('SPUBLISH', KEYS[3], position .. ' ' .. ARGV[2])
else
  redis.call('PUBLISH', KEYS[3], position .. ' ' .. ARGV[2])
end
return position
`;

/** KEYS: meta, stream. ARGV: epoch candidate, topicTtlMs. Returns the position of the newest message. */
export const POSITION_LUA = `${EPOCH}
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return epoch .. ':' .. (redis.call('HGET', KEYS[1], 'o') or '0')
`;

/**
 * KEYS: meta, stream. ARGV: epoch, after (offset), maxMessages, maxAgeMs, follow ('1': when
 * the epoch is not the current one, read the current epoch from its start instead).
 * Returns { current epoch or false, newest offset, epoch read or false, offset1, payload1,
 * offset2, payload2, … } oldest first: the held messages after `after`, at most maxMessages,
 * none older than maxAgeMs (exact, although trimming is approximate).
 */
export const READ_LUA = `
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then return { false, 0, false } end
local newest = tonumber(redis.call('HGET', KEYS[1], 'o') or '0')
local after = tonumber(ARGV[2])
if epoch ~= ARGV[1] then
  if ARGV[5] ~= '1' then return { epoch, newest, false } end
  after = 0
end
local reply = { epoch, newest, epoch }
local wanted = newest - after
if wanted <= 0 then return reply end
local entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', math.min(wanted, tonumber(ARGV[3])))
local now = redis.call('TIME')
local oldestMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[4])
local kept = 0
for i = 1, #entries do
  local ms = tonumber(string.match(entries[i][1], '^(%d+)'))
  if ms <= oldestMs then break end
  kept = i
end
for i = kept, 1, -1 do
  local fields = entries[i][2]
  local offset, payload
  for f = 1, #fields, 2 do
    if fields[f] == 'o' then offset = fields[f + 1] elseif fields[f] == 'p' then payload = fields[f + 1] end
  end
  reply[#reply + 1] = offset
  reply[#reply + 1] = payload
end
return reply
`;
