"""The Lua scripts behind `RedisStore`: each is one atomic step on Redis, run by its SHA1."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import NoScriptError


class Lua:
    """A Lua script, run by its SHA1 and sent again when Redis does not know it (after a restart).

    redis-py's `register_script` does the same, with an import and a type check on every call; the
    chat path runs two scripts per message."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, r: Any, keys: list[Any], args: list[Any]) -> Any:
        try:
            return await r.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            await r.script_load(self.source)
            return await r.evalsha(self.sha, len(keys), *keys, *args)

    def bind(self, keys: list[Any], args: list[Any]) -> Callable[[Any], Awaitable[Any]]:
        """This script with its keys and arguments, as a call for `RedisLink.call`."""
        return lambda r: self(r, keys, args)


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
# the last one leaves (without one, the sweeper clears it).
WRITE_STATE = Lua("""
local rev = redis.call('HGET', KEYS[1], 'r')
if (rev or '') ~= ARGV[1] then return 0 end
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
# under it and still in the Stream is returned as {seq, packed message} instead; a new one returns
# {seq}. Only a repeat unpacks anything. The key holds only the seq: what was said stays in the
# Stream, and goes when the room's retention says.
APPEND_CHAT = Lua("""
if ARGV[3] ~= '0' then
  local earlier = redis.call('GET', KEYS[3])
  if earlier then
    local found = redis.call('XRANGE', KEYS[2], earlier .. '-0', earlier .. '-0')
    if #found > 0 then
      local old, new = cmsgpack.unpack(found[1][2][2]), cmsgpack.unpack(ARGV[2])
      if old.text == new.text and old.to == new.to then return {tonumber(earlier), found[1][2][2]} end
    end
  end
end
local seq = redis.call('INCR', KEYS[1])
local id = string.format('%016d', seq)
local m = string.sub(ARGV[2], 1, #ARGV[2] - #id) .. id
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[1], string.format('%d-0', seq), 'm', m)
if ARGV[3] ~= '0' then redis.call('SET', KEYS[3], string.format('%d', seq), 'PX', ARGV[3]) end
return {seq}
""")

# Only a room nobody is in loses its chat: a sweeper that read the room empty just before someone
# joined and spoke must not wipe what they said.
CLEAR_CHAT = Lua("""
local n = redis.call('HGET', KEYS[1], 'n')
if n and n ~= '0' then return 0 end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return 1
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
