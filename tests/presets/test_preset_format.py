"""Reading presets: the format's JSON Schema and the checks across files, every problem named
by file, path and message."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cardfile.presets.exceptions import PresetNotFound
from cardfile.presets.services import PresetInvalid, preset_load

pytestmark = pytest.mark.embedded

FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "mini_v1"


@pytest.fixture
def preset(tmp_path: Path) -> Path:
    """A copy of the mini preset to break."""
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    return folder


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def _problems(folder: Path) -> list[str]:
    with pytest.raises(PresetInvalid) as caught:
        preset_load(folder)
    return [str(p) for p in caught.value.errors]


def test_the_fixture_presets_load():
    # when
    v1 = preset_load(MINI)
    v2 = preset_load(FIXTURES / "mini_v2")

    # then
    assert (v1.name, v1.version, v1.title, v1.locale, v1.currency) == (
        "mini",
        1,
        "Mini shop",
        "en",
        "EUR",
    )
    assert [e.slug for e in v1.entities] == ["client", "order_line", "order"]
    assert [r["name"] for r in v1.roles] == ["manager", "technician"]
    assert [r["key"] for r in v1.reminders] == ["ready_not_collected"]
    assert set(v1.translations) == {"ru"}
    assert [d.file for d in v1.demo_files] == ["demo/10-client.yaml", "demo/20-order.yaml"]
    assert [u["username"] for u in v1.demo_users] == ["tech1", "boss1"]
    assert v2.version == 2
    assert v2.entity("payment") is not None


def test_schema_problems_are_all_reported_with_file_and_path(preset):
    # given: two mistakes in one file, one in another
    _replace(preset / "entities" / "client.yaml", "type: email", "type: texxt")
    _replace(preset / "entities" / "client.yaml", "required: true", "required: yes please")
    _replace(preset / "roles.yaml", "client: {read: true, create: true", "client: {read: 1")

    # when
    problems = _problems(preset)

    # then
    assert len(problems) == 3, problems
    assert problems[0].startswith("entities/client.yaml: fields[0].required: 'yes please' is not")
    assert problems[1].startswith("entities/client.yaml: fields[2].type: 'texxt' is not one of [")
    assert problems[2] == "roles.yaml: roles[0].permissions.client.read: 1 is not of type 'boolean'"


def test_yaml_syntax_errors_name_line_and_column(preset):
    # given
    path = preset / "notifications.yaml"
    path.write_text(path.read_text() + "rules: [unclosed\n", encoding="utf-8")

    # when
    problems = _problems(preset)

    # then
    assert len(problems) == 1
    assert problems[0].startswith("notifications.yaml: line ")
    assert "column" in problems[0]
    assert "Not valid YAML" in problems[0]


def test_manifest_problems(preset):
    # given
    _replace(preset / "preset.yaml", "version: 1", "version: first")

    # then
    assert _problems(preset) == ["preset.yaml: version: 'first' is not of type 'integer'"]


def test_entity_listed_without_a_file_and_file_not_listed(preset):
    # given
    _replace(
        preset / "preset.yaml", "[client, order_line, order]", "[client, order_line, order, car]"
    )
    (preset / "entities" / "stray.yaml").write_text("slug: stray\nlabel: S\nfields: []\n")

    # when
    problems = _problems(preset)

    # then
    assert "preset.yaml: entities[3]: Entity car is listed but entities/car.yaml is missing." in (
        problems
    )
    assert any(p.startswith("entities/stray.yaml: This entity is not listed") for p in problems)


def test_cross_file_references_are_checked(preset):
    # given: a link to an entity the preset lacks, a layout and a view naming unknown fields,
    # a role naming an unknown field, a reminder on an unknown field
    _replace(
        preset / "entities" / "order.yaml",
        "options: {target: client}",
        "options: {target: customer}",
    )
    _replace(preset / "entities" / "order.yaml", "[[lines]]", "[[lines, gadget]]")
    _replace(
        preset / "entities" / "client.yaml",
        "columns: [name, phone, source]",
        "columns: [name, fax]",
    )
    _replace(preset / "roles.yaml", "{discount: hidden}", "{salary: hidden}")
    _replace(preset / "notifications.yaml", "field: ready_at", "field: ready_on")

    # when
    problems = _problems(preset)

    # then
    assert set(problems) >= {
        "entities/order.yaml: fields[2].options.target: "
        "'customer' is not an entity of this preset.",
        "entities/order.yaml: layout.tabs[1].sections[0].columns[0][1]: "
        "Entity order has no field gadget.",
        "entities/client.yaml: views[0].config.columns[1]: Entity client has no field fax.",
        "roles.yaml: roles[1].permissions.client.fields.salary: Entity client has no field salary.",
        "notifications.yaml: reminders[0].field: Entity order has no field ready_on.",
    }, problems


def test_demo_references_must_resolve_to_earlier_files(preset):
    # given
    _replace(preset / "demo" / "20-order.yaml", '"@ref:c2"', '"@ref:c99"')
    _replace(preset / "demo" / "20-order.yaml", '"@user:tech1"', '"@user:nobody"')
    _replace(preset / "demo" / "10-client.yaml", "name: Bob Jones", "name: Bob Jones, age: 3")

    # when
    problems = _problems(preset)

    # then
    assert set(problems) == {
        "demo/10-client.yaml: records[2].age: Entity client has no field age.",
        "demo/20-order.yaml: records[1].client: @ref:c99 names no demo record of an earlier "
        "file (records are loaded file by file, in name order).",
        "demo/20-order.yaml: records[0].lines[0].worker: @user:nobody names no user of "
        "demo/users.yaml.",
    }


def test_an_unknown_source_is_not_found(tmp_path):
    with pytest.raises(PresetNotFound):
        preset_load("no_such_preset")
    with pytest.raises(PresetNotFound):
        preset_load(tmp_path)


def test_problem_text_reads_file_path_message(preset):
    # given
    _replace(preset / "entities" / "order.yaml", "type: money}", "type: monee}")

    # when
    with pytest.raises(PresetInvalid) as caught:
        preset_load(preset)

    # then
    problem = caught.value.errors[0]
    assert (problem.file, problem.path) == ("entities/order.yaml", "fields[8].type")
    assert str(caught.value).startswith("entities/order.yaml: fields[8].type: 'monee' is not one")
