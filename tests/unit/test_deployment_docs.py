"""The deployment guide shows the repository's own deployment files, as they are: a block marked
`<!-- include PATH -->` must hold PATH's text exactly, so what an operator copies from the guide is
what the tests run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import nginx
from tests.support.nginx import Nginx, SelfSignedCertificate
from tests.support.turn import TEMPLATE, TurnServer, template_placeholders

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "deployment.md"
INCLUDED = re.compile(r"<!-- include (\S+) -->\n```[\w-]*\n(.*?)^```$", re.S | re.M)


def test_every_file_the_deployment_guide_includes_is_shown_as_it_is() -> None:
    blocks = INCLUDED.findall(GUIDE.read_text())
    for template in (TEMPLATE, nginx.TEMPLATE):
        assert template.relative_to(ROOT).as_posix() in [path for path, _ in blocks]
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


def test_the_deployment_guide_starts_with_docker_compose_up() -> None:
    first_block = re.search(r"^```sh\n(.*?)^```$", GUIDE.read_text(), re.S | re.M)
    assert first_block and "docker compose up" in first_block.group(1)


def test_the_deployment_guide_explains_every_value_the_nginx_template_asks_for() -> None:
    guide = GUIDE.read_text()
    placeholders = nginx.template_placeholders()
    assert {"CIRCLE_UPSTREAMS", "TLS_CERT", "PUBLIC_URL"} <= set(placeholders)
    for name in placeholders:
        assert f"| `{name}`" in guide or f", `{name}`" in guide, f"{name} is not in the guide's table"
    assert f"8080 {nginx.UPSTREAM_PARAMETERS}; server" in guide, (
        "the guide's upstreams differ from the tests'"
    )


def _guides_envsubst_list() -> str:
    found = re.findall(r"^envsubst '([^']*)' \\\n\s*< deploy/nginx\.conf\.template", GUIDE.read_text(), re.M)
    assert len(found) == 1, "the guide shows one envsubst command for the nginx template"
    return found[0]


def test_the_guides_envsubst_names_exactly_the_nginx_templates_placeholders() -> None:
    names = re.findall(r"\$\{(\w+)\}", _guides_envsubst_list())
    assert sorted(names) == sorted(nginx.template_placeholders())


@pytest.mark.skipif(shutil.which("envsubst") is None, reason="envsubst (gettext-base) is not installed")
def test_the_guides_envsubst_fills_in_the_template_as_the_tests_do_and_leaves_nginxs_variables(
    tmp_path: Path,
) -> None:
    values = Nginx(tmp_path, [8081, 8082], SelfSignedCertificate.make(tmp_path)).template_values()
    # Variables of the same names as nginx's own, set in the shell, must not leak into the file.
    shell = {"PATH": os.environ["PATH"], "host": "leak", "request_uri": "leak", **values}
    made = subprocess.run(
        ["envsubst", _guides_envsubst_list()],
        input=nginx.TEMPLATE.read_text(),
        env=shell,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert made == nginx.render_template(values)
    assert "leak" not in made and "$host" in made and "${" not in made


def test_the_tests_nginx_fills_in_exactly_what_the_template_asks_for(tmp_path: Path) -> None:
    values = Nginx(tmp_path, [8081], SelfSignedCertificate.make(tmp_path)).template_values()
    assert set(values) == set(nginx.template_placeholders())
