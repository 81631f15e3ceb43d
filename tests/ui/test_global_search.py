"""Global search: results grouped by entity within the user's rights; a barcode scan (an exact
autonumber, phone number or code) opens the record at once."""

from __future__ import annotations

import pytest

from cardfile.metamodel.records import record_create
from cardfile.metamodel.schema.field_services import field_create
from tests.builders import build_shop_schema, grant


@pytest.fixture
def shop(owner):
    build_shop_schema(owner)
    field_create(
        entity="client",
        slug="imei",
        label="IMEI",
        type="text",
        options={"barcode": True},
        user=owner,
    )
    ivan = record_create(
        entity="client",
        data={"name": "Ivan Petrov", "phone": "+49 30 1234567", "imei": "356938035643809"},
        user=owner,
    )
    olga = record_create(entity="client", data={"name": "Olga Ivanova"}, user=owner)
    order = record_create(entity="order", data={"client": ivan.pk, "lines": []}, user=owner)
    return {"ivan": ivan, "olga": olga, "order": order}


@pytest.mark.embedded
def test_results_grouped_by_entity(shop, owner, signed_in):
    for n in range(7):
        record_create(entity="client", data={"name": f"Ivo {n}"}, user=owner)

    response = signed_in(owner).get("/search/", {"q": "ivo"})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="search-group-client"' in html
    assert html.count('data-testid="search-result-client-') == 5
    assert "All results" in html
    # no order matches "ivo" (nor does its client, Ivan, through whom an order is found)
    assert 'data-testid="search-group-order"' not in html


@pytest.mark.embedded
def test_autonumber_scan_opens_the_record(shop, owner, signed_in):
    from cardfile.metamodel.records import record_to_dict
    from cardfile.metamodel.schema.dynamic import get_registry

    number = record_to_dict(get_registry().entity("order"), shop["order"])["number"]

    response = signed_in(owner).get("/search/", {"q": number})

    assert response.status_code == 302
    assert response["Location"] == f"/r/order/{shop['order'].pk}/"


@pytest.mark.embedded
def test_phone_typed_another_way_and_imei_open_the_record(shop, owner, signed_in):
    client = signed_in(owner)
    by_phone = client.get("/search/", {"q": "030 1234567"})
    by_imei = client.get("/search/", {"q": "356938035643809"})

    assert by_phone["Location"] == f"/r/client/{shop['ivan'].pk}/"
    assert by_imei["Location"] == f"/r/client/{shop['ivan'].pk}/"


@pytest.mark.embedded
def test_only_text_fields_flagged_barcode_are_scanned(shop, owner, signed_in):
    # a text field named like a code but not flagged is searched, not scanned
    field_create(entity="client", slug="serial", label="Serial", type="text", user=owner)
    field_create(
        entity="client", slug="box", label="Box", type="text", options={"barcode": True}, user=owner
    )
    anna = record_create(entity="client", data={"name": "Anna", "serial": "SN-77"}, user=owner)
    petr = record_create(entity="client", data={"name": "Petr", "box": "BX-12"}, user=owner)
    client = signed_in(owner)

    by_serial = client.get("/search/", {"q": "SN-77"})
    by_box = client.get("/search/", {"q": "BX-12"})
    by_name = client.get("/search/", {"q": "Petr"})

    assert by_serial.status_code == 200
    assert f'data-testid="search-result-client-{anna.pk}"' in by_serial.content.decode()
    assert by_box.status_code == 302
    assert by_box["Location"] == f"/r/client/{petr.pk}/"
    assert by_name.status_code == 200  # a name is no code: the results page


def test_scan_outside_the_users_rights_opens_nothing(shop, owner, clerk, signed_in):
    grant(clerk, "client", ops=("read",), rule='name = "Olga Ivanova"')
    client = signed_in(clerk)

    scanned = client.get("/search/", {"q": "356938035643809"})
    searched = client.get("/search/", {"q": "iv"})

    assert scanned.status_code == 200
    assert 'data-testid="search-empty"' in scanned.content.decode()
    html = searched.content.decode()
    assert f'data-testid="search-result-client-{shop["olga"].pk}"' in html
    assert f'data-testid="search-result-client-{shop["ivan"].pk}"' not in html
    assert 'data-testid="search-group-order"' not in html  # order not readable at all


def test_search_page_query_count_is_bounded(shop, owner, django_assert_max_num_queries, signed_in):
    for n in range(20):
        record_create(entity="client", data={"name": f"Ivo {n}"}, user=owner)
    client = signed_in(owner)
    client.get("/search/", {"q": "ivo"})
    with django_assert_max_num_queries(20):
        response = client.get("/search/", {"q": "ivo"})
    assert response.status_code == 200
