"""The README documents every setting and every command, and nothing that does not exist."""
import re
from pathlib import Path

from bot.cli import cli
from knowledge.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_documented_and_no_stale_ones():
    table = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", table, flags=re.M))
    declared = {env for env, _, _ in Settings.documented()}
    assert documented == declared


def test_every_command_is_in_the_readme():
    def names(group, prefix=""):
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                yield from names(command, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}"

    for name in names(cli):
        assert f"hrbot {name}" in README, name


def test_settings_read_from_env_and_dotenv(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("HRBOT_SEARCH_EF=64\nHRBOT_MAX_UPLOAD_MB=2\n")
    settings = Settings.from_env(environ={"HRBOT_MAX_UPLOAD_MB": "3", "HRBOT_DATA_DIR": "/srv/hr"},
                                 dotenv_path=str(env_file))
    assert settings.search_ef == 64          # from .env
    assert settings.max_upload_bytes == 3 * 1024 * 1024   # the environment wins over .env
    assert settings.data_dir == "/srv/hr"


def test_a_bad_number_is_a_clear_error():
    import pytest

    from knowledge.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="HRBOT_SEARCH_EF must be a number"):
        Settings.from_env(environ={"HRBOT_SEARCH_EF": "lots"}, dotenv_path=None)
