"""The Lua scripts behind `RedisStore`: each is one atomic step on Redis, run by its SHA1."""

from __future__ import annotations

import hashlib
from typing import Any

from redis.exceptions import NoScriptError


class Lua:
    """A Lua script, run by its SHA1 and sent again when Redis does not know it (after a restart).

    redis-py's `register_script` does the same, with an import and a type check on every call. `r` is
    whichever client runs it (`RedisLink.script` gives the lean one)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, r: Any, keys: list[Any], args: list[Any]) -> Any:
        try:
            return await r.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            await r.script_load(self.source)
            return await r.evalsha(self.sha, len(keys), *keys, *args)


# The state's revision and blob, or only the revision when it is the one the caller holds (ARGV[1]).
READ_STATE = Lua("""
local rev = redis.call('HGET', KEYS[1], 'r')
if not rev then return false end
if rev == ARGV[1] then return {rev} end
return {rev, redis.call('HGET', KEYS[1], 's')}
""")

# Writes the state only if its revision is still the one read (ARGV[1]): the blob (2) under a new
# revision (6), how many people are in the room (3), the room (4) in the live set (KEYS[2]); the chat
# (KEYS[3]) is kept while anyone is in the room and, given a retention (5), expires that long after
# the last one leaves (without one, the sweeper clears it). A first state is written only while the
# room's definition (KEYS[4]) exists: -1 says it was deleted.
WRITE_STATE = Lua("""
local rev = redis.call('HGET', KEYS[1], 'r')
if (rev or '') ~= ARGV[1] then return 0 end
if ARGV[1] == '' and redis.call('EXISTS', KEYS[4]) == 0 then return -1 end
redis.call('HSET', KEYS[1], 'r', ARGV[6], 'n', ARGV[3], 's', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[4])
if ARGV[3] ~= '0' then
  redis.call('PERSIST', KEYS[3])
elseif tonumber(ARGV[5]) > 0 then
  redis.call('EXPIRE', KEYS[3], ARGV[5])
end
return 1
""")

# Takes the next seq and adds the message under it: nothing to conflict with. The packed message
# (ARGV[2]) ends with its id, a placeholder of the id's width, which the script overwrites with the
# real one, so that entries stay whole messages. `%d`, since Lua would write a large number as `1e+14`.
# With a key (ARGV[3], its lifetime in ms, not 0), the same message (text and recipient) already sent
# under it and still in the Stream is returned as {seq, packed message} instead; one a facilitator
# deleted since (its digest in KEYS[4]) as {seq, nil}, and it is not added again; a new one returns
# {seq}. Only a repeat unpacks anything. The key holds only the seq: what was said stays in the
# Stream, and goes when the room's retention says. A new message is also published to each of ARGV[4]
# channels (ARGV[7] on; none for '0'): ARGV[5], the bus's message carrying it, likewise ends with the
# id's placeholder. One round trip instead of two. A publish Redis refuses (a restricted user, say)
# leaves the message kept and returns {seq, 0}: it is then published the usual way, which reports the
# failure.
# Given the revision of the room's state (KEYS[5]) the message was checked against (ARGV[6]; '-': no
# check, '': no state), nothing is done unless it is still the room's: then the state's revision and
# blob come back instead as {-1, revision, blob} ({-1} without a state), for the caller to check again.
APPEND_CHAT = Lua("""
if ARGV[6] ~= '-' then
  local rev = redis.call('HGET', KEYS[5], 'r')
  if (rev or '') ~= ARGV[6] then
    if not rev then return {-1} end
    return {-1, rev, redis.call('HGET', KEYS[5], 's')}
  end
end
if ARGV[3] ~= '0' then
  local earlier = redis.call('GET', KEYS[3])
  if earlier then
    local found = redis.call('XRANGE', KEYS[2], earlier .. '-0', earlier .. '-0')
    local new = cmsgpack.unpack(ARGV[2])
    if #found > 0 then
      local old = cmsgpack.unpack(found[1][2][2])
      if old.text == new.text and old.to == new.to then return {tonumber(earlier), found[1][2][2]} end
    elseif redis.call('HGET', KEYS[4], earlier) == redis.sha1hex(new.text .. '\\0' .. (new.to or '')) then
      return {tonumber(earlier), false}
    end
  end
end
local seq = redis.call('INCR', KEYS[1])
local id = string.format('%016d', seq)
local m = string.sub(ARGV[2], 1, #ARGV[2] - #id) .. id
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[1], string.format('%d-0', seq), 'm', m)
if ARGV[3] ~= '0' then redis.call('SET', KEYS[3], string.format('%d', seq), 'PX', ARGV[3]) end
local published = 1
if tonumber(ARGV[4]) > 0 then
  local packed = string.sub(ARGV[5], 1, #ARGV[5] - #id) .. id
  for i = 7, 6 + tonumber(ARGV[4]) do
    local sent = redis.pcall('PUBLISH', ARGV[i], packed)
    if type(sent) == 'table' and sent.err then published = 0 end
  end
end
if published == 0 then return {seq, 0} end
return {seq}
""")

# Deletes message ARGV[1] (a seq) from the Stream (KEYS[1]) and keeps a digest of what it said in
# KEYS[2] for the resend window (ARGV[2], ms), so that a resend under its key does not bring it back;
# the words themselves are gone. 1 if it was there.
DELETE_CHAT = Lua("""
local found = redis.call('XRANGE', KEYS[1], ARGV[1] .. '-0', ARGV[1] .. '-0')
if #found == 0 then return 0 end
local m = cmsgpack.unpack(found[1][2][2])
redis.call('XDEL', KEYS[1], ARGV[1] .. '-0')
redis.call('HSET', KEYS[2], ARGV[1], redis.sha1hex(m.text .. '\\0' .. (m.to or '')))
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
""")

# Only a room nobody is in loses its chat: a sweeper that read the room empty just before someone
# joined and spoke must not wipe what they said.
CLEAR_CHAT = Lua("""
local n = redis.call('HGET', KEYS[1], 'n')
if n and n ~= '0' then return 0 end
redis.call('DEL', KEYS[2], KEYS[4])
redis.call('SREM', KEYS[3], ARGV[1])
return 1
""")

# Removes a room (KEYS[1]) with its state (2), chat (3), chat seq (4) and deleted messages' digests (6),
# and takes it (ARGV[1]) out of the live set (5); with ARGV[2] = '1', only while nobody is in it. 1 if
# there was a room to remove.
DELETE_ROOM = Lua("""
if ARGV[2] == '1' then
  local n = redis.call('HGET', KEYS[2], 'n')
  if n and n ~= '0' then return 0 end
end
local gone = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[6], KEYS[7])
redis.call('SREM', KEYS[5], ARGV[1])
return gone
""")

HEARTBEAT = Lua("""
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
local t = redis.call('TIME')
redis.call('SET', KEYS[2], t[1] * 1000 + math.floor(t[2] / 1000), 'NX')
return 1
""")

# A heartbeat that is missing because this Redis lost it (restarted empty) says nothing about the
# instance, so nobody is declared dead until `epoch` is at least one TTL old: time enough for every
# live instance to announce itself again.
DEAD_INSTANCES = Lua("""
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  redis.call('SET', KEYS[1], now)
  return {}
end
if now - tonumber(epoch) < tonumber(ARGV[1]) then return {} end
local dead = {}
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then table.insert(dead, i - 1) end
end
return dead
""")

# A sorted set of marks scored by when each ban ends (ms, Redis's clock): expired ones are dropped at
# each write, a mark banned again keeps the later end, and the key itself expires with its last ban.
ADD_BANS = Lua("""
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local until_ms = now + tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'GT', until_ms, ARGV[i])
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return 1
""")

BANNED = Lua("""
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local held = {}
local scores = redis.call('ZMSCORE', KEYS[1], unpack(ARGV))
for i, score in ipairs(scores) do
  if score and tonumber(score) > now then held[#held + 1] = ARGV[i] end
end
return held
""")
