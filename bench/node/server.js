// The Node peer of the benchmark: a bare socket.io server doing the same room fan-out as Circle's
// chat, and nothing else. `join` puts the socket in a socket.io room; `chat:send` emits a
// `chat:message` shaped like Circle's ({id, from: {id, name}, text, at}) to that room, the sender
// included, and acknowledges it. With --redis-url, @socket.io/redis-adapter carries the emits
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

io.on("connection", (socket) => {
  let room = null;
  let name = null;
  socket.on("join", (data, ack) => {
    room = `room:${data.room}`;
    name = String(data.name);
    socket.join(room);
    if (typeof ack === "function") ack({ ok: true, self: { id: socket.id, name } });
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
