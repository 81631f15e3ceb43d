"""First-start setup as a service and as `cardfile setup`: every choice checked first with the
choice named, then the owner, the preset, the branches and the installation's record in one
transaction; never twice."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.db import connection, connections

from cardfile.cli import main
from cardfile.core.models import Branch, Installation
from cardfile.core.selectors import installation_get
from cardfile.metamodel.models import Entity, Field
from cardfile.metamodel.records import record_queryset
from cardfile.presets.models import PresetInstallation
from cardfile.presets.setup import (
    EMPTY_TRADE,
    SetupInvalid,
    SetupRefused,
    setup_run,
    setup_trades,
)

PASSWORD = "Tr1cky-Lantern-42"
SHIPPED = Path(__file__).resolve().parents[2] / "cardfile" / "presets" / "shipped"


def _choices(**changes):
    choices = {
        "trade": EMPTY_TRADE,
        "company": "Fix & Go",
        "currency": "USD",
        "locale": "de",
        "branches": ["Centre", "  ", "North"],
        "owner_username": "boss",
        "owner_email": "boss@example.com",
        "owner_password": PASSWORD,
        "demo_data": False,
    }
    return {**choices, **changes}


@pytest.mark.embedded
def test_empty_trade_makes_the_owner_the_branches_and_the_record(schema_db):
    seen = []

    # when
    installation = setup_run(**_choices(), progress=lambda *a: seen.append(a))

    # then: the installation is recorded as chosen
    stored = installation_get()
    assert stored.pk == installation.pk == Installation.SINGLETON_ID
    assert (stored.company_name, stored.currency, stored.language, stored.preset) == (
        "Fix & Go",
        "USD",
        "de",
        "",
    )
    assert stored.is_set_up
    # the owner signs in with the password, holds the owner role, works in both branches
    owner = get_user_model().objects.get(username="boss")
    assert owner.check_password(PASSWORD)
    assert owner.email == "boss@example.com"
    assert list(owner.groups.values_list("name", flat=True)) == ["owner"]
    assert owner.groups.get().cardfile_role.is_owner
    assert sorted(owner.branches.values_list("name", flat=True)) == ["Centre", "North"]
    assert Branch.objects.count() == 2
    # no preset, no entity
    assert not PresetInstallation.objects.exists()
    assert not Entity.objects.exists()
    # progress only moves forward and ends at 100 of 100
    done = [d for d, _t, _m in seen]
    assert done == sorted(done)
    assert seen[-1][:2] == (100, 100)


@pytest.mark.embedded
def test_a_trade_installs_its_preset_in_the_chosen_language_currency_with_demo_data(schema_db):
    translations = yaml.safe_load(
        (SHIPPED / "phone_repair" / "translations" / "ru.yaml").read_text(encoding="utf-8")
    )
    seen = []

    # when: the owner takes the name of one of the preset's demo accounts
    setup_run(
        **_choices(
            trade="phone_repair",
            currency="usd",
            locale="ru",
            demo_data=True,
            owner_username="manager",
        ),
        progress=lambda *a: seen.append(a),
    )

    # then: the preset is installed as the owner, labels in Russian, money in dollars
    installed = PresetInstallation.objects.get()
    assert installed.name == "phone_repair"
    assert installation_get().preset == "phone_repair"
    assert installation_get().currency == "USD"
    order = Entity.objects.get(slug="order")
    assert order.label == translations["entities"]["order"]["label"]
    money = Field.objects.filter(type="money")
    assert money.exists()
    assert {f.options.get("currency") for f in money} == {"USD"}
    # with its demo records and demo staff; the owner's account stayed the owner's
    assert record_queryset("order").count() > 0
    owner = get_user_model().objects.get(username="manager")
    assert owner.check_password(PASSWORD)
    assert "owner" in owner.groups.values_list("name", flat=True)
    assert get_user_model().objects.count() > 1
    # the preset's own steps moved the bar between the setup's marks
    assert len(seen) > 10
    assert [d for d, _t, _m in seen] == sorted(d for d, _t, _m in seen)


@pytest.mark.embedded
def test_every_bad_choice_is_named_and_nothing_is_written(schema_db):
    with pytest.raises(SetupInvalid) as caught:
        setup_run(
            **_choices(
                trade="bakery",
                company="  ",
                currency="EURO",
                locale="xx",
                branches=["North", "north", "x" * 201],
                owner_username="bad name!",
                owner_email="not-an-address",
                owner_password="123",
                demo_data="yes",
            )
        )
    errors = caught.value.errors
    assert set(errors) == {
        "trade",
        "company",
        "currency",
        "locale",
        "branches",
        "owner_username",
        "owner_email",
        "owner_password",
        "demo_data",
    }
    assert "phone_repair" in errors["trade"][0]  # says what would be accepted
    assert "EURO" in errors["currency"][0]
    assert "en" in errors["locale"][0]
    assert len(errors["branches"]) == 2  # named twice; too long
    assert len(errors["owner_password"]) >= 2  # too short, numeric
    assert not get_user_model().objects.exists()
    assert not Installation.objects.exists()
    assert not Branch.objects.exists()


@pytest.mark.embedded
def test_blank_currency_and_locale_take_the_trades_defaults(schema_db):
    trades = {t.name: t for t in setup_trades()}
    assert {"phone_repair", "car_service", "dry_cleaning", EMPTY_TRADE} <= set(trades)
    assert list(trades)[-1] == EMPTY_TRADE

    setup_run(**_choices(currency=None, locale=None, branches=[]))

    stored = installation_get()
    assert stored.currency == trades[EMPTY_TRADE].currency  # the installation's default
    assert stored.language == ""  # each browser's language
    assert not Branch.objects.exists()


@pytest.mark.embedded
def test_a_second_setup_is_refused_and_changes_nothing(schema_db):
    setup_run(**_choices())
    first = installation_get()

    with pytest.raises(SetupRefused, match="already set up"):
        setup_run(**_choices(owner_username="intruder", company="Other"))

    assert installation_get().company_name == first.company_name
    assert not get_user_model().objects.filter(username="intruder").exists()


@pytest.mark.embedded
def test_an_installation_with_accounts_is_refused_unless_the_command_line_allows(schema_db):
    get_user_model().objects.create_user(username="admin", password=PASSWORD)

    with pytest.raises(SetupRefused, match="in use"):
        setup_run(**_choices())
    assert not Installation.objects.filter(set_up_at__isnull=False).exists()

    setup_run(**_choices(), allow_existing_users=True)
    assert installation_get().is_set_up


@pytest.mark.django_db(transaction=True)
def test_two_setups_at_once_make_one_owner():
    if connection.vendor == "sqlite":
        pytest.skip("PostgreSQL row locks; SQLite runs one writer at a time anyway")
    first_holds_the_lock = threading.Event()
    outcome = {}

    def first_progress(done, total, message):
        if not first_holds_the_lock.is_set():
            first_holds_the_lock.set()
            # the second setup starts now and must wait for this transaction
            time.sleep(0.5)

    def run(name, progress):
        try:
            setup_run(**_choices(owner_username=name), progress=progress)
            outcome[name] = "set up"
        except SetupRefused:
            outcome[name] = "refused"
        finally:
            connections.close_all()

    first = threading.Thread(target=run, args=("first", first_progress))
    first.start()
    assert first_holds_the_lock.wait(10)
    second = threading.Thread(target=run, args=("second", None))
    second.start()
    first.join(30)
    second.join(30)

    assert outcome == {"first": "set up", "second": "refused"}
    assert list(get_user_model().objects.values_list("username", flat=True)) == ["first"]


# -- the command line ----------------------------------------------------------------------------


@pytest.mark.embedded
def test_cardfile_setup_takes_the_password_from_the_environment(schema_db, monkeypatch, capsys):
    monkeypatch.setenv("SHOP_OWNER_PASSWORD", PASSWORD)

    code = main(
        [
            "setup",
            "--trade",
            "empty",
            "--company",
            "Fix & Go",
            "--currency",
            "chf",
            "--locale",
            "de",
            "--branch",
            "Centre",
            "--branch",
            "North",
            "--owner-username",
            "boss",
            "--owner-email",
            "boss@example.com",
            "--owner-password-env",
            "SHOP_OWNER_PASSWORD",
        ]
    )

    out = capsys.readouterr()
    assert code == 0, out.err
    assert "[100%]" in out.out
    assert "boss" in out.out.splitlines()[-1]
    assert PASSWORD not in out.out + out.err
    stored = installation_get()
    assert (stored.company_name, stored.currency, stored.language) == ("Fix & Go", "CHF", "de")
    assert get_user_model().objects.get(username="boss").check_password(PASSWORD)
    assert sorted(Branch.objects.values_list("name", flat=True)) == ["Centre", "North"]


@pytest.mark.embedded
def test_cardfile_setup_names_the_options_that_are_wrong(schema_db, monkeypatch, capsys):
    monkeypatch.delenv("CARDFILE_OWNER_PASSWORD", raising=False)
    args = ["setup", "--company", "Fix", "--owner-username", "boss"]

    # no password in the environment
    assert main(args) == 2
    assert "--owner-password-env" in capsys.readouterr().err

    # bad values: each line names its option
    monkeypatch.setenv("CARDFILE_OWNER_PASSWORD", "12345678")
    assert main([*args, "--trade", "bakery", "--currency", "XXQ", "--locale", "tlh"]) == 2
    err = capsys.readouterr().err
    for option in ("--trade", "--currency", "--locale", "--owner-password-env"):
        assert f"{option}: " in err
    assert not get_user_model().objects.exists()

    # a second run is refused
    monkeypatch.setenv("CARDFILE_OWNER_PASSWORD", PASSWORD)
    assert main(args) == 0
    capsys.readouterr()
    assert main([*args[:-1], "boss2"]) == 2
    assert "already set up" in capsys.readouterr().err
    assert not get_user_model().objects.filter(username="boss2").exists()
