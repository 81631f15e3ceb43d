"""`manage.py check --deploy` is clean with production settings taken from the environment."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _production_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a production install; CARDFILE_TLS stays unset so its default applies."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("CARDFILE_")
        and name not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/cardfile",
        CARDFILE_SECRET_KEY=secrets.token_urlsafe(50),
        CARDFILE_ALLOWED_HOSTS="shop.example.com",
        CARDFILE_VAR_DIR=str(var_dir),
    )
    env.update(overrides)
    return env


def _check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    # when
    result = _check_deploy(_production_env(tmp_path))

    # then
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_when_debug_is_left_on(tmp_path: Path) -> None:
    # given a production install with debug switched on by mistake
    env = _production_env(tmp_path, CARDFILE_DEBUG="1")

    # when
    result = _check_deploy(env)

    # then the check above is one that can fail
    assert result.returncode != 0
    assert "security.W018" in result.stderr
