// This person's own controls: the microphone, camera and hand buttons, and the reports of when
// they are speaking. A change shows at once and is taken back if the server refuses it. What a
// facilitator did to this person's microphone is said calmly, as news, not as an error.

import { $, announce, setMessage } from "./dom.js";

// The server relays speaking changes to everyone; a few per second is plenty for an indicator.
const SPEAKING_MIN_INTERVAL_MS = 250;

export class SelfControls {
  /** room: the RoomState; call: the Call; isIn(): whether this page is in the meeting. */
  constructor({ conn, room, call, isIn, onChange }) {
    this.conn = conn;
    this.room = room;
    this.call = call;
    this.isIn = isIn;
    this.onChange = onChange;
    this.speakingSent = false;
    this.speakingWanted = false;
    this.speakingLastSent = 0;
    this.speakingTimer = null;
    this.news = "";  // the latest thing a facilitator did to this person's media, said once
    $("toggle-mic").addEventListener("click", (event) => this._toggle(event, { audio: !this.room.self.audio }));
    $("toggle-cam").addEventListener("click", (event) => this._toggle(event, { video: !this.room.self.video }));
    $("toggle-hand").addEventListener("click", () => this._toggleHand());
  }

  reportSpeaking(speaking) {
    this.speakingWanted = speaking;
    if (this.speakingTimer || speaking === this.speakingSent) return;
    const wait = Math.max(0, this.speakingLastSent + SPEAKING_MIN_INTERVAL_MS - performance.now());
    this.speakingTimer = setTimeout(() => {
      this.speakingTimer = null;
      if (this.speakingWanted === this.speakingSent || !this.isIn() || !this.conn.connected) return;
      this.speakingSent = this.speakingWanted;
      this.speakingLastSent = performance.now();
      this.conn.request("media:speaking", { speaking: this.speakingSent }).catch(() => {});
    }, wait);
  }

  /** A facilitator turned off this person's microphone and/or camera. */
  mutedByFacilitator({ audio, video }) {
    const self = this.room.self;
    if (audio) this.call.localMedia?.setAudioEnabled(false);
    if (video) this.call.localMedia?.setVideoEnabled(false);
    if (self) {
      if (audio) self.audio = false;
      if (video) self.video = false;
    }
    const what = audio && video ? "microphone and camera" : audio ? "microphone" : "camera";
    this.news = self?.media_locked
      ? `A facilitator turned off your ${what}, and is keeping you muted for now.`
      : `A facilitator turned off your ${what}. You can turn it back on when you're ready.`;
    announce(this.news);
    this.onChange();
  }

  /** The server changed this person: say when a facilitator starts or stops keeping them muted. */
  selfChanged(now, before) {
    if (!before || Boolean(before.media_locked) === Boolean(now.media_locked)) return;
    this.news = now.media_locked
      ? "A facilitator is keeping you muted for now."
      : "A facilitator has allowed you to unmute again, whenever you're ready.";
    announce(this.news);
  }

  stop() {
    clearTimeout(this.speakingTimer);
  }

  render() {
    const self = this.room.self;
    const locked = Boolean(self.media_locked);
    const mic = $("toggle-mic");
    mic.hidden = self.media === "text";
    mic.textContent = self.audio ? "Mute microphone" : "Unmute microphone";
    mic.classList.toggle("engaged", !self.audio);
    setHeld(mic, locked && !self.audio);
    const cam = $("toggle-cam");
    cam.hidden = self.media !== "av";
    cam.textContent = self.video ? "Turn camera off" : "Turn camera on";
    cam.classList.toggle("engaged", !self.video);
    setHeld(cam, locked && !self.video);
    // While kept muted that is the whole story; otherwise the latest news, until it is acted on.
    const status = locked ? heldText(self, this.room.safety) : this.news;
    setMessage($("self-status"), self.media === "text" ? "" : status);
    const hand = $("toggle-hand");
    const raised = self.hand !== null && self.hand !== undefined;
    hand.textContent = raised ? "Lower hand" : "Raise hand";
    hand.classList.toggle("engaged", raised);
  }

  _toggle(event, change) {
    if (event.currentTarget.getAttribute("aria-disabled") === "true") {
      announce($("self-status").textContent);
      return;
    }
    this._setMedia(change);
  }

  async _setMedia(change) {
    const self = this.room.self;
    if (!self || !this.call.localMedia) return;
    const before = { audio: self.audio, video: self.video };
    const wanted = { ...before, ...change };
    if (self.media !== "av") wanted.video = false;
    this.call.localMedia.setAudioEnabled(wanted.audio);
    this.call.localMedia.setVideoEnabled(wanted.video);
    Object.assign(self, wanted);
    this.news = "";
    this.onChange();
    try {
      await this.conn.request("media:state", wanted);
      setMessage($("meeting-error"), "");
    } catch (error) {
      this.call.localMedia.setAudioEnabled(before.audio);
      this.call.localMedia.setVideoEnabled(before.video);
      // A rejoin meanwhile may have replaced the participant: undo on the one shown now.
      Object.assign(this.room.self, before);
      if (error.code === "forbidden") {
        // Kept muted by a facilitator (the lock may have crossed this click on the way): news, not a fault.
        this.news = "A facilitator is keeping you muted for now. You'll be able to unmute when they allow it.";
        announce(this.news);
      } else {
        setMessage($("meeting-error"), "That didn't work because the connection dropped. Try again in a moment.");
      }
      this.onChange();
    }
  }

  async _toggleHand() {
    if (!this.room.self) return;
    const raising = this.room.self.hand === null || this.room.self.hand === undefined;
    try {
      await this.conn.request(raising ? "hand:raise" : "hand:lower", {});
      // The server's participant:updated follows; reflect the change at once meanwhile.
      this.room.setOwnHand(raising);
      announce(raising ? "Your hand is raised." : "Your hand is lowered.");
      this.onChange();
    } catch (error) {
      setMessage($("meeting-error"), error.message || "That didn't work. Try again in a moment.");
    }
  }
}

/** Why this person's unmute is not theirs for now, and what they can do about it. */
function heldText(self, safety) {
  const why = safety
    ? "The facilitator has paused the room, so your microphone and camera stay off for now."
    : "A facilitator is keeping you muted for now.";
  return self.unmute_requested
    ? `${why} You've asked to unmute; a facilitator will see your request.`
    : `${why} You'll be able to unmute when they allow it.`;
}

/** A control this person may not use for now: still focusable, so the reason (the status line it
 * points to) is read when it is reached, but marked disabled and doing nothing. */
function setHeld(button, held) {
  if (held) {
    button.setAttribute("aria-disabled", "true");
    button.setAttribute("aria-describedby", "self-status");
  } else {
    button.removeAttribute("aria-disabled");
    button.removeAttribute("aria-describedby");
  }
}
