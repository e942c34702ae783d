// The server's clock as this page can best tell it. A share timer counts down from a time the
// server set, and this computer's clock may be minutes off: every server time that arrives as it
// happens (a live chat message, a speaker just invited, someone just joined) bounds the difference.
// The message left the server before it arrived, so each sample can only overstate how far this
// page is ahead; the smallest sample is the best estimate. Old times (history, snapshots) give
// larger samples and so never spoil it. Until a sample arrives, the local clock stands in.

export class ServerClock {
  constructor() {
    this.offset = null;  // performance.now() minus the server's epoch milliseconds
  }

  /** A server time (ms since the epoch) that has just arrived. */
  observe(serverMs) {
    if (typeof serverMs !== "number" || !Number.isFinite(serverMs)) return;
    // performance.now() is monotonic: a local clock changed during the meeting does not disturb it.
    const sample = performance.now() - serverMs;
    if (this.offset === null || sample < this.offset) this.offset = sample;
  }

  /** The server's time now, in ms since the epoch. */
  now() {
    return this.offset === null ? Date.now() : performance.now() - this.offset;
  }
}
