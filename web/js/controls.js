// This person's own controls: the microphone, camera and hand buttons, and the reports of when
// they are speaking. A change shows at once and is taken back if the server refuses it.

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
    $("toggle-mic").addEventListener("click", () => this._setMedia({ audio: !this.room.self.audio }));
    $("toggle-cam").addEventListener("click", () => this._setMedia({ video: !this.room.self.video }));
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
    const message = `A facilitator turned off your ${what}.${self?.media_locked ? "" : " You can turn it back on when you're ready."}`;
    setMessage($("meeting-error"), message);
    announce(message);
    this.onChange();
  }

  stop() {
    clearTimeout(this.speakingTimer);
  }

  render() {
    const self = this.room.self;
    const mic = $("toggle-mic");
    mic.hidden = self.media === "text";
    mic.textContent = self.audio ? "Mute microphone" : "Unmute microphone";
    mic.classList.toggle("engaged", !self.audio);
    const cam = $("toggle-cam");
    cam.hidden = self.media !== "av";
    cam.textContent = self.video ? "Turn camera off" : "Turn camera on";
    cam.classList.toggle("engaged", !self.video);
    const hand = $("toggle-hand");
    const raised = self.hand !== null && self.hand !== undefined;
    hand.textContent = raised ? "Lower hand" : "Raise hand";
    hand.classList.toggle("engaged", raised);
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
    this.onChange();
    try {
      await this.conn.request("media:state", wanted);
      setMessage($("meeting-error"), "");
    } catch (error) {
      this.call.localMedia.setAudioEnabled(before.audio);
      this.call.localMedia.setVideoEnabled(before.video);
      // A rejoin meanwhile may have replaced the participant: undo on the one shown now.
      Object.assign(this.room.self, before);
      this.onChange();
      setMessage(
        $("meeting-error"),
        error.code === "forbidden"
          ? "A facilitator has paused this for now. You'll be able to turn it back on later."
          : "That didn't work because the connection dropped. Try again in a moment.",
      );
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
