// The meeting's agenda: the current part on every page (a reading's text for everyone to read, what a
// round means), and for facilitators the steps through it and an editor to set it. The server holds
// the agenda and which part is current; entering a round fills the speaking queue with every member
// present, in the order they joined, and its shares are timed as the round says.

import { $, announce, clear, h, setMessage } from "./dom.js";
import { Modal } from "./dialog.js";

export const KIND_LABEL = {
  reading: "Reading",
  round: "Round",
  open: "Open sharing",
  closing: "Closing",
};

const SHARE_TIMES = [
  ["", "No time limit"],
  ["60", "1 minute"],
  ["120", "2 minutes"],
  ["180", "3 minutes"],
  ["300", "5 minutes"],
  ["600", "10 minutes"],
];

/** "1 minute", "90 seconds", "5 minutes". */
export function shareTimeText(seconds) {
  if (seconds % 60 === 0) {
    const minutes = seconds / 60;
    return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  }
  return `${seconds} seconds`;
}

/** The current part of the agenda, as every page shows it. */
export class AgendaView {
  constructor() {
    this.shown = null;  // what was last shown, so a re-render says nothing new
  }

  /** agenda: the room's segments; segment: the current index or null; textOnly: this person types. */
  render(agenda, segment, { textOnly, facilitator }) {
    const part = segment !== null && segment !== undefined ? agenda[segment] : null;
    $("agenda-now").hidden = !part;
    const signature = part ? JSON.stringify([segment, part]) : null;
    if (signature === this.shown) return;
    const entering = this.shown !== null || part !== null;
    this.shown = signature;
    if (!part) return;
    $("agenda-now-kind").textContent = `${KIND_LABEL[part.kind] ?? part.kind} · part ${segment + 1} of ${agenda.length}`;
    $("agenda-now-heading").textContent = part.title;
    const text = $("agenda-now-text");
    text.textContent = part.text ?? "";
    text.hidden = !part.text;
    let hint = "";
    if (part.kind === "round") {
      const timer = part.limit_s ? ` Each share has ${shareTimeText(part.limit_s)}.` : "";
      hint = textOnly && !facilitator
        ? `Everyone gets a turn, in the order they joined; yours is in the chat.${timer} You can pass.`
        : `Everyone gets a turn, in the order they joined.${timer} You can pass.`;
    } else if (part.kind === "open") {
      hint = "Raise your hand when you'd like to share.";
    }
    $("agenda-now-hint").textContent = hint;
    $("agenda-now-hint").hidden = !hint;
    if (entering) announce(`Now: ${KIND_LABEL[part.kind] ?? part.kind}, ${part.title}.`);
  }
}

/** The facilitator's steps through the agenda and the editor that sets it. */
export class AgendaTools {
  /** meeting: the Meeting (its conn and room); run(event, payload, then): HostTools' request. */
  constructor(meeting, run) {
    this.meeting = meeting;
    this.run = run;
    this.draft = [];
    this.modal = new Modal($("agenda-dialog"));
    this.preset = null;  // the round whose share time was put into "Share time"
    $("agenda-prev").addEventListener("click", () => this._step(-1));
    $("agenda-next").addEventListener("click", () => this._step(1));
    $("agenda-edit").addEventListener("click", () => this._openEditor());
    $("agenda-add").addEventListener("click", () => this._add());
    $("agenda-cancel").addEventListener("click", () => this.modal.close());
    $("agenda-save").addEventListener("click", () => this._save());
  }

  render() {
    const { agenda, segment } = this.meeting.room;
    const at = segment ?? -1;
    const prev = $("agenda-prev");
    const next = $("agenda-next");
    prev.hidden = at < 1;
    if (at >= 1) prev.textContent = `Back to: ${agenda[at - 1].title}`;
    next.hidden = at + 1 >= agenda.length;
    if (at + 1 < agenda.length) next.textContent = `${at < 0 ? "Start" : "Next"}: ${agenda[at + 1].title}`;
    // Without an agenda the steps take no room: only "Set an agenda" is there.
    $("agenda-tools").hidden = agenda.length === 0;
    $("agenda-edit").textContent = agenda.length ? "Edit agenda" : "Set an agenda";
    this._presetShareTime(segment !== null && segment !== undefined ? agenda[segment] : null, segment);
  }

  close() {
    this.modal.close();
  }

  /** In a timed round, "Share time" shows (and so sends) the round's own time. */
  _presetShareTime(part, segment) {
    const key = part?.kind === "round" && part.limit_s ? `${segment}:${part.limit_s}` : null;
    if (key === this.preset) return;
    this.preset = key;
    if (!key) return;
    const select = $("share-limit");
    const value = String(part.limit_s);
    if (![...select.options].some((o) => o.value === value)) {
      select.appendChild(h("option", { value }, shareTimeText(part.limit_s)));
    }
    select.value = value;
  }

  _step(delta) {
    const { agenda, segment } = this.meeting.room;
    const index = (segment ?? -1) + delta;
    if (index < 0 || index >= agenda.length) return;
    this.run("mod:agenda-step", { index });
  }

  // ---- the editor ----------------------------------------------------------------------------

  _openEditor() {
    this.draft = this.meeting.room.agenda.map((part) => ({ ...part }));
    setMessage($("agenda-error"), "");
    this._renderEditor();
    this.modal.open(this.draft.length ? $("agenda-kind-0") : $("agenda-add"));
  }

  _add() {
    this._readEditor();
    this.draft.push({ kind: this.draft.length ? "open" : "reading", title: "" });
    this._renderEditor();
    $(`agenda-title-${this.draft.length - 1}`).focus();
  }

  _move(index, delta) {
    this._readEditor();
    const to = index + delta;
    if (to < 0 || to >= this.draft.length) return;
    const [part] = this.draft.splice(index, 1);
    this.draft.splice(to, 0, part);
    this._renderEditor();
    // Focus follows the part, on the same button where it still exists.
    const again = $(`agenda-${delta < 0 ? "up" : "down"}-${to}`);
    (again.disabled ? $(`agenda-title-${to}`) : again).focus();
    announce(`Moved "${part.title || `part ${index + 1}`}" to place ${to + 1}.`);
  }

  _remove(index) {
    this._readEditor();
    const [part] = this.draft.splice(index, 1);
    this._renderEditor();
    const focus = this.draft.length ? $(`agenda-title-${Math.min(index, this.draft.length - 1)}`) : $("agenda-add");
    focus.focus();
    announce(`Removed "${part.title || `part ${index + 1}`}".`);
  }

  /** Take what was typed into the draft, so that a rebuild keeps it. */
  _readEditor() {
    this.draft = this.draft.map((part, n) => {
      const kind = $(`agenda-kind-${n}`).value;
      const text = $(`agenda-text-${n}`).value.trim();
      const limit = Number($(`agenda-limit-${n}`).value);
      const read = { kind, title: $(`agenda-title-${n}`).value.trim() };
      if (text) read.text = text;
      if (kind === "round" && limit > 0) read.limit_s = limit;
      return read;
    });
  }

  _renderEditor() {
    const list = $("agenda-editor");
    clear(list);
    this.draft.forEach((part, n) => list.appendChild(this._row(part, n, this.draft.length)));
  }

  _row(part, n, count) {
    const place = `part ${n + 1}`;
    const kind = h(
      "select",
      { id: `agenda-kind-${n}` },
      Object.entries(KIND_LABEL).map(([value, label]) => h("option", { value }, label)),
    );
    kind.value = part.kind;
    const limit = h(
      "select",
      { id: `agenda-limit-${n}` },
      SHARE_TIMES.map(([value, label]) => h("option", { value }, label)),
    );
    const limitValue = part.limit_s ? String(part.limit_s) : "";
    if (limitValue && ![...limit.options].some((o) => o.value === limitValue)) {
      limit.appendChild(h("option", { value: limitValue }, shareTimeText(part.limit_s)));
    }
    limit.value = limitValue;
    const limitField = h(
      "div",
      { class: "agenda-field", hidden: part.kind !== "round" },
      h("label", { for: `agenda-limit-${n}` }, `Share time, ${place}`),
      limit,
    );
    kind.addEventListener("change", () => {
      limitField.hidden = kind.value !== "round";
    });
    const title = h("input", { id: `agenda-title-${n}`, type: "text", maxlength: "80", value: part.title ?? "" });
    const text = h("textarea", { id: `agenda-text-${n}`, rows: "3", maxlength: "4000" });
    text.value = part.text ?? "";
    const button = (id, label, name, run, disabled = false) =>
      h("button", { type: "button", class: "secondary small", id, "aria-label": name, disabled, onclick: run }, label);
    return h(
      "li",
      { class: "agenda-part" },
      h(
        "fieldset",
        {},
        h("legend", {}, `Part ${n + 1}`),
        h("div", { class: "agenda-field" }, h("label", { for: `agenda-kind-${n}` }, `Kind, ${place}`), kind),
        h("div", { class: "agenda-field" }, h("label", { for: `agenda-title-${n}` }, `Title, ${place}`), title),
        h(
          "div",
          { class: "agenda-field" },
          h("label", { for: `agenda-text-${n}` }, `Text everyone sees, ${place} (optional)`),
          text,
        ),
        limitField,
        h(
          "div",
          { class: "tool-row" },
          // The visible word starts each name (WCAG 2.5.3), which adds which part it is for.
          button(`agenda-up-${n}`, "Move up", `Move up: ${place}`, () => this._move(n, -1), n === 0),
          button(`agenda-down-${n}`, "Move down", `Move down: ${place}`, () => this._move(n, 1), n === count - 1),
          button(`agenda-remove-${n}`, "Remove", `Remove: ${place}`, () => this._remove(n)),
        ),
      ),
    );
  }

  _save() {
    this._readEditor();
    const empty = this.draft.findIndex((part) => !part.title);
    if (empty >= 0) {
      setMessage($("agenda-error"), `Part ${empty + 1} needs a title.`);
      $(`agenda-title-${empty}`).focus();
      return;
    }
    setMessage($("agenda-error"), "");
    this.meeting.conn.request("mod:agenda", { segments: this.draft }).then(
      () => {
        this.modal.close();
        announce(this.draft.length ? `The agenda has ${this.draft.length} parts.` : "The agenda is cleared.");
      },
      (error) => setMessage($("agenda-error"), error.message || "The agenda wasn't saved. Please try again."),
    );
  }
}
