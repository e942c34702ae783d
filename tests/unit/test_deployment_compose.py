"""`deploy/compose.yaml` runs the stack the tests run: the same nginx and coturn templates, Circle
settings that exist, and every name it relies on (files, variables, services, ports, volumes)
defined somewhere. Docker itself is not needed: the file is read as Compose reads it, its
variables filled in from `deploy/.env.example` as `docker compose` fills them from `.env`."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from server import settings as circle_settings
from tests.support import nginx, turn

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
INSTANCES = ("circle-a", "circle-b")

# ${NAME}, ${NAME:-default}, ${NAME:?message}, as Compose interpolates them.
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}")


class Unset(Exception):
    pass


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def filled_in() -> dict[str, str]:
    """The example with each secret given a value, as an operator's .env has."""
    return {name: value or f"{name.lower()}-0123456789abcdef" for name, value in env_example().items()}


def interpolate(value: Any, env: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        name, kind, argument = match.groups()
        given = env.get(name, "")
        if kind == ":-" and not given:
            return argument
        if kind == ":?" and not given:
            raise Unset(f"{name}: {argument}")
        return given

    return VARIABLE.sub(one, value)


def compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    return dict(interpolate(yaml.safe_load(COMPOSE.read_text()), filled_in() if env is None else env))


def uses() -> list[tuple[str, str | None, str]]:
    """Each variable use in the file: (name, ":-" or ":?" or None, default or message)."""
    return [(name, kind, argument) for name, kind, argument in VARIABLE.findall(COMPOSE.read_text())]


def services() -> dict[str, Any]:
    return dict(compose()["services"])


def environment(service: str) -> dict[str, str]:
    return {key: str(value) for key, value in services()[service]["environment"].items()}


def mounts(service: str) -> dict[str, str]:
    """Target in the container -> source, for each volume of a service."""
    found = {}
    for volume in services()[service].get("volumes", []):
        source, target = volume.split(":")[:2]
        found[target] = source
    return found


def test_every_variable_compose_reads_is_in_the_env_example_and_every_one_there_is_read() -> None:
    read = {name for name, _, _ in uses()}
    assert read == set(env_example())


def test_a_variable_with_a_default_has_it_everywhere_and_the_example_shows_it() -> None:
    example = env_example()
    defaults: dict[str, set[str]] = {}
    for name, kind, argument in uses():
        defaults.setdefault(name, set())
        if kind == ":-":
            defaults[name].add(argument)
    for name, found in defaults.items():
        if found:
            assert len(found) == 1 and all(k == ":-" for n, k, _ in uses() if n == name), name
            assert example[name] == next(iter(found)), f"{name}: .env.example and compose.yaml differ"


def test_the_example_holds_no_secret_and_compose_refuses_to_start_without_them() -> None:
    secrets = [name for name, value in env_example().items() if not value]
    assert {"CIRCLE_ADMIN_TOKEN", "REDIS_PASSWORD", "TURN_SECRET"} <= set(secrets)
    for name in secrets:
        assert any(n == name and kind == ":?" for n, kind, _ in uses()), f"{name} is not required"
        with pytest.raises(Unset, match=name):
            compose({**filled_in(), name: ""})


def test_files_the_compose_file_names_exist() -> None:
    for name in INSTANCES:
        build = services()[name]["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()
        assert services()[name]["image"] == "circle"
    for service in services():
        for source in mounts(service).values():
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{service} mounts {source}, which is not there"
    assert mounts("nginx")["/etc/nginx/templates/default.conf.template"] == "./nginx.conf.template"
    assert (DEPLOY / "nginx.conf.template").resolve() == nginx.TEMPLATE
    assert mounts("coturn-config")["/templates/turnserver.conf"] == "./turnserver.conf"
    assert (DEPLOY / "turnserver.conf").resolve() == turn.TEMPLATE


def test_services_and_volumes_it_refers_to_are_defined() -> None:
    everything = compose()
    for name, service in everything["services"].items():
        for other in service.get("depends_on", {}):
            assert other in everything["services"], f"{name} depends on unknown {other}"
        for source in mounts(name).values():
            if not source.startswith(("/", ".")):
                assert source in everything["volumes"], f"{name} mounts unknown volume {source}"


def test_each_instance_gets_settings_circle_has_and_the_same_cluster_wide_ones() -> None:
    names = set(circle_settings.setting_names())
    loaded = {}
    for instance in INSTANCES:
        env = environment(instance)
        for key in env:
            assert key.startswith("CIRCLE_") and key.removeprefix("CIRCLE_").lower() in names, key
        loaded[instance] = circle_settings.load(env)
    a, b = (loaded[name] for name in INSTANCES)
    assert (a.instance_id, b.instance_id) == INSTANCES
    for shared in ("public_url", "redis_url", "admin_token", "turn_secret", "turn_urls", "port"):
        assert getattr(a, shared) == getattr(b, shared), shared
    assert a.public_url == f"https://{filled_in()['SERVER_NAME']}"
    assert len(a.turn_urls) == 3 and a.turn_secret == filled_in()["TURN_SECRET"]


def test_each_instance_is_checked_on_readyz_at_its_port_and_given_time_to_hand_over() -> None:
    for instance in INSTANCES:
        service = services()[instance]
        port = circle_settings.load(environment(instance)).port
        assert f"'http://127.0.0.1:{port}/readyz'" in " ".join(service["healthcheck"]["test"])
        grace = re.fullmatch(r"(\d+)s", service["stop_grace_period"])
        assert grace and int(grace.group(1)) > circle_settings.Settings().shutdown_grace_s
        assert services()["nginx"]["depends_on"][instance] == {"condition": "service_healthy"}


def test_nginx_fills_in_exactly_the_templates_placeholders_for_both_instances() -> None:
    env = environment("nginx")
    assert set(env) == set(nginx.template_placeholders())
    nginx.render_template(env)
    instance = circle_settings.load(environment(INSTANCES[0]))
    ports = [f"{name}:{instance.port}" for name in INSTANCES]
    expected = " ".join(f"server {port} {nginx.UPSTREAM_PARAMETERS};" for port in ports)
    assert env["CIRCLE_UPSTREAMS"] == expected
    assert env["PUBLIC_URL"] == instance.public_url
    assert env["SERVER_NAME"] == urlsplit(instance.public_url).hostname
    published = {port.split(":")[1] for port in services()["nginx"]["ports"]}
    assert published == {env["HTTP_LISTEN"], env["HTTPS_LISTEN"]} == {"80", "443"}
    mounted = mounts("nginx")
    for path in (env["TLS_CERT"], env["TLS_KEY"]):
        assert any(path.startswith(f"{target}/") for target in mounted), path
    assert "/var/www/acme" in mounted and "root /var/www/acme;" in nginx.TEMPLATE.read_text()


def test_coturn_is_configured_from_the_template_with_what_circle_hands_out() -> None:
    env = environment("coturn-config")
    assert set(env) == set(turn.template_placeholders())
    script = services()["coturn-config"]["entrypoint"][-1]
    written = set(re.findall(r"/config/(\S+?);?(?=\s|$)", script))
    assert "envsubst < /templates/turnserver.conf > /config/turnserver.conf" in script
    coturn = services()["coturn"]
    assert mounts("coturn") == {"/etc/coturn": "coturn-config"} and mounts("coturn-config")["/config"]
    command = shlex.join(coturn["command"])
    assert command == "-c /etc/coturn/turnserver.conf" and "turnserver.conf" in written
    for path in (env["TURN_CERT"], env["TURN_PKEY"]):
        assert path.startswith("/etc/coturn/") and path.removeprefix("/etc/coturn/") in written
    assert coturn["network_mode"] == "host"

    circle = circle_settings.load(environment(INSTANCES[0]))
    assert circle.turn_secret == env["TURN_SECRET"]
    ports = {
        urlsplit(url.replace("turn:", "turn://").replace("turns:", "turns://")).port
        for url in circle.turn_urls
    }
    assert ports == {int(env["TURN_PORT"]), int(env["TURNS_PORT"])}


def test_redis_keeps_room_definitions_on_a_volume_and_asks_for_the_instances_password() -> None:
    redis = services()["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert mounts("redis")["/data"] in compose()["volumes"]
    url = urlsplit(str(circle_settings.load(environment(INSTANCES[0])).redis_url))
    assert url.hostname == "redis" and url.password == command[command.index("--requirepass") + 1]
