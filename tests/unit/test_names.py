"""Two people with the same name are told apart the same way on every page."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rooms.model import Media, Participant, Role
from rooms.names import display_names


def person(pid: str, name: str, joined_at: int) -> Participant:
    return Participant(pid, name, Role.MEMBER, Media.AV, joined_at, "i1", f"sid-{pid}")


def test_the_first_to_join_keeps_the_name_and_later_ones_are_numbered() -> None:
    people = [person("b", "Ana", 2), person("a", "Ana", 1), person("c", "Sam", 3), person("d", "Ana", 4)]
    assert display_names(people) == {"a": "Ana", "b": "Ana (2)", "c": "Sam", "d": "Ana (3)"}


def test_names_differing_only_in_case_or_spaces_are_the_same_name_to_a_reader() -> None:
    people = [person("a", "ana", 1), person("b", " ANA ", 2)]
    assert display_names(people) == {"a": "ana", "b": "ANA (2)"}


def test_a_label_never_takes_a_name_someone_already_has() -> None:
    people = [person("a", "Ana", 1), person("b", "Ana", 2), person("c", "Ana (2)", 3)]
    assert display_names(people) == {"a": "Ana", "b": "Ana (3)", "c": "Ana (2)"}


def test_labels_follow_join_order_not_the_order_given() -> None:
    people = [person("a", "Ana", 1), person("b", "Ana", 2)]
    assert display_names(people) == display_names(reversed(people))


names = st.sampled_from(["Ana", "ana", "Ana (2)", "Ana (3)", "Sam", "Sam (2)", " Sam"])


@given(st.lists(st.tuples(names, st.integers(0, 5)), max_size=12))
def test_every_label_is_distinct_and_starts_with_the_persons_own_name(entries: list[tuple[str, int]]) -> None:
    people = [person(f"p{n}", name, at) for n, (name, at) in enumerate(entries)]
    labels = display_names(people)
    assert set(labels) == {p.id for p in people}
    assert len({label.casefold() for label in labels.values()}) == len(people)
    for p in people:
        assert labels[p.id].startswith(p.name.strip())
