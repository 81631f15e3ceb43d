"""Upgrading an installed preset: additive changes only; what the owner changed or deleted
stays as the owner left it; the same version again is a no-op; an older one is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cardfile.metamodel.access.services import role_as_dict, role_get, role_update
from cardfile.metamodel.models import Entity, Field, SavedView
from cardfile.metamodel.notify.models import Reminder
from cardfile.metamodel.notify.services import reminder_delete
from cardfile.metamodel.records import record_queryset
from cardfile.metamodel.schema.services import entity_update, field_create, field_update
from cardfile.presets.exceptions import PresetVersionRefused
from cardfile.presets.models import PresetInstallation
from cardfile.presets.services import preset_install

pytestmark = pytest.mark.embedded

FIXTURES = Path(__file__).parent / "fixtures"
V1 = FIXTURES / "mini_v1"
V2 = FIXTURES / "mini_v2"


def _field(entity: str, slug: str) -> Field:
    return Field.objects.get(entity__slug=entity, slug=slug, deleted_at__isnull=True)


def _states(entity: str, slug: str) -> dict[str, str]:
    return {s["value"]: s["label"] for s in _field(entity, slug).options["states"]}


def _steps(result) -> set[tuple[str, str]]:
    return {(s.action, s.target) for s in result.steps}


def test_upgrade_adds_what_is_new_and_keeps_the_owners_changes(schema_db, owner):
    # given: v1 with demo data, then the owner's own changes
    preset_install(source=V1, demo_data=True)
    field_create(entity="order", slug="notes", label="Notes", type="long_text", user=owner)
    entity_update(entity="order", label="Repair", user=owner)
    field_update(entity="client", field="phone", label="Mobile", user=owner)
    states = _field("order", "status").options["states"]
    renamed = [{**s, "label": "Done!"} if s["value"] == "ready" else s for s in states]
    field_update(entity="order", field="status", options={"states": renamed}, user=owner)
    reminder_delete(
        reminder_id=Reminder.objects.get(label="Ready but not collected").pk, user=owner
    )
    role_update(
        name="technician",
        data={"permissions": {"order": {"read": True, "print": True}}},
        user=owner,
    )

    # when
    result = preset_install(source=V2)

    # then: new things are there
    assert result.previous_version == 1
    assert result.version == 2
    steps = _steps(result)
    assert {
        ("create", "entity payment"),
        ("create", "field order.warranty_days"),
        ("create", "field payment.amount"),
        ("create", "role cashier"),
        ("create", "reminder follow_up"),
        ("create", "view client From the web"),
        ("update", "field order.status"),
        ("update", "field order.urgency"),
        ("update", "entity client"),
    } <= steps, steps
    assert _field("order", "warranty_days").default == 30
    assert _states("order", "status") == {
        "new": "New",
        "in_work": "In work",
        "ready": "Done!",  # the owner's name stays
        "issued": "Issued",
        "waiting_parts": "Waiting for parts",
    }
    waiting = _field("order", "status").options["states"][-1]
    assert waiting["required"] == ["parts_ordered_on"]  # a new state needing a new field
    assert _field("order", "parts_ordered_on").type == "date"
    transitions = [(t["from"], t["to"]) for t in _field("order", "status").options["transitions"]]
    assert transitions[-2:] == [("in_work", "waiting_parts"), ("waiting_parts", "in_work")]
    assert [c["value"] for c in _field("order", "urgency").options["choices"]] == [
        "normal",
        "urgent",
        "express",
    ]
    technician = role_as_dict(role_get("technician"))
    assert technician["permissions"]["order"]["update"] is False  # the owner took it away
    assert technician["permissions"]["payment"]["read"] is True  # new in v2
    cashier = role_as_dict(role_get("cashier"))
    assert cashier["permissions"]["payment"]["create"] is True
    assert SavedView.objects.filter(name="From the web", user__isnull=True).exists()
    # the owner's changes stay: labels, their own field, the reminder they deleted
    assert Entity.objects.get(slug="order").label == "Repair"
    assert ("keep", "entity order label") in steps
    assert _field("client", "phone").label == "Mobile"
    assert ("keep", "field client.phone label") in steps
    assert Entity.objects.get(slug="client").label == "Customer"  # not changed here: upgraded
    assert _field("order", "notes").type == "long_text"
    assert sorted(Reminder.objects.values_list("label", flat=True)) == ["Follow up a month later"]
    # a type change is never applied, only reported
    assert _field("client", "discount").type == "percent"
    assert ("skip", "field client.discount") in steps
    # records are untouched
    assert record_queryset("order").count() == 2
    installation = PresetInstallation.objects.get(name="mini")
    assert installation.version == 2
    assert installation.upgraded_at is not None

    # when: v2 again
    again = preset_install(source=V2)

    # then
    assert again.steps == []
    assert again.previous_version == 2
    assert Entity.objects.get(slug="order").label == "Repair"
    assert Reminder.objects.count() == 1

    # when: v1 after v2
    with pytest.raises(PresetVersionRefused):
        preset_install(source=V1)

    # then
    assert PresetInstallation.objects.get(name="mini").version == 2
    assert _field("order", "warranty_days")


def test_upgrade_changes_what_the_owner_left_alone(schema_db):
    # given
    preset_install(source=V1)

    # when
    result = preset_install(source=V2)

    # then: the preset's new labels and the reminder's new offset arrive
    assert Entity.objects.get(slug="order").label == "Job"
    assert _field("client", "phone").label == "Phone number"
    assert Reminder.objects.get(label="Ready but not collected").offset_amount == 5
    assert ("update", "reminder ready_not_collected") in _steps(result)
    assert not [s for s in result.steps if s.action == "keep"]


def test_upgrade_dry_run_keeps_the_installed_version(schema_db):
    # given
    preset_install(source=V1)

    # when
    plan = preset_install(source=V2, dry_run=True)

    # then
    assert ("create", "entity payment") in _steps(plan)
    assert not Entity.objects.filter(slug="payment").exists()
    assert PresetInstallation.objects.get().version == 1
    assert Entity.objects.get(slug="order").label == "Order"
    # and the real upgrade still goes through
    assert ("create", "entity payment") in _steps(preset_install(source=V2))


def test_an_owners_change_survives_later_upgrades(schema_db, owner, tmp_path):
    # given: the owner renamed a field v1 made; v2 did not touch it, v3 renames it
    preset_install(source=V1)
    field_update(entity="order", field="prepayment", label="Deposit", user=owner)
    preset_install(source=V2)
    v3 = tmp_path / "mini_v3"
    shutil.copytree(V2, v3)
    manifest = v3 / "preset.yaml"
    manifest.write_text(manifest.read_text().replace("version: 2", "version: 3"))
    order = v3 / "entities" / "order.yaml"
    order.write_text(
        order.read_text()
        .replace("label: Prepayment,", "label: Advance,")
        .replace("label: Issued at,", "label: Handed over at,")
    )

    # when
    result = preset_install(source=v3)

    # then: the owner's name stays, the untouched one follows the preset
    assert _field("order", "prepayment").label == "Deposit"
    assert ("keep", "field order.prepayment label") in _steps(result)
    assert _field("order", "issued_at").label == "Handed over at"
