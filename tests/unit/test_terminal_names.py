"""The terminal tells apart people who share a name, and a typed name reaches only the person meant."""

from __future__ import annotations

from terminal.names import Lookup, Names, lookup_problem


def seen(names: Names, people: dict[str, str]) -> list[str]:
    return [names.label(pid, name, people) for pid, name in people.items()]


def test_the_second_person_with_a_name_is_numbered_and_the_first_too_while_both_are_here() -> None:
    names = Names()
    assert seen(names, {"a": "Ana"}) == ["Ana"]
    assert seen(names, {"a": "Ana", "b": "Ana", "c": "Sam"}) == ["Ana (1)", "Ana (2)", "Sam"]
    assert seen(names, {"b": "Ana", "c": "Sam"}) == ["Ana (2)", "Sam"]


def test_names_that_differ_only_in_case_are_told_apart_too() -> None:
    names = Names()
    assert seen(names, {"a": "ana", "b": "ANA"}) == ["ana (1)", "ANA (2)"]


def test_a_number_is_never_given_to_anyone_else_so_a_command_cannot_change_target() -> None:
    names = Names()
    seen(names, {"a": "Ana", "b": "Ana"})
    # Ana (2) leaves and a third Ana arrives: she is Ana (3), never the Ana (2) a command was typed for.
    assert seen(names, {"a": "Ana", "c": "Ana"}) == ["Ana (1)", "Ana (3)"]
    present = {"a": "Ana", "c": "Ana"}
    assert names.find("Ana (2) hello", present, present) == Lookup(None, choices=("Ana (1)", "Ana (3)"))


def test_someone_really_called_like_a_label_gets_a_label_of_their_own() -> None:
    names = Names()
    present = {"a": "Ana", "b": "Ana", "c": "Ana (2)"}
    assert seen(names, present) == ["Ana (1)", "Ana (2)", "Ana (2) (2)"]
    assert names.find("Ana (2) hi", present, present).id == "b"
    assert names.find("Ana (2) (2) hi", present, present) == Lookup("c", "hi")


def test_a_name_finds_its_person_and_the_rest_of_the_line_longest_name_first() -> None:
    names = Names()
    people = {"a": "Mary", "b": "Mary Ann", "c": "Sam"}
    seen(names, people)
    assert names.find("mary ann see you", people, people) == Lookup("b", "see you")
    assert names.find("Mary see you", people, people) == Lookup("a", "see you")
    assert names.find("Sam", people, people) == Lookup("c", "")
    assert names.find("Samantha hi", people, people) == Lookup(None)


def test_a_shared_name_finds_nobody_and_offers_each_label() -> None:
    names = Names()
    people = {"a": "Ana", "b": "Ana"}
    seen(names, people)
    lookup = names.find("Ana ban", people, people)
    assert lookup == Lookup(None, choices=("Ana (1)", "Ana (2)"))
    assert (
        lookup_problem(lookup, "usage") == "More than one person here has that name; type Ana (1) or Ana (2)."
    )
    assert names.find("ana (1) ban", people, people) == Lookup("a", "ban")
    assert names.find("Ana (2)", people, people) == Lookup("b", "")


def test_among_a_few_people_a_shared_name_can_be_unique() -> None:
    names = Names()
    everyone = {"a": "Ana", "b": "Ana"}
    seen(names, everyone)
    # Only Ana (2) is waiting, so "/admit Ana" can mean nobody else.
    assert names.find("Ana", {"b": "Ana"}, everyone) == Lookup("b", "")
    assert lookup_problem(Lookup(None), "Usage: /admit NAME") == "Usage: /admit NAME"
