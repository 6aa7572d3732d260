"""The deployment files (infra/docker, infra/kubernetes) can't be run here (no Docker engine): check what they
rely on instead: valid YAML, commands and options the CLI really has, documented settings, probe paths the server
serves, a grace period longer than the drain, no torch in the image (the numpy model), a non-root user."""
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from bot.cli import cli
from bot.server import DRAIN
from knowledge.settings import Settings

INFRA = Path(__file__).resolve().parents[1] / "infra"
DOCKERFILE = (INFRA / "docker" / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((INFRA / "docker" / "compose.yaml").read_text())
KUBE = list(yaml.safe_load_all((INFRA / "kubernetes" / "hrbot.yaml").read_text()))
SETTINGS = {env for env, _, _ in Settings.documented()}


def containers():
    for doc in KUBE:
        spec = doc["spec"].get("template", {}).get("spec", {})
        for container in spec.get("containers", []):
            yield doc, spec, container


def commands():
    for name, service in COMPOSE["services"].items():
        if "command" in service:
            yield f"compose:{name}", service["command"]
    for doc, _, container in containers():
        yield f"kube:{doc['metadata']['name']}", container["args"]
    cmd = re.search(r'^CMD (\[.*\])', DOCKERFILE, re.M).group(1)
    yield "Dockerfile CMD", yaml.safe_load(cmd)


@pytest.mark.parametrize("where,args", list(commands()), ids=[w for w, _ in commands()])
def test_every_command_they_run_exists_with_those_options(where, args):
    import click

    ctx = click.Context(cli)
    name = args[0]
    command = cli.get_command(ctx, name)
    assert command is not None, (where, args)
    rest = list(args[1:])
    if hasattr(command, "commands"):  # a group: the subcommand
        command, rest = command.get_command(ctx, rest[0]), rest[1:]
        assert command is not None, (where, args)
    command.make_context(name, rest)  # raises on an unknown option or a bad value


def test_the_settings_they_set_are_real_settings():
    used = set(re.findall(r"\bENV (\w+)=", DOCKERFILE)) | set(re.findall(r"^\s+(\w+)=", DOCKERFILE, re.M))
    used |= set(COMPOSE["x-hrbot"]["environment"])
    for service in COMPOSE["services"].values():
        used |= set(service.get("environment") or {})
    for _, _, container in containers():
        used |= {e["name"] for e in container.get("env", [])}
    hrbot_vars = {v for v in used if v.startswith(("HRBOT_", "SLACK_", "OPENAI_", "DATABASE_"))}
    assert hrbot_vars and hrbot_vars <= SETTINGS, hrbot_vars - SETTINGS


def test_the_process_facing_slack_has_only_the_runtime_role():
    """A leaked bot replica gives the runtime role and the key, never the owner (docs/security.md)."""
    bot = COMPOSE["services"]["bot"]["environment"]
    assert "HRBOT_OWNER_DATABASE_URL" not in bot and "HRBOT_OWNER_DATABASE_URL" not in COMPOSE["x-hrbot"]["environment"]
    assert bot["HRBOT_RUNTIME_ONLY"] == "on"
    for name in ("migrate", "worker"):
        assert "HRBOT_OWNER_DATABASE_URL" in COMPOSE["services"][name]["environment"]
    for doc, _, container in containers():
        secrets = {ref["secretRef"]["name"] for ref in container.get("envFrom", [])}
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        if doc["metadata"]["name"] == "hrbot":
            assert secrets == {"hrbot-runtime"} and env["HRBOT_RUNTIME_ONLY"] == "on"
        else:
            assert secrets == {"hrbot-runtime", "hrbot-owner"}


def test_probes_grace_periods_and_image_hygiene():
    for doc, spec, container in containers():
        if doc["kind"] == "Deployment":
            assert spec["terminationGracePeriodSeconds"] > DRAIN
            assert spec["securityContext"]["runAsNonRoot"] is True
        if "livenessProbe" in container:
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for name in ("bot", "worker"):
        grace = COMPOSE["services"][name]["stop_grace_period"]
        assert int(grace.rstrip("s")) > DRAIN
    project = tomllib.loads((INFRA.parent / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("torch") for d in project["dependencies"])  # torch is the extra .[torch]
    assert "torch" not in DOCKERFILE.replace("no torch", "")  # the image runs the numpy model, 1.1 GB lighter
    assert DOCKERFILE.count("\nFROM ") + DOCKERFILE.startswith("FROM ") >= 2  # multi-stage
    assert re.search(r"^USER (?!root)\w+", DOCKERFILE, re.M) and "HF_HUB_OFFLINE=1" in DOCKERFILE


def test_the_server_answers_the_probe_paths(bot):
    import urllib.request

    for path in ("/healthz", "/readyz"):
        with urllib.request.urlopen(bot.url + path, timeout=5) as response:
            assert response.status == 200
