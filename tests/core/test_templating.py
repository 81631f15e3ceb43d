"""Message templates: Jinja2 in the immutable sandbox, problems named by line and message."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.utils import translation

from cardfile.core.templating import TemplateProblem, template_check, template_render

pytestmark = pytest.mark.embedded


def test_renders_fields_links_and_lines():
    context = {
        "record": {"number": "RO-1", "client": {"name": "Ann"}},
        "lines": [{"item": "Screen"}, {"item": "Battery"}],
    }
    source = (
        "Order {{ record.number }} for {{ record.client.name }}:"
        "{% for line in lines %} {{ line.item }}{% endfor %}"
    )
    assert template_render(source, context) == "Order RO-1 for Ann: Screen Battery"


def test_no_html_escaping_in_messages():
    assert template_render("{{ text }}", {"text": "Tom & Jerry <3"}) == "Tom & Jerry <3"


def test_a_missing_value_renders_as_nothing():
    assert template_render("Hello {{ name }}{{ record.nickname }}!", {"record": {}}) == "Hello !"


def test_check_names_the_line_and_jinjas_message():
    with pytest.raises(TemplateProblem) as problem:
        template_check("Hello\n{{ record.name }\nBye", field="body_template")
    error = problem.value
    assert error.code == "invalid_template"
    assert error.message == "Line 2: unexpected '}'"
    assert error.details == {"line": 2, "message": "unexpected '}'"}
    assert error.errors == {"body_template": ["Line 2: unexpected '}'"]}


def test_check_refuses_an_unknown_filter_and_an_unclosed_block():
    with pytest.raises(TemplateProblem) as unknown:
        template_check("{{ total | shout }}")
    assert unknown.value.details["line"] == 1
    assert "No filter named 'shout'" in unknown.value.message
    with pytest.raises(TemplateProblem) as unclosed:
        template_check("a\n{% if paid %}\nthanks")
    assert unclosed.value.message.startswith("Line 2: Unexpected end of template")


def test_check_accepts_a_good_template():
    template_check("{{ record.client.name | upper }} {{ record.total | money('EUR') }}")


def test_sandbox_refuses_python_internals_with_the_line():
    with pytest.raises(TemplateProblem) as problem:
        template_render("ok\n{{ ''.__class__.__mro__ }}", {})
    assert problem.value.details["line"] == 2
    assert "unsafe" in problem.value.details["message"]


def test_sandbox_refuses_changing_the_context():
    items = [1, 2]
    with pytest.raises(TemplateProblem) as problem:
        template_render("{{ items.append(3) }}", {"items": items})
    assert "unsafe" in problem.value.message
    assert items == [1, 2]


def test_reading_into_a_missing_value_is_a_problem_with_the_line():
    with pytest.raises(TemplateProblem) as problem:
        template_render("Hi\n\n{{ record.client.name }}", {"record": {}})
    assert problem.value.details["line"] == 3
    assert "client" in problem.value.details["message"]


def test_runtime_errors_become_problems():
    with pytest.raises(TemplateProblem) as problem:
        template_render("{{ 1 / 0 }}", {})
    assert problem.value.details["message"] == "division by zero"


def test_giant_repetition_is_refused():
    with pytest.raises(TemplateProblem) as problem:
        template_render("{{ 'x' * 10 ** 9 }}", {})
    assert "too long" in problem.value.message
    assert template_render("{{ '-' * 3 }}{{ 2 ** 3 }}", {}) == "---8"


def test_runaway_output_is_stopped():
    with pytest.raises(TemplateProblem) as problem:
        template_render("{% for i in range(99999) %}{{ '0123456789' }}{% endfor %}", {})
    assert "longer than" in problem.value.message


def test_date_money_and_number_follow_the_active_language():
    context = {
        "day": date(2031, 3, 4),
        "at": datetime(2031, 3, 4, 15, 30, tzinfo=UTC),
        "total": {"amount": "1234.50", "currency": "EUR"},
        "qty": Decimal("1234.5"),
    }
    source = (
        "{{ day | date }}|{{ at | datetime('short') }}|{{ total | money }}|{{ qty | number(2) }}"
    )
    with translation.override("en"):
        assert template_render(source, context) == (
            "Mar 4, 2031|3/4/31, 3:30\u202fPM|€1,234.50|1,234.50"
        )
    with translation.override("de"):
        assert template_render(source, context) == (
            "04.03.2031|04.03.31, 15:30|1.234,50\xa0€|1.234,50"
        )


def test_filters_read_the_apis_text_forms():
    context = {"day": "2031-03-04", "price": "12.5"}
    with translation.override("en"):
        assert template_render("{{ day | date('long') }} {{ price | money('USD') }}", context) == (
            "March 4, 2031 $12.50"
        )
