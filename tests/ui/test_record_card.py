"""The record card: create and edit through the generated form, errors in place, conflicts,
child-table grids, live computed values of a draft, rights, link search and history."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model

from cardfile.metamodel.layouts import card_layout_set
from cardfile.metamodel.records import record_create, record_delete, record_update
from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.field_services import field_create
from tests.builders import add_line_amounts, build_shop_schema, build_shop_with_tags, grant


def _line(item, qty, price):
    return {"item": item, "qty": qty, "price": {"amount": price, "currency": "EUR"}}


@pytest.fixture
def shop(owner):
    build_shop_schema(owner)
    field_create(entity="order_line", slug="position", label="Pos", type="integer", user=owner)
    add_line_amounts(owner)
    field_create(entity="order", slug="note", label="Note", type="text", user=owner)
    ivan = record_create(
        entity="client", data={"name": "Ivan", "phone": "+49 30 1234567"}, user=owner
    )
    olga = record_create(entity="client", data={"name": "Olga"}, user=owner)
    return {"ivan": ivan, "olga": olga}


def _order(owner, shop, lines=None, **data):
    return record_create(
        entity="order",
        data={"client": shop["ivan"].pk, "lines": lines or [], **data},
        user=owner,
    )


def _stored(owner, order_id):
    from cardfile.metamodel.records import record_to_dict
    from cardfile.metamodel.records.filtering import record_detail

    schema = get_registry().entity("order")
    obj = record_detail("order", order_id, user=owner)
    return record_to_dict(schema, obj)


def _line_post(key, item, qty, price, line_id=None):
    data = {
        f"lines.{key}.item": item,
        f"lines.{key}.qty": str(qty),
        f"lines.{key}.price": price,
        f"lines.{key}.price__currency": "EUR",
    }
    if line_id is not None:
        data[f"lines.{key}.id"] = str(line_id)
    return data


def _post_lines(rows):
    data = {"lines.present": "1", "lines.rows": [key for key, *_rest in rows]}
    for key, item, qty, price, *line_id in rows:
        data.update(_line_post(key, item, qty, price, *line_id))
    return data


@pytest.mark.embedded
def test_new_card_creates_a_record_and_redirects(shop, owner, signed_in):
    client = signed_in(owner)
    page = client.get("/r/order/new/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="card-form"' in html
    assert 'data-testid="link-search-client"' in html
    assert 'data-testid="line-add-lines"' in html

    response = client.post(
        "/r/order/new/",
        {
            "client": str(shop["ivan"].pk),
            "client__label": "Ivan",
            "state": "ready",
            "note": "fragile",
            **_post_lines([("a", "screen", 2, "10.50")]),
        },
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 204
    order_id = int(re.search(r"/r/order/(\d+)/", response["HX-Redirect"]).group(1))
    stored = _stored(owner, order_id)
    assert stored["state"] == "ready"
    assert stored["note"] == "fragile"
    assert [(line["item"], line["qty"]) for line in stored["lines"]] == [("screen", 2)]
    assert stored["total"] == {"amount": "21.00", "currency": "EUR"}
    card = client.get(response["HX-Redirect"]).content.decode()
    assert "was created" in card
    assert 'data-testid="total-total"' in card


@pytest.mark.embedded
def test_update_with_version_and_validation_error_next_to_field(shop, owner, signed_in):
    order = _order(owner, shop)
    client = signed_in(owner)
    url = f"/r/order/{order.pk}/"

    bad = client.post(
        url,
        {"version": str(order.version), "client": "", "note": "typed by me"},
        HTTP_HX_REQUEST="true",
    )

    assert bad.status_code == 400
    html = bad.content.decode()
    assert 'data-testid="error-client"' in html
    assert re.search(r'class="[^"]*is-invalid[^"]*"[^>]*name="client__label"', html)
    assert 'value="typed by me"' in html  # what the user typed stays
    assert "<html" not in html  # htmx gets the form only

    good = client.post(
        url, {"version": str(order.version), "note": "changed"}, HTTP_HX_REQUEST="true"
    )
    assert good.status_code == 204
    assert good["HX-Redirect"] == url
    assert _stored(owner, order.pk)["note"] == "changed"


def test_plain_post_without_htmx_redirects_and_re_renders_page(shop, owner, signed_in):
    order = _order(owner, shop)
    client = signed_in(owner)
    url = f"/r/order/{order.pk}/"
    bad = client.post(url, {"version": str(order.version), "client": ""})
    assert bad.status_code == 400
    assert "<html" in bad.content.decode()
    good = client.post(url, {"version": str(order.version), "note": "x"})
    assert good.status_code == 302
    assert good["Location"] == url


@pytest.mark.embedded
def test_conflict_panel_on_stale_version_and_overwrite(shop, owner, signed_in):
    order = _order(owner, shop, note="first")
    client = signed_in(owner)
    url = f"/r/order/{order.pk}/"
    # someone else saves meanwhile
    from cardfile.metamodel.records import record_update

    record_update(
        entity="order", record_id=order.pk, data={"note": "theirs"}, version=order.version
    )

    stale = client.post(
        url, {"version": str(order.version), "note": "mine"}, HTTP_HX_REQUEST="true"
    )

    assert stale.status_code == 409
    html = stale.content.decode()
    assert 'data-testid="conflict-panel"' in html
    assert 'data-testid="conflict-reload"' in html
    row = re.search(r'data-testid="conflict-row">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r"<td>([^<]*)</td>", row) == ["Note", "mine", "theirs"]
    overwrite = re.search(r'name="overwrite_version" value="(\d+)"', html).group(1)
    assert _stored(owner, order.pk)["note"] == "theirs"

    forced = client.post(
        url,
        {"version": str(order.version), "overwrite_version": overwrite, "note": "mine"},
        HTTP_HX_REQUEST="true",
    )

    assert forced.status_code == 204
    assert _stored(owner, order.pk)["note"] == "mine"


@pytest.mark.embedded
def test_lines_added_removed_and_reordered_in_submitted_order(shop, owner, signed_in):
    order = _order(
        owner, shop, lines=[_line("a", 1, "1.00"), _line("b", 1, "2.00"), _line("c", 1, "3.00")]
    )
    ids = [line["id"] for line in _stored(owner, order.pk)["lines"]]
    client = signed_in(owner)

    response = client.post(
        f"/r/order/{order.pk}/",
        {
            "version": str(order.version),
            # c moved first, b removed, d added between
            **_post_lines(
                [
                    ("r3", "c", 1, "3.00", ids[2]),
                    ("n1", "d", 4, "1.25"),
                    ("r1", "a", 1, "1.00", ids[0]),
                ]
            ),
        },
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 204, response.content.decode()
    lines = _stored(owner, order.pk)["lines"]
    assert [line["item"] for line in lines] == ["c", "d", "a"]
    assert [lines[0]["id"], lines[2]["id"]] == [ids[2], ids[0]]
    assert ids[1] not in [line["id"] for line in lines]


def test_line_error_shown_next_to_its_cell(shop, owner, signed_in):
    client = signed_in(owner)
    response = client.post(
        "/r/order/new/",
        {
            "client": str(shop["ivan"].pk),
            **_post_lines([("a", "ok", 1, "1.00"), ("b", "", "x", "1.00")]),
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    html = response.content.decode()
    rows = re.findall(r'<tr data-testid="line-row" data-key="(\w+)">(.*?)</tr>', html, re.S)
    rows = [(key, body) for key, body in rows if key != "__KEY__"]  # not the new-row template
    assert [key for key, _body in rows] == ["a", "b"]
    assert 'data-testid="error-qty"' in rows[1][1]
    assert 'data-testid="error-item"' in rows[1][1]
    assert "error-" not in rows[0][1]


@pytest.mark.embedded
def test_live_total_of_a_draft(shop, owner, signed_in):
    client = signed_in(owner)

    response = client.post(
        "/r/order/draft/",
        {
            "client": str(shop["ivan"].pk),
            **_post_lines([("a", "x", 2, "10.00"), ("b", "y", "3", "1.50")]),
        },
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    html = response.content.decode()
    total = re.search(r'id="cv-total" hx-swap-oob="innerHTML">([^<]*)<', html).group(1)
    assert "€" in total
    assert "24.50" in total
    line = re.search(r'id="cv-lines-b-amount" hx-swap-oob="innerHTML">([^<]*)<', html).group(1)
    assert "4.50" in line


def test_live_total_of_changes_to_a_stored_record(shop, owner, signed_in):
    order = _order(owner, shop, lines=[_line("a", 1, "5.00")])
    line_id = _stored(owner, order.pk)["lines"][0]["id"]
    client = signed_in(owner)
    response = client.post(
        f"/r/order/{order.pk}/draft/",
        {"version": str(order.version), **_post_lines([("r1", "a", 3, "5.00", line_id)])},
    )
    assert "15.00" in re.search(r'id="cv-total"[^>]*>([^<]*)<', response.content.decode()).group(1)
    assert _stored(owner, order.pk)["total"] == {"amount": "5.00", "currency": "EUR"}


@pytest.mark.embedded
def test_read_only_field_is_text_and_a_forged_post_is_refused(shop, owner, clerk, signed_in):
    order = _order(owner, shop, note="keep")
    grant(clerk, "order", ops=("read", "update"), fields={"note": "read_only"}, role="reception")
    grant(clerk, "client", ops=("read",), role="clients")
    client = signed_in(clerk)
    url = f"/r/order/{order.pk}/"

    html = client.get(url).content.decode()

    assert 'name="note"' not in html
    assert re.search(r'data-testid="readonly-note">keep<', html)
    assert 'name="state"' in html

    forged = client.post(
        url, {"version": str(order.version), "note": "forged"}, HTTP_HX_REQUEST="true"
    )
    assert forged.status_code == 400
    assert "read-only" in forged.content.decode() or "may not" in forged.content.decode()
    assert _stored(owner, order.pk)["note"] == "keep"


@pytest.mark.embedded
def test_hidden_field_absent_and_card_read_only_without_update_right(shop, owner, clerk, signed_in):
    order = _order(owner, shop, note="secret note")
    grant(clerk, "order", ops=("read",), fields={"note": "hidden"}, role="viewer")
    grant(clerk, "client", ops=("read",), role="clients")
    client = signed_in(clerk)

    html = client.get(f"/r/order/{order.pk}/").content.decode()

    assert "secret note" not in html
    assert "Note" not in html
    assert 'data-testid="save"' not in html
    assert 'data-testid="delete-record"' not in html
    assert 'data-testid="read-only-card"' in html
    assert 'name="state"' not in html
    refused = client.post(f"/r/order/{order.pk}/", {"version": str(order.version), "state": "new"})
    assert refused.status_code == 403


def test_link_search_returns_only_readable_rows(shop, owner, clerk, signed_in):
    grant(clerk, "order", ops=("read", "create"))
    grant(clerk, "client", ops=("read",), rule='name = "Olga"', role="clients")
    client = signed_in(clerk)

    everything = client.get("/r/order/fields/client/options/", {"q": ""}).content.decode()
    searched = client.get(
        "/r/order/fields/client/options/", {"name": "client", "client__label": "i"}
    ).content.decode()

    assert f'data-testid="link-option-{shop["olga"].pk}"' in everything
    assert f'data-testid="link-option-{shop["ivan"].pk}"' not in everything
    assert "Ivan" not in searched  # "i" matches Ivan, outside the row rule
    owner_view = signed_in(owner).get("/r/order/fields/client/options/", {"q": "iv"})
    assert f'data-testid="link-option-{shop["ivan"].pk}"' in owner_view.content.decode()
    assert f'data-testid="link-option-{shop["olga"].pk}"' not in owner_view.content.decode()


def test_history_renders_who_changed_what(shop, owner, signed_in):
    order = _order(owner, shop, lines=[_line("a", 1, "1.00")], note="one")
    client = signed_in(owner)
    client.post(
        f"/r/order/{order.pk}/",
        {"version": str(order.version), "note": "two"},
        HTTP_HX_REQUEST="true",
    )

    card = client.get(f"/r/order/{order.pk}/").content.decode()
    html = client.get(f"/r/order/{order.pk}/history/").content.decode()

    assert 'data-testid="history-tab"' in card
    assert html.count('data-testid="history-entry"') == 2
    assert "owner" in html
    assert re.search(r">one</span> → <span>two<", html)


def test_quick_create_in_a_modal_answers_the_new_id(shop, owner, signed_in):
    client = signed_in(owner)
    form = client.get("/r/client/new/", {"modal": "1", "for": "client"}, HTTP_HX_REQUEST="true")
    assert form.status_code == 200
    assert "<html" not in form.content.decode()
    assert 'name="modal" value="1"' in form.content.decode()
    assert (
        'data-testid="quick-create-client"'
        in signed_in(owner).get("/r/order/new/").content.decode()
    )

    response = client.post(
        "/r/client/new/",
        {"modal": "1", "for": "client", "name": "Petr"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 204
    assert '"cf:quick-created"' in response["HX-Trigger"]
    assert '"label": "Petr"' in response["HX-Trigger"]
    assert '"for": "client"' in response["HX-Trigger"]


def test_delete_and_restore(shop, owner, signed_in):
    order = _order(owner, shop)
    client = signed_in(owner)
    assert 'data-testid="delete-record"' in client.get(f"/r/order/{order.pk}/").content.decode()

    deleted = client.post(f"/r/order/{order.pk}/delete/")
    assert deleted.status_code == 302
    trashed = client.get(f"/r/order/{order.pk}/", follow=True)
    assert 'data-testid="restore-record"' in trashed.content.decode()

    client.post(f"/r/order/{order.pk}/restore/")
    assert client.get(f"/r/order/{order.pk}/").status_code == 200


def _note_if_ready(owner, *, own_section=False):
    """Order card: note shown only when the state is ready (in a section of its own)."""
    by = get_registry().entity("order").by_slug
    note = {"field": by["note"].pk, "visible_if": 'state = "ready"'}
    main = [{"field": by["client"].pk}, {"field": by["state"].pk}]
    sections = [{"label": "", "columns": [main if own_section else [*main, note]]}]
    if own_section:
        sections.append({"label": "Notes", "columns": [[note]]})
    layout = {
        "tabs": [
            {"label": "Main", "sections": sections},
            {
                "label": "Work",
                "sections": [{"label": "", "columns": [[{"field": by["lines"].pk}]]}],
            },
        ]
    }
    card_layout_set(entity="order", layout=layout, user=owner)


def _shown(html, slug):
    """Whether the card shows field ``slug`` (None: not on the page at all)."""
    found = re.search(
        rf'<fieldset class="cf-item" data-cf-field="{slug}"( hidden disabled)?>', html
    )
    return None if found is None else not found.group(1)


def test_visible_if_hides_a_field_by_formula(shop, owner, signed_in):
    _note_if_ready(owner)
    new = _order(owner, shop, state="new")
    ready = _order(owner, shop, state="ready")
    client = signed_in(owner)

    assert _shown(client.get(f"/r/order/{new.pk}/").content.decode(), "note") is False
    html = client.get(f"/r/order/{ready.pk}/").content.decode()
    assert _shown(html, "note") is True
    assert _shown(html, "state") is True
    assert ">Work</button>" in html
    # a new record: the condition on its defaults (state "new")
    assert _shown(client.get("/r/order/new/").content.decode(), "note") is False


@pytest.mark.embedded
def test_draft_shows_and_hides_fields_by_visible_if_while_typing(shop, owner, signed_in):
    _note_if_ready(owner, own_section=True)
    client = signed_in(owner)
    order = _order(owner, shop, state="new")
    card = client.get(f"/r/order/{order.pk}/").content.decode()
    # the section holding only the hidden note is hidden too
    assert re.search(
        r'<section class="card mb-3 cf-section" hidden>\s*<div class="card-header', card
    )

    typed_ready = client.post("/r/order/draft/", {"client": str(shop["ivan"].pk), "state": "ready"})
    typed_new = client.post(
        f"/r/order/{order.pk}/draft/", {"version": str(order.version), "state": "issued"}
    )
    untouched = client.post(f"/r/order/{order.pk}/draft/", {"version": str(order.version)})

    assert typed_ready.status_code == 200
    assert json.loads(typed_ready["HX-Trigger"]) == {
        "cf:visibility": {"shown": ["note"], "hidden": []}
    }
    assert json.loads(typed_new["HX-Trigger"])["cf:visibility"] == {"shown": [], "hidden": ["note"]}
    # what is not typed reads as stored: the order's state is "new"
    assert json.loads(untouched["HX-Trigger"])["cf:visibility"]["hidden"] == ["note"]
    assert 'id="cv-total"' in typed_ready.content.decode()  # computed values still come along


def test_draft_visibility_leaves_out_fields_hidden_from_the_user(shop, owner, clerk, signed_in):
    _note_if_ready(owner)
    grant(clerk, "order", ops=("read", "create", "update"), fields={"note": "hidden"})
    grant(clerk, "client", ops=("read",), role="clients")

    response = signed_in(clerk).post("/r/order/draft/", {"state": "ready"})
    html = signed_in(clerk).get("/r/order/new/").content.decode()

    assert response.status_code == 200
    assert "HX-Trigger" not in response  # no field on a condition the clerk may see
    assert _shown(html, "note") is None
    assert _shown(html, "state") is True


def test_draft_without_conditions_sends_no_visibility(shop, owner, signed_in):
    response = signed_in(owner).post("/r/order/draft/", {"state": "ready"})
    assert response.status_code == 200
    assert "HX-Trigger" not in response


def test_errors_of_a_field_hidden_by_visible_if_show_above_the_form(shop, owner, signed_in):
    by = get_registry().entity("order").by_slug
    card_layout_set(
        entity="order",
        layout={
            "tabs": [
                {
                    "label": "Main",
                    "sections": [
                        {
                            "label": "",
                            "columns": [
                                [
                                    {"field": by["state"].pk},
                                    {"field": by["client"].pk, "visible_if": 'state = "ready"'},
                                    {"field": by["lines"].pk},
                                ]
                            ],
                        }
                    ],
                }
            ]
        },
        user=owner,
    )

    response = signed_in(owner).post("/r/order/new/", {"state": "new"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 400
    html = response.content.decode()
    assert _shown(html, "client") is False
    assert 'data-testid="error-client"' not in html
    top = re.search(r'data-testid="form-errors">(.*?)</div>', html, re.S).group(1)
    assert "<li>Client: " in top


def test_card_query_count_is_bounded_and_equal_for_5_and_20_lines(
    shop, owner, clerk, django_assert_max_num_queries, signed_in
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    grant(clerk, "order", ops=("read", "update"), rule='state <> "issued"')
    grant(clerk, "client", ops=("read",), role="clients")
    few = _order(owner, shop, lines=[_line(f"i{n}", n, "1.00") for n in range(5)])
    many = _order(owner, shop, lines=[_line(f"i{n}", n, "1.00") for n in range(20)])
    for user in (owner, clerk):
        client = signed_in(user)
        client.get(f"/r/order/{few.pk}/")  # warm the schema and access caches
        counts = {}
        for order, lines in ((few, 5), (many, 20)):
            with CaptureQueriesContext(connection) as captured:
                response = client.get(f"/r/order/{order.pk}/")
            html = response.content.decode()
            assert html.count('data-testid="line-row"') == lines + 1  # + the new-row template
            counts[lines] = len(captured)
        assert counts[5] == counts[20]
        with django_assert_max_num_queries(20):
            client.get(f"/r/order/{many.pk}/")


def test_trashed_record_is_not_editable_and_lines_have_no_card(shop, owner, signed_in):
    order = _order(owner, shop)
    record_delete(entity="order", record_id=order.pk, user=owner)
    client = signed_in(owner)
    assert client.post(f"/r/order/{order.pk}/", {"version": "1"}).status_code == 404
    assert client.get("/r/order_line/new/").status_code == 404


@pytest.fixture
def every_type(owner, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    build_shop_with_tags(owner)
    extra = [
        ("vip", "boolean", {}),
        ("born", "date", {}),
        ("seen", "datetime", {}),
        ("kinds", "multi_choice", {"choices": ["phone", {"value": "tab", "color": "#ff0000"}]}),
        ("meta", "json", {}),
        ("story", "long_text", {}),
        ("rate", "decimal", {"decimal_places": 2}),
        ("spent", "duration", {}),
        ("photo", "file", {}),
    ]
    for slug, type_, options in extra:
        field_create(
            entity="client", slug=slug, label=slug.title(), type=type_, options=options, user=owner
        )
    red = record_create(entity="tag", data={"name": "red"}, user=owner)
    blue = record_create(entity="tag", data={"name": "blue"}, user=owner)
    return {"red": red, "blue": blue}


def test_every_input_type_round_trips_through_the_card(every_type, owner, signed_in):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = signed_in(owner)
    red, blue = every_type["red"].pk, every_type["blue"].pk
    response = client.post(
        "/r/client/new/",
        {
            "name": "Ivan",
            "phone": "030 1234567",
            "discount": "12.5",
            "tags": ["", str(blue), str(red)],
            "tags__label": ["blue", "red"],
            "vip": ["false", "true"],
            "born": "1990-05-01",
            "seen": "2026-03-01T14:30",
            "kinds": ["", "tab"],
            "meta": '{"a": [1, 2]}',
            "story": "line one\nline two",
            "rate": "3.25",
            "spent": "1:30",
            "photo": SimpleUploadedFile("p.txt", b"hello", content_type="text/plain"),
        },
    )
    assert response.status_code == 302, response.content.decode()
    client_id = int(re.search(r"/r/client/(\d+)/", response["Location"]).group(1))
    from cardfile.metamodel.records import record_to_dict
    from cardfile.metamodel.records.filtering import record_detail

    stored = record_to_dict(
        get_registry().entity("client"), record_detail("client", client_id, user=owner)
    )
    assert stored["phone"] == "+49301234567"
    assert stored["tags"] == [blue, red]
    assert stored["vip"] is True
    assert stored["born"] == "1990-05-01"
    assert stored["kinds"] == ["tab"]
    assert stored["meta"] == {"a": [1, 2]}
    assert stored["story"] == "line one\nline two"
    assert stored["rate"] == "3.25"
    assert stored["photo"]["name"] == "p.txt"

    html = client.get(f"/r/client/{client_id}/").content.decode()
    assert 'name="seen" value="2026-03-01T14:30"' in html
    assert 'name="spent" value="1:30:00"' in html
    assert re.search(r'name="vip" value="true" checked', html)
    assert re.search(r'value="tab" checked', html)
    assert '<input type="hidden" name="tags" value="' + str(blue) + '"' in html
    assert ">p.txt</a>" in html

    # unticking sends the hidden "false"; an empty list of tags clears them; bad JSON is refused
    version = str(stored["version"])
    bad = client.post(
        f"/r/client/{client_id}/", {"version": version, "meta": "{nope"}, HTTP_HX_REQUEST="true"
    )
    assert bad.status_code == 400
    assert 'data-testid="error-meta"' in bad.content.decode()
    ok = client.post(
        f"/r/client/{client_id}/",
        {"version": version, "vip": "false", "tags": "", "kinds": ""},
        HTTP_HX_REQUEST="true",
    )
    assert ok.status_code == 204
    again = record_to_dict(
        get_registry().entity("client"), record_detail("client", client_id, user=owner)
    )
    assert again["vip"] is False
    assert again["tags"] == []
    assert again["kinds"] is None


# -- values as on the other screens (the shop of conftest: priority colours, a technician) ----


def _shop_order(owner, **data):
    client = record_create(entity="client", data={"name": "Ann Archer"}, user=owner)
    return client, record_create(entity="order", data={"client": client.pk, **data}, user=owner)


@pytest.mark.embedded
def test_choice_colours_are_checked_by_the_lists_rule(owner, shop_schema, signed_in):
    # given: the priority "high" is #dc3545; "low" has a colour that is no colour
    _client_record, order = _shop_order(owner, priority="high")
    browser = signed_in(owner)
    # when
    html = browser.get(f"/r/order/{order.pk}/").content.decode()
    # then: the chosen choice's colour is on the select, each option's checked colour with it
    select = re.search(r'<select[^>]*data-testid="field-priority"[^>]*>', html).group(0)
    assert "border-inline-start-color: #dc3545" in select
    assert '<option value="high" selected data-colour="#dc3545">' in html
    assert '<option value="low">' in html  # no colour at all rather than a bad one
    assert "url(x)" not in html
    # the list paints the same colour
    html = browser.get("/r/order/?columns=priority").content.decode()
    assert 'style="--cf-badge: #dc3545"' in html
    assert "url(x)" not in html


def test_an_inactive_user_keeps_their_name_everywhere(owner, clerk, shop_schema, signed_in):
    # given: an order moved from the owner to a technician who has left since
    retired = get_user_model().objects.create_user(username="retired")
    _client_record, order = _shop_order(owner, technician=owner.pk)
    record_update(
        entity="order",
        record_id=order.pk,
        data={"technician": retired.pk},
        version=order.version,
        user=owner,
    )
    retired.is_active = False
    retired.save()
    grant(clerk, "order", "client", ops=("read",))
    # then: the owner's select keeps them chosen, under their name (others choose among the
    # active users only)
    html = signed_in(owner).get(f"/r/order/{order.pk}/").content.decode()
    assert f'<option value="{retired.pk}" selected>retired</option>' in html
    # a reader sees the name, on the card, in the history and in the list
    browser = signed_in(clerk)
    html = browser.get(f"/r/order/{order.pk}/").content.decode()
    assert re.search(r'data-testid="readonly-technician">retired<', html)
    html = browser.get(f"/r/order/{order.pk}/history/").content.decode()
    assert "retired" in html
    assert f"#{retired.pk}" not in html
    html = browser.get("/r/order/?columns=number,technician").content.decode()
    assert ">retired<" in html


def test_a_record_without_a_readable_title_reads_as_entity_and_id(
    owner, clerk, shop_schema, signed_in
):
    # given: the clerk may read orders and clients, but not the clients' names (their titles)
    client, order = _shop_order(owner)
    grant(clerk, "order", ops=("read",))
    grant(clerk, "client", ops=("read",), fields={"name": "hidden"}, role="clients")
    browser = signed_in(clerk)
    # then: "Client #id" on cards, where nothing else names the entity
    html = browser.get(f"/r/order/{order.pk}/").content.decode()
    assert re.search(rf'data-testid="readonly-client">Client #{client.pk}<', html)
    html = browser.get(f"/r/client/{client.pk}/").content.decode()
    assert re.search(rf'data-testid="card-title">Client #{client.pk}<', html)
    # and "#id" in a list column headed "Client"
    html = browser.get("/r/order/?columns=number,client").content.decode()
    assert f">#{client.pk}</a>" in html
    assert "Ann Archer" not in html


def test_files_download_only_within_the_records_rights(every_type, owner, clerk, signed_in):
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    # given: a client with a file, uploaded through the card
    client = signed_in(owner)
    upload = SimpleUploadedFile("p.txt", b"hello", content_type="text/plain")
    created = client.post("/r/client/new/", {"name": "Ivan", "photo": upload})
    client_id = int(re.search(r"/r/client/(\d+)/", created["Location"]).group(1))
    url = f"/r/client/{client_id}/files/photo/0/"

    # then: the card links to the download, which the owner gets as an attachment
    assert f'href="{url}"' in client.get(f"/r/client/{client_id}/").content.decode()
    got = client.get(url)
    assert got.status_code == 200
    assert b"".join(got.streaming_content) == b"hello"
    assert got["Content-Disposition"].startswith("attachment")
    assert got["Content-Security-Policy"] == "sandbox"
    assert client.get(f"/r/client/{client_id}/files/photo/1/").status_code == 404
    assert client.get(f"/r/client/{client_id}/files/name/0/").status_code == 404

    # and nobody else gets it without reading the record and the field
    assert signed_in(clerk).get(url).status_code == 403
    grant(clerk, "client", ops=("read",), fields={"photo": "hidden"})
    assert signed_in(clerk).get(url).status_code == 404
    outsider = get_user_model().objects.create_user(username="outsider", password="x-long-pass")
    grant(outsider, "client", ops=("read",), rule='name = "Bob"', role="bobs")
    assert signed_in(outsider).get(url).status_code == 404
