// The "Participants" list (and, for facilitators, the waiting list). Items are kept per id and
// updated in place, so a keyboard user's focus on a button inside the list survives the frequent
// speaking updates.

import { h, clear } from "./dom.js";
import { factsOf, MODE_LABEL } from "./describe.js";

export class PeopleList {
  /**
   * actions: {mute, keepMuted, allowUnmute, declineUnmute, lowerHand, makeCoFacilitator, makeMember,
   * remove, admit, deny}, each (p, label) (facilitator actions); the list shows them only while
   * isFacilitator() is true.
   */
  constructor({ list, count, waitingPanel, waitingList, waitingCount, actions, isFacilitator }) {
    this.list = list;
    this.count = count;
    this.waitingPanel = waitingPanel;
    this.waitingList = waitingList;
    this.waitingCount = waitingCount;
    this.actions = actions;
    this.isFacilitator = isFacilitator;
    this.items = new Map();
    this.waitingItems = new Map();
  }

  /** labels: id → the name shown (names.js); speakerId: who has the floor, if anyone. */
  render({ participants, selfId, hands, labels, speakerId }) {
    const ordered = [...participants.values()].sort((a, b) => {
      if (a.id === selfId) return -1;
      if (b.id === selfId) return 1;
      return (a.joined_at ?? 0) - (b.joined_at ?? 0);
    });
    for (const id of [...this.items.keys()]) {
      if (!participants.has(id)) {
        this.items.get(id).li.remove();
        this.items.delete(id);
      }
    }
    ordered.forEach((p, index) => {
      let item = this.items.get(p.id);
      if (!item) {
        item = this._createItem();
        this.items.set(p.id, item);
      }
      const position = hands.indexOf(p.id) + 1;
      const label = labels.get(p.id) ?? p.name;
      this._updateItem(item, p, { isSelf: p.id === selfId, position, label, sharing: p.id === speakerId });
      if (this.list.children[index] !== item.li) this.list.insertBefore(item.li, this.list.children[index] ?? null);
    });
    this.count.textContent = `(${participants.size})`;
  }

  _createItem() {
    const dot = h("span", { class: "dot", "aria-hidden": "true" });
    const name = h("span", { class: "pname" });
    const facts = h("span", { class: "facts" });
    const actions = h("span", { class: "actions" });
    const li = h("li", {}, dot, h("span", { class: "who" }, name, facts), actions);
    return { li, name, facts, actions, signature: null };
  }

  _updateItem(item, p, { isSelf, position, label, sharing }) {
    const facilitator = this.isFacilitator();
    item.name.textContent = isSelf ? `${label} (you)` : label;
    const facts = factsOf(p, position, { sharing, showLocks: facilitator });
    item.facts.textContent = facts.length ? ` — ${facts.join(", ")}` : "";
    item.li.classList.toggle("speaking", Boolean(p.speaking) && !p.away);
    item.li.classList.toggle("away", Boolean(p.away));
    item.li.classList.toggle("sharing", sharing);

    const wanted = [];
    if (facilitator && !isSelf) {
      if (p.media !== "text") {
        if (p.audio) wanted.push("mute");
        wanted.push(p.media_locked ? "allow" : "keep");
        if (p.media_locked && p.unmute_requested) wanted.push("decline");
      }
      if (p.hand !== null && p.hand !== undefined) wanted.push("lower");
      wanted.push(p.role === "facilitator" ? "member" : "cofacilitator");
      wanted.push("remove");
    }
    const signature = `${wanted.join(",")}|${label}`;
    if (signature === item.signature) return;
    item.signature = signature;
    // Keep focus on the same action if it survives the rebuild.
    const focused = item.actions.contains(document.activeElement)
      ? document.activeElement.dataset.action
      : null;
    clear(item.actions);
    const a = this.actions;
    // Each visible word is the start of the button's name (WCAG 2.5.3), which adds whom it is for.
    // No name begins "Lower hand", which is the facilitator's own hand control.
    const buttons = {
      mute: ["Mute", `Mute ${label}`, () => a.mute(p, label)],
      keep: ["Mute and keep muted", `Mute and keep muted: ${label}`, () => a.keepMuted(p, label)],
      allow: ["Allow unmuting", `Allow unmuting: ${label}`, () => a.allowUnmute(p, label)],
      decline: ["Not now", `Not now: keep ${label} muted`, () => a.declineUnmute(p, label)],
      lower: ["Lower", `Lower ${label}'s hand`, () => a.lowerHand(p, label)],
      cofacilitator: ["Make co-facilitator", `Make co-facilitator: ${label}`, () => a.makeCoFacilitator(p, label)],
      member: ["Make member", `Make member: ${label}`, () => a.makeMember(p, label)],
      remove: ["Remove", `Remove ${label} from the meeting`, (event) => a.remove(p, label, event.currentTarget)],
    };
    for (const key of wanted) {
      const [text, name, run] = buttons[key];
      const button = h(
        "button",
        {
          type: "button",
          class: key === "remove" ? "secondary small danger" : "secondary small",
          "aria-label": name,
          "data-action": key,
          onclick: run,
        },
        text,
      );
      item.actions.appendChild(button);
      if (focused === key) button.focus();
    }
  }

  /** labels: id → the name shown for each person waiting (RoomState.waitingLabels). */
  renderWaiting(waiting, labels) {
    const show = this.isFacilitator() && waiting.size > 0;
    this.waitingPanel.hidden = !show;
    this.waitingCount.textContent = `(${waiting.size})`;
    for (const [id, item] of this.waitingItems) {
      if (!waiting.has(id)) {
        item.li.remove();
        this.waitingItems.delete(id);
      }
    }
    for (const p of waiting.values()) {
      const label = labels.get(p.id) ?? p.name;
      const known = this.waitingItems.get(p.id);
      const flagged = Boolean(p.returning_removed);
      if (known?.label === label && known.flagged === flagged) continue;
      // How each person will take part, said for everyone (camera users too), so the
      // facilitator knows before letting them in; and whether a facilitator removed this browser
      // from the meeting earlier, under whatever name it comes back.
      const li = h(
        "li",
        { class: flagged ? "returning-removed" : null },
        h("span", { class: "who" }, h("span", { class: "pname" }, label),
          h("span", { class: "facts" }, ` — ${MODE_LABEL[p.media] ?? p.media}`),
          flagged ? h("span", { class: "flag" }, "Removed earlier in this meeting") : null),
        h(
          "span",
          { class: "actions" },
          h("button", { type: "button", class: "primary small", "aria-label": `Admit ${label}`,
            onclick: () => this.actions.admit(p, label) }, "Admit"),
          h("button", { type: "button", class: "secondary small", "aria-label": `Turn away ${label}`,
            onclick: () => this.actions.deny(p, label) }, "Turn away"),
        ),
      );
      if (known) known.li.replaceWith(li);
      else this.waitingList.appendChild(li);
      this.waitingItems.set(p.id, { li, label, flagged });
    }
  }
}
