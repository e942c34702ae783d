// The chat panel: the "Chat" log, the "Send to" choice and the "Message" box. Messages are kept
// by id, in id order (ids sort in send order), so history fetched after a reconnect slots in
// without duplicates. Senders are named as the people list names them ("Ana (2)", names.js), and
// renamed with it while they are here.

import { announce, h, timeOf } from "./dom.js";
import { Retry } from "./retry.js";

export class ChatPanel {
  /**
   * send(text, to, key) -> Promise<ChatMessage>. Names come with updateRecipients. decorate(node,
   * message), if given, adds to each message shown (a facilitator's Delete); redecorate() runs it again.
   */
  constructor({ log, form, textarea, select, send, decorate = null }) {
    this.log = log;
    this.decorate = decorate;
    this.messages = new Map();  // id → message, for each shown
    this.deleted = new Set();   // ids a facilitator deleted: never shown again, whatever arrives late
    this.form = form;
    this.textarea = textarea;
    this.select = select;
    this.send = send;
    this.selfId = null;
    // The last name shown for each person, kept for their messages after they leave.
    this.lastLabels = new Map();
    this.labels = new Map();  // id → the name shown, for everyone here now
    this.presentLabels = new Set();
    this.ids = new Set();
    this.lastId = null;
    this.recipientsSignature = null;
    // Messages not yet acknowledged by the server, oldest first (see flush).
    this.outbox = [];
    this.flushing = false;
    // Sending the outbox again when the server could not take a message: after about 1 s,
    // doubling up to 10 s.
    this.retry = new Retry(1000, 10000);
    this.empty = h("p", { class: "chat-empty" }, "No messages yet. You can say hello, or just listen.");
    this.log.appendChild(this.empty);

    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  setSelf(selfId) {
    this.selfId = selfId;
  }

  /** Take the message out of the box and into the outbox, shown in the log as on its way. */
  submit() {
    const text = this.textarea.value.trim();
    if (!text) return;
    const entry = { text, to: this.select.value || undefined, key: newKey(), node: null };
    this.textarea.value = "";
    entry.node = this._renderPending(entry);
    this.empty.remove();
    this.log.appendChild(entry.node);
    this.log.scrollTop = this.log.scrollHeight;
    this.outbox.push(entry);
    return this.flush();
  }

  /** Send what waits in the outbox, oldest first, one at a time, so messages keep their order.
   * While the server can't be reached the rest waits for the next flush (the meeting calls it
   * after a reconnect); each message keeps its key, so one that did arrive unheard is not
   * posted twice. */
  async flush() {
    if (this.flushing) return;
    this.flushing = true;
    this.retry.cancel();
    try {
      while (this.outbox.length > 0) {
        const entry = this.outbox[0];
        try {
          const message = await this.send(entry.text, entry.to, entry.key);
          this.retry.reset();
          this.outbox.shift();
          entry.node.remove();
          this.add(message);
        } catch (error) {
          if (error.code === "unavailable") {
            if (!entry.announced) {
              entry.announced = true;
              announce("Your message will be sent when the connection is back.");
            }
            for (const waiting of this.outbox) {
              this._setPendingStatus(waiting, "Not sent yet. It will be sent when the connection is back.");
            }
            // A rejoin flushes at once; this covers a server that is connected but cannot take
            // chat for now (its store is away).
            this.retry.schedule(() => this.flush());
            return;
          } else if (error.code === "rate_limited") {
            this._setPendingStatus(entry, "Sending in a moment…");
            await new Promise((resolve) => setTimeout(resolve, Math.max(250, error.retryAfterMs ?? 1000)));
          } else {
            // Refused for good: it stays in the log, marked, where it was.
            this.outbox.shift();
            entry.node.classList.replace("pending", "failed");
            this._setPendingStatus(entry, `Not sent: ${refusalReason(error)}`);
            announce(`Your message wasn't sent: ${refusalReason(error)}`);
          }
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** The meeting is over for this page: stop trying to send. */
  stop() {
    this.retry.cancel();
    this.outbox = [];
  }

  _renderPending(entry) {
    const status = h("span", { class: "status" }, "Sending…");
    const recipient = entry.to ? this._nameOf(entry.to) ?? "someone who left" : null;
    return h(
      "div",
      { class: `msg mine pending${entry.to ? " private" : ""}` },
      h(
        "p",
        { class: "meta" },
        h("span", { class: "from" }, "You"),
        recipient ? h("span", { class: "priv" }, `Private message to ${recipient}`) : null,
        status,
      ),
      h("p", { class: "text" }, entry.text),
    );
  }

  _setPendingStatus(entry, text) {
    entry.node.querySelector(".status").textContent = text;
  }

  add(message) {
    if (!message || this.ids.has(message.id) || this.deleted.has(message.id)) return;
    this.ids.add(message.id);
    this.messages.set(message.id, message);
    this.empty.remove();
    const node = this._render(message);
    this.decorate?.(node, message);
    // Usually the newest; history after a reconnect may be older than what is shown. Messages
    // still on their way stay last.
    let before = null;
    for (let i = this.log.children.length - 1; i >= 0; i--) {
      const child = this.log.children[i];
      if (child.classList.contains("pending") || (child.dataset.id && child.dataset.id > message.id)) {
        before = child;
      } else break;
    }
    const atBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
    this.log.insertBefore(node, before);
    if (this.lastId === null || message.id > this.lastId) this.lastId = message.id;
    if (atBottom || message.from?.id === this.selfId) this.log.scrollTop = this.log.scrollHeight;
  }

  addAll(messages) {
    for (const message of messages ?? []) this.add(message);
  }

  /** A facilitator deleted message `id` for everyone: it leaves the log, and stays gone. True if shown. */
  remove(id) {
    this.deleted.add(id);
    this.messages.delete(id);
    const node = [...this.log.querySelectorAll(".msg[data-id]")].find((n) => n.dataset.id === id);
    node?.remove();
    if (!this.log.querySelector(".msg")) this.log.appendChild(this.empty);
    return Boolean(node);
  }

  /** Run `decorate` again on every message shown (this person's role changed). */
  redecorate() {
    for (const node of this.log.querySelectorAll(".msg[data-id]")) {
      const message = this.messages.get(node.dataset.id);
      if (message) this.decorate?.(node, message);
    }
  }

  _render(message) {
    const mine = message.from?.id === this.selfId;
    const isPrivate = Boolean(message.to);
    let privacy = null;
    if (isPrivate) {
      const other = mine ? this._nameOf(message.to) ?? "someone who left" : null;
      privacy = h(
        "span",
        { class: "priv", "data-to": mine ? message.to : null },
        mine ? `Private message to ${other}` : "Private message to you",
      );
    }
    const milestone = message.kind === "milestone";
    const classes = ["msg", mine ? "mine" : "", isPrivate ? "private" : "", milestone ? "milestone" : ""]
      .filter(Boolean)
      .join(" ");
    const fromId = message.from?.id ?? null;
    const from = this._senderName(fromId, message.from?.name ?? "");
    return h(
      "div",
      { class: classes, "data-id": message.id },
      h(
        "p",
        { class: "meta" },
        h(
          "span",
          { class: "from", "data-from": fromId, "data-name": message.from?.name ?? "", "data-you": mine ? "" : null },
          mine ? `${from} (you)` : from,
        ),
        privacy,
        milestone ? h("span", { class: "kind" }, "shared a milestone") : null,
        h("time", { datetime: new Date(message.at).toISOString() }, timeOf(message.at)),
      ),
      // A quiet celebration: the label itself, marked, with the sender's name above it.
      milestone
        ? h("p", { class: "text" }, h("span", { class: "milestone-mark", "aria-hidden": "true" }, "✦ "), message.text)
        : h("p", { class: "text" }, message.text),
    );
  }

  /** The name shown for `id`: as the people list names them, or as last shown if they left. */
  _nameOf(id) {
    if (!id) return null;
    return this.labels.get(id) ?? this.lastLabels.get(id) ?? null;
  }

  /** A sender as named now. Someone who left keeps the name they had, marked "(left)" where a
   * person here now goes by the same name. */
  _senderName(id, sentAs) {
    const here = id ? this.labels.get(id) : null;
    if (here) return here;
    const name = (id && this.lastLabels.get(id)) || sentAs;
    return this.presentLabels.has(name) ? `${name} (left)` : name;
  }

  /** When the people present (or their names) change: rebuild the "Send to" options and rename
   * the senders of messages already shown. labels: id → the name shown (names.js); mayMessage(p):
   * whether the meeting's policy lets this person message p privately; policy: a word for it, so
   * that a change of policy rebuilds the options. */
  updateRecipients(participants, labels, mayMessage = () => true, policy = "") {
    const others = [...participants.values()].filter((p) => p.id !== this.selfId && mayMessage(p));
    const everyone = [...participants.values()].map((p) => `${p.id}:${labels.get(p.id)}:${others.includes(p)}`);
    const signature = [this.selfId, policy, ...everyone].join("|");
    if (signature === this.recipientsSignature) return;
    this.recipientsSignature = signature;
    for (const [id, label] of labels) this.lastLabels.set(id, label);
    const current = this.select.value;
    const options = [h("option", { value: "" }, "Everyone")];
    for (const p of others) {
      options.push(h("option", { value: p.id }, `${labels.get(p.id) ?? p.name} (private)`));
    }
    this.select.replaceChildren(...options);
    this.select.value = others.some((p) => p.id === current) ? current : "";
    this.labels = new Map(labels);
    this.presentLabels = new Set(labels.values());
    this._relabel();
  }

  /** Name every sender in the log as they are named now. */
  _relabel() {
    for (const span of this.log.querySelectorAll(".from[data-from]")) {
      const name = this._senderName(span.dataset.from, span.dataset.name);
      const text = span.hasAttribute("data-you") ? `${name} (you)` : name;
      if (span.textContent !== text) span.textContent = text;
    }
    for (const span of this.log.querySelectorAll(".priv[data-to]")) {
      const name = this._nameOf(span.dataset.to);
      const text = `Private message to ${name ?? "someone who left"}`;
      if (span.textContent !== text) span.textContent = text;
    }
  }
}

/** 96 random bits as hex (crypto.randomUUID needs a secure context; a text-only member may not have one). */
function newKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Why the server refused a chat message for good, as a sentence. */
function refusalReason(error) {
  switch (error?.code) {
    case "bad_request":
      return "messages can be up to 2000 characters.";
    case "not_found":
      return "that person has left.";
    default:
      return error?.message || "something went wrong.";
  }
}
