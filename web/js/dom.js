// Small DOM helpers. Text is only ever inserted as text: strings become text nodes, and nothing
// here touches innerHTML, so a name or a chat message can never become markup.

export function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing element #${id}`);
  return el;
}

/** h("li", {class: "x", "aria-label": "y"}, "text", child, ...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function show(el, visible = true) {
  el.hidden = !visible;
}

/** Show a message in an alert element, or hide it when the message is empty. */
export function setMessage(el, message) {
  el.textContent = message || "";
  el.hidden = !message;
}

export function initialOf(name) {
  const first = [...(name || "?").trim()][0] || "?";
  return first.toLocaleUpperCase();
}

export function timeOf(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

let announceTimer = null;

/** Say something through the polite live region (joins, leaves, hands, status changes). */
export function announce(message) {
  const region = document.getElementById("announcer");
  if (!region) return;
  // Appending (rather than replacing) lets several events in a row all be read; old lines are
  // cleared a little later so the region does not grow for the whole meeting.
  region.appendChild(h("p", {}, message));
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => clear(region), 8000);
}
