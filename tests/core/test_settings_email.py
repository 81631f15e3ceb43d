"""Email settings from EMAIL_URL, and the embedded default that writes mail to files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from cardfile.core.settings import email_settings_from_url

pytestmark = pytest.mark.embedded

REPO_ROOT = Path(__file__).resolve().parents[2]

PRINT_EMAIL_SETTINGS = """
import json
from django.conf import settings
names = ["EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD",
         "EMAIL_USE_TLS", "EMAIL_USE_SSL", "EMAIL_FILE_PATH", "DEFAULT_FROM_EMAIL"]
print(json.dumps({name: str(getattr(settings, name, None)) for name in names}))
"""


def _settings_in_a_process(var_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("CARDFILE_") and name not in {"EMAIL_URL", "DATABASE_URL"}
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="cardfile.core.settings", CARDFILE_VAR_DIR=str(var_dir), **env
    )
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", PRINT_EMAIL_SETTINGS],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp://mailer:p%40ss%2Fw0rd@mail.example.com:2525",
            ("mail.example.com", 2525, "mailer", "p@ss/w0rd", False, False),
        ),
        ("smtp://localhost", ("localhost", 25, "", "", False, False)),
        ("smtps://u:p@smtp.example.com", ("smtp.example.com", 465, "u", "p", False, True)),
        ("smtp+tls://u:p@smtp.example.com", ("smtp.example.com", 587, "u", "p", True, False)),
        ("SMTP+TLS://u@smtp.example.com:25/", ("smtp.example.com", 25, "u", "", True, False)),
    ],
)
def test_email_url_becomes_the_smtp_settings(url, expected):
    parsed = email_settings_from_url(url)
    assert parsed["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (
        parsed["EMAIL_HOST"],
        parsed["EMAIL_PORT"],
        parsed["EMAIL_HOST_USER"],
        parsed["EMAIL_HOST_PASSWORD"],
        parsed["EMAIL_USE_TLS"],
        parsed["EMAIL_USE_SSL"],
    ) == expected


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://mail.example.com", "EMAIL_URL has the scheme 'http'"),
        ("smtp://", "EMAIL_URL has no host"),
        ("smtp://mail.example.com:port", "not a number from 1 to 65535"),
        ("smtp://mail.example.com:99999", "not a number from 1 to 65535"),
        ("smtp://mail.example.com?tls=1", "path or query after the host"),
        ("mail.example.com", "EMAIL_URL has the scheme ''"),
    ],
)
def test_a_malformed_email_url_names_the_problem(url, problem):
    with pytest.raises(ImproperlyConfigured) as error:
        email_settings_from_url(url)
    assert problem in str(error.value)


def test_the_settings_read_email_url_and_the_sender(tmp_path):
    result = _settings_in_a_process(
        tmp_path,
        EMAIL_URL="smtp+tls://shop%40example.com:secret@smtp.example.com",
        CARDFILE_FROM_EMAIL="orders@example.com",
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (values["EMAIL_HOST"], values["EMAIL_PORT"]) == ("smtp.example.com", "587")
    assert (values["EMAIL_HOST_USER"], values["EMAIL_HOST_PASSWORD"]) == (
        "shop@example.com",
        "secret",
    )
    assert (values["EMAIL_USE_TLS"], values["EMAIL_USE_SSL"]) == ("True", "False")
    assert values["DEFAULT_FROM_EMAIL"] == "orders@example.com"


def test_without_email_url_mail_goes_to_files_in_var(tmp_path):
    result = _settings_in_a_process(tmp_path)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert values["EMAIL_FILE_PATH"] == str(tmp_path.resolve() / "sent-mail")
    assert values["DEFAULT_FROM_EMAIL"] == "cardfile@localhost"


def test_a_malformed_email_url_stops_the_start(tmp_path):
    result = _settings_in_a_process(tmp_path, EMAIL_URL="smtp//mail.example.com")
    assert result.returncode != 0
    assert "ImproperlyConfigured: EMAIL_URL has the scheme ''" in result.stderr
