"""Two people called Ana are two people: the one who joined second is "Ana (2)" in every list,
tile, "Send to" choice and chat line, on every page alike."""

from __future__ import annotations

import json
import re

from playwright.async_api import Browser, Locator, expect

from tests.browser.people import Person
from tests.browser.test_accessibility import assert_accessible


async def test_two_members_named_ana_are_told_apart_everywhere(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "audio")
    first = await Person.in_meeting(browser, room["member_url"], "Ana", "audio")
    second = await Person.in_meeting(browser, room["member_url"], "Ana", "text")
    everyone = (maya, first, second)

    def named(person: Person, label: str) -> Locator:
        return person.participants.locator(".pname").filter(has_text=re.compile(rf"^{re.escape(label)}$"))

    for person in (maya, first):
        await expect(named(person, "Ana (2)")).to_have_count(1)
    await expect(named(maya, "Ana")).to_have_count(1)
    await expect(named(first, "Ana (you)")).to_have_count(1)
    await expect(named(second, "Ana (2) (you)")).to_have_count(1)
    await expect(named(second, "Ana")).to_have_count(1)

    # Tiles (on the pages that show them).
    for person in (maya, first):
        await expect(person.tile("Ana (2)")).to_have_count(1)
    await expect(maya.tile("Ana")).to_have_count(1)

    # "Send to" offers both, distinctly.
    for person, expected in (
        (maya, ["Everyone", "Ana (private)", "Ana (2) (private)"]),
        (first, ["Everyone", "Maya (private)", "Ana (2) (private)"]),
        (second, ["Everyone", "Maya (private)", "Ana (private)"]),
    ):
        options = await person.page.get_by_label("Send to").locator("option").all_inner_texts()
        assert options == expected, (person.name, options)

    # Chat: each line says which Ana wrote it, and a private message goes to the one chosen.
    await first.say("From the first Ana.")
    await second.say("From the second Ana.")
    await maya.say("Only for the second Ana.", to="Ana (2)")
    await expect(second.chat_log).to_contain_text("Only for the second Ana.")
    for person in everyone:
        await expect(person.chat_log).to_contain_text("From the second Ana.")
        senders = await person.chat_log.locator(".msg .from").all_inner_texts()
        texts = await person.chat_log.locator(".msg .text").all_inner_texts()
        lines = dict(zip(texts, senders, strict=True))
        assert lines["From the first Ana."].startswith("Ana") and "(2)" not in lines["From the first Ana."]
        assert lines["From the second Ana."].startswith("Ana (2)"), lines
    await maya.say("Everyone, welcome.")
    await expect(first.chat_log).to_contain_text("Everyone, welcome.")
    await expect(first.chat_log).not_to_contain_text("Only for the second Ana.")
    await expect(maya.chat_log.locator(".msg.private")).to_contain_text("Private message to Ana (2)")
    await assert_accessible(maya, "meeting with two people of the same name")

    # The first Ana leaves: the one still here is now simply "Ana", and the lines of the one who
    # left stay told apart from hers.
    await first.page.get_by_role("button", name="Leave", exact=True).click()
    await expect(named(maya, "Ana")).to_have_count(1)
    await expect(named(maya, "Ana (2)")).to_have_count(0)
    await expect(named(second, "Ana (you)")).to_have_count(1)
    for person in (maya, second):
        line = person.chat_log.locator(".msg").filter(has_text="From the first Ana.").locator(".from")
        await expect(line).to_have_text("Ana (left)")
    own = second.chat_log.locator(".msg").filter(has_text="From the second Ana.").locator(".from")
    await expect(own).to_have_text("Ana (you)")


async def test_a_waiting_ana_is_numbered_after_the_ana_in_the_room(circle_server, browser: Browser) -> None:
    room = await circle_server.create_room(title="Evening circle", waiting_room=True)
    maya = await Person.in_meeting(browser, room["facilitator_url"], "Maya", "text")
    await maya.page.get_by_role("button", name="Turn waiting room off").click()
    await Person.in_meeting(browser, room["member_url"], "Ana", "text")
    await maya.page.get_by_role("button", name="Turn waiting room on").click()
    newcomer = await Person.open(browser, room["member_url"], "Ana")
    await newcomer.join("text", expect_meeting=False)
    admit = maya.page.get_by_role("button", name="Admit Ana (2)", exact=True)
    await expect(admit).to_be_visible()
    await expect(
        maya.page.get_by_role("status").filter(has_text="Ana (2) is waiting to be let in.")
    ).to_have_count(1)
    await admit.click()
    await expect(newcomer.participants.locator(".pname").filter(has_text="Ana (2) (you)")).to_have_count(1)


async def test_the_labelling_rule(circle_server, browser: Browser) -> None:
    """names.js itself, run in the browser that uses it."""
    room = await circle_server.create_room(title="Evening circle")
    page = (await Person.open(browser, room["member_url"], "Reader")).page
    cases = {
        "join order, not list order": (
            [{"id": "b", "name": "Ana", "joined_at": 2}, {"id": "a", "name": "Ana", "joined_at": 1}],
            [],
            {"a": "Ana", "b": "Ana (2)"},
        ),
        "case, spaces and width do not make a different name": (
            [
                {"id": "a", "name": "Ana", "joined_at": 1},
                {"id": "b", "name": " ana ", "joined_at": 2},
                {"id": "c", "name": "\uff21na", "joined_at": 3},
            ],
            [],
            {"a": "Ana", "b": "ana (2)", "c": "\uff21na (3)"},
        ),
        "a number is never someone else's own name": (
            [
                {"id": "a", "name": "Ana", "joined_at": 1},
                {"id": "b", "name": "Ana (2)", "joined_at": 2},
                {"id": "c", "name": "Ana", "joined_at": 3},
            ],
            [],
            {"a": "Ana", "b": "Ana (2)", "c": "Ana (3)"},
        ),
        "different names are left alone": (
            [{"id": "a", "name": "Ana", "joined_at": 1}, {"id": "b", "name": "Bo", "joined_at": 1}],
            [],
            {"a": "Ana", "b": "Bo"},
        ),
        "names in use elsewhere count as earlier": (
            [{"id": "w", "name": "Ana", "joined_at": 9}],
            ["Ana", "Ana (2)"],
            {"w": "Ana (3)"},
        ),
    }
    for case, (people, taken, expected) in cases.items():
        got = await page.evaluate(
            """async ([people, taken]) => {
              const { distinctNames } = await import("/static/js/names.js");
              return Object.fromEntries(distinctNames(people, { taken }));
            }""",
            [people, taken],
        )
        assert got == expected, f"{case}: {json.dumps(got)}"
