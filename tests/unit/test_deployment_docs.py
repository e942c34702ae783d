"""The deployment guide shows the repository's own deployment files, as they are: a block marked
`<!-- include PATH -->` must hold PATH's text exactly, so what an operator copies from the guide is
what the tests run."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.turn import TEMPLATE, TurnServer, template_placeholders

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "deployment.md"
INCLUDED = re.compile(r"<!-- include (\S+) -->\n```[\w-]*\n(.*?)^```$", re.S | re.M)


def test_every_file_the_deployment_guide_includes_is_shown_as_it_is() -> None:
    blocks = INCLUDED.findall(GUIDE.read_text())
    assert TEMPLATE.relative_to(ROOT).as_posix() in [path for path, _ in blocks]
    for path, shown in blocks:
        assert shown == (ROOT / path).read_text(), f"docs/deployment.md shows an old {path}: copy it in again"


def test_the_deployment_guide_explains_every_value_the_coturn_template_asks_for() -> None:
    guide = GUIDE.read_text()
    placeholders = template_placeholders()
    assert "TURN_SECRET" in placeholders
    for name in placeholders:
        assert f"| `{name}`" in guide or f", `{name}`" in guide, f"{name} is not in the guide's table"


def test_the_tests_coturn_fills_in_exactly_what_the_template_asks_for(tmp_path: Path) -> None:
    assert set(TurnServer(tmp_path).template_values()) == set(template_placeholders())
