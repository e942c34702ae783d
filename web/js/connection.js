// The socket.io connection to the Circle server. Every request carries an acknowledgement and
// resolves with the ack's result or rejects with a RequestError holding the protocol's error code.

import { io } from "/static/vendor/socket.io.esm.min.js";

const REQUEST_TIMEOUT_MS = 10000;

export class RequestError extends Error {
  constructor(code, message, extra = {}) {
    super(message || code);
    this.code = code;
    Object.assign(this, extra);
  }
}

export class Connection {
  constructor() {
    this.socket = io({
      path: "/socket.io/",
      autoConnect: false,
      reconnectionDelay: 500,
      reconnectionDelayMax: 4000,
      randomizationFactor: 0.3,
    });
  }

  get connected() {
    return this.socket.connected;
  }

  on(event, handler) {
    this.socket.on(event, handler);
  }

  /** Connect (if not yet) and resolve once connected. */
  open(timeoutMs = REQUEST_TIMEOUT_MS) {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (error) => {
        clearTimeout(timer);
        this.socket.off("connect", onConnect);
        this.socket.off("connect_error", onError);
        if (error) reject(error);
        else resolve();
      };
      const onConnect = () => done();
      const onError = () => {
        // socket.io keeps retrying on its own; only give up on the first attempt's deadline.
      };
      const timer = setTimeout(
        () => done(new RequestError("unavailable", "The meeting server cannot be reached.")),
        timeoutMs,
      );
      this.socket.on("connect", onConnect);
      this.socket.on("connect_error", onError);
      this.socket.connect();
    });
  }

  /**
   * Send an event and wait for its ack. While disconnected this fails at once rather than being
   * buffered: a stale signal or a duplicate chat line sent after the reconnect would do harm.
   */
  async request(event, payload = {}, timeoutMs = REQUEST_TIMEOUT_MS) {
    if (!this.socket.connected) {
      throw new RequestError("unavailable", "You're offline. Reconnecting…");
    }
    let ack;
    try {
      ack = await this.socket.timeout(timeoutMs).emitWithAck(event, payload);
    } catch {
      throw new RequestError("unavailable", "The server did not answer in time.");
    }
    if (!ack || ack.ok !== true) {
      const error = ack?.error ?? {};
      throw new RequestError(error.code || "internal", error.message, {
        retryAfterMs: error.retry_after_ms,
        stored: error.stored,
        guidelinesVersion: error.guidelines_version,
      });
    }
    return ack;
  }

  close() {
    this.socket.disconnect();
  }
}
