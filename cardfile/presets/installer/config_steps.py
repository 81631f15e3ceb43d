"""Card layouts, shared views, roles, reminders and notification rules: through their services,
slugs of the preset turned into the ids and slugs they have here."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from cardfile.metamodel.access.services import role_as_dict, role_create, role_get, role_update
from cardfile.metamodel.layouts import card_layout_set
from cardfile.metamodel.models import CardLayout, Role, SavedView
from cardfile.metamodel.notify.models import NotificationRule, Reminder
from cardfile.metamodel.notify.selectors import reminder_as_dict, rule_as_dict
from cardfile.metamodel.notify.services import (
    reminder_create,
    reminder_update,
    rule_create,
    rule_update,
)
from cardfile.metamodel.saved_views.services import saved_view_create, saved_view_update

from ..loader import NOTIFICATIONS_FILE, ROLES_FILE
from .base import InstallContext, at, carried, three_way

KEPT = "changed here; the preset's value is not applied"


def _in_config(key: str) -> str:
    """A saved view's error key as a path in the view's entry: settings sit under config."""
    return key if key in ("name", "shared") else f"config.{key}"


def _kept(ctx: InstallContext, target: str, keys: list[str]) -> None:
    for key in keys:
        ctx.step("keep", f"{target} {key}", _(KEPT))


# -- layouts -----------------------------------------------------------------------------------


def layout_src(ctx: InstallContext, entity: str, layout: dict[str, Any]) -> dict[str, Any]:
    """The layout as the preset gives it, in slug form, tab and section labels translated."""
    labels = (ctx.translation.get("layouts") or {}).get(entity) or {}
    tabs = []
    for tab in layout["tabs"]:
        sections = []
        for section in tab.get("sections") or []:
            columns = [
                [
                    {"field": item}
                    if isinstance(item, str)
                    else {k: v for k, v in item.items() if k == "field" or v}
                    for item in column
                ]
                for column in section["columns"]
            ]
            label = section.get("label") or ""
            sections.append({"label": labels.get(label, label), "columns": columns})
        label = tab.get("label") or ""
        tabs.append({"label": labels.get(label, label), "sections": sections})
    return {"tabs": tabs}


def layout_by_ids(ctx: InstallContext, entity: str, layout: dict[str, Any]) -> dict[str, Any]:
    ids = {s: pk for (e, s), pk in ctx.field_ids.items() if e == entity}
    return {
        "tabs": [
            {
                "label": tab["label"],
                "sections": [
                    {
                        "label": section["label"],
                        "columns": [
                            [
                                {**item, "field": ids[item["field"]]}
                                for item in column
                                if item["field"] in ids
                            ]
                            for column in section["columns"]
                        ],
                    }
                    for section in tab["sections"]
                ],
            }
            for tab in layout["tabs"]
        ]
    }


def install_layouts(ctx: InstallContext) -> None:
    for entity in ctx.preset.entities:
        layout = entity.data.get("layout")
        if not layout or entity.slug not in ctx.entity_ids:
            ctx.tick(f"layout {entity.slug}")
            continue
        entity_id = ctx.entity_ids[entity.slug]
        src = layout_by_ids(ctx, entity.slug, layout_src(ctx, entity.slug, layout))
        row = CardLayout.objects.filter(entity_id=entity_id).first()
        current = row.layout if row is not None else None
        previous = ctx.previous("layouts", entity.slug)
        target = f"layout {entity.slug}"
        if previous is None:
            apply = row is None
        else:
            apply = src != previous.get("src") and current == previous.get("db")
            if src != previous.get("src") and current != previous.get("db"):
                ctx.step("keep", target, _(KEPT))
        if apply and current != src:
            with at(entity.file, "layout", one_based=False):
                row = card_layout_set(
                    entity=ctx.entity_slug(entity.slug), layout=src, user=ctx.user
                )
            ctx.step("update" if current else "create", target)
        if apply:
            ctx.remember("layouts", entity.slug, entity_id, src, row.layout if row else None)
        elif previous is not None:
            ctx.remember("layouts", entity.slug, entity_id, src, previous.get("db"))
        ctx.tick(target)


# -- shared views ------------------------------------------------------------------------------


def view_config(ctx: InstallContext, entity: str, config: dict[str, Any]) -> dict[str, Any]:
    ids = {s: pk for (e, s), pk in ctx.field_ids.items() if e == entity}
    clean = dict(config)
    if "columns" in clean:
        clean["columns"] = [ids[c] for c in clean["columns"] if c in ids]
    if clean.get("kanban_field") is not None:
        clean["kanban_field"] = ids.get(clean["kanban_field"])
    return clean


def install_views(ctx: InstallContext) -> None:
    for entity in ctx.preset.entities:
        names = (ctx.translation.get("views") or {}).get(entity.slug) or {}
        for number, view in enumerate(entity.data.get("views") or []):
            key = f"{entity.slug}:{view['name']}"
            target = f"view {entity.slug} {view['name']}"
            ctx.tick(target)
            if entity.slug not in ctx.entity_ids:
                continue
            src = {
                "name": names.get(view["name"], view["name"]),
                "config": view_config(ctx, entity.slug, view.get("config") or {}),
            }
            previous = ctx.previous("views", key)
            path = f"views[{number}]"
            changes: dict[str, Any] = {}
            if previous is not None:
                obj = SavedView.objects.filter(pk=previous["id"], user__isnull=True).first()
                if obj is None:
                    continue  # deleted here
                changes, kept = three_way(src, previous, {"name": obj.name, "config": obj.config})
                if changes:
                    with at(entity.file, path, rename=_in_config):
                        obj = saved_view_update(
                            entity=ctx.entity_slug(entity.slug),
                            view_id=obj.pk,
                            user=ctx.user,
                            **changes,
                        )
                    ctx.step("update", target, ", ".join(sorted(changes)))
                _kept(ctx, target, kept)
            else:
                obj = SavedView.objects.filter(
                    entity_id=ctx.entity_ids[entity.slug], user__isnull=True, name=src["name"]
                ).first()
                if obj is None:
                    with at(entity.file, path, rename=_in_config):
                        obj = saved_view_create(
                            entity=ctx.entity_slug(entity.slug),
                            name=src["name"],
                            config=src["config"],
                            shared=True,
                            user=ctx.user,
                        )
                    ctx.step("create", target)
            after = {"name": obj.name, "config": obj.config}
            ctx.remember("views", key, obj.pk, src, carried(previous, after, changes))


# -- roles -------------------------------------------------------------------------------------


def role_src(ctx: InstallContext, role: dict[str, Any]) -> dict[str, Any]:
    label = (ctx.translation.get("roles") or {}).get(role["name"])
    if isinstance(label, dict):
        label, description = label.get("label"), label.get("description")
    else:
        description = None
    src: dict[str, Any] = {
        "label": label or role.get("label") or role["name"],
        "description": description or role.get("description", ""),
    }
    for entity, rights in sorted((role.get("permissions") or {}).items()):
        slugs = ctx.field_slugs(entity)
        src[f"permissions.{entity}"] = {
            **{k: v for k, v in rights.items() if k not in ("fields", "rule")},
            "fields": {slugs.get(k, k): v for k, v in sorted((rights.get("fields") or {}).items())},
            "rule": rights.get("rule", ""),
        }
    return src


def _role_db(ctx: InstallContext, role: Role) -> dict[str, Any]:
    data = role_as_dict(role)
    by_current = {ctx.entity_slug(slug): slug for slug in ctx.entity_ids}
    db: dict[str, Any] = {"label": data["label"], "description": data["description"]}
    for slug, rights in data["permissions"].items():
        db[f"permissions.{by_current.get(slug, slug)}"] = rights
    return db


def _normal(rights: dict[str, Any]) -> dict[str, Any]:
    """Rights in the stored shape: every operation named."""
    from cardfile.metamodel.access.rights import OPERATIONS

    return {
        **{op: rights.get(op) is True for op in OPERATIONS},
        "fields": dict(rights.get("fields") or {}),
        "rule": (rights.get("rule") or "").strip(),
    }


def _role_data(ctx: InstallContext, values: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    permissions: dict[str, Any] = {}
    for key, value in values.items():
        if key.startswith("permissions."):
            entity = key.removeprefix("permissions.")
            current = ctx.entity_slug(entity)
            if current is not None:
                permissions[current] = value
        else:
            data[key] = value
    if permissions:
        data["permissions"] = permissions
    return data


def install_roles(ctx: InstallContext) -> None:
    for number, role in enumerate(ctx.preset.roles):
        name = role["name"]
        target = f"role {name}"
        ctx.tick(target)
        src = role_src(ctx, role)
        src_normal = {
            k: (_normal(v) if k.startswith("permissions.") else v) for k, v in src.items()
        }
        previous = ctx.previous("roles", name)
        path = f"roles[{number}]"
        changes: dict[str, Any] = {}
        if previous is not None:
            obj = Role.objects.filter(pk=previous["id"]).select_related("group").first()
            if obj is None:
                continue  # deleted here
            current = _role_db(ctx, obj)
            changes, kept = three_way(src_normal, previous, current)
            if changes:
                with at(ROLES_FILE, path):
                    obj = role_update(
                        name=obj.group.name, data=_role_data(ctx, changes), user=ctx.user
                    )
                ctx.step("update", target, ", ".join(sorted(changes)))
            _kept(ctx, target, kept)
        else:
            obj = Role.objects.filter(group__name=name).select_related("group").first()
            if obj is None:
                with at(ROLES_FILE, path):
                    obj = role_create(data={"name": name, **_role_data(ctx, src)}, user=ctx.user)
                ctx.step("create", target, src["label"])
            else:
                ctx.step("keep", target, _("exists already; left as it is"))
        obj = role_get(obj.group.name)
        after = _role_db(ctx, obj)
        ctx.remember("roles", name, obj.pk, src_normal, carried(previous, after, changes))


# -- reminders and notification rules ----------------------------------------------------------

_READ_ONLY = ("id", "scanned_until")


def _message_src(ctx: InstallContext, item: dict[str, Any]) -> dict[str, Any]:
    labels = (ctx.translation.get("notifications") or {}).get(item["key"]) or {}
    data = {k: v for k, v in item.items() if k != "key"}
    data.update({k: v for k, v in labels.items() if v})
    data["entity"] = ctx.entity_slug(item["entity"]) or item["entity"]
    if data.get("field"):
        data["field"] = ctx.field_slug(item["entity"], data["field"])
    return data


def _install_messages(ctx: InstallContext, kind: str) -> None:
    items = ctx.preset.reminders if kind == "reminders" else ctx.preset.rules
    model = Reminder if kind == "reminders" else NotificationRule
    as_dict = reminder_as_dict if kind == "reminders" else rule_as_dict
    create = reminder_create if kind == "reminders" else rule_create
    for number, item in enumerate(items):
        key = item["key"]
        target = f"{'reminder' if kind == 'reminders' else 'rule'} {key}"
        ctx.tick(target)
        if item["entity"] not in ctx.entity_ids:
            continue
        src = _message_src(ctx, item)
        previous = ctx.previous(kind, key)
        path = f"{kind}[{number}]"
        changes: dict[str, Any] = {}
        if previous is not None:
            obj = model.objects.select_related("entity", "field").filter(pk=previous["id"]).first()
            if obj is None:
                continue  # deleted here: not brought back
            current = {k: v for k, v in as_dict(obj).items() if k not in _READ_ONLY}
            changes, kept = three_way(src, previous, current)
            if changes:
                with at(NOTIFICATIONS_FILE, path):
                    if kind == "reminders":
                        obj = reminder_update(reminder_id=obj.pk, data=changes, user=ctx.user)
                    else:
                        obj = rule_update(rule_id=obj.pk, data=changes, user=ctx.user)
                ctx.step("update", target, ", ".join(sorted(changes)))
            _kept(ctx, target, kept)
        else:
            with at(NOTIFICATIONS_FILE, path):
                obj = create(data=src, user=ctx.user)
            ctx.step("create", target, obj.label)
        after = {k: v for k, v in as_dict(obj).items() if k not in _READ_ONLY}
        ctx.remember(kind, key, obj.pk, src, carried(previous, after, changes))


def install_notifications(ctx: InstallContext) -> None:
    _install_messages(ctx, "reminders")
    _install_messages(ctx, "rules")
