"""The installed `cardfile` command: `manage` passes through to Django, `demo` serves."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest


@pytest.fixture
def cardfile() -> str:
    """The console script installed next to this interpreter by `pip install -e .`."""
    script = Path(sys.executable).with_name("cardfile")
    if not script.exists():
        pytest.fail(f"{script} is missing: install the project first (make venv)")
    return str(script)


def _embedded_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of the embedded default: no services, state in `var_dir`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("CARDFILE_")
        and name not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(CARDFILE_VAR_DIR=str(var_dir), **extra)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_served(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"exited with {process.returncode} before serving:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5):  # noqa: S310 - http on loopback
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"{url} was not served within 90 s:\n{log.read_text()}")


@pytest.mark.embedded
def test_manage_check_exits_zero(cardfile: str, tmp_path: Path) -> None:
    result = subprocess.run(  # noqa: S603 - fixed argv
        [cardfile, "manage", "check"],
        env=_embedded_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.embedded
def test_manage_reports_an_unknown_command(cardfile: str, tmp_path: Path) -> None:
    result = subprocess.run(  # noqa: S603 - fixed argv
        [cardfile, "manage", "no_such_command"],
        env=_embedded_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert "Unknown command: 'no_such_command'" in result.stderr


@pytest.mark.embedded
def test_demo_creates_an_admin_and_serves_the_embedded_default(
    cardfile: str, tmp_path: Path
) -> None:
    # given a shell that points at a server which does not exist: the demo must not use it
    env = _embedded_env(tmp_path, DATABASE_URL="postgres://nobody@127.0.0.1:1/nothing")
    base = f"http://127.0.0.1:{_free_port()}"
    log = tmp_path / "demo.log"

    # when
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - fixed argv
            [cardfile, "demo", "--port", base.rsplit(":", 1)[1]],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_served(f"{base}/admin/login/", process, log)

        # then the password was shown once and logs in
        admin_lines = re.findall(r"Admin account: admin / (\S+)", log.read_text())
        assert len(admin_lines) == 1, log.read_text()
        password = admin_lines[0]
        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        login_url = f"{base}/admin/login/?next=/admin/"
        with browser.open(login_url, timeout=10) as response:
            form = response.read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
        assert token, form
        credentials = {"csrfmiddlewaretoken": token[1], "username": "admin", "password": password}
        body = urllib.parse.urlencode({**credentials, "next": "/admin/"}).encode()
        with browser.open(login_url, data=body, timeout=10) as response:
            assert response.url == f"{base}/admin/"
        # and the static files of the page are served too (collectstatic + whitenoise)
        with browser.open(f"{base}/static/admin/css/base.css", timeout=10) as response:
            assert response.status == 200
        # and the data went to the SQLite file in the var dir
        assert (tmp_path / "cardfile.sqlite3").exists()
        assert "Ignoring DATABASE_URL" in log.read_text()
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
