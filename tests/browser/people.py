"""Driving one person's browser tab through Circle, the way that person would: by the controls'
accessible names. A probe installed before the page's own scripts counts what the page asked of
the browser (getUserMedia calls, RTCPeerConnections, websockets, CSP violations)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Dialog, Locator, Page, expect

PROBE = """
(() => {
  const probe = { gum: 0, pcs: [], sockets: [], csp: [], audio: [], tones: 0 };
  Object.defineProperty(window, "__probe", { value: probe });
  const NativePC = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePC {
    constructor(...args) { super(...args); probe.pcs.push(this); }
  };
  const devices = navigator.mediaDevices;
  if (devices) {
    const gum = devices.getUserMedia.bind(devices);
    devices.getUserMedia = (...args) => { probe.gum += 1; return gum(...args); };
  }
  const NativeAC = window.AudioContext;
  window.AudioContext = class extends NativeAC {
    constructor(...args) { super(...args); probe.audio.push(this); }
  };
  const startTone = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...args) {
    probe.tones += 1;
    return startTone.apply(this, args);
  };
  const NativeWS = window.WebSocket;
  window.WebSocket = class extends NativeWS {
    constructor(...args) { super(...args); probe.sockets.push(this); }
  };
  document.addEventListener("securitypolicyviolation", (e) => {
    probe.csp.push(`${e.violatedDirective} ${e.blockedURI}`);
  });
})();
"""

MODES = {"av": "Camera and microphone", "audio": "Audio only", "text": "Text only"}

DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 360, "height": 760}


# What the browser itself logs when the network fails, which some tests cause on purpose; anything
# else logged as an error is the page's own, and fails the test (see conftest).
NETWORK_NOISE = re.compile(r"^(Failed to load resource|WebSocket connection to .* failed)")

# Every person opened during the current test, for the check that their pages logged no errors.
OPENED: list[Person] = []


@dataclass(eq=False)
class Person:
    name: str
    context: BrowserContext
    page: Page
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @classmethod
    async def open(
        cls,
        browser: Browser,
        url: str,
        name: str,
        viewport: dict[str, int] | None = None,
        init_script: str | None = None,
        cookies: list[dict[str, Any]] | None = None,
    ) -> Person:
        """Open `url` in a new context, holding `cookies` already; `init_script` runs before the
        page's own scripts."""
        context = await browser.new_context(viewport=viewport or DESKTOP)
        if cookies:
            await context.add_cookies(cookies)  # type: ignore[arg-type]
        await context.add_init_script(PROBE)
        if init_script is not None:
            await context.add_init_script(init_script)
        page = await context.new_page()
        person = cls(name, context, page)

        async def on_dialog(dialog: Dialog) -> None:
            person.dialogs.append(dialog.message)
            await dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda error: person.errors.append(str(error)))
        page.on("console", person._on_console)
        OPENED.append(person)
        await page.goto(url)
        return person

    @classmethod
    async def in_meeting(
        cls,
        browser: Browser,
        url: str,
        name: str,
        media: str = "av",
        viewport: dict[str, int] | None = None,
        cookies: list[dict[str, Any]] | None = None,
    ) -> Person:
        """Open the link and join, as most people in a test do."""
        person = await cls.open(browser, url, name, viewport, cookies=cookies)
        await person.join(media)
        return person

    async def join(
        self,
        media: str = "av",
        *,
        passcode: str | None = None,
        agree: bool = True,
        expect_meeting: bool = True,
    ) -> None:
        page = self.page
        await page.get_by_label("Your name").fill(self.name)
        await page.get_by_role("radio", name=MODES[media]).check()
        if passcode is not None:
            await page.get_by_label("Passcode").fill(passcode)
        agreement = page.get_by_label("I agree to the group guidelines")
        if agree and await agreement.is_visible():
            await agreement.check()
        await page.get_by_role("button", name="Join", exact=True).click()
        if expect_meeting:
            await expect(self.participants).to_be_visible(timeout=15000)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not NETWORK_NOISE.match(message.text):
            self.errors.append(f"console: {message.text}")

    # -- what the person sees --------------------------------------------------------------

    @property
    def participants(self) -> Locator:
        return self.page.get_by_role("list", name="Participants")

    def participant(self, name: str) -> Locator:
        pattern = re.compile(rf"^\s*{re.escape(name)}( \(you\))?( —|\s*$|\s)")
        return self.participants.get_by_role("listitem").filter(has_text=pattern)

    @property
    def chat_log(self) -> Locator:
        return self.page.get_by_role("log", name="Chat")

    def tile(self, name: str) -> Locator:
        return self.page.locator("figure.tile").filter(
            has=self.page.locator("figcaption .name", has_text=re.compile(rf"^{re.escape(name)}( \(you\))?$"))
        )

    async def self_id(self) -> str:
        value = await self.page.locator("figure.tile.self").get_attribute("data-participant")
        assert value
        return value

    # -- what the person does --------------------------------------------------------------

    async def say(self, text: str, to: str | None = None, *, delivered: bool = True) -> None:
        """Send a chat message; with `delivered`, wait until the server has it (until then the log
        shows it as on its way)."""
        page = self.page
        if to is not None:
            await page.get_by_label("Send to").select_option(label=f"{to} (private)")
        else:
            await page.get_by_label("Send to").select_option(label="Everyone")
        await page.get_by_role("textbox", name="Message").fill(text)
        await page.get_by_role("button", name="Send", exact=True).click()
        await expect(self.chat_log).to_contain_text(text)
        if delivered:
            await expect(self.chat_log.locator(".msg.pending")).to_have_count(0)

    # -- probes ----------------------------------------------------------------------------

    async def probe(self) -> dict[str, Any]:
        return dict(
            await self.page.evaluate(
                "() => ({gum: __probe.gum, pcs: __probe.pcs.length, csp: __probe.csp,"
                " audio: __probe.audio.map((c) => c.state)})"
            )
        )

    async def video_frames(self, name: str) -> tuple[int, int]:
        """(videoWidth, frames decoded) of the video showing in `name`'s tile.

        Frames are counted by the decoder of the very track that the element shows (found among
        the peer connections' receivers). The element's own counters are no use here: headless
        Chromium may stop compositing a page that is not in front, which freezes them even while
        the video plays."""
        video = self.tile(name).locator("video")
        width, frames = await video.evaluate(
            """async (v) => {
              const track = v.srcObject && v.srcObject.getVideoTracks()[0];
              if (!track) return [0, 0];
              for (const pc of __probe.pcs) {
                if (pc.connectionState === "closed") continue;
                if (!pc.getReceivers().some((r) => r.track === track)) continue;
                let frames = 0;
                (await pc.getStats(track)).forEach((s) => {
                  if (s.type === "inbound-rtp") frames = s.framesDecoded || 0;
                });
                return [v.videoWidth, frames];
              }
              return [v.videoWidth, 0];
            }"""
        )
        return int(width), int(frames)

    async def wait_for_video_from(self, name: str, timeout_s: float = 20) -> None:
        """`name`'s video shows here (videoWidth > 0) and its frames keep being decoded."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        first: tuple[int, int] | None = None
        last = (0, 0)
        while loop.time() < deadline:
            last = await self.video_frames(name)
            width, frames = last
            if width > 0 and frames > 0:
                if first is None:
                    first = last
                elif frames > first[1] + 10:
                    return
            await asyncio.sleep(0.2)
        raise AssertionError(f"{self.name} sees no moving video from {name}: {first=} {last=}")

    async def audio_packets_received(self) -> int:
        return int(
            await self.page.evaluate(
                """async () => {
                  let total = 0;
                  for (const pc of __probe.pcs) {
                    if (pc.connectionState === "closed") continue;
                    const stats = await pc.getStats();
                    stats.forEach((s) => {
                      if (s.type === "inbound-rtp" && s.kind === "audio") total += s.packetsReceived || 0;
                    });
                  }
                  return total;
                }"""
            )
        )

    async def wait_for_audio(self, timeout_s: float = 20) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        first = await self.audio_packets_received()
        while asyncio.get_running_loop().time() < deadline:
            if await self.audio_packets_received() > first + 10 and first >= 0:
                return
            await asyncio.sleep(0.25)
        raise AssertionError(f"{self.name} receives no audio")

    async def selected_routes(self) -> list[dict[str, Any]]:
        """For each open peer connection: its ICE transport policy and the candidate pair its
        transport has selected (each end's type, address, port and, for relay, the protocol to the
        TURN server). A connection that has selected no pair yet has `local` and `remote` None."""
        return list(
            await self.page.evaluate(
                """async () => {
                  const routes = [];
                  for (const pc of __probe.pcs) {
                    if (pc.connectionState === "closed") continue;
                    const stats = new Map();
                    (await pc.getStats()).forEach((s) => stats.set(s.id, s));
                    let pair = null;
                    for (const s of stats.values()) {
                      if (s.type === "transport" && s.selectedCandidatePairId) {
                        pair = stats.get(s.selectedCandidatePairId);
                      }
                    }
                    const end = (id) => {
                      const c = stats.get(id);
                      return c && { type: c.candidateType, address: c.address, port: c.port,
                                    relayProtocol: c.relayProtocol || null };
                    };
                    routes.push({
                      policy: pc.getConfiguration().iceTransportPolicy,
                      state: pc.connectionState,
                      local: pair ? end(pair.localCandidateId) : null,
                      remote: pair ? end(pair.remoteCandidateId) : null,
                    });
                  }
                  return routes;
                }"""
            )
        )

    async def drop_connection(self) -> None:
        """Cut the live socket, as a flaky network would."""
        await self.page.evaluate("() => __probe.sockets.forEach((s) => s.close())")

    async def tones(self) -> int:
        """How many tones the page has started playing (WebAudio oscillators)."""
        return int(await self.page.evaluate("() => __probe.tones"))

    async def close(self) -> None:
        await self.context.close()
