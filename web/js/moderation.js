// Keeping the room safe, on the page: the safety pause (a facilitator's button, a calm notice on every
// page), muting and admitting everyone, a member held muted asking to unmute, the speaking queue a
// facilitator reorders (by dragging, or with Move up and Move down), deleting a chat message, who may
// send private messages, and a facilitator link that is wrong, said as soon as the page opens.
// The server decides all of it; the page offers only what the server would allow.

import { $, announce, clear, h, setMessage } from "./dom.js";
import { ordinal } from "./describe.js";

// A second press within this long confirms a deletion.
const CONFIRM_MS = 5000;
const SNIPPET_CHARS = 40;

/**
 * Whether `hostKey` is the facilitator key of room `roomId`: "ok", "wrong", or "unknown" (the room is
 * missing, the server could not say, or it was asked too often: the join itself will tell).
 */
export async function checkHostKey(roomId, hostKey) {
  try {
    // In the body, never in the URL: a URL ends up in logs.
    const response = await fetch(`/api/rooms/${encodeURIComponent(roomId)}/host-check`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ host_key: hostKey }),
    });
    if (response.ok) return "ok";
    return response.status === 403 ? "wrong" : "unknown";
  } catch {
    return "unknown";
  }
}

/** Say on the join screen that the facilitator link is wrong, and offer to join as a member. */
export function showWrongHostKey() {
  $("host-note").hidden = true;
  $("join-eyebrow").textContent = "You're invited to";
  $("join-form").hidden = true;
  // The same page without "#host=…" is the member link (a new address, so the page loads afresh).
  $("join-as-member").href = location.pathname;
  $("host-key-error").hidden = false;
}

export class Moderation {
  /** meeting: the Meeting (its conn, room, chat, people and render). */
  constructor(meeting) {
    this.meeting = meeting;
    this.queueItems = new Map();  // participant id → {li, place, name, up, down}
    this.dragging = null;
    this.deleting = new Set();    // ids this page asked to delete, so it does not announce them twice
    this.wasFacilitator = false;

    $("safety-toggle").addEventListener("click", () => this._toggleSafety());
    $("mute-all").addEventListener("click", () => this._muteAll(false));
    $("mute-all-keep").addEventListener("click", () => this._muteAll(true));
    $("admit-all").addEventListener("click", () => this._admitAll());
    $("ask-unmute").addEventListener("click", (event) => this._askToUnmute(event));
    // Folded on a phone (see the page); on a wider screen there is room to show them all.
    if (window.matchMedia("(min-width: 901px)").matches) $("more-tools").open = true;
    const policy = $("private-chat-policy");
    policy.addEventListener("change", () => this._setPolicy(policy.value));

    const on = (event, handler) => meeting.conn.on(event, (payload) => {
      try {
        handler(payload ?? {});
      } catch (error) {
        console.error(`circle: handling ${event} failed:`, error);
      }
    });
    on("media:unmute-requested", (request) => this._unmuteRequested(request));
    on("chat:deleted", ({ id }) => this._deleted(id));
  }

  get room() {
    return this.meeting.room;
  }

  get isFacilitator() {
    return this.room.self?.role === "facilitator";
  }

  /** Whether the meeting's policy lets this person message `p` privately. */
  mayMessage(p) {
    const policy = this.room.privateChat;
    if (policy === "nobody") return false;
    if (policy === "facilitators") return this.isFacilitator || p.role === "facilitator";
    return true;
  }

  render() {
    const room = this.room;
    if (!room.self) return;
    const facilitator = this.isFacilitator;
    if (facilitator !== this.wasFacilitator) {
      this.wasFacilitator = facilitator;
      this.meeting.chat.redecorate();
    }
    this._renderSafety();
    this._renderAskToUnmute();
    this._renderWaitingTools();
    this._renderPolicy();
    this._renderQueue();
  }

  close() {
    this.queueItems.clear();
    clear($("queue-list"));
  }

  // ---- the safety pause ----------------------------------------------------------------------

  _renderSafety() {
    const room = this.room;
    const self = room.self;
    $("safety-notice").hidden = !room.safety;
    let more = "";
    if (room.safety) {
      if (this.isFacilitator) {
        more = "The meeting is locked, new arrivals wait to be let in, and everyone else is muted. "
          + "Resume the room when it feels safe.";
      } else if (self.media === "text") {
        more = "You can still read and write in the chat.";
      } else {
        more = "Your microphone and camera stay off until they resume. You can still use the chat.";
      }
    }
    $("safety-more").textContent = more;
    $("safety-toggle").textContent = room.safety ? "Resume the room" : "Pause the room for safety";
  }

  _toggleSafety() {
    const on = !this.room.safety;
    this._run("mod:safety", { on }, () => {
      if (!on) announce("Everyone can unmute again, unless you keep someone muted.");
    });
  }

  _muteAll(lock) {
    this._run("mod:mute-all", { lock }, ({ muted }) => {
      const who = muted === 1 ? "1 person" : `${muted} people`;
      announce(lock ? `${who} muted and kept muted.` : `${who} muted.`);
    });
  }

  // ---- a member held muted asks to unmute ------------------------------------------------------

  _renderAskToUnmute() {
    const self = this.room.self;
    const button = $("ask-unmute");
    button.hidden = self.media === "text" || !self.media_locked;
    const asked = Boolean(self.unmute_requested);
    button.textContent = asked ? "Asked to unmute" : "Ask to unmute";
    if (asked) button.setAttribute("aria-disabled", "true");
    else button.removeAttribute("aria-disabled");
  }

  _askToUnmute(event) {
    if (event.currentTarget.getAttribute("aria-disabled") === "true") {
      announce("You've asked to unmute. A facilitator will see your request.");
      return;
    }
    this._run("media:request-unmute", {}, () => {
      if (this.room.self) this.room.self.unmute_requested = true;
      announce("You've asked to unmute. A facilitator will see your request.");
      this.meeting._render();
    });
  }

  /** What a facilitator does from the people list, beside the tools of host.js. */
  peopleActions() {
    return {
      // Answering a request to unmute with "not now" keeps the lock, which also clears the request.
      declineUnmute: (p, label) => this._run("mod:lock-media", { id: p.id, locked: true }, () =>
        announce(`${label} stays muted for now; their request is answered.`),
      ),
    };
  }

  _unmuteRequested({ id, requested }) {
    const p = this.room.participants.get(id);
    if (!p) return;
    const was = Boolean(p.unmute_requested);
    p.unmute_requested = Boolean(requested);
    if (p.unmute_requested && !was) announce(`${this.room.labelOf(id)} asks to unmute.`);
    this.meeting._render();
  }

  // ---- the waiting room --------------------------------------------------------------------------

  _renderWaitingTools() {
    const waiting = [...this.room.waiting.values()];
    const flagged = waiting.filter((p) => p.returning_removed).length;
    $("admit-all").hidden = !this.isFacilitator || waiting.length < 2 || flagged === waiting.length;
    $("removed-hint").hidden = !this.isFacilitator || flagged === 0;
  }

  _admitAll() {
    this._run("mod:admit-all", {}, ({ admitted }) => {
      for (const p of [...this.room.waiting.values()]) {
        if (!p.returning_removed) this.room.waiting.delete(p.id);
      }
      announce(admitted === 1 ? "1 person was let in." : `${admitted} people were let in.`);
      this.meeting._render();
    });
  }

  // ---- private messages --------------------------------------------------------------------------

  _renderPolicy() {
    const policy = this.room.privateChat;
    const select = $("private-chat-policy");
    if (document.activeElement !== select) select.value = policy;
    let hint = "";
    if (policy === "nobody") hint = "Private messages are turned off in this meeting.";
    else if (policy === "facilitators") {
      hint = this.isFacilitator
        ? "In this meeting, members can send private messages only to facilitators."
        : "In this meeting, private messages go only to or from a facilitator.";
    }
    setMessage($("send-to-hint"), hint);
    const to = $("send-to");
    if (hint) to.setAttribute("aria-describedby", "send-to-hint");
    else to.removeAttribute("aria-describedby");
  }

  _setPolicy(policy) {
    const before = this.room.privateChat;
    this._run(
      "mod:private-chat",
      { policy },
      () => {
        this.room.privateChat = policy;
        const said = {
          everyone: "Anyone can now send private messages.",
          facilitators: "Private messages now go only to or from a facilitator.",
          nobody: "Private messages are now turned off.",
        }[policy];
        announce(said);
        this.meeting._render();
      },
      () => ($("private-chat-policy").value = before),
    );
  }

  // ---- the speaking queue ------------------------------------------------------------------------

  _queue() {
    return this.room.hands.filter((id) => this.room.participants.has(id));
  }

  _renderQueue() {
    const hands = this.isFacilitator ? this._queue() : [];
    const list = $("queue-list");
    $("queue-panel").hidden = hands.length === 0;
    // Moving an element in the page takes the focus off it: put it back where it was.
    const active = document.activeElement;
    const focused = list.contains(active) ? { id: active.closest("li")?.dataset.id, action: active.dataset.action } : null;
    for (const [id, item] of this.queueItems) {
      if (!hands.includes(id)) {
        item.li.remove();
        this.queueItems.delete(id);
      }
    }
    const labels = this.room.labels();
    hands.forEach((id, index) => {
      let item = this.queueItems.get(id);
      if (!item) {
        item = this._queueItem(id);
        this.queueItems.set(id, item);
      }
      const label = labels.get(id) ?? this.room.participants.get(id)?.name ?? "";
      item.place.textContent = ordinal(index + 1);
      item.name.textContent = label;
      item.up.setAttribute("aria-label", `Move up: ${label}`);
      item.down.setAttribute("aria-label", `Move down: ${label}`);
      setAvailable(item.up, index > 0);
      setAvailable(item.down, index < hands.length - 1);
      if (list.children[index] !== item.li) list.insertBefore(item.li, list.children[index] ?? null);
    });
    if (focused?.id && focused.action) {
      const target = this.queueItems.get(focused.id)?.[focused.action];
      if (target && document.activeElement !== target) target.focus();
    }
  }

  _queueItem(id) {
    const place = h("span", { class: "place" });
    const name = h("span", { class: "pname" });
    const up = h("button", { type: "button", class: "secondary small", "data-action": "up",
      onclick: (event) => this._move(id, -1, event) }, "Move up");
    const down = h("button", { type: "button", class: "secondary small", "data-action": "down",
      onclick: (event) => this._move(id, 1, event) }, "Move down");
    const li = h("li", { draggable: "true", "data-id": id }, place, " ",
      h("span", { class: "who" }, name), h("span", { class: "actions" }, up, down));
    li.addEventListener("dragstart", (event) => {
      this.dragging = id;
      li.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", id);
    });
    li.addEventListener("dragend", () => {
      this.dragging = null;
      li.classList.remove("dragging");
      for (const other of this.queueItems.values()) other.li.classList.remove("drop-target");
    });
    li.addEventListener("dragover", (event) => {
      if (!this.dragging || this.dragging === id) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      li.classList.add("drop-target");
    });
    li.addEventListener("dragleave", () => li.classList.remove("drop-target"));
    li.addEventListener("drop", (event) => {
      event.preventDefault();
      li.classList.remove("drop-target");
      const moved = this.dragging || event.dataTransfer.getData("text/plain");
      if (!moved || moved === id) return;
      // Dropped on someone: the one dragged takes their place.
      const order = this._queue();
      const at = order.indexOf(id);
      const from = order.indexOf(moved);
      if (at < 0 || from < 0) return;
      order.splice(from, 1);
      order.splice(at, 0, moved);
      this._reorder(order, moved);
    });
    return { li, place, name, up, down };
  }

  _move(id, delta, event) {
    const label = this.room.labelOf(id) ?? "";
    if (event.currentTarget.getAttribute("aria-disabled") === "true") {
      announce(delta < 0 ? `${label} is already first in the queue.` : `${label} is already last in the queue.`);
      return;
    }
    const order = this._queue();
    const from = order.indexOf(id);
    const to = from + delta;
    if (from < 0 || to < 0 || to >= order.length) return;
    [order[from], order[to]] = [order[to], order[from]];
    this._reorder(order, id);
  }

  _reorder(order, moved) {
    this._run("mod:reorder-hands", { order }, ({ hands }) => {
      this.room.hands = hands ?? order;
      const place = this.room.hands.indexOf(moved) + 1;
      announce(`${this.room.labelOf(moved)} is now ${ordinal(place)} in the queue.`);
      this.meeting._render();
    });
  }

  // ---- deleting chat -------------------------------------------------------------------------------

  /** Give a message shown in the chat a Delete button for facilitators (or take it away). */
  decorateMessage(node, message) {
    const existing = node.querySelector("button.delete");
    if (!this.isFacilitator || node.classList.contains("pending")) {
      existing?.remove();
      return;
    }
    if (existing) return;
    const from = node.querySelector(".from");
    const mine = message.from?.id === this.room.self?.id;
    const snippet = message.text.length > SNIPPET_CHARS ? `${message.text.slice(0, SNIPPET_CHARS)}…` : message.text;
    const whose = () => (mine ? "your message" : `message from ${from?.textContent || message.from?.name || ""}`);
    const button = h("button", { type: "button", class: "delete", "aria-label": `Delete ${whose()}: ${snippet}` }, "Delete");
    let armedUntil = 0;
    let timer = null;
    const disarm = () => {
      armedUntil = 0;
      button.classList.remove("armed");
      button.textContent = "Delete";
      button.setAttribute("aria-label", `Delete ${whose()}: ${snippet}`);
    };
    button.addEventListener("click", () => {
      // Deleting is for everyone and cannot be undone: a second press confirms it.
      if (Date.now() > armedUntil) {
        armedUntil = Date.now() + CONFIRM_MS;
        button.classList.add("armed");
        button.textContent = "Confirm delete";
        button.setAttribute("aria-label", `Confirm delete: ${whose()}: ${snippet}`);
        clearTimeout(timer);
        timer = setTimeout(disarm, CONFIRM_MS);
        return;
      }
      clearTimeout(timer);
      this._delete(message.id);
    });
    node.querySelector(".meta")?.appendChild(button);
  }

  _delete(id) {
    this.deleting.add(id);
    const gone = () => {
      const hadFocus = this.meeting.chat.log.contains(document.activeElement);
      this.meeting.chat.remove(id);
      if (hadFocus) this.meeting.chat.log.focus();
    };
    this._run(
      "mod:delete-chat",
      { id },
      () => {
        gone();
        announce("The message was deleted for everyone.");
      },
      (error) => {
        this.deleting.delete(id);
        // Someone else deleted it first: it is gone all the same.
        if (error.code === "not_found") {
          gone();
          setMessage($("meeting-error"), "");
        }
      },
    );
  }

  _deleted(id) {
    const shown = this.meeting.chat.remove(id);
    if (shown && !this.deleting.has(id)) announce("A facilitator deleted a message from the chat.");
  }

  // ---- plumbing ----------------------------------------------------------------------------------

  async _run(event, payload, then = null, failed = null) {
    let ack;
    try {
      ack = await this.meeting.conn.request(event, payload);
      setMessage($("meeting-error"), "");
    } catch (error) {
      setMessage($("meeting-error"), error.message || "That didn't work. Try again in a moment.");
      failed?.(error);
      return;
    }
    await then?.(ack);
  }
}

/** A button that does nothing for now, but stays focusable so that its reason can be said. */
function setAvailable(button, available) {
  if (available) button.removeAttribute("aria-disabled");
  else button.setAttribute("aria-disabled", "true");
}
