// Facilitator tools: let people in from the waiting room, mute, lower a hand, remove, invite the
// next speaker, lock the meeting, turn the waiting room on or off, end the meeting. Members never see these; the server refuses them anyway.

import { $, announce, setMessage } from "./dom.js";

const END_CONFIRM_MS = 5000;

export class HostTools {
  constructor(meeting) {
    this.meeting = meeting;
    this.endArmedUntil = 0;
    $("next-speaker").addEventListener("click", () => this._run("mod:next-speaker", {}));
    $("end-meeting").addEventListener("click", () => this._end());
    $("lock-meeting").addEventListener("click", () => {
      const locked = !this.meeting.locked;
      this._run("mod:lock", { locked }, () =>
        announce(locked ? "The meeting is locked: nobody new can join." : "The meeting is open again."),
      );
    });
    $("waiting-room-toggle").addEventListener("click", () => {
      const enabled = !this.meeting.waitingRoom;
      this._run("mod:waiting-room", { enabled }, () =>
        announce(enabled ? "New arrivals now wait to be let in." : "The waiting room is off; everyone waiting was let in."),
      );
    });
  }

  actions() {
    return {
      admit: (p) => this._run("mod:admit", { id: p.id }, () => {
        this.meeting.waiting.delete(p.id);
        announce(`${p.name} was let in.`);
        this.meeting._render();
      }),
      deny: (p) => this._run("mod:deny", { id: p.id }, () => {
        this.meeting.waiting.delete(p.id);
        announce(`${p.name} was turned away.`);
        this.meeting._render();
      }),
      mute: (p) => this._run("mod:mute", { id: p.id, audio: true }, () => announce(`${p.name} is muted.`)),
      lowerHand: (p) => this._run("mod:lower-hand", { id: p.id }),
      remove: (p) => this._run("mod:remove", { id: p.id }, () => announce(`${p.name} was removed.`)),
    };
  }

  render() {
    $("host-tools").hidden = this.meeting.self?.role !== "facilitator";
    $("lock-meeting").textContent = this.meeting.locked ? "Unlock meeting" : "Lock meeting";
    $("waiting-room-toggle").textContent = this.meeting.waitingRoom ? "Turn waiting room off" : "Turn waiting room on";
  }

  async _run(event, payload, then = null) {
    try {
      await this.meeting.conn.request(event, payload);
      setMessage($("meeting-error"), "");
      then?.();
    } catch (error) {
      setMessage($("meeting-error"), error.message || "That didn't work. Try again in a moment.");
    }
  }

  _end() {
    const button = $("end-meeting");
    // Ending is for everyone and cannot be undone: ask for a second press instead of a dialog.
    if (Date.now() > this.endArmedUntil) {
      this.endArmedUntil = Date.now() + END_CONFIRM_MS;
      button.textContent = "Press again to end the meeting";
      setTimeout(() => {
        button.textContent = "End meeting for everyone";
      }, END_CONFIRM_MS);
      return;
    }
    this._run("mod:end", {});
  }
}
