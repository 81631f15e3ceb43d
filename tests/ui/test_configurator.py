"""The configurator's pages: entities, fields of every kind, formulas, type changes, card
layouts, roles, users, who may enter, the audit log, and bounded query counts."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cardfile.core.models import AuditLog, Branch
from cardfile.metamodel.access.services import role_as_dict, role_get
from cardfile.metamodel.layouts import card_layout_get
from cardfile.metamodel.models import ArchivedColumn, CardLayout, Entity, Field
from cardfile.metamodel.records import record_create
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.services import (
    entity_create,
    entity_delete,
    field_create,
    field_delete,
)
from tests.builders import build_shop_schema, grant


def _field(client, entity, **data):
    return client.post(reverse("ui:config-field-new", args=[entity]), data)


@pytest.fixture
def shop(owner):
    return build_shop_schema(owner)


@pytest.fixture
def as_owner(client, owner):
    client.force_login(owner)
    return client


# -- entry -------------------------------------------------------------------------------------


@pytest.mark.embedded
def test_index_lists_entities_with_their_fields_and_links(as_owner, shop):
    page = as_owner.get(reverse("ui:config"))
    assert page.status_code == 200
    html = page.content.decode()
    for slug in ("client", "order", "order_line"):
        assert f'data-testid="config-entity-{slug}"' in html
    assert 'data-testid="entity-new"' in html
    for name in ("ui:config-roles", "ui:config-users", "ui:config-branches", "ui:config-audit"):
        assert reverse(name) in html
    assert reverse("ui:config-trash") in html


@pytest.mark.embedded
def test_entity_page_names_field_types_as_people_read_them(as_owner, shop):
    html = as_owner.get(reverse("ui:config-entity", args=["order"])).content.decode()
    assert '<span title="link">Link to a record</span>' in html
    assert '<span title="child_table">' in html
    assert '<span title="child_table">child_table</span>' not in html


def test_users_without_configure_rights_get_403(client, shop, clerk):
    assert client.get(reverse("ui:config")).status_code == 302  # to the sign-in page
    grant(clerk, "client", "order", ops=("read", "create", "update", "delete"))
    client.force_login(clerk)
    for url in (
        reverse("ui:config"),
        reverse("ui:config-entity-new"),
        reverse("ui:config-entity", args=["client"]),
        reverse("ui:config-field-new", args=["client"]),
        reverse("ui:config-layout", args=["client"]),
        reverse("ui:config-roles"),
        reverse("ui:config-users"),
        reverse("ui:config-audit"),
    ):
        assert client.get(url).status_code == 403, url
    response = client.post(
        reverse("ui:config-entity", args=["client"]), {"label": "Mine", "slug": "client"}
    )
    assert response.status_code == 403
    assert Entity.objects.get(slug="client").label == "Client"


def test_a_role_configuring_one_entity_sees_only_it(client, shop, clerk):
    grant(clerk, "client", ops=("read", "configure"))
    client.force_login(clerk)

    index = client.get(reverse("ui:config")).content.decode()
    assert 'data-testid="config-entity-client"' in index
    assert 'data-testid="config-entity-order"' not in index
    assert 'data-testid="entity-new"' not in index
    assert reverse("ui:config-roles") not in index

    assert client.get(reverse("ui:config-entity", args=["client"])).status_code == 200
    assert client.get(reverse("ui:config-entity", args=["order"])).status_code == 403
    assert client.get(reverse("ui:config-entity-new")).status_code == 403
    assert (
        client.post(reverse("ui:config-entity-new"), {"label": "X", "slug": "x"}).status_code == 403
    )
    assert client.get(reverse("ui:config-roles")).status_code == 403
    assert client.get(reverse("ui:config-users")).status_code == 403

    created = _field(
        client, "client", type="text", label="Note", slug="note", **{"option-max_length": "80"}
    )
    assert created.status_code == 302
    assert get_registry().entity("client").by_slug["note"].options["max_length"] == 80
    # a field of the entity they configure may not link to what they may not read
    refused = _field(
        client,
        "client",
        type="link",
        label="Order",
        slug="last_order",
        **{"option-target": "order"},
    )
    assert refused.status_code == 400
    assert "last_order" not in get_registry().entity("client").by_slug


@pytest.mark.embedded
def test_a_role_configuring_one_entity_restores_and_purges_only_its_trashed_fields(
    client, owner, shop, clerk
):
    # given: a trashed field of client (theirs), of order (not theirs), and a trashed entity
    field_create(entity="client", slug="fax", label="Fax", type="text", user=owner)
    field_create(entity="client", slug="pager", label="Pager", type="text", user=owner)
    field_delete(entity="client", field="fax", user=owner)
    field_delete(entity="client", field="pager", user=owner)
    field_delete(entity="order", field="state", user=owner)
    entity_create(slug="supplier", label="Supplier", user=owner)
    entity_delete(entity="supplier", user=owner)
    fax, pager, state = (
        Field.objects.get(slug=slug, deleted_at__isnull=False) for slug in ("fax", "pager", "state")
    )
    supplier = Entity.objects.get(slug="supplier")
    grant(clerk, "client", ops=("read", "configure"))
    client.force_login(clerk)

    # when
    page = client.get(reverse("ui:config-trash"))

    # then: only their entity's fields, no entities, and the page says why
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-testid="restore-field-{fax.pk}"' in html
    assert f'data-testid="purge-field-{pager.pk}"' in html
    assert f'data-testid="restore-field-{state.pk}"' not in html
    assert f'data-testid="restore-entity-{supplier.pk}"' not in html
    assert 'data-testid="trash-entities"' not in html
    assert 'data-testid="trash-scope-note"' in html
    assert 'data-testid="config-nav-trash"' in html

    def act(kind, obj, action):
        return client.post(reverse("ui:config-trash-action", args=[kind, obj.pk, action]))

    assert act("field", fax, "restore").status_code == 302
    assert "fax" in get_registry().entity("client").by_slug
    assert act("field", pager, "purge").status_code == 302
    assert not Field.objects.filter(pk=pager.pk).exists()
    # another entity's field and a trashed entity are refused, and stay as they were
    assert act("field", state, "restore").status_code == 403
    assert act("entity", supplier, "restore").status_code == 403
    assert act("entity", supplier, "purge").status_code == 403
    assert Field.objects.get(pk=state.pk).deleted_at is not None
    assert Entity.objects.get(pk=supplier.pk).deleted_at is not None

    # an owner sees all of it
    client.force_login(owner)
    html = client.get(reverse("ui:config-trash")).content.decode()
    assert f'data-testid="restore-field-{state.pk}"' in html
    assert f'data-testid="restore-entity-{supplier.pk}"' in html
    assert 'data-testid="trash-scope-note"' not in html


# -- entities ----------------------------------------------------------------------------------


@pytest.mark.embedded
def test_create_entity_then_fields_of_several_types(as_owner):
    # when: an entity with a menu group
    response = as_owner.post(
        reverse("ui:config-entity-new"),
        {"label": "Device", "label_plural": "Devices", "slug": "device", "nav_group": "Service"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("ui:config-entity", args=["device"])
    entity = Entity.objects.get(slug="device")
    assert (entity.label_plural, entity.nav_group) == ("Devices", "Service")

    # and: fields of several types through the same form
    entity_create(slug="part", label="Part")
    field_create(entity="part", slug="name", label="Name", type="text")
    entity_create(slug="repair", label="Repair")
    posts = [
        {
            "type": "text",
            "label": "Serial",
            "slug": "serial",
            "option-max_length": "40",
            "required": "on",
        },
        {"type": "money", "label": "Price", "slug": "price", "option-currency": "EUR"},
        {
            "type": "choice",
            "label": "State",
            "slug": "state",
            "choice_value": ["new", "broken", ""],
            "choice_label": ["New", "Broken", ""],
            "choice_color": ["#00ff00", "#ff0000", "#e9ecef"],
        },
        {
            "type": "link",
            "label": "Part",
            "slug": "part",
            "option-target": "part",
            "option-on_delete": "set_null",
        },
        {"type": "child_table", "label": "Repairs", "slug": "repairs", "option-target": "repair"},
        {
            "type": "formula",
            "label": "With tax",
            "slug": "with_tax",
            "option-expression": "price * 1.2",
        },
    ]
    for data in posts:
        created = _field(as_owner, "device", **data)
        assert created.status_code == 302, created.content.decode()[:2000]

    # then
    schema = get_registry().entity("device")
    fields = schema.by_slug
    assert [f.slug for f in schema.fields] == [
        "serial",
        "price",
        "state",
        "part",
        "repairs",
        "with_tax",
    ]
    assert fields["serial"].required
    assert fields["serial"].options["max_length"] == 40
    assert fields["price"].options["currency"] == "EUR"
    assert fields["state"].options["choices"] == [
        {"value": "new", "label": "New", "color": "#00ff00"},
        {"value": "broken", "label": "Broken", "color": "#ff0000"},
    ]
    assert fields["part"].options["on_delete"] == "set_null"
    assert fields["part"].options["target_id"] == get_registry().entity("part").entity.pk
    assert get_registry().entity("repair").parent_field is not None
    assert fields["with_tax"].options["expression"] == "price * 1.2"
    assert fields["with_tax"].options["result"]["type"] == "money"

    page = as_owner.get(reverse("ui:config-entity", args=["device"])).content.decode()
    for slug in ("serial", "price", "state", "part", "repairs", "with_tax"):
        assert f'data-testid="config-field-{slug}"' in page


@pytest.mark.embedded
def test_every_field_type_has_a_form_with_its_options(as_owner, shop):
    from cardfile.metamodel.fields import field_type_names

    for name in field_type_names():
        page = as_owner.get(reverse("ui:config-field-new", args=["order"]), {"type": name})
        assert page.status_code == 200, name
        html = page.content.decode()
        assert f'<option value="{name}" selected>' in html
    money = as_owner.get(reverse("ui:config-field-options", args=["order"]), {"type": "money"})
    assert 'data-testid="option-currency"' in money.content.decode()
    link = as_owner.get(reverse("ui:config-field-options", args=["order"]), {"type": "link"})
    assert 'data-testid="option-target"' in link.content.decode()
    assert 'data-testid="option-on_delete"' in link.content.decode()
    choice = as_owner.get(reverse("ui:config-field-options", args=["order"]), {"type": "choice"})
    assert 'data-testid="choice-add"' in choice.content.decode()
    rollup = as_owner.get(reverse("ui:config-field-options", args=["order"]), {"type": "rollup"})
    html = rollup.content.decode()
    assert 'data-testid="option-through"' in html
    assert '<option value="lines">' in html
    assert 'data-testid="option-aggregate"' in html
    formula = as_owner.get(reverse("ui:config-field-options", args=["order"]), {"type": "formula"})
    assert 'data-testid="formula-input"' in formula.content.decode()


@pytest.mark.embedded
def test_entity_errors_show_next_to_their_inputs(as_owner, shop):
    response = as_owner.post(reverse("ui:config-entity-new"), {"label": "", "slug": "Bad Slug"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "An entity needs a label." in html
    assert "Use lowercase latin letters" in html
    assert 'is-invalid" name="slug"' in html


def test_edit_entity_rules_and_reorder_and_delete(as_owner, shop):
    url = reverse("ui:config-entity", args=["client"])
    bad = as_owner.post(
        url,
        {
            "label": "Customer",
            "slug": "client",
            "rule_condition": ["discount <= "],
            "rule_message": ["Too much"],
            "rule_field": ["discount"],
        },
    )
    assert bad.status_code == 400
    assert "^" in bad.content.decode()
    assert Entity.objects.get(slug="client").label == "Client"

    saved = as_owner.post(
        url,
        {
            "label": "Customer",
            "slug": "client",
            "nav_group": "Sales",
            "title_field": "email",
            "rule_condition": ["discount <= 50", ""],
            "rule_message": ["At most 50%", ""],
            "rule_field": ["discount", ""],
        },
    )
    assert saved.status_code == 302
    entity = Entity.objects.get(slug="client")
    assert (entity.label, entity.nav_group, entity.title_field.slug) == (
        "Customer",
        "Sales",
        "email",
    )
    assert entity.validation_rules == [
        {"condition": "discount <= 50", "message": "At most 50%", "field": "discount"}
    ]

    order = ["email", "name", "phone", "discount"]
    response = as_owner.post(
        reverse("ui:config-field-reorder", args=["client"]), {"order": json.dumps(order)}
    )
    assert response.status_code == 204
    assert [f.slug for f in get_registry().entity("client").fields] == order

    as_owner.post(reverse("ui:config-entity-reorder"), {"order": json.dumps(["order", "client"])})
    slugs = [s.slug for s in get_registry().entities()]
    assert slugs.index("order") < slugs.index("client")

    confirm = as_owner.get(reverse("ui:config-entity-delete", args=["order"]))
    assert 'data-testid="entity-delete-confirm"' in confirm.content.decode()
    assert as_owner.post(reverse("ui:config-entity-delete", args=["order"])).status_code == 302
    assert Entity.objects.get(slug="order").deleted_at is not None
    trash = as_owner.get(reverse("ui:config-trash")).content.decode()
    trashed = Entity.objects.get(slug="order")
    assert f'data-testid="restore-entity-{trashed.pk}"' in trash
    restore = reverse("ui:config-trash-action", args=["entity", trashed.pk, "restore"])
    assert as_owner.post(restore, {"slug": ""}).status_code == 302
    assert Entity.objects.get(pk=trashed.pk).deleted_at is None


# -- formulas ----------------------------------------------------------------------------------


class _IdsAndLabels(HTMLParser):
    """Every element id, and every label's ``for``, of a page outside its <template>s (a
    template's row is a pattern, numbered by ui/config.js when added)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.label_for: list[str] = []
        self.template_ids: list[str] = []
        self._in_template = 0

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "template":
            self._in_template += 1
        if "id" in found:
            (self.template_ids if self._in_template else self.ids).append(found["id"])
        if tag == "label" and "for" in found and not self._in_template:
            self.label_for.append(found["for"])

    def handle_endtag(self, tag):
        if tag == "template":
            self._in_template -= 1


@pytest.mark.embedded
def test_entity_page_ids_are_unique_with_several_rules(as_owner, shop):
    # given: three validation rules
    url = reverse("ui:config-entity", args=["client"])
    saved = as_owner.post(
        url,
        {
            "label": "Client",
            "slug": "client",
            "rule_condition": ["discount <= 50", "discount >= 0", "discount < 99"],
            "rule_message": ["At most 50", "Not negative", "A name"],
            "rule_field": ["discount", "discount", ""],
        },
    )
    assert saved.status_code == 302

    # when
    page = _IdsAndLabels()
    page.feed(as_owner.get(url).content.decode())

    # then: no id twice, every label names an input that is there, and the template's row
    # carries the placeholder the script numbers
    assert len(page.ids) == len(set(page.ids)), sorted(i for i in page.ids if page.ids.count(i) > 1)
    assert {f"rule-condition-{n}" for n in (1, 2, 3)} <= set(page.ids)
    assert set(page.label_for) <= set(page.ids)
    assert "rule-condition-__row__" in page.template_ids


@pytest.mark.embedded
def test_formula_check_shows_the_type_or_the_error_with_a_caret(as_owner, shop):
    url = reverse("ui:config-formula-check", args=["client"])
    ok = as_owner.post(url, {"formula_field": "option-expression", "option-expression": "discount"})
    assert ok.status_code == 200
    assert "percent" in ok.content.decode()
    assert 'data-testid="formula-error"' not in ok.content.decode()

    bad = as_owner.post(
        url, {"formula_field": "option-expression", "option-expression": "discont * 2"}
    )
    html = bad.content.decode()
    assert 'data-testid="formula-error"' in html
    assert "Unknown field discont" in html
    assert "discont * 2\n^^^^^^^" in html
    assert "discount" in html  # did you mean


def test_formula_preview_on_a_record(as_owner, shop, owner):
    record = record_create(entity="client", data={"name": "Ann", "discount": 10}, user=owner)
    page = as_owner.get(reverse("ui:config-field-new", args=["client"]), {"type": "formula"})
    assert f'<option value="{record.pk}">#{record.pk} Ann</option>' in page.content.decode()
    response = as_owner.post(
        reverse("ui:config-formula-check", args=["client"]),
        {"formula_field": "f", "f": 'name & " -" & discount', "formula_record": str(record.pk)},
    )
    html = response.content.decode()
    assert 'data-testid="formula-preview"' in html
    assert "Ann -" in html


@pytest.mark.embedded
def test_a_bad_formula_field_is_refused_with_the_caret_at_its_input(as_owner, shop):
    response = _field(
        as_owner,
        "order",
        type="formula",
        label="Total",
        slug="total",
        **{"option-expression": "SUM(lines.qty) +"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="formula-error"' in html
    assert "^" in html
    assert "total" not in get_registry().entity("order").by_slug


def test_a_configurer_is_offered_only_the_linked_fields_they_may_read(client, shop, clerk):
    grant(clerk, "order", ops=("read", "configure"))
    grant(clerk, "client", ops=("read",), fields={"phone": "hidden"}, role="reader")
    client.force_login(clerk)
    html = client.get(reverse("ui:config-field-new", args=["order"]), {"type": "formula"})
    assert 'data-cf-insert="client.name"' in html.content.decode()
    assert 'data-cf-insert="client.phone"' not in html.content.decode()
    refused = client.post(
        reverse("ui:config-formula-check", args=["order"]),
        {"formula_field": "f", "f": "client.phone"},
    )
    assert 'data-testid="formula-error"' in refused.content.decode()


# -- field edits -------------------------------------------------------------------------------


def test_type_change_shows_the_preview_then_needs_a_confirm(as_owner, shop, owner):
    field_create(entity="client", slug="code", label="Code", type="text")
    for code in ("12", "34", "x9"):
        record_create(entity="client", data={"name": code, "code": code}, user=owner)
    url = reverse("ui:config-field", args=["client", "code"])
    form = {"type": "integer", "label": "Code", "slug": "code"}

    preview = as_owner.post(url, form)
    assert preview.status_code == 200
    html = preview.content.decode()
    assert 'data-testid="conversion-preview"' in html
    assert 'data-testid="conversion-confirm"' in html
    assert "3 values stored, 1 would not convert." in html
    assert "x9" in html
    assert get_registry().entity("client").by_slug["code"].type == "text"

    # a confirm given for another type than the one previewed only previews again
    other = as_owner.post(
        url, {**form, "type": "decimal", "confirm": "1", "previewed_type": "integer"}
    )
    assert 'data-testid="conversion-preview"' in other.content.decode()
    assert get_registry().entity("client").by_slug["code"].type == "text"

    done = as_owner.post(url, {**form, "confirm": "1", "previewed_type": "integer"})
    assert done.status_code == 302
    code = get_registry().entity("client").by_slug["code"]
    assert code.type == "integer"
    assert ArchivedColumn.objects.filter(field_id=code.pk, type="text").exists()
    archived = as_owner.get(reverse("ui:config-field-archived", args=["client", "code"]))
    assert 'data-testid="archived-table"' in archived.content.decode()


def test_a_lossy_option_change_asks_for_a_confirm(as_owner, shop, owner):
    client_id = record_create(entity="client", data={"name": "A"}, user=owner).pk
    record_create(entity="order", data={"client": client_id, "state": "ready"}, user=owner)
    url = reverse("ui:config-field", args=["order", "state"])
    form = {
        "type": "choice",
        "label": "State",
        "slug": "state",
        "choice_value": ["new", "issued"],
        "choice_label": ["", ""],
        "choice_color": ["", ""],
        "default": "new",
    }
    refused = as_owner.post(url, form)
    assert refused.status_code == 409
    assert 'data-testid="conversion-confirm"' in refused.content.decode()
    assert len(get_registry().entity("order").by_slug["state"].options["choices"]) == 4
    assert 'name="previewed_type" value="choice"' in refused.content.decode()
    confirmed = as_owner.post(url, {**form, "confirm": "1", "previewed_type": "choice"})
    assert confirmed.status_code == 302
    assert len(get_registry().entity("order").by_slug["state"].options["choices"]) == 2


@pytest.mark.embedded
def test_an_emptied_number_option_is_cleared_and_one_left_out_is_kept(as_owner, shop):
    # given: bounds on a number
    url = reverse("ui:config-field", args=["order_line", "qty"])
    form = {"type": "integer", "label": "Qty", "slug": "qty"}
    saved = as_owner.post(url, {**form, "option-min_value": "1", "option-max_value": "50"})
    assert saved.status_code == 302
    assert get_registry().entity("order_line").by_slug["qty"].options == {
        "min_value": 1,
        "max_value": 50,
    }
    page = as_owner.get(url).content.decode()
    assert 'name="option-max_value" id="id-option-max_value" value="50"' in page

    # when: the upper bound's input is emptied (the lower one is not in the post at all)
    cleared = as_owner.post(url, {**form, "option-max_value": ""})

    # then
    assert cleared.status_code == 302
    assert get_registry().entity("order_line").by_slug["qty"].options == {"min_value": 1}
    page = as_owner.get(url).content.decode()
    assert 'name="option-max_value" id="id-option-max_value" value=""' in page


def test_rename_and_delete_a_field(as_owner, shop):
    state = as_owner.get(reverse("ui:config-field", args=["order", "state"])).content.decode()
    assert 'name="default" id="id-default" value="new"' in state
    assert '<option value="choice" selected>' in state
    url = reverse("ui:config-field", args=["client", "email"])
    page = as_owner.get(url).content.decode()
    assert 'value="email"' in page
    response = as_owner.post(
        url, {"type": "email", "label": "E-mail", "slug": "mail", "help_text": "work"}
    )
    assert response.status_code == 302
    f = get_registry().entity("client").by_slug["mail"]
    assert (f.label, f.help_text) == ("E-mail", "work")
    assert (
        as_owner.post(reverse("ui:config-field-delete", args=["client", "mail"])).status_code == 302
    )
    assert "mail" not in get_registry().entity("client").by_slug


# -- card layout -------------------------------------------------------------------------------


def test_layout_save_round_trip_and_errors(as_owner, shop):
    schema = get_registry().entity("client")
    ids = {f.slug: f.pk for f in schema.fields}
    page = as_owner.get(reverse("ui:config-layout", args=["client"]))
    assert page.status_code == 200
    assert 'data-testid="layout-save"' in page.content.decode()
    assert 'data-testid="layout-field-phone"' in page.content.decode()

    layout = {
        "tabs": [
            {
                "label": "Main",
                "sections": [
                    {
                        "label": "Who",
                        "columns": [
                            [{"field": ids["name"]}],
                            [{"field": ids["phone"]}, {"field": ids["email"]}],
                        ],
                    }
                ],
            },
            {
                "label": "Money",
                "sections": [
                    {
                        "label": "",
                        "columns": [[{"field": ids["discount"], "visible_if": 'name <> ""'}]],
                    }
                ],
            },
        ]
    }
    saved = as_owner.post(
        reverse("ui:config-layout", args=["client"]), {"layout": json.dumps(layout)}
    )
    assert saved.status_code == 302
    assert card_layout_get(schema) == layout
    again = as_owner.get(reverse("ui:config-layout", args=["client"])).content.decode()
    assert 'value="Money"' in again
    assert "name &lt;&gt; &quot;&quot;" in again

    layout["tabs"][1]["sections"][0]["columns"][0][0]["visible_if"] = "nam = 1"
    bad = as_owner.post(
        reverse("ui:config-layout", args=["client"]), {"layout": json.dumps(layout)}
    )
    assert bad.status_code == 400
    assert "Unknown field nam" in bad.content.decode()

    preview = as_owner.get(reverse("ui:config-layout-preview", args=["client"]))
    assert 'data-testid="preview-field-discount"' in preview.content.decode()
    assert as_owner.post(reverse("ui:config-layout-reset", args=["client"])).status_code == 302
    assert not CardLayout.objects.filter(entity_id=schema.entity.pk).exists()
    assert len(card_layout_get(schema)["tabs"]) == 1


def test_layout_preview_as_a_role_hides_and_locks_fields(as_owner, shop, clerk):
    grant(clerk, "client", ops=("read",), fields={"phone": "hidden", "email": "read_only"})
    html = as_owner.get(
        reverse("ui:config-layout-preview", args=["client"]), {"role": "staff"}
    ).content.decode()
    assert 'data-testid="preview-field-name"' in html
    assert 'data-testid="preview-field-phone"' not in html
    assert 'data-testid="preview-read-only-email"' in html
    assert 'data-testid="preview-own-rights"' not in html


def test_layout_preview_for_a_configurer_who_is_not_an_owner_is_their_own_view(client, shop, clerk):
    # given: a role configuring client with a hidden and a read-only field, and another role
    # that may see everything
    grant(
        clerk,
        "client",
        ops=("read", "update", "configure"),
        fields={"phone": "hidden", "email": "read_only"},
    )
    viewer = get_user_model().objects.create_user(username="vera", password="s3cret-pass!")
    grant(viewer, "client", ops=("read",), role="viewer")
    client.force_login(clerk)
    url = reverse("ui:config-layout-preview", args=["client"])

    # when: they ask for the preview, even naming a role
    html = client.get(url, {"role": "viewer"}).content.decode()

    # then: no role to choose, their own rights apply, and the page says why
    assert 'data-testid="preview-role"' not in html
    assert 'data-testid="preview-own-rights"' in html
    assert 'data-testid="preview-field-name"' in html
    assert 'data-testid="preview-field-phone"' not in html
    assert 'data-testid="preview-read-only-email"' in html
    editor = client.get(reverse("ui:config-layout", args=["client"])).content.decode()
    assert "Preview as role" not in editor
    # an entity they do not configure has no preview
    assert client.get(reverse("ui:config-layout-preview", args=["order"])).status_code == 403


# -- roles and users ---------------------------------------------------------------------------


def test_role_with_field_rules_and_row_rule(as_owner, shop):
    form = {
        "label": "Cashier",
        "name": "cashier",
        "description": "Front desk",
        "perm-client-read": "on",
        "perm-client-update": "on",
        "fieldrule-client-phone": "hidden",
        "fieldrule-client-discount": "read_only",
        "perm-order-read": "on",
        "rule-order": "client.name = ",
    }
    bad = as_owner.post(reverse("ui:config-role-new"), form)
    assert bad.status_code == 400
    html = bad.content.decode()
    assert 'data-testid="formula-error"' in html
    assert "^" in html

    created = as_owner.post(
        reverse("ui:config-role-new"), {**form, "rule-order": 'client.name = "A"'}
    )
    assert created.status_code == 302
    role = role_as_dict(role_get("cashier"))
    assert role["label"] == "Cashier"
    assert role["permissions"]["client"]["fields"] == {"phone": "hidden", "discount": "read_only"}
    assert role["permissions"]["client"]["update"] is True
    assert role["permissions"]["client"]["delete"] is False
    assert role["permissions"]["order"]["rule"] == 'client.name = "A"'
    listing = as_owner.get(reverse("ui:config-roles")).content.decode()
    assert 'data-testid="config-role-cashier"' in listing
    assert 'data-testid="role-new"' in listing

    edit = as_owner.get(reverse("ui:config-role", args=["cashier"])).content.decode()
    assert 'data-testid="perm-client-update" checked' in edit
    as_owner.post(
        reverse("ui:config-role", args=["cashier"]),
        {"label": "Cashier", "name": "cashier", "perm-client-read": "on"},
    )
    assert list(role_as_dict(role_get("cashier"))["permissions"]) == ["client"]
    assert as_owner.post(reverse("ui:config-role-delete", args=["cashier"])).status_code == 302


def test_user_create_edit_and_deactivate(as_owner, shop):
    as_owner.post(
        reverse("ui:config-role-new"),
        {"label": "Staff", "name": "staff2", "perm-client-read": "on"},
    )
    branch = Branch.objects.create(name="Centre")
    weak = as_owner.post(
        reverse("ui:config-user-new"), {"username": "olga", "password": "1", "is_active": "on"}
    )
    assert weak.status_code == 400
    assert 'is-invalid" type="password"' in weak.content.decode()

    response = as_owner.post(
        reverse("ui:config-user-new"),
        {
            "username": "olga",
            "password": "a-Long-pass-2026!",
            "first_name": "Olga",
            "email": "olga@example.com",
            "roles": ["staff2"],
            "branches": [str(branch.pk)],
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    olga = get_user_model().objects.get(username="olga")
    assert olga.check_password("a-Long-pass-2026!")
    assert [g.name for g in olga.groups.all()] == ["staff2"]
    assert [b.name for b in olga.branches.all()] == ["Centre"]
    assert (
        'data-testid="config-user-olga"'
        in as_owner.get(reverse("ui:config-users")).content.decode()
    )

    as_owner.post(reverse("ui:config-user-active", args=["olga"]), {"active": "0"})
    olga.refresh_from_db()
    assert not olga.is_active
    assert olga.check_password("a-Long-pass-2026!")

    created = as_owner.post(
        reverse("ui:config-branches"), {"name": "North", "address": "", "phone": ""}
    )
    assert created.status_code == 302
    assert Branch.objects.filter(name="North").exists()


@pytest.mark.embedded
def test_branch_edit_changes_name_address_phone_and_active(client, as_owner, shop, clerk):
    # given
    centre = Branch.objects.create(name="Centre", address="1 Main St", phone="111")
    Branch.objects.create(name="North")
    listing = as_owner.get(reverse("ui:config-branches")).content.decode()
    assert reverse("ui:config-branch", args=[centre.pk]) in listing
    form = as_owner.get(reverse("ui:config-branch", args=[centre.pk])).content.decode()
    assert 'value="Centre"' in form
    assert ">1 Main St</textarea>" in form

    # a taken name is shown at its input and nothing changes
    taken = as_owner.post(
        reverse("ui:config-branch", args=[centre.pk]),
        {"name": "north", "address": "2 Side St", "phone": "222", "is_active": "on"},
    )
    assert taken.status_code == 400
    assert 'is-invalid" name="name"' in taken.content.decode()
    assert ">2 Side St</textarea>" in taken.content.decode()
    centre.refresh_from_db()
    assert (centre.name, centre.address) == ("Centre", "1 Main St")

    # when: renamed, moved, and deactivated (the box left unticked)
    saved = as_owner.post(
        reverse("ui:config-branch", args=[centre.pk]),
        {"name": "Central", "address": "2 Side St", "phone": ""},
    )

    # then
    assert saved.status_code == 302
    centre.refresh_from_db()
    assert (centre.name, centre.address, centre.phone, centre.is_active) == (
        "Central",
        "2 Side St",
        "",
        False,
    )
    entry = AuditLog.objects.get(object_type="branch", action="update")
    assert entry.after == {
        "name": "Central",
        "address": "2 Side St",
        "phone": "",
        "is_active": False,
    }

    assert as_owner.get(reverse("ui:config-branch", args=[999999])).status_code == 404

    # only owners
    grant(clerk, "client", ops=("read", "configure"))
    client.force_login(clerk)
    assert client.get(reverse("ui:config-branch", args=[centre.pk])).status_code == 403
    refused = client.post(reverse("ui:config-branch", args=[centre.pk]), {"name": "Mine"})
    assert refused.status_code == 403
    assert Branch.objects.get(pk=centre.pk).name == "Central"


# -- audit log and query counts ----------------------------------------------------------------


def test_audit_log_lists_the_changes_for_owners_only(client, as_owner, owner, clerk):
    as_owner.post(
        reverse("ui:config-entity-new"), {"label": "Tool", "slug": "tool", "nav_group": "Shop"}
    )
    _field(as_owner, "tool", type="text", label="Name", slug="name")
    page = as_owner.get(reverse("ui:config-audit"))
    html = page.content.decode()
    assert html.count('data-testid="audit-row"') == AuditLog.objects.count() >= 2
    assert "tool.name" in html
    assert "owner" in html
    only_fields = as_owner.get(reverse("ui:config-audit"), {"type": "field"}).content.decode()
    assert "tool.name" in only_fields
    assert (
        only_fields.count('data-testid="audit-row"')
        == AuditLog.objects.filter(object_type="field").count()
    )

    grant(clerk, "tool", ops=("read", "configure"))
    client.force_login(clerk)
    assert client.get(reverse("ui:config-audit")).status_code == 403


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_entity_and_field_pages_have_bounded_query_counts(
    as_owner, owner, django_assert_max_num_queries
):
    entity_create(slug="wide", label="Wide", user=owner)
    for n in range(3):
        field_create(entity="wide", slug=f"f{n}", label=f"F{n}", type="text", user=owner)
    urls = [
        reverse("ui:config"),
        reverse("ui:config-entity", args=["wide"]),
        reverse("ui:config-field", args=["wide", "f0"]),
        reverse("ui:config-field-new", args=["wide"]) + "?type=formula",
        reverse("ui:config-layout", args=["wide"]),
    ]
    as_owner.get(urls[0])  # the first request of a session costs more
    few = [_queries(as_owner, url) for url in urls]
    for n in range(3, 30):
        field_create(entity="wide", slug=f"f{n}", label=f"F{n}", type="text", user=owner)
    for n in range(30):
        record_create(entity="wide", data={"f0": f"r{n}"}, user=owner)
    many = [_queries(as_owner, url) for url in urls]
    assert many == few
    for url in urls:
        with django_assert_max_num_queries(15):
            as_owner.get(url)
