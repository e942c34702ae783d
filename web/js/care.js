// Care in the meeting: sharing a milestone (a quiet celebration in the chat), telling the facilitators
// privately ("I'm worried about someone", "I need support after the meeting"), the facilitators' list
// of those notes with "Mark seen", and saying calmly when no facilitator is there, in the meeting and
// in the waiting room. A note to the facilitators never enters the chat: the server sends it to
// facilitators only.

import { $, announce, h, setMessage, timeOf } from "./dom.js";
import { Modal } from "./dialog.js";

const STATUS_CLEAR_MS = 10000;

const CONCERN_WORDS = {
  worried: "I'm worried about someone.",
  support: "I need support after the meeting.",
};

/** The "Share a milestone" and "Tell the facilitators privately" dialogs of a member. */
export class CareControls {
  /** meeting: the Meeting (its conn, room and chat). */
  constructor(meeting) {
    this.meeting = meeting;
    this.statusTimer = null;
    this.milestone = new Modal($("milestone-dialog"));
    this.concern = new Modal($("concern-dialog"));

    $("share-milestone").addEventListener("click", () => this._openMilestone());
    $("milestone-cancel").addEventListener("click", () => this.milestone.close());
    for (const radio of $("milestone-form").elements.milestone) {
      radio.addEventListener("change", () => {
        $("milestone-words-field").hidden = !$("milestone-own").checked;
      });
    }
    $("milestone-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this._shareMilestone();
    });

    $("tell-facilitators").addEventListener("click", () => this._openConcern());
    $("concern-cancel").addEventListener("click", () => this.concern.close());
    for (const radio of $("concern-form").elements.concern) {
      radio.addEventListener("change", () => {
        $("concern-about-field").hidden = !$("concern-worried").checked;
      });
    }
    $("concern-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this._tellFacilitators();
    });
  }

  render() {
    const self = this.meeting.room.self;
    // A facilitator is among those told: the private note is for members.
    $("tell-facilitators").hidden = self?.role === "facilitator";
  }

  close() {
    this.milestone.close();
    this.concern.close();
    clearTimeout(this.statusTimer);
    setMessage($("care-status"), "");
  }

  /** A facilitator has seen this person's note. */
  seen() {
    this._status("A facilitator has seen your note.");
  }

  // ---- milestones ----------------------------------------------------------------------------

  _openMilestone() {
    $("milestone-form").reset();
    $("milestone-words-field").hidden = true;
    setMessage($("milestone-error"), "");
    this.milestone.open($("milestone-30d"));
  }

  async _shareMilestone() {
    const chosen = $("milestone-form").elements.milestone.value;
    const label = $("milestone-own").checked ? $("milestone-words").value.trim() : chosen;
    if (!label) {
      const own = $("milestone-own").checked;
      setMessage($("milestone-error"), own ? "Please write your milestone in a few words." : "Please choose a milestone.");
      (own ? $("milestone-words") : $("milestone-30d")).focus();
      return;
    }
    try {
      const ack = await this.meeting.conn.request("milestone:share", { label });
      this.meeting.chat.add(ack.message);
      this.milestone.close();
    } catch (error) {
      // Kept by the server and on its way to everyone: it is shared; never share it twice.
      if (error.stored) {
        this.meeting.chat.add(error.stored);
        this.milestone.close();
        return;
      }
      setMessage($("milestone-error"), error.message || "That didn't work. Please try again in a moment.");
    }
  }

  // ---- a private note to the facilitators ----------------------------------------------------

  _openConcern() {
    $("concern-form").reset();
    $("concern-about-field").hidden = true;
    setMessage($("concern-error"), "");
    const room = this.meeting.room;
    const labels = room.labels();
    const options = [h("option", { value: "" }, "I'd rather not say")];
    for (const p of room.participants.values()) {
      if (p.id === room.self?.id) continue;
      options.push(h("option", { value: p.id }, labels.get(p.id) ?? p.name));
    }
    $("concern-about").replaceChildren(...options);
    this.concern.open($("concern-worried"));
  }

  async _tellFacilitators() {
    const kind = $("concern-form").elements.concern.value;
    if (!kind) {
      setMessage($("concern-error"), "Please choose what you'd like the facilitators to know.");
      $("concern-worried").focus();
      return;
    }
    const words = $("concern-words").value.trim();
    const payload = { text: words ? `${CONCERN_WORDS[kind]}\n\n${words}` : CONCERN_WORDS[kind] };
    const about = $("concern-about").value;
    if (kind === "worried" && about) payload.about = about;
    try {
      const ack = await this.meeting.conn.request("concern:raise", payload);
      this.concern.close();
      this._status(
        ack.delivered
          ? "The facilitators have been told, privately. Thank you for letting them know."
          : "No facilitator is here right now. Your note is kept for them, and they'll see it when one arrives.",
      );
    } catch (error) {
      setMessage($("concern-error"), error.message || "That didn't reach the facilitators. Please try again.");
    }
  }

  _status(message) {
    setMessage($("care-status"), message);
    clearTimeout(this.statusTimer);
    this.statusTimer = setTimeout(() => setMessage($("care-status"), ""), STATUS_CLEAR_MS);
  }
}

/** The facilitators' list of notes members sent them privately, each with "Mark seen". */
export class ConcernList {
  /** meeting: the Meeting (its conn, room and render). */
  constructor(meeting) {
    this.meeting = meeting;
    this.concerns = new Map();  // id → concern, in the order raised
  }

  /** The notes waiting when this page entered the meeting (a facilitator's snapshot). */
  reset(concerns) {
    this.concerns = new Map((concerns ?? []).map((c) => [c.id, c]));
    this.render();
  }

  raised(concern) {
    if (this.concerns.has(concern.id)) return;
    this.concerns.set(concern.id, concern);
    announce(`${this._name(concern.from)} has told the facilitators something privately. See "Told to you privately".`);
    this.render();
  }

  seen({ id }) {
    if (this.concerns.delete(id)) this.render();
  }

  render() {
    const self = this.meeting.room.self;
    const facilitator = self?.role === "facilitator";
    const panel = $("concerns-panel");
    panel.hidden = !facilitator || this.concerns.size === 0;
    $("concerns-count").textContent = `(${this.concerns.size})`;
    const list = $("concerns-list");
    const focused = list.contains(document.activeElement) ? document.activeElement.dataset.concern : null;
    const items = [...this.concerns.values()].map((c) => {
      const from = this._name(c.from);
      const about = c.about ? this._name(c.about) : null;
      const button = h(
        "button",
        {
          type: "button",
          class: "secondary small",
          "aria-label": `Mark seen: ${from}'s note`,
          "data-concern": c.id,
          onclick: () => this._markSeen(c),
        },
        "Mark seen",
      );
      return h(
        "li",
        { class: "concern" },
        h(
          "div",
          { class: "who" },
          h("p", { class: "meta" }, h("span", { class: "pname" }, from), " ",
            h("time", { datetime: new Date(c.at).toISOString() }, timeOf(c.at))),
          about ? h("p", { class: "about" }, `About ${about}`) : null,
          c.text ? h("p", { class: "text" }, c.text) : null,
        ),
        h("span", { class: "actions" }, button),
      );
    });
    list.replaceChildren(...items);
    if (focused) list.querySelector(`[data-concern="${CSS.escape(focused)}"]`)?.focus();
  }

  _name(who) {
    return this.meeting.room.labelOf(who?.id) ?? who?.name ?? "Someone";
  }

  async _markSeen(concern) {
    try {
      await this.meeting.conn.request("mod:concern-seen", { id: concern.id });
      this.seen(concern);
      announce(`Marked ${this._name(concern.from)}'s note as seen.`);
      if (this.concerns.size === 0) $("meeting-title").focus();
    } catch (error) {
      setMessage($("meeting-error"), error.message || "That didn't work. Try again in a moment.");
    }
  }
}

/**
 * Whether a facilitator is there, said calmly: in the meeting, a note while none is; in the waiting
 * room, no promise of being let in "shortly" while nobody is there to do it.
 */
export class FacilitatorPresence {
  constructor() {
    this.present = null;   // null until known
    this.everPresent = false;
  }

  /** In the meeting: from the snapshot and every room:updated. */
  inMeeting(present, { isFacilitator }) {
    if (typeof present !== "boolean") return;
    const changed = this.present !== null && present !== this.present;
    this._set(present);
    const notice = $("facilitator-away");
    notice.hidden = present || isFacilitator;
    const text = this.everPresent
      ? "The facilitator has stepped away. You can stay; they may be back shortly."
      : "No facilitator has joined yet. You are welcome to wait here.";
    if (!present && notice.textContent !== text) notice.textContent = text;
    if (changed && !isFacilitator) {
      announce(present ? "A facilitator is back." : "The facilitator has stepped away. You can stay; they may be back shortly.");
    }
  }

  /** In the waiting room: from the join answer and every lobby:facilitator. */
  waiting(present) {
    if (typeof present !== "boolean") return;
    const changed = this.present !== null && present !== this.present;
    this._set(present);
    let title;
    let text;
    if (present) {
      title = "The facilitator will let you in shortly";
      text = "You're in the waiting room. Settle in and take a breath — you don't need to do anything. This page will open the meeting when you're let in.";
    } else if (this.everPresent) {
      title = "The facilitator has stepped away";
      text = "They may be back shortly. You can keep waiting here: this page will open the meeting when you're let in.";
    } else {
      title = "The meeting hasn't started yet";
      text = "No facilitator is here yet. You can wait here: this page will open the meeting once one arrives and lets you in.";
    }
    $("waiting-title").textContent = title;
    $("waiting-text").textContent = text;
    if (changed) announce(title);
  }

  _set(present) {
    this.present = present;
    if (present) this.everPresent = true;
  }
}
