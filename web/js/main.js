// Entry point for /r/{room}: resume this tab's place in the meeting after a reload, or show the
// join screen filled in with the room's public facts.

import { $ } from "./dom.js";
import { JoinScreen, joinErrorText } from "./join.js";
import { Meeting, showScreen } from "./meeting.js";
import { checkHostKey, showWrongHostKey } from "./moderation.js";
import { loadSession, forgetSession } from "./storage.js";
import { CrisisPanel } from "./crisis.js";

function roomIdFromPath() {
  const match = /^\/r\/([^/]+)\/?$/.exec(location.pathname);
  return match ? decodeURIComponent(match[1]) : null;
}

function fromFragment() {
  // Keys and tokens travel after "#", so they never reach the server's logs: the facilitator link's
  // host key, a one-to-one room's personal invitation, a community site's join token.
  const params = new URLSearchParams(location.hash.slice(1));
  return {
    hostKey: params.get("host") || null,
    invite: params.get("invite") || null,
    token: params.get("token") || null,
  };
}

/** What a join token says of its holder (read to show it; the server checks the signature). */
function tokenClaims(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return typeof claims?.name === "string" ? claims : null;
  } catch {
    return null;
  }
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
  const { hostKey, invite, token } = fromFragment();
  const claims = token ? tokenClaims(token) : null;
  const meeting = new Meeting({ roomId, hostKey, invite, token });
  // After a reload, a seat whose guidelines changed meanwhile is taken back once they are accepted again.
  let seatToTakeBack;
  const join = new JoinScreen({
    onJoin: (info) => meeting.join({ ...info, resumeToken: seatToTakeBack }),
    isHost: Boolean(hostKey) || claims?.role === "facilitator",
    fixedName: claims?.name ?? null,
    hasInvite: Boolean(invite),
    refetchRoom: () => fetchRoom(roomId),
  });
  if (!roomId) {
    join.showRoomError("This link doesn't point to a meeting. Check the link you were sent.");
    return;
  }
  if (token && !claims) {
    join.showRoomError("This join link is damaged or incomplete. Please ask the site that sent you for a new one.");
    return;
  }

  if (hostKey) {
    // A wrong facilitator link is said now, before anyone fills in the form for nothing.
    checkHostKey(roomId, hostKey).then((verdict) => {
      // Marked on the page, so that what follows (and a test) can tell the check has come back.
      document.body.dataset.hostCheck = verdict;
      if (verdict === "wrong") showWrongHostKey();
    });
  }

  const saved = loadSession(roomId);
  const roomFacts = fetchRoom(roomId).then(
    (room) => {
      if (room.missing) {
        // Not "You're invited to … a Circle meeting" above a meeting that isn't there.
        $("join-eyebrow").hidden = true;
        $("room-title").textContent = "Meeting not found";
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
      await meeting.join({
        name: saved.name,
        media: saved.media,
        guidelinesVersion: saved.guidelines_version,
        resumeToken: saved.resume_token,
      });
      return;
    } catch (error) {
      forgetSession(roomId);
      showScreen("join-screen");
      join.prefill(saved);
      if (error?.guidelinesVersion !== undefined) {
        seatToTakeBack = saved.resume_token;
        await roomFacts;
        await join.guidelinesChanged();
      } else {
        join.setError(
          error?.code === "banned"
            ? joinErrorText(error)
            : "Your earlier place in the meeting has expired. Join again when you're ready.",
        );
      }
    }
  }
  await roomFacts;
}

start();
