// A modal dialog on the native <dialog>: showModal() makes the rest of the page inert and Escape
// closes it; here Tab and Shift+Tab also cycle within it (rather than leaving for the browser's own
// controls), and focus goes back where it was when the dialog closes.

const FOCUSABLE = "button, [href], input, select, textarea, [tabindex]:not([tabindex='-1'])";

export class Modal {
  /** dialog: a <dialog> element; onClose(): called however it closed. */
  constructor(dialog, { onClose } = {}) {
    this.dialog = dialog;
    this.onClose = onClose;
    this.returnTo = null;
    dialog.addEventListener("keydown", (event) => {
      if (event.key === "Tab") this._keepFocusInside(event);
    });
    dialog.addEventListener("close", () => {
      const back = this.returnTo;
      this.returnTo = null;
      if (back?.isConnected) back.focus();
      this.onClose?.();
    });
  }

  get isOpen() {
    return this.dialog.open;
  }

  /** Open, with `focus` (an element inside) focused first. */
  open(focus) {
    this.returnTo = document.activeElement;
    if (!this.dialog.open) this.dialog.showModal();
    focus?.focus();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  _keepFocusInside(event) {
    const items = [...this.dialog.querySelectorAll(FOCUSABLE)].filter(
      (el) => !el.disabled && !el.hidden && el.getClientRects().length > 0,
    );
    if (items.length === 0) return;
    const first = items[0];
    const last = items[items.length - 1];
    const inside = this.dialog.contains(document.activeElement);
    if (event.shiftKey && (document.activeElement === first || !inside)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
      event.preventDefault();
      first.focus();
    }
  }
}
