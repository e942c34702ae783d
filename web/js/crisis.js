// "Need help now?": the deployment's crisis resources, one press away on every screen (the join
// screen, the waiting room, the meeting, the screens after it). They come with the room's public
// facts; until then, or if the room can't be found, the panel still says to call the local
// emergency number. Every entry is plain text and plain links the person chooses to open: the page
// itself fetches nothing from anywhere else.

import { $, h, clear } from "./dom.js";
import { Modal } from "./dialog.js";

export class CrisisPanel {
  constructor() {
    this.list = $("crisis-list");
    this.modal = new Modal($("crisis-dialog"));
    this.resources = [];
    $("crisis-open").addEventListener("click", () => this.open());
    $("ended-crisis-open").addEventListener("click", () => this.open());
    $("crisis-close").addEventListener("click", () => this.modal.close());
    this._render();
  }

  /** resources: [{name, phone?, text?, url?, region?}] from GET /api/rooms/{id}. */
  setResources(resources) {
    this.resources = Array.isArray(resources) ? resources.filter((r) => r && r.name) : [];
    this._render();
  }

  open() {
    this.modal.open($("crisis-close"));
  }

  _render() {
    clear(this.list);
    this.list.hidden = this.resources.length === 0;
    for (const r of this.resources) {
      const ways = [];
      if (r.phone) {
        ways.push(h("p", {}, "Call ", h("a", { href: `tel:${telNumber(r.phone)}` }, r.phone)));
      }
      if (r.text) ways.push(h("p", {}, r.text));
      if (r.url) {
        ways.push(h("p", {}, h("a", { href: r.url, target: "_blank", rel: "noopener noreferrer" }, linkText(r.url))));
      }
      this.list.appendChild(
        h(
          "li",
          {},
          h("h3", {}, r.name),
          r.region ? h("p", { class: "region" }, r.region) : null,
          ways,
        ),
      );
    }
  }
}

/** A phone number as a tel: URI wants it: digits and a leading +. */
function telNumber(phone) {
  return phone.replace(/[^0-9+]/g, "");
}

/** The address as a person would read it: without the scheme or a trailing slash. */
function linkText(url) {
  return url.replace(/^https?:\/\//i, "").replace(/\/$/, "");
}
