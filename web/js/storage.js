// What the client remembers. The browser key lives in localStorage (it identifies this browser to
// the room, so a ban holds); the resume token lives in sessionStorage, per tab, so a reload in
// the same tab resumes the same participant while another tab joins as someone new.

const BROWSER_KEY = "circle.browser_key";

function randomKey(bytes = 24) {
  const raw = new Uint8Array(bytes);
  crypto.getRandomValues(raw);
  return Array.from(raw, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function browserKey() {
  try {
    let key = localStorage.getItem(BROWSER_KEY);
    if (!key || key.length < 16 || key.length > 64) {
      key = randomKey();
      localStorage.setItem(BROWSER_KEY, key);
    }
    return key;
  } catch {
    return randomKey();  // storage disabled: a key per page load is the best we can do
  }
}

function sessionKey(roomId) {
  return `circle.session.${roomId}`;
}

/** {resume_token, name, media, host_key?, last_chat_id?} for this tab and room, or null. */
export function loadSession(roomId) {
  try {
    const raw = sessionStorage.getItem(sessionKey(roomId));
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

export function saveSession(roomId, session) {
  try {
    sessionStorage.setItem(sessionKey(roomId), JSON.stringify(session));
  } catch {
    /* storage disabled: a reload will ask again, which is safe */
  }
}

export function forgetSession(roomId) {
  try {
    sessionStorage.removeItem(sessionKey(roomId));
  } catch {
    /* nothing to forget */
  }
}
