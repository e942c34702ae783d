// Trying again after a growing pause: the first pause, doubling up to a limit, each drawn from half to
// one and a half times its length so that many pages retrying at the same moment spread out.

export class Retry {
  constructor(firstMs, maxMs) {
    this.firstMs = firstMs;
    this.maxMs = maxMs;
    this.pauseMs = firstMs;
    this.timer = null;
  }

  /** Run `fn` after the next pause, instead of whatever was scheduled before. */
  schedule(fn) {
    this.cancel();
    const pause = this.pauseMs * (0.5 + Math.random());
    this.pauseMs = Math.min(this.maxMs, this.pauseMs * 2);
    this.timer = setTimeout(() => {
      this.timer = null;
      fn();
    }, pause);
  }

  /** It worked: nothing more is scheduled, and the next retry starts from the first pause. */
  reset() {
    this.cancel();
    this.pauseMs = this.firstMs;
  }

  cancel() {
    clearTimeout(this.timer);
    this.timer = null;
  }
}
