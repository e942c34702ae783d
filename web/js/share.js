// The share: who has the floor, told on every page, with the share timer's countdown beside the
// speaker. The timer is the server's (the speaker's `since` plus `limit_s`), read against the
// server's clock, so every page counts down to the same moment.

import { announce } from "./dom.js";

const TICK_MS = 1000;
// Said once, to the speaker and the facilitators, when this much time is left (for shares long
// enough that a warning helps).
const WARN_MS = 60000;
const WARN_MIN_LIMIT_S = 90;

/** Milliseconds left in the speaker's share at `serverNow` (≤ 0 once over), or null without a timer. */
export function shareMsLeft(speaker, serverNow) {
  if (!speaker || typeof speaker.limit_s !== "number" || speaker.limit_s <= 0) return null;
  return speaker.since + speaker.limit_s * 1000 - serverNow;
}

/** "4:05 left", or "time is up". */
export function timeLeftText(ms) {
  if (ms <= 0) return "time is up";
  const seconds = Math.ceil(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")} left`;
}

export class ShareView {
  /** banner, text, time: the speaker banner and its two parts; clock: a ServerClock; tiles: the TileGrid. */
  constructor({ banner, text, time, clock, tiles, screen }) {
    this.banner = banner;
    this.text = text;
    this.time = time;
    this.clock = clock;
    this.tiles = tiles;
    this.screen = screen;
    this.speaker = null;
    this.who = null;
    this.timer = null;
    this.turn = null;
    this.lastLeft = null;
  }

  /**
   * speaker: the room's {id, since, limit_s} or null; who: {label, isSelf, textOnly, facilitator}
   * (facilitator: whether this page's person is one).
   */
  show(speaker, who) {
    const turn = speaker ? `${speaker.id}:${speaker.since}` : null;
    if (turn !== this.turn) {
      this.turn = turn;
      this.lastLeft = null;
    }
    this.speaker = speaker;
    this.who = who;
    this.banner.hidden = !speaker;
    this.banner.classList.toggle("your-turn", Boolean(speaker && who.isSelf));
    this.screen.classList.toggle("has-turn-notice", Boolean(speaker && who.isSelf));
    if (speaker) {
      let line;
      if (who.isSelf) {
        line = who.textOnly
          ? "It's your turn to share. You can share by writing in the chat."
          : "It's your turn to share.";
      } else {
        line = who.textOnly ? `${who.label} is sharing in the chat.` : `${who.label} is sharing.`;
      }
      if (this.text.textContent !== line) this.text.textContent = line;
    }
    const timed = shareMsLeft(speaker, 0) !== null;
    if (timed && !this.timer) this.timer = setInterval(() => this._tick(), TICK_MS);
    if (!timed) this._stopTimer();
    this._tick();
  }

  stop() {
    this._stopTimer();
    this.speaker = null;
  }

  _stopTimer() {
    clearInterval(this.timer);
    this.timer = null;
  }

  _tick() {
    const left = shareMsLeft(this.speaker, this.clock.now());
    const text = left === null ? "" : timeLeftText(left);
    if (this.time.textContent !== text) this.time.textContent = text;
    this.time.hidden = !text;
    this.banner.classList.toggle("time-up", left !== null && left <= 0);
    this.tiles.setShareTime(this.speaker?.id ?? null, text);
    if (left === null) return;
    // Only a moment this page saw pass is said: a page that arrives late stays quiet about it.
    const before = this.lastLeft;
    this.lastLeft = left;
    if (before === null || !(this.who.isSelf || this.who.facilitator)) return;
    if (before > 0 && left <= 0) {
      announce(
        this.who.isSelf
          ? "Your share time is up. Finish your thought when you're ready."
          : `${this.who.label}'s share time is up.`,
      );
    } else if (this.speaker.limit_s >= WARN_MIN_LIMIT_S && before > WARN_MS && left <= WARN_MS) {
      announce(this.who.isSelf ? "One minute left in your share." : `${this.who.label} has one minute left.`);
    }
  }
}
