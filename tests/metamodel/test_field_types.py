"""Field types: validation, serialization, text round trips and locale formatting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from cardfile.metamodel.fields import FieldValueError, get_field_type
from cardfile.metamodel.models import Field

pytestmark = [pytest.mark.embedded]


def make(type_: str, **options) -> Field:
    ftype = get_field_type(type_)
    return Field(
        pk=7, entity_id=3, slug="f", label="F", type=type_, options=ftype.clean_options(options)
    )


def internal(type_: str, value, **options):
    f = make(type_, **options)
    return get_field_type(type_).to_internal(f, value)


def roundtrip(type_: str, value, **options):
    f = make(type_, **options)
    ftype = get_field_type(type_)
    return ftype.serialize(f, ftype.to_internal(f, value))


@pytest.mark.parametrize("type_", ["text", "integer", "decimal", "money", "date", "choice"])
@pytest.mark.parametrize("blank", [None, ""])
def test_blank_is_none_for_every_type(type_, blank):
    options = {"choices": ["a"]} if type_ == "choice" else {}
    assert internal(type_, blank, **options) is None


def test_text_length_and_single_line():
    assert internal("text", "Ivan", max_length=4) == "Ivan"
    with pytest.raises(FieldValueError, match="At most 4 characters"):
        internal("text", "Ivanov", max_length=4)
    with pytest.raises(FieldValueError, match="single line"):
        internal("text", "a\nb")
    assert internal("long_text", "a\nb") == "a\nb"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(12, 12), ("12", 12), (" -3 ", -3), (Decimal("4.0"), 4), ("1 000", 1000)],
)
def test_integer_accepts_whole_numbers(value, expected):
    assert internal("integer", value) == expected


@pytest.mark.parametrize("value", ["12.5", "abc", True, "NaN", 2**63])
def test_integer_refuses_what_is_not_a_whole_number(value):
    with pytest.raises(FieldValueError):
        internal("integer", value)


def test_integer_range():
    with pytest.raises(FieldValueError, match="at least 1"):
        internal("integer", 0, min_value=1)
    with pytest.raises(FieldValueError, match="at most 10"):
        internal("integer", 11, max_value=10)


def test_decimal_is_exact_and_checks_places():
    assert roundtrip("decimal", 0.1) == "0.10"  # the typed 0.1, not the binary float
    assert roundtrip("decimal", "12,5") == "12.50"
    assert roundtrip("decimal", "1.2345", decimal_places=4) == "1.2345"
    with pytest.raises(FieldValueError, match="2 digits after the decimal point"):
        internal("decimal", "1.234")
    with pytest.raises(FieldValueError, match="Too large"):
        internal("decimal", "1" * 19)


def test_percent_is_in_points():
    assert roundtrip("percent", "15%") == "15.00"
    assert make("percent").options["decimal_places"] == 2


def test_money_keeps_its_currency_and_minor_units(settings):
    settings.CARDFILE_CURRENCY = "EUR"
    assert roundtrip("money", "12.5") == {"amount": "12.50", "currency": "EUR"}
    assert roundtrip("money", {"amount": "1200", "currency": "jpy"}) == {
        "amount": "1200",
        "currency": "JPY",
    }
    assert roundtrip("money", "3.5 USD") == {"amount": "3.50", "currency": "USD"}
    assert roundtrip("money", 7, currency="GBP") == {"amount": "7.00", "currency": "GBP"}
    with pytest.raises(FieldValueError, match="Unknown currency"):
        internal("money", {"amount": "1", "currency": "ABC"})
    with pytest.raises(FieldValueError, match="0 digits after"):
        internal("money", {"amount": "1.5", "currency": "JPY"})
    with pytest.raises(FieldValueError, match="Unexpected keys"):
        internal("money", {"amount": "1", "cur": "EUR"})


def test_boolean():
    assert internal("boolean", "yes") is True
    assert internal("boolean", False) is False
    with pytest.raises(FieldValueError, match="yes or no"):
        internal("boolean", "maybe")


def test_date_and_datetime(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    timezone.activate("Europe/Berlin")
    try:
        assert internal("date", "2026-03-01") == dt.date(2026, 3, 1)
        with pytest.raises(FieldValueError, match="YYYY-MM-DD"):
            internal("date", "01/03/2026")
        moment = internal("datetime", "2026-03-01T10:00")
        # taken in the installation's zone (10:00 in Berlin), kept in UTC
        assert moment == dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
        assert moment.utcoffset() == dt.timedelta(0)
        # an offset PostgreSQL would refuse (+16:46) is the same instant in UTC
        odd = internal("datetime", "2026-03-01T20:00:00+16:46")
        assert odd == dt.datetime(2026, 3, 1, 3, 14, tzinfo=dt.UTC)
        assert roundtrip("datetime", "2026-03-01T09:00:00Z") == "2026-03-01T10:00:00+01:00"
        # a datetime's text keeps its local date; a date becomes local midnight
        assert internal("date", "2026-03-01T23:30:00+00:00") == dt.date(2026, 3, 2)
        assert roundtrip("datetime", "2026-03-01") == "2026-03-01T00:00:00+01:00"
    finally:
        timezone.deactivate()


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("1:30", 5400), ("1h 30m", 5400), ("PT90M", 5400), (90, 90), ("2d", 172800)],
)
def test_duration(value, seconds):
    assert internal("duration", value) == dt.timedelta(seconds=seconds)


def test_duration_refuses_nonsense():
    with pytest.raises(FieldValueError, match="not a duration"):
        internal("duration", "soon")


def test_choice_and_multi_choice():
    choices = [{"value": "new", "label": "New", "color": "blue"}, "ready"]
    assert internal("choice", "new", choices=choices) == "new"
    with pytest.raises(FieldValueError, match="not one of the choices: new, ready"):
        internal("choice", "New", choices=choices)
    f = make("choice", choices=choices)
    assert get_field_type("choice").from_text(f, " NEW ") == "new"  # imports match labels
    assert internal("multi_choice", ["ready", "new", "ready"], choices=choices) == ["new", "ready"]
    assert get_field_type("multi_choice").from_text(
        make("multi_choice", choices=choices), "Ready; new"
    ) == ["new", "ready"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("+49 30 1234567", "+49301234567"), ("030 1234567", "+49301234567")],
)
def test_phone_is_normalised_to_e164(value, expected, settings):
    settings.CARDFILE_PHONE_REGION = "DE"
    assert internal("phone", value) == expected


def test_phone_refuses_an_invalid_number():
    with pytest.raises(FieldValueError, match="not a valid phone number for region US"):
        internal("phone", "12345", region="US")


def test_email_and_url():
    assert internal("email", "Ivan@Example.COM") == "Ivan@example.com"
    with pytest.raises(FieldValueError, match="not an email address"):
        internal("email", "ivan@")
    assert internal("url", "example.com/a") == "https://example.com/a"
    with pytest.raises(FieldValueError, match="not a web address"):
        internal("url", "not a url")


def test_json_accepts_any_json_value():
    assert internal("json", {"a": [1, 2]}) == {"a": [1, 2]}
    assert internal("json", "") == ""  # an empty string is a JSON value, not blank
    with pytest.raises(FieldValueError):
        internal("json", {1, 2})


def test_autonumber_pattern_periods():
    f = make("autonumber", pattern="RO-{YYYY}-{00000}")
    ftype = get_field_type("autonumber")
    assert ftype.period(f, dt.date(2026, 5, 1)) == "RO-2026-#"
    assert not ftype.writable


@pytest.mark.parametrize(
    ("type_", "value", "locale", "expected"),
    [
        ("decimal", Decimal("1234.5"), "de", "1.234,50"),
        ("decimal", Decimal("1234.5"), "en", "1,234.50"),
        ("money", (Decimal("1234.5"), "EUR"), "de", "1.234,50\xa0€"),
        ("money", (Decimal("1234.5"), "USD"), "en", "$1,234.50"),
        ("date", dt.date(2026, 3, 1), "ru", "1 мар. 2026\u202fг."),
        ("boolean", True, "en", "Yes"),
    ],
)
def test_values_are_formatted_by_locale(type_, value, locale, expected):
    f = make(type_)
    assert get_field_type(type_).format(f, value, locale=locale) == expected
