/**
 * The Lua side of the Redis store: the same rules as core's `QuotaState` (MemoryStore's
 * engine), operation for operation and in the same order, so both stores decide alike to the
 * last bit of a double.
 *
 * Numbers cross the wire and sit in Redis as little-endian IEEE doubles packed with Lua's
 * `struct` library: exact by construction (Redis would truncate Lua numbers in replies to
 * integers, and text costs a format and a parse per number), and the cheapest form to read.
 *
 * One HASH per quota, `<prefix>:{<key>}:q`:
 *
 * - `plan`: the plan id, written once, compared on every call;
 * - `st`: the state, `10 + 3n` doubles — first (sequence number of the oldest entry kept), next
 *   (of the next admission), lastNow (the clock never steps back), pausedUntil, throttle factor,
 *   throttle end, expiresAt (how long the key's TTL is known to cover), the widened margin, when
 *   it was widened and when its decay ends, then per window k its
 *   head (oldest entry still inside it), sum (its usage) and tat (its pace's theoretical arrival
 *   time; -inf while unset);
 * - one field per admission still inside the longest window: its sequence number in decimal,
 *   valued `(at, tokens)` as two doubles; tokens -1 once released.
 *
 * An admission costs one HMGET (plan, state), one HSET (state and the new entries), an HGET per
 * entry the first time the call needs it (when it leaves a window: about one per admission per
 * distinct window length), an HDEL of the entries that left every window, and a PEXPIRE only
 * when the key's TTL would no longer cover the longest window (about twice a second at most).
 *
 * Arguments: KEYS[1] the quota's hash; ARGV[1] the call (doubles: now — NaN for the server's
 * `TIME` — then the operation's numbers); ARGV[2] the plan id; ARGV[3] the plan (3 doubles per
 * window: limit, windowMs, flags = 1 if it counts tokens + 2 if paced).
 */

const PRELUDE = `
local key = KEYS[1]
local NEG = -math.huge
local NAN = 0 / 0
-- the key lives at least this long after the longest window (ms); its TTL is refreshed once
-- less than half of this is left
local TTL_MARGIN = 1000

local call = ARGV[1]
local function arg(i) return (struct.unpack('<d', call, 8 * i - 7)) end
local function argCount() return #call / 8 end

local planId = ARGV[2]
local n = #ARGV[3] / 24
local limit, windowMs, countsTokens, paced = {}, {}, {}, {}
local longest = 0
do
  local values = { struct.unpack('<' .. string.rep('d', 3 * n), ARGV[3]) }
  for k = 1, n do
    limit[k], windowMs[k] = values[3 * k - 2], values[3 * k - 1]
    local flags = values[3 * k]
    countsTokens[k] = flags % 2 == 1
    paced[k] = flags >= 2
    if windowMs[k] > longest then longest = windowMs[k] end
  end
end
local STATE = '<' .. string.rep('d', 10 + 3 * n)

local clockNow = arg(1)
if clockNow ~= clockNow then
  if redis.replicate_commands then redis.replicate_commands() end
  local t = redis.call('TIME')
  clockNow = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end

local stored = redis.call('HMGET', key, 'plan', 'st')
local fresh = not stored[1] or not stored[2]
if not fresh and stored[1] ~= planId then
  return redis.error_reply('TOLLGATE_PLAN_CONFLICT ' .. stored[1])
end

local first, nxt, lastNow, pausedUntil, tf, tu, expiresAt
-- the widened margin: wm at wa, decaying linearly to 0 at we
local wm, wa, we = 0, 0, 0
local head, sum, tat = {}, {}, {}
if fresh then
  -- Sequence numbers start from the clock, so a ticket issued before the key expired never
  -- names an entry of the next state.
  local seed = math.floor(clockNow) * 1000
  if not (seed >= 0 and seed < 4503599627370496) then seed = 0 end
  first, nxt, lastNow, pausedUntil, tf, tu, expiresAt = seed, seed, NEG, 0, 1, 0, NEG
  for k = 1, n do
    head[k], sum[k], tat[k] = seed, 0, NEG
  end
else
  local v = { struct.unpack(STATE, stored[2]) }
  first, nxt, lastNow, pausedUntil, tf, tu, expiresAt = v[1], v[2], v[3], v[4], v[5], v[6], v[7]
  wm, wa, we = v[8], v[9], v[10]
  for k = 1, n do
    head[k], sum[k], tat[k] = v[8 + 3 * k], v[9 + 3 * k], v[10 + 3 * k]
  end
end
local trimFrom = first

local function field(seq) return string.format('%.0f', seq) end

local entryAt, entryTokens, dirty = {}, {}, {}
local function load(seq)
  local raw = redis.call('HGET', key, field(seq))
  if raw then
    entryAt[seq], entryTokens[seq] = struct.unpack('<dd', raw)
  else
    entryAt[seq], entryTokens[seq] = NEG, -1
  end
end
local function atOf(seq)
  local at = entryAt[seq]
  if at == nil then load(seq); at = entryAt[seq] end
  return at
end
local function tokensOf(seq)
  local t = entryTokens[seq]
  if t == nil then load(seq); t = entryTokens[seq] end
  return t
end
local function contribution(k, seq)
  local t = tokensOf(seq)
  if t < 0 then return 0 end
  if countsTokens[k] then return t end
  return 1
end

local function limitOf(k, throttled)
  if not throttled then return limit[k] end
  local scaled = limit[k] * tf
  if countsTokens[k] then return scaled end
  return math.max(1, math.floor(scaled))
end

local function advance()
  local now = clockNow
  if lastNow > now then now = lastNow end
  lastNow = now
  local oldest = nxt
  for k = 1, n do
    local w = windowMs[k]
    local seq, s, left = head[k], sum[k], 0
    while seq < nxt and atOf(seq) + w <= now do
      local c = contribution(k, seq)
      s = s - c
      left = left + c
      seq = seq + 1
    end
    if left > 0 and paced[k] then tat[k] = tat[k] - left * (w / limit[k]) end
    head[k] = seq
    sum[k] = s
    if seq < oldest then oldest = seq end
  end
  first = oldest
  return now
end

local function fitTime(k, amount, lim, now)
  local s = sum[k]
  if s + amount <= lim then return now end
  if amount > lim then return math.huge end
  for seq = head[k], nxt - 1 do
    s = s - contribution(k, seq)
    if s + amount <= lim then return atOf(seq) + windowMs[k] end
  end
  return now
end

local function paceTime(k)
  local t = tat[k]
  local w = windowMs[k]
  local unit = w / limit[k]
  for seq = head[k], nxt - 1 do
    local leaves = atOf(seq) + w
    if t <= leaves then return t end
    t = t - contribution(k, seq) * unit
    if t <= leaves then return leaves end
  end
  return t
end

-- blocked: 0 nothing, 1 the pause, 2k window k, 2k + 1 window k's pace
local function startTime(cost, now)
  local start, blocked = now, 0
  if pausedUntil > now then start, blocked = pausedUntil, 1 end
  local throttled = tu > now
  for k = 1, n do
    local amount = 1
    if countsTokens[k] then amount = cost end
    local fit = fitTime(k, amount, limitOf(k, throttled), now)
    if throttled then
      local afterThrottle = math.max(tu, fitTime(k, amount, limit[k], now))
      if afterThrottle < fit then fit = afterThrottle end
    end
    if fit > start then start, blocked = fit, 2 * k end
    if paced[k] and tat[k] > start then
      local p = paceTime(k)
      if p > start then start, blocked = p, 2 * k + 1 end
    end
  end
  return start, blocked
end

-- the widened margin in force at now
local function extraAt(now)
  if now >= we then return 0 end
  return (wm * (we - now)) / (we - wa)
end

-- the instant an admission made at now is booked at: later by the widened margin, and never
-- before the last booking
local function bookingInstant(now)
  if now >= we then return now end
  local at = now + extraAt(now)
  if nxt - 1 >= first then
    local previous = atOf(nxt - 1)
    if previous > at then return previous end
  end
  return at
end

-- appends an admission at now; charge false books it without pace (a move)
local function book(cost, now, charge)
  local at = bookingInstant(now)
  local seq = nxt
  nxt = nxt + 1
  entryAt[seq], entryTokens[seq], dirty[seq] = at, cost, true
  local throttled = tu > now
  for k = 1, n do
    local amount = 1
    if countsTokens[k] then amount = cost end
    sum[k] = sum[k] + amount
    if charge and paced[k] then
      local from = math.max(tat[k], now)
      tat[k] = from + (amount * windowMs[k]) / limitOf(k, throttled)
    end
  end
  return seq
end

local function unbookLast(seq, savedTat)
  for k = 1, n do
    sum[k] = sum[k] - contribution(k, seq)
    tat[k] = savedTat[k]
  end
  nxt = seq
  entryAt[seq], entryTokens[seq], dirty[seq] = nil, nil, nil
end

local function shift(seq, tokens, requests, now)
  local throttled = tu > now
  for k = 1, n do
    local amount = requests
    if countsTokens[k] then amount = tokens end
    if amount ~= 0 then
      if head[k] <= seq then sum[k] = sum[k] + amount end
      if paced[k] then tat[k] = tat[k] + (amount * windowMs[k]) / limitOf(k, throttled) end
    end
  end
end

-- packs any number of doubles (unpack() has a stack limit, so in chunks)
local function packAll(values)
  local parts = {}
  for from = 1, #values, 200 do
    local to = math.min(#values, from + 199)
    parts[#parts + 1] = struct.pack('<' .. string.rep('d', to - from + 1), unpack(values, from, to))
  end
  return table.concat(parts)
end

local function persist(now)
  if first > trimFrom then
    local dead = { key }
    for seq = trimFrom, first - 1 do
      dead[#dead + 1] = field(seq)
      if #dead > 1000 then redis.call('HDEL', unpack(dead)); dead = { key } end
    end
    if #dead > 1 then redis.call('HDEL', unpack(dead)) end
  end
  -- the key must outlive every entry, pace, pause, throttle and widening it holds
  local horizon = longest + extraAt(now)
  if we - now > horizon then horizon = we - now end
  for k = 1, n do
    if tat[k] - now > horizon then horizon = tat[k] - now end
  end
  if pausedUntil - now > horizon then horizon = pausedUntil - now end
  if tu - now > horizon then horizon = tu - now end
  local refresh = expiresAt < now + horizon + TTL_MARGIN / 2
  if refresh then expiresAt = now + horizon + TTL_MARGIN end

  local windows = {}
  for k = 1, n do
    windows[3 * k - 2], windows[3 * k - 1], windows[3 * k] = head[k], sum[k], tat[k]
  end
  local out = {
    key, 'st',
    struct.pack(STATE, first, nxt, lastNow, pausedUntil, tf, tu, expiresAt, wm, wa, we, unpack(windows))
  }
  if fresh then
    out[4], out[5] = 'plan', planId
  end
  for seq in pairs(dirty) do
    if seq >= first and seq < nxt then
      out[#out + 1] = field(seq)
      out[#out + 1] = struct.pack('<dd', entryAt[seq], entryTokens[seq])
      if #out > 2000 then redis.call('HSET', unpack(out)); out = { key } end
    end
  end
  if #out > 1 then redis.call('HSET', unpack(out)) end
  if refresh then redis.call('PEXPIRE', key, math.ceil(horizon + TTL_MARGIN)) end
end
`;

/**
 * ARGV[1] after now: the head's latest start (NaN when absent), then the costs. Reply: now,
 * retryAt, wakeAt (NaN when absent), blocked, then one ticket per cost (NaN when refused).
 */
const ADMIT = `
local now = advance()
local headLatestStart = arg(2)
local m = argCount() - 2
local costs, tickets = {}, {}
for i = 1, m do
  costs[i] = arg(i + 2)
  tickets[i] = NAN
end
local i = 1
local headStart, blocked = now, 0
while i <= m do
  headStart, blocked = startTime(costs[i], now)
  if headStart > now then break end
  tickets[i] = book(costs[i], now, true)
  i = i + 1
end
local reply = { now, NAN, NAN, 0 }
if i <= m then
  local headCost = costs[i]
  -- NaN or earlier than the head's earliest start: backfilling may not delay the head
  local latest = headStart
  if headLatestStart > headStart then latest = headLatestStart end
  local wakeAt = headStart
  if pausedUntil <= now then
    -- best fit: largest first, ties in queue order
    local order = {}
    for j = i + 1, m do order[#order + 1] = j end
    table.sort(order, function(a, b)
      if costs[a] ~= costs[b] then return costs[a] > costs[b] end
      return a < b
    end)
    -- fitting now is monotone in cost: once one does not fit, no larger one does
    local smallestMisfit = math.huge
    for _, j in ipairs(order) do
      local cost = costs[j]
      if cost < smallestMisfit then
        local start = startTime(cost, now)
        if start > now then
          smallestMisfit = cost
          if start < wakeAt then wakeAt = start end
        else
          local savedTat = {}
          for k = 1, n do savedTat[k] = tat[k] end
          local seq = book(cost, now, true)
          local headAfter, blockedAfter = startTime(headCost, now)
          if headAfter > latest then
            unbookLast(seq, savedTat)
          else
            tickets[j] = seq
            if headAfter > headStart then headStart, blocked = headAfter, blockedAfter end
          end
        end
      end
    end
  end
  reply[2] = headStart
  if wakeAt < headStart then reply[3] = wakeAt end
  reply[4] = blocked
end
persist(now)
for j = 1, m do reply[4 + j] = tickets[j] end
return packAll(reply)
`;

/** ARGV[1] after now: ticket, tokens. */
const REBOOK = `
if fresh then return 0 end
local now = advance()
local seq, tokens = arg(2), arg(3)
if seq >= first and seq < nxt and tokensOf(seq) >= 0 then
  local delta = tokens - tokensOf(seq)
  entryTokens[seq] = tokens
  dirty[seq] = true
  shift(seq, delta, 0, now)
end
persist(now)
return 1
`;

/** ARGV[1] after now: ticket. */
const RELEASE = `
if fresh then return 0 end
local now = advance()
local seq = arg(2)
if seq >= first and seq < nxt and tokensOf(seq) >= 0 then
  local tokens = tokensOf(seq)
  entryTokens[seq] = -1
  dirty[seq] = true
  shift(seq, -tokens, -1, now)
end
persist(now)
return 1
`;

/**
 * ARGV[1] after now: ticket, tokens. Reply: the ticket the admission is booked under. The
 * request left the process now: released where it still counts, booked again at now with
 * `tokens` (no checks, no pace), as core's QuotaState.restamp does.
 */
const RESTAMP = `
local now = advance()
local seq, tokens = arg(2), arg(3)
local live = seq >= first and seq < nxt and tokensOf(seq) >= 0
if live and atOf(seq) >= bookingInstant(now) then
  persist(now)
  return packAll({ seq })
end
if live then
  local booked = tokensOf(seq)
  for k = 1, n do
    local amount = 1
    if countsTokens[k] then amount = booked end
    if head[k] <= seq then sum[k] = sum[k] - amount end
  end
  entryTokens[seq] = -1
  dirty[seq] = true
end
local moved = book(tokens, now, false)
persist(now)
return packAll({ moved })
`;

/** ARGV[1] after now: durationMs. Reply: the pause's end. */
const PAUSE = `
local now = advance()
pausedUntil = math.max(pausedUntil, now + arg(2))
persist(now)
return packAll({ pausedUntil })
`;

/** ARGV[1] after now: factor, durationMs. Reply: the throttle's end. */
const THROTTLE = `
local now = advance()
local factor = arg(2)
local active = tu > now
if active then tf = math.min(tf, factor) else tf = factor end
local from = 0
if active then from = tu end
tu = math.max(from, now + arg(3))
persist(now)
return packAll({ tu })
`;

/** ARGV[1] after now: stepMs, maxMs, decayMs. Reply: the widened margin. */
const WIDEN = `
local now = advance()
local current = extraAt(now)
local widened = math.min(arg(3), current + math.max(arg(2), current))
wm, wa, we = widened, now, now + arg(4)
persist(now)
return packAll({ widened })
`;

/**
 * Read-only. Reply: now, pausedUntil (0 when not paused), factor and until (NaN when not
 * throttled), the widened margin, then used and limit per window.
 */
const SNAPSHOT = `
local now = advance()
local throttled = tu > now
local reply = { now, 0, NAN, NAN, extraAt(now) }
if pausedUntil > now then reply[2] = pausedUntil end
if throttled then reply[3], reply[4] = tf, tu end
for k = 1, n do
  reply[#reply + 1] = sum[k]
  reply[#reply + 1] = limitOf(k, throttled)
end
return packAll(reply)
`;

export type ScriptName =
  | 'admit'
  | 'rebook'
  | 'release'
  | 'restamp'
  | 'pause'
  | 'throttle'
  | 'widen'
  | 'snapshot';

export const SCRIPTS: Readonly<Record<ScriptName, string>> = {
  admit: PRELUDE + ADMIT,
  rebook: PRELUDE + REBOOK,
  release: PRELUDE + RELEASE,
  restamp: PRELUDE + RESTAMP,
  pause: PRELUDE + PAUSE,
  throttle: PRELUDE + THROTTLE,
  widen: PRELUDE + WIDEN,
  snapshot: PRELUDE + SNAPSHOT,
};
