// The Node peer of the benchmark: a bare socket.io server doing the same room fan-out as Circle's
// chat and presence, and nothing else. `join` puts the socket in a socket.io room, tells the others
// there (`participant:joined`, shaped like Circle's) and answers with who is present, as any meeting
// server must (a member who cannot see who is there cannot take part); leaving tells them too.
// `chat:send` emits a `chat:message` shaped like Circle's ({id, from: {id, name}, text, at}) to that
// room, the sender included, and acknowledges it. The roster is per instance: the storm runs on one. With --redis-url, @socket.io/redis-adapter carries the emits
// between instances (the adapter's default: msgpack, one PUBLISH per emit).
//
//   node bench/node/server.js --port 8200 [--host 127.0.0.1] [--redis-url redis://127.0.0.1:6379/0]
"use strict";

const http = require("node:http");
const { parseArgs } = require("node:util");
const { Server } = require("socket.io");

const { values: args } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string" },
    "redis-url": { type: "string" },
  },
});
if (!args.port) {
  console.error("--port is required");
  process.exit(2);
}

const redisUrl = args["redis-url"];
const httpServer = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ status: "ok", redis: redisUrl ? "ok" : "absent" }));
    return;
  }
  res.writeHead(404).end();
});
const io = new Server(httpServer, { serveClient: false });
let nextId = 1;
// Who is in each room: id -> the participant as Circle describes one.
const rosters = new Map();

io.on("connection", (socket) => {
  let room = null;
  let name = null;
  socket.on("join", (data, ack) => {
    room = `room:${data.room}`;
    name = String(data.name);
    const media = String(data.media || "text");
    const self = {
      id: socket.id, name, role: "member", media, audio: false, video: false, hand: null,
      speaking: false, away: false, joined_at: Date.now(),
    };
    if (!rosters.has(room)) rosters.set(room, new Map());
    const roster = rosters.get(room);
    roster.set(socket.id, self);
    socket.join(room);
    socket.to(room).emit("participant:joined", { ...self, version: nextId++ });
    if (typeof ack === "function") {
      ack({ ok: true, self, room: { id: data.room, participants: [...roster.values()] } });
    }
  });
  socket.on("disconnect", () => {
    const roster = room && rosters.get(room);
    if (!roster || !roster.delete(socket.id)) return;
    io.to(room).emit("participant:left", { id: socket.id, reason: "left", version: nextId++ });
    if (!roster.size) rosters.delete(room);
  });
  socket.on("chat:send", (data, ack) => {
    const message = {
      id: String(nextId++).padStart(12, "0"),
      from: { id: socket.id, name },
      text: data.text,
      at: Date.now(),
    };
    io.to(room).emit("chat:message", message);
    if (typeof ack === "function") ack({ ok: true, message });
  });
});

async function main() {
  const closers = [];
  if (redisUrl) {
    const { createClient } = require("redis");
    const { createAdapter } = require("@socket.io/redis-adapter");
    const pub = createClient({ url: redisUrl });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    io.adapter(createAdapter(pub, sub, { key: "bench-node" }));
    closers.push(() => pub.quit(), () => sub.quit());
  }
  httpServer.listen(Number(args.port), args.host, () => {
    console.log(`node peer listening on http://${args.host}:${args.port}`);
  });
  const stop = () => {
    io.close();
    Promise.allSettled(closers.map((close) => close())).then(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
