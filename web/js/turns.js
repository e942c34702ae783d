// A person's own turn: "I'm done" ends it while they have the floor, and "Pass" lets it go while
// they wait in the queue (in a round everyone is queued without asking, so passing must be easy).

import { $, announce, setMessage } from "./dom.js";

export class TurnControls {
  /** meeting: the Meeting (its conn and room). */
  constructor(meeting) {
    this.meeting = meeting;
    $("done-speaking").addEventListener("click", () => this._send("speaker:done", "Thank you for sharing."));
    $("pass-turn").addEventListener("click", () => this._send("hand:pass", "You passed. That's always fine."));
  }

  render() {
    const room = this.meeting.room;
    const id = room.self?.id;
    const speaking = Boolean(id && room.speaker?.id === id);
    $("done-speaking").hidden = !speaking;
    $("pass-turn").hidden = speaking || !room.hands.includes(id);
  }

  async _send(event, said) {
    try {
      const ack = await this.meeting.conn.request(event, {});
      if (ack.ended || ack.passed) announce(said);
      // The button goes once the room says so: keep the keyboard in the toolbar.
      if (["done-speaking", "pass-turn"].includes(document.activeElement?.id)) $("toggle-hand").focus();
      setMessage($("meeting-error"), "");
    } catch (error) {
      setMessage($("meeting-error"), error.message || "That didn't work. Try again in a moment.");
    }
  }
}
