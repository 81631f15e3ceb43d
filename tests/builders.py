"""Plain builder functions for tests: a small repair-shop schema built through the services."""

from __future__ import annotations

from cardfile.metamodel.schema.dynamic import get_registry
from cardfile.metamodel.schema.services import entity_create, field_create


def build_shop_schema(user=None):
    """client(name, phone, email, discount) <- order(number, client, status, total, lines)."""
    entity_create(slug="client", label="Client", label_plural="Clients", user=user)
    field_create(entity="client", slug="name", label="Name", type="text", required=True, user=user)
    field_create(entity="client", slug="phone", label="Phone", type="phone", unique=True, user=user)
    field_create(entity="client", slug="email", label="Email", type="email", user=user)
    field_create(
        entity="client",
        slug="discount",
        label="Discount",
        type="percent",
        options={"min_value": 0, "max_value": 100},
        user=user,
    )
    entity_create(slug="order_line", label="Order line", user=user)
    field_create(
        entity="order_line", slug="item", label="Item", type="text", required=True, user=user
    )
    field_create(entity="order_line", slug="qty", label="Qty", type="integer", user=user)
    field_create(entity="order_line", slug="price", label="Price", type="money", user=user)
    entity_create(slug="order", label="Order", label_plural="Orders", user=user)
    field_create(
        entity="order",
        slug="number",
        label="Number",
        type="autonumber",
        options={"pattern": "RO-{YYYY}-{00000}"},
        user=user,
    )
    field_create(
        entity="order",
        slug="client",
        label="Client",
        type="link",
        required=True,
        options={"target": "client", "on_delete": "protect"},
        user=user,
    )
    field_create(
        entity="order",
        slug="state",
        label="State",
        type="choice",
        options={"choices": ["new", "in_work", "ready", "issued"]},
        default="new",
        user=user,
    )
    field_create(
        entity="order",
        slug="lines",
        label="Lines",
        type="child_table",
        options={"target": "order_line"},
        user=user,
    )
    return get_registry()


def add_line_amounts(user=None, total="SUM(lines.amount)"):
    """On the shop schema: order_line.amount = qty * price and order.total = ``total``."""
    field_create(
        entity="order_line",
        slug="amount",
        label="Amount",
        type="formula",
        options={"expression": "qty * price"},
        user=user,
    )
    field_create(
        entity="order",
        slug="total",
        label="Total",
        type="formula",
        options={"expression": total},
        user=user,
    )


def build_shop_with_tags(user=None):
    """The shop schema plus tags (multi_link on client) and a technician (user on order)."""
    build_shop_schema(user)
    entity_create(slug="tag", label="Tag", user=user)
    field_create(entity="tag", slug="name", label="Name", type="text", user=user)
    field_create(
        entity="client",
        slug="tags",
        label="Tags",
        type="multi_link",
        options={"target": "tag", "on_delete": "set_null"},
        user=user,
    )
    field_create(entity="order", slug="technician", label="Technician", type="user", user=user)
    return get_registry()


def grant(
    user, *entities, ops=("read", "create", "update", "delete"), rule="", fields=None, role="staff"
):
    """Give ``user`` a role (made if missing) with ``ops`` on each entity slug, an optional row
    rule and field rules ``{"<slug>": "hidden" | "read_only"}``; returns the role."""
    from django.contrib.auth.models import Group

    from cardfile.metamodel.models import EntityRights, Role

    group, _created = Group.objects.get_or_create(name=role)
    role_row, _created = Role.objects.get_or_create(group=group, defaults={"label": role.title()})
    registry = get_registry()
    for slug in entities:
        schema = registry.entity(slug)
        rules = {str(schema.by_slug[name].pk): how for name, how in (fields or {}).items()}
        EntityRights.objects.update_or_create(
            role=role_row,
            entity=schema.entity,
            defaults={
                **{f"can_{op}": True for op in ops},
                "fields": rules,
                "rule": rule,
            },
        )
    user.groups.add(group)
    return role_row
