// The "Participants" list (and, for facilitators, the waiting list). Items are kept per id and
// updated in place, so a keyboard user's focus on a button inside the list survives the frequent
// speaking updates.

import { h, clear } from "./dom.js";
import { factsOf } from "./describe.js";

export class PeopleList {
  /**
   * actions: {mute(p), lowerHand(p), remove(p), admit(p), deny(p)} (facilitator actions);
   * the list shows them only while isFacilitator() is true.
   */
  constructor({ list, count, waitingPanel, waitingList, actions, isFacilitator }) {
    this.list = list;
    this.count = count;
    this.waitingPanel = waitingPanel;
    this.waitingList = waitingList;
    this.actions = actions;
    this.isFacilitator = isFacilitator;
    this.items = new Map();
    this.waitingItems = new Map();
  }

  render({ participants, selfId, hands }) {
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
      this._updateItem(item, p, p.id === selfId, position);
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

  _updateItem(item, p, isSelf, handPosition) {
    item.name.textContent = isSelf ? `${p.name} (you)` : p.name;
    const facts = factsOf(p, handPosition);
    item.facts.textContent = facts.length ? ` — ${facts.join(", ")}` : "";
    item.li.classList.toggle("speaking", Boolean(p.speaking) && !p.away);
    item.li.classList.toggle("away", Boolean(p.away));

    const wanted = [];
    if (this.isFacilitator() && !isSelf) {
      if (p.media !== "text" && p.audio) wanted.push("mute");
      if (p.hand !== null && p.hand !== undefined) wanted.push("lower");
      wanted.push("remove");
    }
    const signature = `${wanted.join(",")}|${p.name}`;
    if (signature === item.signature) return;
    item.signature = signature;
    // Keep focus on the same action if it survives the rebuild.
    const focused = item.actions.contains(document.activeElement)
      ? document.activeElement.dataset.action
      : null;
    clear(item.actions);
    const labels = {
      mute: ["Mute", `Mute ${p.name}`, () => this.actions.mute(p)],
      // Visible text is part of each name (WCAG 2.5.3), and no name begins "Lower hand", which
      // is the facilitator's own hand control.
      lower: ["Lower", `Lower ${p.name}'s hand`, () => this.actions.lowerHand(p)],
      remove: ["Remove", `Remove ${p.name} from the meeting`, () => this.actions.remove(p)],
    };
    for (const key of wanted) {
      const [text, label, run] = labels[key];
      const button = h(
        "button",
        { type: "button", class: "secondary small", "aria-label": label, "data-action": key, onclick: run },
        text,
      );
      item.actions.appendChild(button);
      if (focused === key) button.focus();
    }
  }

  renderWaiting(waiting) {
    const show = this.isFacilitator() && waiting.size > 0;
    this.waitingPanel.hidden = !show;
    for (const [id, item] of this.waitingItems) {
      if (!waiting.has(id)) {
        item.remove();
        this.waitingItems.delete(id);
      }
    }
    for (const p of waiting.values()) {
      if (this.waitingItems.has(p.id)) continue;
      const facts = factsOf({ ...p, role: "member", hand: null, away: false, audio: true, video: true });
      const li = h(
        "li",
        {},
        h("span", { class: "who" }, h("span", { class: "pname" }, p.name),
          h("span", { class: "facts" }, facts.length ? ` — ${facts.join(", ")}` : "")),
        h(
          "span",
          { class: "actions" },
          h("button", { type: "button", class: "primary small", "aria-label": `Admit ${p.name}`,
            onclick: () => this.actions.admit(p) }, "Admit"),
          h("button", { type: "button", class: "secondary small", "aria-label": `Turn away ${p.name}`,
            onclick: () => this.actions.deny(p) }, "Turn away"),
        ),
      );
      this.waitingItems.set(p.id, li);
      this.waitingList.appendChild(li);
    }
  }
}
