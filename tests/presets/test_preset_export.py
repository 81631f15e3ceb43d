"""Exporting the running configuration: deterministic files in the preset format, and the round
trip export -> install into an empty database -> export again gives the same files.

The round trip needs two empty databases, so it runs the real CLI in subprocesses on fresh
SQLite files (one migrated database, copied)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cardfile.metamodel.access.services import role_create
from cardfile.metamodel.notify.services import rule_create
from cardfile.presets.loader import SHIPPED_DIR
from cardfile.presets.services import preset_export, preset_install, preset_load

pytestmark = pytest.mark.embedded

FIXTURES = Path(__file__).parent / "fixtures"
SOURCES = [
    *(str(p.parent) for p in sorted(SHIPPED_DIR.glob("*/preset.yaml"))),
    str(FIXTURES / "mini_v1"),
]


def _files(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_export_writes_the_configuration_in_the_preset_format(schema_db, tmp_path):
    # given: the mini preset, plus a role and a rule made here
    preset_install(source=FIXTURES / "mini_v1")
    role_create(data={"name": "viewer", "permissions": {"client": {"read": True}}})
    rule_create(
        data={
            "entity": "client",
            "event": "created",
            "recipients": [{"role": "viewer"}],
            "channels": ["in_app"],
            "template": "A new client.",
            "label": "New client!",
        }
    )

    # when
    written = preset_export(directory=tmp_path / "out", name="shop", title="My shop", version=3)

    # then: a preset that loads, with what the database holds
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in written) == [
        "entities/client.yaml",
        "entities/order.yaml",
        "entities/order_line.yaml",
        "notifications.yaml",
        "preset.yaml",
        "roles.yaml",
    ]
    exported = preset_load(tmp_path / "out")
    assert (exported.name, exported.title, exported.version) == ("shop", "My shop", 3)
    assert [e.slug for e in exported.entities] == ["client", "order_line", "order"]
    order = exported.entity("order")
    assert [f["slug"] for f in order.fields][:4] == ["number", "balance_due", "client", "status"]
    assert order.data["layout"]["tabs"][0]["sections"][0]["columns"][1] == [
        "urgency",
        {"field": "ready_at", "visible_if": 'status = "ready"'},
    ]
    assert order.data["views"][0]["config"]["kanban_field"] == "status"
    assert "result" not in order.field("total")["options"]
    assert [r["name"] for r in exported.roles] == ["manager", "technician", "viewer"]
    assert [r["key"] for r in exported.reminders] == ["ready_not_collected"]
    assert sorted(r["key"] for r in exported.rules) == ["client_new_client", "client_ready"]

    # when: exported again
    again = preset_export(directory=tmp_path / "again", name="shop", title="My shop", version=3)

    # then: the same bytes
    assert len(again) == len(written)
    assert _files(tmp_path / "again") == _files(tmp_path / "out")


def test_export_refuses_a_bad_name(schema_db, tmp_path):
    from cardfile.presets.exceptions import PresetError

    with pytest.raises(PresetError):
        preset_export(directory=tmp_path, name="Bad Name")


# -- the round trip through the real CLI on empty SQLite databases -----------------------------


def _cli() -> list[str]:
    script = Path(sys.executable).parent / "cardfile"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cardfile.cli"]


def _run(var_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["CARDFILE_VAR_DIR"] = str(var_dir)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(  # noqa: S603  (our own CLI, arguments from the test)
        [*_cli(), *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done


@pytest.fixture(scope="module")
def empty_database(tmp_path_factory) -> Path:
    """A migrated, empty SQLite var dir to copy for each database."""
    folder = tmp_path_factory.mktemp("empty")
    _run(folder, "manage", "migrate", "--no-input")
    return folder


def _fresh(empty: Path, target: Path) -> Path:
    shutil.copytree(empty, target)
    return target


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: Path(s).name)
def test_export_install_export_gives_the_same_files(empty_database, tmp_path, source):
    # given: the preset installed into an empty database, and exported
    first = _fresh(empty_database, tmp_path / "db1")
    _run(first, "preset", "install", source)
    _run(first, "preset", "export", str(tmp_path / "A"), "--name", "roundtrip")

    # when: that export installed into another empty database, and exported again
    second = _fresh(empty_database, tmp_path / "db2")
    _run(second, "preset", "install", str(tmp_path / "A"))
    _run(second, "preset", "export", str(tmp_path / "B"), "--name", "roundtrip")

    # then
    exported, again = _files(tmp_path / "A"), _files(tmp_path / "B")
    assert sorted(exported) == sorted(again)
    for name in exported:
        assert exported[name] == again[name], name
    # and the export holds the preset's configuration
    original = preset_load(source)
    manifest = yaml.safe_load(exported["preset.yaml"])
    assert manifest["entities"] == [e.slug for e in original.entities]
    roles = {r["name"] for r in yaml.safe_load(exported["roles.yaml"])["roles"]}
    assert roles == {r["name"] for r in original.roles}
    notifications = yaml.safe_load(exported["notifications.yaml"])
    assert {r["key"] for r in notifications["reminders"]} == {r["key"] for r in original.reminders}
    assert {r["key"] for r in notifications["rules"]} == {r["key"] for r in original.rules}
