// Entry point for /r/{room}: resume this tab's place in the meeting after a reload, or show the
// join screen filled in with the room's public facts.

import { $ } from "./dom.js";
import { JoinScreen, joinErrorText } from "./join.js";
import { Meeting, showScreen } from "./meeting.js";
import { loadSession, forgetSession } from "./storage.js";
import { CrisisPanel } from "./crisis.js";

function roomIdFromPath() {
  const match = /^\/r\/([^/]+)\/?$/.exec(location.pathname);
  return match ? decodeURIComponent(match[1]) : null;
}

function hostKeyFromFragment() {
  // The facilitator link carries the host key after "#", so it never reaches the server's logs.
  const params = new URLSearchParams(location.hash.slice(1));
  return params.get("host") || null;
}

async function fetchRoom(roomId) {
  const response = await fetch(`/api/rooms/${encodeURIComponent(roomId)}`, {
    headers: { Accept: "application/json" },
  });
  if (response.status === 404) return { missing: true };
  if (!response.ok) throw new Error(`room lookup failed: ${response.status}`);
  return response.json();
}

async function start() {
  // First, so that help is there even if nothing else on the page works out.
  const crisis = new CrisisPanel();
  const roomId = roomIdFromPath();
  const hostKey = hostKeyFromFragment();
  const meeting = new Meeting({ roomId, hostKey });
  const join = new JoinScreen({ onJoin: (info) => meeting.join(info), isHost: Boolean(hostKey) });
  if (!roomId) {
    join.showRoomError("This link doesn't point to a meeting. Check the link you were sent.");
    return;
  }

  const saved = loadSession(roomId);
  const roomFacts = fetchRoom(roomId).then(
    (room) => {
      if (room.missing) {
        join.showRoomError(
          "We couldn't find this meeting. The link may be incomplete, or the meeting has ended.",
        );
      } else {
        join.setRoom(room);
        crisis.setResources(room.crisis_resources);
      }
      return room;
    },
    () => {
      join.showRoomError("We couldn't reach the meeting server. Check your connection and reload the page.");
      return null;
    },
  );

  if (saved?.resume_token) {
    // A reload within the grace period: come straight back as the same participant.
    showScreen("ended-screen");
    $("ended-title").textContent = "Rejoining the meeting…";
    $("ended-text").textContent = "One moment.";
    try {
      await meeting.join({ name: saved.name, media: saved.media, resumeToken: saved.resume_token });
      return;
    } catch (error) {
      forgetSession(roomId);
      showScreen("join-screen");
      join.prefill(saved);
      join.setError(
        error?.code === "banned"
          ? joinErrorText(error)
          : "Your earlier place in the meeting has expired. Join again when you're ready.",
      );
    }
  }
  await roomFacts;
}

start();
