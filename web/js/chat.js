// The chat panel: the "Chat" log, the "Send to" choice and the "Message" box. Messages are kept
// by id, in id order (ids sort in send order), so history fetched after a reconnect slots in
// without duplicates.

import { h, setMessage, timeOf } from "./dom.js";

export class ChatPanel {
  /** send(text, to, key) -> Promise<ChatMessage>; nameOf(id) -> display name or null. */
  constructor({ log, form, textarea, select, error, send, nameOf }) {
    this.log = log;
    this.form = form;
    this.textarea = textarea;
    this.select = select;
    this.error = error;
    this.send = send;
    this.nameOf = nameOf;
    this.selfId = null;
    this.ids = new Set();
    this.lastId = null;
    this.recipientsSignature = null;
    this.sending = false;
    this.pending = null;
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

  async submit() {
    const text = this.textarea.value.trim();
    if (!text || this.sending) return;
    const to = this.select.value || undefined;
    // The same message sent again (after an error) keeps its key, so that if the first try did
    // reach the server, the server answers with that message instead of posting it twice.
    if (this.pending?.text !== text || this.pending?.to !== to) {
      this.pending = { text, to, key: newKey() };
    }
    this.sending = true;
    try {
      const message = await this.send(text, to, this.pending.key);
      this.pending = null;
      this.textarea.value = "";
      setMessage(this.error, "");
      if (message) this.add(message);
    } catch (error) {
      setMessage(this.error, chatErrorText(error));
    } finally {
      this.sending = false;
    }
  }

  add(message) {
    if (!message || this.ids.has(message.id)) return;
    this.ids.add(message.id);
    this.empty.remove();
    const node = this._render(message);
    // Usually the newest; history after a reconnect may be older than what is shown.
    let before = null;
    for (let i = this.log.children.length - 1; i >= 0; i--) {
      const child = this.log.children[i];
      if (child.dataset.id && child.dataset.id > message.id) before = child;
      else break;
    }
    const atBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
    this.log.insertBefore(node, before);
    if (this.lastId === null || message.id > this.lastId) this.lastId = message.id;
    if (atBottom || message.from?.id === this.selfId) this.log.scrollTop = this.log.scrollHeight;
  }

  addAll(messages) {
    for (const message of messages ?? []) this.add(message);
  }

  _render(message) {
    const mine = message.from?.id === this.selfId;
    const isPrivate = Boolean(message.to);
    let privacy = null;
    if (isPrivate) {
      const other = mine ? this.nameOf(message.to) ?? "someone who left" : null;
      privacy = h("span", { class: "priv" }, mine ? `Private message to ${other}` : "Private message to you");
    }
    const classes = ["msg", mine ? "mine" : "", isPrivate ? "private" : ""].filter(Boolean).join(" ");
    return h(
      "div",
      { class: classes, "data-id": message.id },
      h(
        "p",
        { class: "meta" },
        h("span", { class: "from" }, mine ? `${message.from.name} (you)` : message.from?.name ?? ""),
        privacy,
        h("time", { datetime: new Date(message.at).toISOString() }, timeOf(message.at)),
      ),
      h("p", { class: "text" }, message.text),
    );
  }

  /** Rebuild the "Send to" options when the people present (or their names) change. */
  updateRecipients(participants) {
    const others = [...participants.values()].filter((p) => p.id !== this.selfId);
    const signature = others.map((p) => `${p.id}:${p.name}`).join("|");
    if (signature === this.recipientsSignature) return;
    this.recipientsSignature = signature;
    const current = this.select.value;
    const options = [h("option", { value: "" }, "Everyone")];
    for (const p of others) options.push(h("option", { value: p.id }, `${p.name} (private)`));
    this.select.replaceChildren(...options);
    this.select.value = others.some((p) => p.id === current) ? current : "";
  }

  reset() {
    this.ids.clear();
    this.lastId = null;
    this.log.replaceChildren(this.empty);
  }
}

/** 96 random bits as hex (crypto.randomUUID needs a secure context; a text-only member may not have one). */
function newKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function chatErrorText(error) {
  switch (error?.code) {
    case "rate_limited":
      return "You're sending messages quickly. Wait a moment, then send again.";
    case "bad_request":
      return "That message couldn't be sent. Messages can be up to 2000 characters.";
    case "not_found":
      return "That person has left, so the private message wasn't sent.";
    case "unavailable":
      return "The message wasn't sent because the connection dropped. It's still in the box: send it again when you're back online.";
    default:
      return error?.message || "The message wasn't sent. Try again.";
  }
}
