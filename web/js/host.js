// Facilitator tools: let people in from the waiting room, mute (or keep muted), lower a hand,
// remove (with a confirmation that offers a ban), make someone a co-facilitator, invite the next
// speaker with a share timer, copy the member link, lock the meeting, turn the waiting room on or
// off, end the meeting. Members never see these; the server refuses them anyway.

import { $, announce, setMessage } from "./dom.js";
import { Modal } from "./dialog.js";

const END_CONFIRM_MS = 5000;
const STATUS_CLEAR_MS = 8000;

/** The link members join with: this page's address without the facilitator's "#host=…" part. */
export function memberLink() {
  return `${location.origin}${location.pathname}`;
}

export class HostTools {
  /** meeting: the Meeting (its conn, room, chime and render). */
  constructor(meeting) {
    this.meeting = meeting;
    this.endArmedUntil = 0;
    this.statusTimer = null;
    this.removing = null;  // {p, label} while the remove dialog is open
    this.removeDialog = new Modal($("remove-dialog"), {
      onClose: () => {
        this.removing = null;
      },
    });

    $("next-speaker").addEventListener("click", () => this._inviteNext());
    $("end-meeting").addEventListener("click", () => this._end());
    $("copy-link").addEventListener("click", () => this._copyLink());
    $("lock-meeting").addEventListener("click", () => {
      // The room state says it aloud to everyone, this page included, when the change arrives.
      this._run("mod:lock", { locked: !this.meeting.room.locked });
    });
    $("waiting-room-toggle").addEventListener("click", () => {
      const enabled = !this.meeting.room.waitingRoom;
      this._run("mod:waiting-room", { enabled }, () =>
        announce(enabled ? "New arrivals now wait to be let in." : "The waiting room is off; everyone waiting was let in."),
      );
    });
    const sound = $("arrival-sound");
    sound.checked = this.meeting.chime.enabled;
    sound.addEventListener("change", () => this.meeting.chime.setEnabled(sound.checked));
    $("remove-cancel").addEventListener("click", () => this.removeDialog.close());
    $("remove-confirm").addEventListener("click", () => this._confirmRemove());
  }

  actions() {
    const meeting = this.meeting;
    return {
      admit: (p, label) => this._run("mod:admit", { id: p.id }, () => {
        meeting.room.waiting.delete(p.id);
        announce(`${label} was let in.`);
        meeting._render();
      }),
      deny: (p, label) => this._run("mod:deny", { id: p.id }, () => {
        meeting.room.waiting.delete(p.id);
        announce(`${label} was turned away.`);
        meeting._render();
      }),
      mute: (p, label) => this._run("mod:mute", { id: p.id, audio: true }, () => announce(`${label} is muted.`)),
      // Locked first, so the member's page already knows to say they are kept muted when the mute arrives.
      keepMuted: (p, label) => this._run("mod:lock-media", { id: p.id, locked: true }, () =>
        this._run("mod:mute", { id: p.id, audio: true }, () =>
          announce(`${label} is muted and can't unmute until you allow it.`),
        ),
      ),
      allowUnmute: (p, label) => this._run("mod:lock-media", { id: p.id, locked: false }, () =>
        announce(`${label} can unmute again.`),
      ),
      lowerHand: (p) => this._run("mod:lower-hand", { id: p.id }),
      makeCoFacilitator: (p) => this._run("mod:role", { id: p.id, role: "facilitator" }),
      makeMember: (p) => this._run("mod:role", { id: p.id, role: "member" }),
      remove: (p, label) => this._askRemove(p, label),
    };
  }

  render() {
    const room = this.meeting.room;
    $("host-tools").hidden = room.self?.role !== "facilitator";
    $("lock-meeting").textContent = room.locked ? "Unlock meeting" : "Lock meeting";
    $("waiting-room-toggle").textContent = room.waitingRoom ? "Turn waiting room off" : "Turn waiting room on";
    if (this.removing && !room.participants.has(this.removing.p.id)) {
      // They left (or someone else removed them) while the dialog was open.
      const { label } = this.removing;
      this.removeDialog.close();
      this._status(`${label} has already left the meeting.`);
    }
    if (room.self?.role !== "facilitator") this.removeDialog.close();
  }

  close() {
    this.removeDialog.close();
  }

  // ---- removing ------------------------------------------------------------------------------

  _askRemove(p, label) {
    this.removing = { p, label };
    $("remove-title").textContent = `Remove ${label} from the meeting?`;
    $("remove-text").textContent =
      `${label} will leave the meeting at once. They'll be told kindly that a facilitator removed them.`;
    $("remove-ban").checked = false;
    // The safe choice has the focus: a stray Enter cancels rather than removes.
    this.removeDialog.open($("remove-cancel"));
  }

  _confirmRemove() {
    if (!this.removing) return;
    const { p, label } = this.removing;
    const ban = $("remove-ban").checked;
    this.removeDialog.close();
    this._run("mod:remove", { id: p.id, ban }, () =>
      announce(ban ? `${label} was removed and banned from this room.` : `${label} was removed.`),
    );
  }

  // ---- the speaking queue --------------------------------------------------------------------

  _inviteNext() {
    const room = this.meeting.room;
    const hadSpeaker = room.speaker ? room.labelOf(room.speaker.id) : null;
    const limit = Number($("share-limit").value);
    const payload = limit > 0 ? { limit_s: limit } : {};
    this._run("mod:next-speaker", payload, (ack) => {
      if (ack.speaker) {
        this._status("");
        return;
      }
      // Nobody's hand is up: the server ended the current share, if there was one.
      this._status(
        hadSpeaker
          ? `${hadSpeaker}'s share has ended. Nobody else has raised their hand yet.`
          : "Nobody has raised their hand yet, so there's no one to invite.",
      );
    });
  }

  // ---- the member link -----------------------------------------------------------------------

  async _copyLink() {
    const link = memberLink();
    try {
      await navigator.clipboard.writeText(link);
      $("member-link-field").hidden = true;
      this._status("Member link copied. Anyone with it can join as a member.");
    } catch {
      // No clipboard here (an insecure page, or permission refused): show it to copy by hand.
      const field = $("member-link");
      field.value = link;
      $("member-link-field").hidden = false;
      field.focus();
      field.select();
      this._status("Your browser didn't let the page copy. The member link is shown below, selected.");
    }
  }

  // ---- plumbing ------------------------------------------------------------------------------

  /** A calm line under the tools, for results that are news rather than errors. */
  _status(message) {
    const status = $("host-status");
    status.textContent = message;
    clearTimeout(this.statusTimer);
    if (message) this.statusTimer = setTimeout(() => (status.textContent = ""), STATUS_CLEAR_MS);
  }

  async _run(event, payload, then = null) {
    let ack;
    try {
      ack = await this.meeting.conn.request(event, payload);
      setMessage($("meeting-error"), "");
    } catch (error) {
      setMessage($("meeting-error"), error.message || "That didn't work. Try again in a moment.");
      return;
    }
    await then?.(ack);
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
