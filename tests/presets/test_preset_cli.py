"""`cardfile preset list|install|export` through the real argument parser."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cardfile.cli import main
from cardfile.metamodel.models import Entity
from cardfile.presets.models import PresetInstallation
from cardfile.presets.selectors import installed_presets, preset_list

pytestmark = pytest.mark.embedded

FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "mini_v1"


def test_list_shows_the_shipped_presets_and_what_is_installed(schema_db, capsys):
    # given
    shipped = preset_list()

    # when
    assert main(["preset", "list"]) == 0

    # then
    out = capsys.readouterr().out
    for preset in shipped:
        assert preset["name"] in out
        assert preset["title"] in out
        assert preset["installed_version"] is None
    assert all(p["version"] for p in shipped)

    # when: a folder preset is installed
    assert main(["preset", "install", str(MINI)]) == 0
    capsys.readouterr()
    assert main(["preset", "list"]) == 0

    # then
    assert "mini" in capsys.readouterr().out
    assert [p.name for p in installed_presets()] == ["mini"]


def test_list_gives_the_installed_version_of_a_shipped_preset(schema_db, tmp_path, monkeypatch):
    # given: a shipped folder holding the mini preset
    from cardfile.presets import loader, selectors

    shipped = tmp_path / "shipped"
    shutil.copytree(MINI, shipped / "mini")
    monkeypatch.setattr(loader, "SHIPPED_DIR", shipped)
    monkeypatch.setattr(selectors, "SHIPPED_DIR", shipped)

    # when: installed by name
    assert main(["preset", "install", "mini"]) == 0

    # then
    (mini,) = preset_list()
    assert (mini["name"], mini["version"], mini["title"]) == ("mini", 1, "Mini shop")
    assert mini["description"] == "A small preset for the engine's tests."
    assert mini["installed_version"] == 1


def test_install_prints_the_steps_and_again_says_nothing_to_do(schema_db, capsys):
    # when
    assert main(["preset", "install", str(MINI), "--demo-data"]) == 0

    # then
    out = capsys.readouterr().out
    assert "create entity order: Order" in out
    assert "create field order.status: status Status" in out
    assert "Installed mini version 1" in out
    assert "Loaded 5 demo records." in out

    # when
    assert main(["preset", "install", str(MINI)]) == 0

    # then
    assert "installed already; nothing to do" in capsys.readouterr().out


def test_dry_run_prints_the_plan_and_changes_nothing(schema_db, capsys):
    # when
    assert main(["preset", "install", str(MINI), "--dry-run", "--locale", "ru"]) == 0

    # then
    out = capsys.readouterr().out
    assert "dry run" in out
    assert "create entity order: Заказ" in out
    assert not Entity.objects.exists()
    assert not PresetInstallation.objects.exists()


def test_a_bad_preset_prints_each_problem_on_stderr_and_exits_2(schema_db, tmp_path, capsys):
    # given
    folder = tmp_path / "bad"
    shutil.copytree(MINI, folder)
    client = folder / "entities" / "client.yaml"
    client.write_text(client.read_text().replace("type: email", "type: texxt"))
    order = folder / "entities" / "order.yaml"
    order.write_text(order.read_text().replace("type: datetime}", "type: when}", 1))

    # when
    code = main(["preset", "install", str(folder)])

    # then
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("entities/client.yaml: fields[2].type: 'texxt' is not one of")
    assert lines[1].startswith("entities/order.yaml: fields[6].type: 'when' is not one of")
    assert not Entity.objects.exists()


def test_an_older_version_is_refused(schema_db, capsys):
    # given
    assert main(["preset", "install", str(FIXTURES / "mini_v2")]) == 0
    capsys.readouterr()

    # when
    code = main(["preset", "install", str(MINI)])

    # then
    assert code == 2
    assert "version 2 is installed" in capsys.readouterr().err


def test_unknown_preset_exits_2(schema_db, capsys):
    assert main(["preset", "install", "no_such_trade"]) == 2
    assert "no_such_trade" in capsys.readouterr().err


def test_export_writes_the_folder(schema_db, tmp_path, capsys):
    # given
    assert main(["preset", "install", str(MINI)]) == 0

    # when
    code = main(["preset", "export", str(tmp_path / "out"), "--name", "mine", "--version", "4"])

    # then
    assert code == 0
    assert "Wrote 6 files" in capsys.readouterr().out
    manifest = (tmp_path / "out" / "preset.yaml").read_text()
    assert "name: mine" in manifest
    assert "version: 4" in manifest
