"""Record lists over the API: filters and their operators, paths through links, search, sort,
pagination, and the 400s for what a list cannot do."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from cardfile.metamodel.records import record_bulk_create, record_create
from cardfile.metamodel.schema.services import entity_create, field_create

pytestmark = [pytest.mark.embedded]


def _field(entity, slug, type_, owner, **kwargs):
    field_create(entity=entity, slug=slug, label=slug.title(), type=type_, user=owner, **kwargs)


@pytest.fixture
def catalog(schema_db, owner):
    """client(name, email, discount, vip, born, kind, langs, tags) <- order(client, total, ...)
    <- payment(order, amount); four clients, three orders, two payments."""
    entity_create(slug="tag", label="Tag", user=owner)
    _field("tag", "name", "text", owner)
    entity_create(slug="client", label="Client", user=owner)
    _field("client", "name", "text", owner)
    _field("client", "email", "email", owner)
    _field("client", "discount", "percent", owner)
    _field("client", "vip", "boolean", owner)
    _field("client", "born", "date", owner)
    _field("client", "kind", "choice", owner, options={"choices": ["person", "company"]})
    _field("client", "langs", "multi_choice", owner, options={"choices": ["en", "de", "ru"]})
    _field("client", "tags", "multi_link", owner, options={"target": "tag"})
    entity_create(slug="order_line", label="Order line", user=owner)
    _field("order_line", "item", "text", owner)
    entity_create(slug="order", label="Order", user=owner)
    _field("order", "number", "autonumber", owner, options={"pattern": "RO-{00000}"})
    _field("order", "client", "link", owner, options={"target": "client"})
    _field("order", "total", "money", owner)
    _field("order", "took", "duration", owner)
    _field("order", "seen", "datetime", owner)
    _field("order", "lines", "child_table", owner, options={"target": "order_line"})
    entity_create(slug="payment", label="Payment", user=owner)
    _field("payment", "order", "link", owner, options={"target": "order"})
    _field("payment", "amount", "money", owner)

    vip = record_create(entity="tag", data={"name": "vip"})
    clients = {
        c.fname: c
        for c in (
            _named(
                "Ivan",
                email="ivan@example.com",
                discount="5",
                vip=True,
                born="1990-01-02",
                kind="person",
                langs=["en", "ru"],
                tags=[vip.pk],
            ),
            _named(
                "Olga",
                email="olga@shop.org",
                discount="10",
                vip=False,
                born="1985-06-01",
                kind="company",
                langs=["de"],
            ),
            _named("Petr", kind="person"),
            _named("Anna", discount="20", born="2000-12-31"),
        )
    }
    ivan, olga = clients["Ivan"].pk, clients["Olga"].pk
    orders = record_bulk_create(
        entity="order",
        rows=[
            {
                "client": ivan,
                "total": "150.00",
                "took": "1:30",
                "seen": "2026-05-01T10:00",
                "lines": [{"item": "Screen"}],
            },
            {"client": olga, "total": {"amount": "80", "currency": "USD"}, "took": "20m"},
            {"client": ivan},
        ],
    )
    record_bulk_create(
        entity="payment",
        rows=[
            {"order": orders[0].pk, "amount": "100"},
            {"order": orders[1].pk, "amount": "80"},
        ],
    )
    return {"clients": clients, "orders": orders, "vip": vip}


def _named(name, **data):
    obj = record_create(entity="client", data={"name": name, **data})
    obj.fname = name
    return obj


def _names(api, query):
    response = api.get(f"/api/v1/records/client/?{query}")
    assert response.status_code == 200, response.json()
    return sorted(r["name"] for r in response.json()["results"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("name=Ivan", ["Ivan"]),
        ("name__exact=Ivan", ["Ivan"]),
        ("name__ne=Ivan", ["Anna", "Olga", "Petr"]),
        ("name__contains=va", ["Ivan"]),
        ("name__icontains=IVA", ["Ivan"]),
        ("name__startswith=O", ["Olga"]),
        ("name__in=Ivan,Anna", ["Anna", "Ivan"]),
        ("name__gte=O", ["Olga", "Petr"]),
        ("email__icontains=EXAMPLE", ["Ivan"]),
        ("email=ivan@EXAMPLE.com", ["Ivan"]),  # read as the field reads it
        ("discount__lt=10", ["Ivan"]),
        ("discount__lte=10", ["Ivan", "Olga"]),
        ("discount__gt=10", ["Anna"]),
        ("discount__gte=10", ["Anna", "Olga"]),
        ("discount__range=5,10", ["Ivan", "Olga"]),
        ("discount__in=5,20", ["Anna", "Ivan"]),
        ("discount__ne=5", ["Anna", "Olga", "Petr"]),
        ("discount__isnull=true", ["Petr"]),
        ("discount__isnull=false", ["Anna", "Ivan", "Olga"]),
        ("discount=", ["Petr"]),
        ("discount__lt=1000", ["Anna", "Ivan", "Olga"]),  # a bound beyond max is a fine bound
        ("vip=true", ["Ivan"]),
        ("vip=false", ["Olga"]),
        ("born__gte=1990-01-01", ["Anna", "Ivan"]),
        ("born__range=1980-01-01,1995-01-01", ["Ivan", "Olga"]),
        ("born=1985-06-01", ["Olga"]),
        ("kind=company", ["Olga"]),
        ("kind__in=person,company", ["Ivan", "Olga", "Petr"]),
        ("kind__isnull=true", ["Anna"]),
        ("kind__icontains=PERS", ["Ivan", "Petr"]),
        ("langs__contains=en", ["Ivan"]),
        ("langs__contains=ru,en", ["Ivan"]),
        ("langs__contains=de", ["Olga"]),
        ("langs__isnull=true", ["Anna", "Petr"]),
        ("tags__isnull=false", ["Ivan"]),
        ("tags__isnull=true", ["Anna", "Olga", "Petr"]),
        ("name__icontains=a&discount__gte=10", ["Anna", "Olga"]),
    ],
)
def test_filter_operators(catalog, api, query, expected):
    assert _names(api, query) == expected


def test_filter_by_link_multi_link_and_system_fields(catalog, api):
    clients, vip = catalog["clients"], catalog["vip"]
    ivan, olga = clients["Ivan"].pk, clients["Olga"].pk
    assert _names(api, f"tags={vip.pk}") == ["Ivan"]
    assert _names(api, f"tags__in={vip.pk},999") == ["Ivan"]
    assert _names(api, f"id={olga}") == ["Olga"]
    assert _names(api, f"id__in={ivan},{olga}") == ["Ivan", "Olga"]
    assert _names(api, f"id__gt={olga}") == ["Anna", "Petr"]
    assert _names(api, "created_at__gte=2000-01-01") == ["Anna", "Ivan", "Olga", "Petr"]
    assert _names(api, "updated_at__lt=2000-01-01") == []
    orders = api.get(f"/api/v1/records/order/?client={ivan}").json()["results"]
    assert len(orders) == 2
    assert {o["client"] for o in orders} == {ivan}


def test_money_duration_datetime_and_lines(catalog, api):
    def totals(query):
        response = api.get(f"/api/v1/records/order/?{query}")
        assert response.status_code == 200, response.json()
        return sorted((o["total"] or {}).get("amount", "-") for o in response.json()["results"])

    assert totals("total__gte=100") == ["150.00"]
    assert totals("total__lt=100") == ["80.00"]  # the amount, whatever the currency
    assert totals("total__range=50,200") == ["150.00", "80.00"]
    assert totals("total__isnull=true") == ["-"]
    assert totals("took__gt=1h") == ["150.00"]
    assert totals("took__lte=30m") == ["80.00"]
    assert totals("seen__gte=2026-05-01") == ["150.00"]
    assert totals("lines__isnull=false") == ["150.00"]
    assert totals("lines__isnull=true") == ["-", "80.00"]
    assert totals("number__startswith=RO-") == ["-", "150.00", "80.00"]


def test_paths_through_links(catalog, api):
    def orders(query):
        response = api.get(f"/api/v1/records/order/?{query}")
        assert response.status_code == 200, response.json()
        return response.json()["results"]

    ivan = catalog["clients"]["Ivan"].pk
    assert {o["client"] for o in orders("client__name__icontains=iva")} == {ivan}
    assert len(orders("client__name__icontains=iva")) == 2
    assert len(orders("client__kind=company")) == 1
    assert len(orders("client__discount__gte=10")) == 1
    assert len(orders(f"client__tags={catalog['vip'].pk}")) == 2
    # two levels: payment -> order -> client
    payments = api.get("/api/v1/records/payment/?order__client__name=Ivan").json()["results"]
    assert [p["amount"]["amount"] for p in payments] == ["100.00"]
    payments = api.get("/api/v1/records/payment/?order__total__lt=100").json()["results"]
    assert [p["amount"]["amount"] for p in payments] == ["80.00"]


def test_search_looks_in_text_like_fields(catalog, api):
    assert _names(api, "search=iva") == ["Ivan"]
    assert _names(api, "search=SHOP.ORG") == ["Olga"]  # the email
    assert _names(api, "search=compan") == ["Olga"]  # a choice value
    assert _names(api, "search=a&discount__gte=10") == ["Anna", "Olga"]
    assert _names(api, "search=nobody") == []
    olga = catalog["clients"]["Olga"].pk
    assert "Olga" in _names(api, f"search={olga}")  # digits also find the id
    numbers = api.get("/api/v1/records/order/?search=ro-0000").json()["results"]
    assert len(numbers) == 3  # the autonumber


def test_sort_by_several_fields(catalog, api):
    def order(query):
        response = api.get(f"/api/v1/records/client/?{query}")
        assert response.status_code == 200, response.json()
        return [r["name"] for r in response.json()["results"]]

    # default: newest first
    assert order("") == ["Anna", "Petr", "Olga", "Ivan"]
    assert order("sort=name") == ["Anna", "Ivan", "Olga", "Petr"]
    assert order("sort=-name") == ["Petr", "Olga", "Ivan", "Anna"]
    assert order("sort=-created_at,name")[0] in {"Anna", "Ivan", "Olga", "Petr"}
    # kind first (Anna has none and is left out), then name descending
    assert order("sort=kind,-name&kind__isnull=false") == ["Olga", "Petr", "Ivan"]
    assert order("sort=vip,discount&vip__isnull=false") == ["Olga", "Ivan"]
    assert order("sort=id") == ["Ivan", "Olga", "Petr", "Anna"]
    orders = api.get("/api/v1/records/order/?sort=-client__name,id").json()["results"]
    olga = catalog["clients"]["Olga"].pk
    assert [o["client"] for o in orders][0] == olga
    orders = api.get("/api/v1/records/order/?sort=-total,id").json()["results"]
    amounts = [(o["total"] or {}).get("amount") for o in orders if o["total"]]
    assert amounts == ["150.00", "80.00"]


def test_pagination_links_walk_every_record(catalog, api):
    record_bulk_create(entity="tag", rows=[{"name": f"t{i:02d}"} for i in range(11)])
    url = "/api/v1/records/tag/?sort=name&page_size=3&name__startswith=t"
    seen: list[str] = []
    pages = 0
    previous_of_last = None
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.json()
        body = response.json()
        assert "count" not in body
        assert len(body["results"]) <= 3
        seen += [r["name"] for r in body["results"]]
        pages += 1
        previous_of_last = body["previous"]
        url = body["next"]
        if url:
            parts = urlsplit(url)
            url = f"{parts.path}?{parts.query}"
    assert seen == [f"t{i:02d}" for i in range(11)]
    assert pages == 4
    # the previous link of the last page leads to page 3
    parts = urlsplit(previous_of_last)
    back = api.get(f"{parts.path}?{parts.query}").json()
    assert [r["name"] for r in back["results"]] == ["t06", "t07", "t08"]
    assert back["previous"] is not None
    first = api.get("/api/v1/records/tag/?sort=name&page_size=3&name__startswith=t&page=2")
    parts = urlsplit(first.json()["previous"])
    assert "page=" not in parts.query
    assert [r["name"] for r in api.get(f"{parts.path}?{parts.query}").json()["results"]] == [
        "t00",
        "t01",
        "t02",
    ]


def test_count_on_request_and_pages_past_the_end(catalog, api):
    body = api.get("/api/v1/records/client/?count=true&page_size=2").json()
    assert body["count"] == 4
    assert len(body["results"]) == 2
    assert body["next"] is not None
    assert body["previous"] is None
    assert api.get("/api/v1/records/client/?count=true&kind=person").json()["count"] == 2
    past = api.get("/api/v1/records/client/?page=9").json()
    assert past["results"] == []
    assert past["next"] is None


def test_default_page_size_is_50(catalog, api):
    record_bulk_create(entity="tag", rows=[{"name": f"t{i}"} for i in range(55)])
    body = api.get("/api/v1/records/tag/").json()
    assert len(body["results"]) == 50
    assert body["next"] is not None


@pytest.mark.parametrize(
    ("query", "param", "mentions"),
    [
        ("nickname=x", "nickname", "nickname"),
        ("where=name%3D1", "where", "Cannot compare text with integer"),
        ("name__between=a", "name__between", "between"),
        ("client__nickname=x", "client__nickname", "nickname"),
        ("name__client=x", "name__client", "client"),
        ("langs__lt=en", "langs__lt", "contains"),  # names the operators it takes
        ("vip__gt=true", "vip__gt", "isnull"),
        ("born=yesterday", "born", "YYYY-MM-DD"),
        ("born__range=2020-01-01", "born__range", "from,to"),
        ("discount__in=1,x", "discount__in", "'x'"),
        ("discount__gt=", "discount__gt", "required"),
        ("vip__isnull=maybe", "vip__isnull", "true or false"),
        ("kind=robot", "kind", "person, company"),
        ("langs__contains=fr", "langs__contains", "en, de, ru"),
        ("tags=abc", "tags", "record id"),
        ("sort=nickname", "sort", "nickname"),
        ("sort=tags", "sort", "tags"),
        ("page_size=501", "page_size", "500"),
        ("page_size=abc", "page_size", "500"),
        ("page=0", "page", "1"),
        ("count=maybe", "count", "true or false"),
        ("trash=maybe", "trash", "true or false"),
    ],
)
def test_bad_list_parameters_are_400_naming_them(catalog, api, query, param, mentions):
    response = api.get(f"/api/v1/records/client/?{query}")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert param in errors
    assert mentions in " ".join(errors[param])


def test_every_bad_parameter_is_reported_at_once(catalog, api):
    response = api.get("/api/v1/records/client/?nickname=x&born=never&sort=nothing")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"nickname", "born", "sort"}


def test_money_filter_value_is_checked(catalog, api):
    response = api.get("/api/v1/records/order/?total__gt=lots")
    assert response.status_code == 400
    assert "total__gt" in response.json()["errors"]
    response = api.get("/api/v1/records/order/?client=ivan")
    assert response.status_code == 400
    assert "client" in response.json()["errors"]
