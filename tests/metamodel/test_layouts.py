"""Card layouts: default, saved layouts read against the live schema, validation, rights."""

from __future__ import annotations

import pytest

from cardfile.core.exceptions import PermissionDenied
from cardfile.core.models import AuditLog
from cardfile.metamodel.formulas.draft import draft_open
from cardfile.metamodel.layouts import (
    LayoutError,
    card_layout_get,
    card_layout_reset,
    card_layout_set,
    default_layout,
    layout_conditions,
    layout_visibility,
)
from cardfile.metamodel.models import CardLayout
from cardfile.metamodel.records import record_create
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.field_services import field_create, field_delete
from tests.builders import build_shop_schema, grant


def _ids(layout):
    return [
        item["field"]
        for tab in layout["tabs"]
        for section in tab["sections"]
        for column in section["columns"]
        for item in column
    ]


@pytest.mark.embedded
def test_default_layout_puts_fields_in_two_columns_and_child_tables_apart(owner):
    registry = build_shop_schema(owner)
    order = registry.entity("order")

    layout = default_layout(order)

    sections = layout["tabs"][0]["sections"]
    by = order.by_slug
    assert [[i["field"] for i in col] for col in sections[0]["columns"]] == [
        [by["number"].pk, by["client"].pk],
        [by["state"].pk],
    ]
    assert sections[1]["columns"] == [[{"field": by["lines"].pk}]]
    assert card_layout_get(order) == layout


@pytest.mark.embedded
def test_saved_layout_drops_deleted_fields_and_appends_new_ones(owner):
    registry = build_shop_schema(owner)
    by = registry.entity("order").by_slug
    layout = {
        "tabs": [
            {
                "label": "Work",
                "sections": [{"label": "A", "columns": [[{"field": by["state"].pk}]]}],
            },
            {
                "label": "Client",
                "sections": [
                    {
                        "label": "B",
                        "columns": [
                            [{"field": by["client"].pk}, {"field": by["number"].pk}],
                            [{"field": by["lines"].pk}],
                        ],
                    }
                ],
            },
        ]
    }
    card_layout_set(entity="order", layout=layout, user=owner)
    field_delete(entity="order", field="number", user=owner)
    field_create(entity="order", slug="note", label="Note", type="long_text", user=owner)

    got = card_layout_get(get_registry().entity("order"))

    note = get_registry().entity("order").by_slug["note"].pk
    assert got["tabs"][0]["label"] == "Work"
    assert got["tabs"][1]["sections"][0]["columns"] == [
        [{"field": by["client"].pk}],
        [{"field": by["lines"].pk}, {"field": note}],
    ]
    assert sorted(_ids(got)) == sorted(f.pk for f in get_registry().entity("order").fields)


def test_set_refuses_unknown_duplicate_fields_and_bad_formulas_by_path(owner):
    registry = build_shop_schema(owner)
    by = registry.entity("order").by_slug
    client_name = registry.entity("client").by_slug["name"].pk
    layout = {
        "tabs": [
            {
                "label": "Main",
                "sections": [
                    {"label": "", "columns": [[{"field": by["state"].pk}]]},
                    {
                        "label": "",
                        "columns": [
                            [
                                {"field": client_name},
                                {"field": by["state"].pk},
                                {"field": by["client"].pk, "visible_if": "stat = 1"},
                            ]
                        ],
                    },
                    {"label": "", "columns": [[{"field": by["lines"].pk, "visible_if": "1 + 1"}]]},
                ],
            }
        ]
    }

    with pytest.raises(LayoutError) as caught:
        card_layout_set(entity="order", layout=layout, user=owner)

    errors = caught.value.errors
    assert set(errors) == {
        "tabs[0].sections[1].columns[0][0].field",
        "tabs[0].sections[1].columns[0][1].field",
        "tabs[0].sections[1].columns[0][2].visible_if",
        "tabs[0].sections[2].columns[0][0].visible_if",
    }
    assert (
        "tabs[0].sections[0].columns[0][0]" in errors["tabs[0].sections[1].columns[0][1].field"][0]
    )
    assert caught.value.formula is not None
    assert not CardLayout.objects.exists()


def test_set_refuses_bad_shape(owner):
    build_shop_schema(owner)
    with pytest.raises(LayoutError) as caught:
        card_layout_set(
            entity="order", layout={"tabs": [{"label": "x", "sections": 3}]}, user=owner
        )
    assert set(caught.value.errors) == {"tabs[0].sections"}
    with pytest.raises(LayoutError):
        card_layout_set(entity="order", layout={"tabs": []}, user=owner)


def test_set_and_reset_are_audited_and_need_configure(owner, clerk):
    registry = build_shop_schema(owner)
    by = registry.entity("order").by_slug
    layout = {
        "tabs": [
            {
                "label": "Main",
                "sections": [
                    {
                        "label": "",
                        "columns": [[{"field": by["state"].pk, "visible_if": 'state = "new"'}]],
                    }
                ],
            }
        ]
    }
    grant(clerk, "order", ops=("read", "update"))
    with pytest.raises(PermissionDenied):
        card_layout_set(entity="order", layout=layout, user=clerk)

    grant(clerk, "order", ops=("read", "configure"), role="configurer")
    card_layout_set(entity="order", layout=layout, user=clerk)

    saved = CardLayout.objects.get().layout
    assert saved["tabs"][0]["sections"][0]["columns"][0][0]["visible_if"] == 'state = "new"'
    entry = AuditLog.objects.filter(object_type="card_layout").get()
    assert entry.action == AuditLog.Action.CREATE
    assert entry.user == clerk

    card_layout_reset(entity="order", user=clerk)
    assert not CardLayout.objects.exists()
    assert AuditLog.objects.filter(
        object_type="card_layout", action=AuditLog.Action.DELETE
    ).exists()
    assert card_layout_get(get_registry().entity("order")) == default_layout(
        get_registry().entity("order")
    )


@pytest.mark.embedded
def test_visibility_follows_the_draft_and_only_false_hides(owner):
    build_shop_schema(owner)
    field_create(entity="order", slug="note", label="Note", type="text", user=owner)
    order = get_registry().entity("order")
    by = order.by_slug
    layout = {
        "tabs": [
            {
                "label": "Main",
                "sections": [
                    {
                        "label": "",
                        "columns": [
                            [
                                {"field": by["state"].pk},
                                {"field": by["note"].pk, "visible_if": 'state = "ready"'},
                            ],
                            [
                                {
                                    "field": by["client"].pk,
                                    "visible_if": 'IF(client.name = "Ivan", FALSE)',
                                }
                            ],
                        ],
                    }
                ],
            }
        ]
    }
    conditions = layout_conditions(layout)
    assert conditions == {
        by["note"].pk: 'state = "ready"',
        by["client"].pk: 'IF(client.name = "Ivan", FALSE)',
    }

    ready = draft_open(entity="order", values={"state": "ready"}, user=owner)
    ivan = record_create(entity="client", data={"name": "Ivan"}, user=owner)
    new = draft_open(entity="order", values={"state": "new", "client": ivan.pk}, user=owner)
    broken = {by["note"].pk: "nosuch = 1"}

    # IF without an "else" is blank, not FALSE: the field shows
    assert layout_visibility(order, conditions, ready) == {
        by["note"].pk: True,
        by["client"].pk: True,
    }
    assert layout_visibility(order, conditions, new) == {
        by["note"].pk: False,
        by["client"].pk: False,
    }
    assert layout_visibility(order, broken, new) == {by["note"].pk: True}
