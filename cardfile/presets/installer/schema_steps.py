"""Entities and fields: created through the schema services, or brought up to a newer preset
where the owner has not changed them.

Fields go in dependency order: plain fields (links included) first, then computed fields,
statuses and fields with a default formula, each tried again once the fields it reads exist.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from cardfile.metamodel.fields.computed import COMPUTED_TYPES
from cardfile.metamodel.models import Entity, Field
from cardfile.metamodel.schema.services import (
    entity_create,
    entity_update,
    field_as_dict,
    field_create,
    field_public_options,
    field_update,
)

from ..exceptions import PresetInvalid
from ..loader import LINKING_TYPES, EntityDef
from .base import InstallContext, at, carried, three_way

ENTITY_ATTRS = ("label", "label_plural", "description", "nav_group")
FIELD_ATTRS = ("label", "required", "unique", "indexed", "default", "default_formula", "help_text")
# Option keys whose lists grow by new items on upgrade (never shrink, never reorder).
LIST_OPTIONS = {
    "status": ("states", "transitions"),
    "choice": ("choices",),
    "multi_choice": ("choices",),
}


# -- entities ----------------------------------------------------------------------------------


def entity_src(ctx: InstallContext, entity: EntityDef) -> dict[str, Any]:
    labels = ctx.entity_labels(entity.slug)
    data = entity.data
    label = labels.get("label") or data["label"]
    return {
        "label": label,
        "label_plural": labels.get("label_plural") or data.get("label_plural") or label,
        "description": labels.get("description") or data.get("description", ""),
        "nav_group": labels.get("nav_group") or data.get("nav_group", ""),
    }


def entity_db(entity: Entity) -> dict[str, Any]:
    return {key: getattr(entity, key) for key in ENTITY_ATTRS}


def install_entities(ctx: InstallContext) -> None:
    for entity in ctx.preset.entities:
        src = entity_src(ctx, entity)
        target = f"entity {entity.slug}"
        previous = ctx.previous("entities", entity.slug)
        changes: dict[str, Any] = {}
        if previous is not None:
            obj = Entity.objects.filter(pk=previous["id"], deleted_at__isnull=True).first()
            if obj is None:
                ctx.tick(target)
                continue  # the owner deleted it: it stays deleted, with what belongs to it
            changes, kept = three_way(src, previous, entity_db(obj))
            if changes:
                with at(entity.file, ""):
                    obj = entity_update(entity=obj.slug, user=ctx.user, **changes)
                ctx.step("update", target, ", ".join(sorted(changes)))
            for key in kept:
                ctx.step(
                    "keep", f"{target} {key}", _("changed here; the preset's value is not applied")
                )
        else:
            obj = Entity.objects.filter(slug=entity.slug, deleted_at__isnull=True).first()
            if obj is not None:
                ctx.step("keep", target, _("exists already; left as it is"))
            else:
                with at(entity.file, ""):
                    obj = entity_create(slug=entity.slug, user=ctx.user, **src)
                ctx.fresh.add(entity.slug)
                ctx.step("create", target, src["label"])
        ctx.entity_ids[entity.slug] = obj.pk
        db = carried(previous, entity_db(obj), changes if previous is not None else ())
        ctx.remember("entities", entity.slug, obj.pk, src, db)
        ctx.tick(target)


# -- fields ------------------------------------------------------------------------------------


def _translated_items(items: list[Any], labels: dict[str, str], key: str = "value") -> list[Any]:
    if not labels:
        return items
    result = []
    for item in items:
        if isinstance(item, str):
            result.append({key: item, "label": labels[item]} if item in labels else item)
        elif isinstance(item, dict) and item.get(key) in labels:
            result.append({**item, "label": labels[item[key]]})
        else:
            result.append(item)
    return result


def field_options(ctx: InstallContext, entity: EntityDef, f: dict[str, Any]) -> dict[str, Any]:
    """The field's options as the service takes them here: link targets by their current
    slug, money in the installation's currency, labels in the installation's language."""
    options = dict(f.get("options") or {})
    labels = ctx.field_labels(entity.slug, f["slug"])
    if f["type"] in LINKING_TYPES and isinstance(options.get("target"), str):
        options["target"] = ctx.entity_slug(options["target"]) or options["target"]
    if f["type"] == "money" and not options.get("currency") and ctx.currency:
        options["currency"] = ctx.currency
    if f["type"] == "status":
        if labels.get("states") and isinstance(options.get("states"), list):
            options["states"] = _translated_items(options["states"], labels["states"])
        if labels.get("transitions") and isinstance(options.get("transitions"), list):
            options["transitions"] = [
                {**t, "label": labels["transitions"][f"{t.get('from')}>{t.get('to')}"]}
                if isinstance(t, dict) and f"{t.get('from')}>{t.get('to')}" in labels["transitions"]
                else t
                for t in options["transitions"]
            ]
    choices = options.get("choices")
    if (
        f["type"] in ("choice", "multi_choice")
        and labels.get("choices")
        and isinstance(choices, list)
    ):
        options["choices"] = _translated_items(options["choices"], labels["choices"])
    return options


def field_src(ctx: InstallContext, entity: EntityDef, f: dict[str, Any]) -> dict[str, Any]:
    labels = ctx.field_labels(entity.slug, f["slug"])
    return {
        "type": f["type"],
        "label": labels.get("label") or f["label"],
        "required": f.get("required", False),
        "unique": f.get("unique", False) or f["type"] == "autonumber",
        "indexed": f.get("indexed", False),
        "default": f.get("default"),
        "default_formula": f.get("default_formula", ""),
        "help_text": labels.get("help_text") or f.get("help_text", ""),
        "options": field_options(ctx, entity, f),
    }


def field_db(obj: Field) -> dict[str, Any]:
    data = field_as_dict(obj)
    data.pop("slug")
    data["options"] = {k: v for k, v in field_public_options(obj).items() if k != "result"}
    return data


def _deferred(f: dict[str, Any]) -> bool:
    """Fields that read other fields: made once the plain fields exist."""
    return f["type"] in COMPUTED_TYPES or f["type"] == "status" or bool(f.get("default_formula"))


def install_fields(ctx: InstallContext) -> None:
    """Plain fields (created or upgraded), then new fields that read others, then upgrades of
    existing ones that read others (a new state may require a new field)."""
    pending: list[tuple[EntityDef, int, dict[str, Any]]] = []
    upgrades: list[tuple[EntityDef, int, dict[str, Any], Any, Field | None]] = []
    for entity in ctx.preset.entities:
        if entity.slug not in ctx.entity_ids:
            for _f in entity.fields:
                ctx.tick(f"field {entity.slug}")
            continue
        for number, f in enumerate(entity.fields):
            key = f"{entity.slug}.{f['slug']}"
            previous = ctx.previous("fields", key)
            existing = _existing(ctx, entity, f, previous)
            if existing is not None or previous is not None:
                if existing is not None:
                    ctx.field_ids[(entity.slug, f["slug"])] = existing.pk
                if _deferred(f):
                    upgrades.append((entity, number, f, previous, existing))
                    continue
                _upgrade_field(ctx, entity, number, f, previous, existing)
                ctx.tick(f"field {key}")
            elif _deferred(f):
                pending.append((entity, number, f))
            else:
                _create_field(ctx, entity, number, f)
                ctx.tick(f"field {key}")
    _create_deferred(ctx, pending)
    for entity, number, f, previous, existing in upgrades:
        if existing is not None:
            existing.refresh_from_db()
        _upgrade_field(ctx, entity, number, f, previous, existing)
        ctx.tick(f"field {entity.slug}.{f['slug']}")


def _existing(
    ctx: InstallContext, entity: EntityDef, f: dict[str, Any], previous: dict[str, Any] | None
) -> Field | None:
    entity_id = ctx.entity_ids[entity.slug]
    if previous is not None:
        return Field.objects.filter(
            pk=previous["id"], entity_id=entity_id, deleted_at__isnull=True
        ).first()
    return Field.objects.filter(
        entity_id=entity_id, slug=f["slug"], deleted_at__isnull=True
    ).first()


def _create_field(ctx: InstallContext, entity: EntityDef, number: int, f: dict[str, Any]) -> None:
    src = field_src(ctx, entity, f)
    position = number + 1 if entity.slug in ctx.fresh else None
    with at(entity.file, f"fields[{number}]"):
        obj = field_create(
            entity=ctx.entity_slug(entity.slug),
            slug=f["slug"],
            position=position,
            user=ctx.user,
            **{k: v for k, v in src.items() if k != "unique" or v},
        )
    key = f"{entity.slug}.{f['slug']}"
    ctx.field_ids[(entity.slug, f["slug"])] = obj.pk
    ctx.remember("fields", key, obj.pk, src, field_db(obj))
    ctx.step("create", f"field {key}", f"{f['type']} {src['label']}")


def _create_deferred(
    ctx: InstallContext, pending: list[tuple[EntityDef, int, dict[str, Any]]]
) -> None:
    """Create computed fields (and the like) in passes: a field whose formula reads one not made
    yet waits for the next pass; when a pass makes none, the errors are the preset's."""
    while pending:
        waiting: list[tuple[EntityDef, int, dict[str, Any]]] = []
        errors: list[PresetInvalid] = []
        for item in pending:
            entity, number, f = item
            try:
                _create_field(ctx, entity, number, f)
            except PresetInvalid as error:
                waiting.append(item)
                errors.append(error)
                continue
            ctx.tick(f"field {entity.slug}.{f['slug']}")
        if len(waiting) == len(pending):
            raise PresetInvalid([p for error in errors for p in error.errors])
        pending = waiting


def _grown(kind: str, new: list[Any], old: list[Any], current: list[Any]) -> list[Any]:
    """``current`` with the items new in the preset (not in ``old``) that are not here yet."""

    def ident(item: Any) -> Any:
        if kind == "transitions":
            return (item.get("from"), item.get("to")) if isinstance(item, dict) else item
        return item.get("value") if isinstance(item, dict) else item

    before = {ident(i) for i in old}
    here = {ident(i) for i in current}
    added = [i for i in new if ident(i) not in before and ident(i) not in here]
    return [*current, *added] if added else current


def _upgrade_field(
    ctx: InstallContext,
    entity: EntityDef,
    number: int,
    f: dict[str, Any],
    previous: dict[str, Any] | None,
    obj: Field | None,
) -> None:
    key = f"{entity.slug}.{f['slug']}"
    target = f"field {key}"
    src = field_src(ctx, entity, f)
    if obj is None:
        return  # the owner deleted it: it is not brought back
    ctx.field_ids[(entity.slug, f["slug"])] = obj.pk
    current = field_db(obj)
    if previous is None:
        # made here before the preset came (or by another preset): adopted as it is
        ctx.remember("fields", key, obj.pk, src, current)
        if current["type"] != src["type"]:
            ctx.step(
                "skip",
                target,
                _("exists here as a %(here)s field; the preset's %(type)s is not applied")
                % {"here": current["type"], "type": src["type"]},
            )
        return
    if obj.type != f["type"]:
        if (previous.get("src") or {}).get("type") != f["type"]:
            ctx.step(
                "skip",
                target,
                _("the preset changes its type to %(type)s; a type is never changed by a preset")
                % {"type": f["type"]},
            )
        ctx.remember("fields", key, obj.pk, {**src, "type": obj.type}, current)
        return
    flat_new = {k: v for k, v in src.items() if k not in ("options", "type")}
    flat_db = {k: v for k, v in current.items() if k not in ("options", "type")}
    changes, kept = three_way(flat_new, previous, flat_db)
    old_src_options = (previous.get("src") or {}).get("options") or {}
    list_keys = LIST_OPTIONS.get(obj.type, ())
    option_changes: dict[str, Any] = {}
    for name in list_keys:
        grown = _grown(
            name,
            src["options"].get(name) or [],
            old_src_options.get(name) or [],
            current["options"].get(name) or [],
        )
        if grown != (current["options"].get(name) or []):
            option_changes[name] = grown
    plain_new = {k: v for k, v in src["options"].items() if k not in list_keys}
    plain_previous = {
        "src": {k: v for k, v in old_src_options.items() if k not in list_keys},
        "db": {
            k: v
            for k, v in (((previous.get("db") or {}).get("options")) or {}).items()
            if k not in list_keys
        },
    }
    plain_changes, plain_kept = three_way(plain_new, plain_previous, current["options"])
    option_changes.update(plain_changes)
    if option_changes:
        changes["options"] = option_changes
    if changes:
        with at(entity.file, f"fields[{number}]"):
            obj = field_update(
                entity=ctx.entity_slug(entity.slug), field=obj.slug, user=ctx.user, **changes
            )
        ctx.step("update", target, ", ".join(sorted(changes)))
    for name in [*kept, *(f"options.{k}" for k in plain_kept)]:
        ctx.step("keep", f"{target} {name}", _("changed here; the preset's value is not applied"))
    after = field_db(obj)
    db = carried(previous, {k: v for k, v in after.items() if k != "options"}, changes)
    db["options"] = {
        **carried(plain_previous, after["options"], option_changes),
        **{k: after["options"][k] for k in list_keys if k in after["options"]},
    }
    ctx.remember("fields", key, obj.pk, src, db)


# -- title fields and validation rules ---------------------------------------------------------


def install_entity_settings(ctx: InstallContext) -> None:
    """Title fields, then validation rules (which may read any field)."""
    for entity in ctx.preset.entities:
        if entity.slug not in ctx.entity_ids:
            continue
        record = ctx.applied["entities"][entity.slug]
        previous = ctx.previous("entities", entity.slug)
        obj = Entity.objects.select_related("title_field").get(pk=ctx.entity_ids[entity.slug])
        title = entity.data.get("title_field")
        current = {
            "title_field": obj.title_field.slug if obj.title_field_id else None,
            "validation_rules": list(obj.validation_rules or []),
        }
        new: dict[str, Any] = {}
        if title:
            new["title_field"] = ctx.field_slug(entity.slug, title)
        if "validation_rules" in entity.data:
            new["validation_rules"] = entity.data.get("validation_rules") or []
        fresh = entity.slug in ctx.fresh
        if fresh:
            changes = {k: v for k, v in new.items() if current.get(k) != v}
            kept: list[str] = []
        else:
            changes, kept = three_way(new, previous, current)
        for name in ("title_field", "validation_rules"):
            if name not in changes:
                continue
            with at(entity.file, ""):
                obj = entity_update(entity=obj.slug, user=ctx.user, **{name: changes[name]})
            if not fresh:
                ctx.step("update", f"entity {entity.slug}", name)
        for name in kept:
            ctx.step(
                "keep",
                f"entity {entity.slug} {name}",
                _("changed here; the preset's value is not applied"),
            )
        obj.refresh_from_db()
        after = {
            "title_field": obj.title_field.slug if obj.title_field_id else None,
            "validation_rules": list(obj.validation_rules or []),
        }
        record["src"] = {**record["src"], **new}
        if fresh or previous is None:
            record["db"] = {**record["db"], **after}
        else:
            previous_db = previous.get("db") or {}
            record["db"] = {
                **record["db"],
                **{k: v for k, v in after.items() if k in changes or k not in previous_db},
                **{k: previous_db[k] for k in after if k in previous_db and k not in changes},
            }
        ctx.tick(f"entity {entity.slug}")
