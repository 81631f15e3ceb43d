"""Changing the company settings after the first-start setup: checked by field, owners only,
audited; and the installation's currency as the default of preset installs."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from cardfile.core.exceptions import InvalidInput, PermissionDenied, Problems
from cardfile.core.installation import currency_clean, language_clean
from cardfile.core.models import AuditLog, Installation
from cardfile.core.selectors import installation_get
from cardfile.metamodel.access.services import role_create
from cardfile.metamodel.models import Entity
from cardfile.metamodel.schema.field_services import field_create
from cardfile.metamodel.schema.services import entity_create
from cardfile.presets.company import installation_update
from cardfile.presets.models import PresetInstallation
from cardfile.presets.services import preset_install

pytestmark = pytest.mark.embedded

MINI = Path(__file__).resolve().parents[1] / "presets" / "fixtures" / "mini_v1"


@pytest.fixture
def installed(db):
    return Installation.objects.create(
        pk=Installation.SINGLETON_ID,
        company_name="Fix & Go",
        currency="EUR",
        language="en",
        preset="phone_repair",
        set_up_at=timezone.now(),
    )


def _entries():
    return list(AuditLog.objects.filter(object_type="installation").order_by("id"))


# -- what changes ----------------------------------------------------------------------------


def test_owner_changes_name_currency_and_language_with_one_audit_entry(installed, owner):
    # when
    saved = installation_update(
        data={"company_name": "  Fix & Go North ", "currency": "chf", "language": "de"},
        user=owner,
    )

    # then
    stored = installation_get()
    assert saved.pk == stored.pk == Installation.SINGLETON_ID
    assert (stored.company_name, stored.currency, stored.language) == (
        "Fix & Go North",
        "CHF",
        "de",
    )
    # what the wizard recorded and the owner did not touch stays
    assert (stored.preset, stored.set_up_at) == ("phone_repair", installed.set_up_at)
    [entry] = _entries()
    assert entry.action == AuditLog.Action.UPDATE
    assert (entry.user, entry.object_id, entry.object_repr) == (owner, "1", "Fix & Go North")
    assert entry.before == {"company_name": "Fix & Go", "currency": "EUR", "language": "en"}
    assert entry.after == {"company_name": "Fix & Go North", "currency": "CHF", "language": "de"}


def test_only_the_keys_given_change_and_the_log_names_only_them(installed, owner):
    installation_update(data={"language": ""}, user=owner)

    stored = installation_get()
    assert (stored.company_name, stored.currency, stored.language) == ("Fix & Go", "EUR", "")
    [entry] = _entries()
    assert (entry.before, entry.after) == ({"language": "en"}, {"language": ""})


def test_saving_the_same_values_writes_no_audit_entry(installed, owner):
    installation_update(
        data={"company_name": "Fix & Go", "currency": "EUR", "language": "en"}, user=owner
    )
    assert _entries() == []


def test_an_installation_set_up_before_the_wizard_gets_its_row_and_stays_not_set_up(owner):
    assert not Installation.objects.exists()

    installation_update(data={"company_name": "Old Shop", "currency": "USD"}, user=owner)

    stored = Installation.objects.get()
    assert (stored.company_name, stored.currency, stored.language) == ("Old Shop", "USD", "")
    assert not stored.is_set_up


def test_an_owner_by_role_may_change_it(installed, clerk):
    # made by a migration; a flushed SQLite test database has lost it
    group = Group.objects.filter(name="owner", cardfile_role__is_owner=True).first()
    if group is None:
        group = role_create(data={"name": "owner", "label": "Owner", "is_owner": True}).group
    clerk.groups.add(group)

    installation_update(data={"company_name": "Clerk & Co"}, user=clerk)

    assert installation_get().company_name == "Clerk & Co"


# -- what is refused ---------------------------------------------------------------------------


def test_every_problem_is_reported_at_once_by_field_and_nothing_changes(installed, owner):
    with pytest.raises(InvalidInput) as caught:
        installation_update(
            data={"company_name": "   ", "currency": "EURO", "language": "xx", "preset": "x"},
            user=owner,
        )

    errors = caught.value.errors
    assert set(errors) == {"company_name", "currency", "language", "preset"}
    assert errors["company_name"] == ["Give the company's name."]
    assert "EURO is not an ISO 4217 currency code" in errors["currency"][0]
    assert "There is no language xx here" in errors["language"][0]
    assert "en, ru, de, ar" in errors["language"][0]
    assert "Unknown attribute" in errors["preset"][0]
    stored = installation_get()
    assert (stored.company_name, stored.currency, stored.language) == ("Fix & Go", "EUR", "en")
    assert _entries() == []


@pytest.mark.parametrize(
    ("data", "key", "message"),
    [
        ({"currency": ""}, "currency", "Choose a currency"),
        ({"currency": None}, "currency", "Choose a currency"),
        ({"currency": 978}, "currency", "Send a text."),
        ({"company_name": "x" * 201}, "company_name", "At most 200 characters."),
        ({"company_name": 5}, "company_name", "Send a text."),
        ({"language": ["de"]}, "language", "There is no language"),
    ],
)
def test_bad_values_are_refused_under_their_field(installed, owner, data, key, message):
    with pytest.raises(InvalidInput) as caught:
        installation_update(data=data, user=owner)
    assert list(caught.value.errors) == [key]
    assert message in caught.value.errors[key][0]


def test_a_body_that_is_not_an_object_is_refused(installed, owner):
    with pytest.raises(InvalidInput) as caught:
        installation_update(data=["company_name"], user=owner)  # type: ignore[arg-type]
    assert list(caught.value.errors) == ["non_field_errors"]


@pytest.mark.parametrize("who", ["clerk", "anonymous", "nobody"])
def test_anyone_but_an_owner_is_refused_before_anything_is_checked(installed, clerk, who):
    from django.contrib.auth.models import AnonymousUser

    user = {"clerk": clerk, "anonymous": AnonymousUser(), "nobody": None}[who]
    with pytest.raises(PermissionDenied):
        installation_update(data={"company_name": "Taken over", "currency": "??"}, user=user)
    assert installation_get().company_name == "Fix & Go"
    assert _entries() == []


def test_a_deactivated_owner_is_refused(installed, owner):
    owner.is_active = False
    owner.save()
    with pytest.raises(PermissionDenied):
        installation_update(data={"company_name": "Gone"}, user=owner)


# -- the checks the setup shares ---------------------------------------------------------------


def test_the_shared_checks_key_their_errors_as_told():
    problems = Problems()
    assert currency_clean(" usd ", problems) == "USD"
    assert currency_clean("", problems) == ""
    assert currency_clean("ZZZ", problems, "setup_currency") == "ZZZ"
    assert language_clean("ar", problems) == "ar"
    assert language_clean("", problems) == ""
    assert language_clean("klingon", problems, "locale") == "klingon"
    assert set(problems.errors) == {"setup_currency", "locale"}


# -- the currency of preset installs -----------------------------------------------------------


def test_a_preset_installed_without_a_currency_takes_the_installations(schema_db, owner):
    # given: the owner chose Swiss francs; the preset's manifest says EUR
    Installation.objects.create(pk=Installation.SINGLETON_ID, set_up_at=timezone.now())
    installation_update(data={"currency": "CHF"}, user=owner)

    # when
    preset_install(source=MINI)

    # then: money fields that name no currency get the installation's
    order = Entity.objects.get(slug="order")
    assert order.fields.get(slug="prepayment").options["currency"] == "CHF"
    assert PresetInstallation.objects.get(name="mini").currency == "CHF"


def test_a_currency_given_to_the_install_still_wins(schema_db, owner):
    Installation.objects.create(pk=Installation.SINGLETON_ID, currency="CHF")

    preset_install(source=MINI, currency="USD")

    order = Entity.objects.get(slug="order")
    assert order.fields.get(slug="prepayment").options["currency"] == "USD"


def test_without_an_installation_currency_the_preset_keeps_its_own(schema_db):
    Installation.objects.create(pk=Installation.SINGLETON_ID, currency="")

    preset_install(source=MINI)

    order = Entity.objects.get(slug="order")
    assert order.fields.get(slug="prepayment").options["currency"] == "EUR"


def test_changing_the_currency_does_not_relabel_money_already_installed(schema_db, owner):
    # given: a preset installed in EUR
    Installation.objects.create(pk=Installation.SINGLETON_ID, currency="EUR")
    preset_install(source=MINI)

    # when
    installation_update(data={"currency": "GBP"}, user=owner)

    # then: its fields keep the currency they were made with
    order = Entity.objects.get(slug="order")
    assert order.fields.get(slug="prepayment").options["currency"] == "EUR"


def test_a_money_field_made_without_a_currency_takes_the_installations(schema_db, owner):
    # given: the shop works in Swiss francs
    Installation.objects.create(pk=Installation.SINGLETON_ID, currency="CHF")
    entity_create(slug="deposit", label="Deposit")

    # when: the owner adds money fields in the configurator, one naming its currency
    field_create(entity="deposit", slug="amount", label="Amount", type="money")
    field_create(
        entity="deposit", slug="fee", label="Fee", type="money", options={"currency": "USD"}
    )

    # then: the field without one is stored in CHF, so a later change of the shop's currency
    # cannot relabel its amounts; the one naming USD keeps it
    installation_update(data={"currency": "GBP"}, user=owner)
    fields = Entity.objects.get(slug="deposit").fields
    assert fields.get(slug="amount").options["currency"] == "CHF"
    assert fields.get(slug="fee").options["currency"] == "USD"
