"""A list request costs a fixed number of queries: not more for a bigger page, not more for
more links (joined), one per multi_link and per child table (prefetched), one per expanded link."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cardfile.metamodel.records import record_bulk_create
from cardfile.metamodel.schema.services import entity_create, field_create

pytestmark = [pytest.mark.embedded]

ROWS = 60


def _field(entity, slug, type_, owner, **kwargs):
    field_create(entity=entity, slug=slug, label=slug, type=type_, user=owner, **kwargs)


@pytest.fixture
def schema(schema_db, owner):
    """``one`` has one link; ``three`` three links and a user; ``rich`` adds a multi_link and
    a child table; each entity holds ROWS records whose relations are all filled."""
    for slug in ("client", "car", "shop"):
        entity_create(slug=slug, label=slug, user=owner)
        _field(slug, "name", "text", owner)
    entity_create(slug="tag", label="tag", user=owner)
    _field("tag", "name", "text", owner)
    _field("client", "tags", "multi_link", owner, options={"target": "tag"})
    entity_create(slug="line", label="line", user=owner)
    _field("line", "item", "text", owner)
    _field("line", "tags", "multi_link", owner, options={"target": "tag"})

    entity_create(slug="one", label="one", user=owner)
    _field("one", "client", "link", owner, options={"target": "client"})
    entity_create(slug="three", label="three", user=owner)
    for slug in ("client", "car", "shop"):
        _field("three", slug, "link", owner, options={"target": slug})
    _field("three", "boss", "user", owner)
    entity_create(slug="rich", label="rich", user=owner)
    _field("rich", "client", "link", owner, options={"target": "client"})
    _field("rich", "tags", "multi_link", owner, options={"target": "tag"})
    _field("rich", "lines", "child_table", owner, options={"target": "line"})

    tag = record_bulk_create(entity="tag", rows=[{"name": "t"}])[0].pk
    ids = {
        slug: [
            o.pk
            for o in record_bulk_create(
                entity=slug,
                rows=[
                    {"name": f"{slug}{i}", **({"tags": [tag]} if slug == "client" else {})}
                    for i in range(ROWS)
                ],
            )
        ]
        for slug in ("client", "car", "shop")
    }
    record_bulk_create(entity="one", rows=[{"client": c} for c in ids["client"]])
    record_bulk_create(
        entity="three",
        rows=[
            {"client": c, "car": r, "shop": s, "boss": owner.pk}
            for c, r, s in zip(ids["client"], ids["car"], ids["shop"], strict=True)
        ],
    )
    record_bulk_create(
        entity="rich",
        rows=[
            {"client": c, "tags": [tag], "lines": [{"item": "a", "tags": [tag]}, {"item": "b"}]}
            for c in ids["client"]
        ],
    )


def _queries(api, url) -> int:
    # The first request of a process works the caller's rights out (one query for their
    # branches, more for roles) and keeps them until the rights change: warm that cache.
    api.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = api.get(url)
    assert response.status_code == 200, response.json()
    return len(captured.captured_queries)


def _page(api, url) -> list[dict]:
    return api.get(url).json()["results"]


def test_page_size_and_number_of_links_do_not_change_the_count(schema, api):
    counts = {
        (entity, size): _queries(api, f"/api/v1/records/{entity}/?page_size={size}")
        for entity in ("one", "three")
        for size in (5, 50)
    }
    assert len(set(counts.values())) == 1, counts
    assert len(_page(api, "/api/v1/records/three/?page_size=50")) == 50


def test_multi_links_and_lines_cost_one_query_each_whatever_the_page_size(schema, api):
    small = _queries(api, "/api/v1/records/rich/?page_size=5")
    large = _queries(api, "/api/v1/records/rich/?page_size=50")
    plain = _queries(api, "/api/v1/records/one/?page_size=50")
    assert small == large
    # rich.tags, rich.lines, and the lines' own tags
    assert large == plain + 3
    rows = _page(api, "/api/v1/records/rich/?page_size=50")
    assert all(len(r["lines"]) == 2 and r["tags"] for r in rows)
    assert all(r["lines"][0]["tags"] for r in rows)


def test_filters_sort_and_search_add_no_query(schema, api):
    plain = _queries(api, "/api/v1/records/three/?page_size=50")
    filtered = _queries(
        api,
        "/api/v1/records/three/?page_size=50&client__name__startswith=client"
        "&sort=-car__name,shop&boss__isnull=false",
    )
    assert filtered == plain


def test_count_costs_one_query(schema, api):
    plain = _queries(api, "/api/v1/records/one/?page_size=5")
    assert _queries(api, "/api/v1/records/one/?page_size=5&count=true") == plain + 1


def test_expand_costs_a_fixed_number_of_queries(schema, api):
    small = _queries(api, "/api/v1/records/one/?page_size=5&expand=client")
    large = _queries(api, "/api/v1/records/one/?page_size=50&expand=client")
    plain = _queries(api, "/api/v1/records/one/?page_size=50")
    assert small == large
    assert large == plain + 2  # the clients, and the clients' tags
    three_small = _queries(api, "/api/v1/records/three/?page_size=5&expand=client,car,shop")
    three_large = _queries(api, "/api/v1/records/three/?page_size=50&expand=client,car,shop")
    assert three_small == three_large
    rows = _page(api, "/api/v1/records/three/?page_size=50&expand=client,car,shop")
    assert all(r["client"]["tags"] and r["car"]["name"].startswith("car") for r in rows)
    detail = _queries(api, f"/api/v1/records/three/{rows[0]['id']}/?expand=client")
    assert detail == _queries(api, f"/api/v1/records/three/{rows[0]['id']}/") + 2
