"""Installing a preset: one transaction that creates what is new, upgrades what the owner has
not changed, and records what it applied.

The phases run in an order in which every reference resolves: entities, fields (plain, then
those that read others), title fields and validation rules, layouts, views, roles, reminders
and rules, then demo data. A dry run does all of it and rolls back, so the plan it reports is
exactly what an install would do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from cardfile.core.selectors import installation_get
from cardfile.metamodel.schema import sync
from cardfile.metamodel.schema.dynamic import clear_cache, pinned_schema
from cardfile.metamodel.schema.sync import schema_atomic

from ..exceptions import PresetVersionRefused
from ..loader import Preset
from ..models import PresetInstallation
from .base import InstallContext, InstallResult, Step
from .config_steps import install_layouts, install_notifications, install_roles, install_views
from .schema_steps import install_entities, install_entity_settings, install_fields

__all__ = ["InstallResult", "Step", "install"]


class _RollBack(Exception):  # noqa: N818  (control flow, not an error)
    """Ends a dry run: everything it did is rolled back."""


def _total(preset: Preset, demo: bool) -> int:
    count = len(preset.entities) * 3
    count += sum(len(e.fields) + len(e.data.get("views") or []) for e in preset.entities)
    count += len(preset.roles) + len(preset.reminders) + len(preset.rules)
    if demo:
        count += len(preset.demo_users) + len(preset.demo_files)
    return count


def install(
    preset: Preset,
    *,
    demo_data: bool = False,
    dry_run: bool = False,
    locale: str | None = None,
    currency: str | None = None,
    user: Any = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> InstallResult:
    result = InstallResult(
        name=preset.name,
        version=preset.version,
        previous_version=None,
        dry_run=dry_run,
        title=preset.title,
    )
    try:
        with schema_atomic(), pinned_schema():
            sync.lock_schema()
            _run(preset, result, demo_data, locale, currency, user, progress)
            if dry_run:
                raise _RollBack
    except _RollBack:
        clear_cache()
    except BaseException:
        # the models of a schema that was rolled back must not be used again
        clear_cache()
        raise
    return result


def _run(
    preset: Preset,
    result: InstallResult,
    demo_data: bool,
    locale: str | None,
    currency: str | None,
    user: Any,
    progress: Callable[[int, int, str], None] | None,
) -> None:
    installation = PresetInstallation.objects.select_for_update().filter(name=preset.name).first()
    if installation is not None:
        result.previous_version = installation.version
        if preset.version < installation.version:
            raise PresetVersionRefused(
                _(
                    "%(name)s version %(installed)d is installed; version %(version)d is older "
                    "and cannot be installed over it."
                )
                % {
                    "name": preset.name,
                    "installed": installation.version,
                    "version": preset.version,
                }
            )
    same = installation is not None and installation.version == preset.version
    load_demo = demo_data and not (installation is not None and installation.demo_data)
    if same and not load_demo:
        return  # installed already: nothing to do
    locale = locale or (installation.locale if installation else "") or preset.locale
    # An upgrade keeps the currency the preset was installed with; a first install takes the
    # installation's (the wizard's or the owner's choice) before the preset's own.
    currency = (
        currency
        or (installation.currency if installation else "")
        or installation_get().currency
        or preset.currency
        or settings.CARDFILE_CURRENCY
    ).upper()
    ctx = InstallContext(
        preset,
        applied=installation.applied if installation else None,
        locale=locale,
        currency=currency,
        user=user,
        progress=progress,
        total=_total(preset, load_demo)
        if not same
        else len(preset.demo_users) + len(preset.demo_files),
    )
    if same:
        _restore_mapping(ctx)
    else:
        install_entities(ctx)
        install_fields(ctx)
        install_entity_settings(ctx)
        install_layouts(ctx)
        install_views(ctx)
        install_roles(ctx)
        install_notifications(ctx)
    if load_demo:
        from ..demo import load_demo_records

        result.demo_records = load_demo_records(ctx)
    now = timezone.now()
    if installation is None:
        installation = PresetInstallation(name=preset.name)
    elif not same:
        installation.upgraded_at = now
    installation.version = preset.version
    installation.title = preset.title
    installation.locale = locale
    installation.currency = currency
    installation.demo_data = installation.demo_data or load_demo
    installation.applied = ctx.applied
    installation.save()
    result.steps = ctx.steps


def _restore_mapping(ctx: InstallContext) -> None:
    """Demo data over an installed version: the preset's slugs map to what was made then."""
    from cardfile.metamodel.models import Entity, Field

    live_entities = set(Entity.objects.filter(deleted_at__isnull=True).values_list("pk", flat=True))
    live_fields = set(Field.objects.filter(deleted_at__isnull=True).values_list("pk", flat=True))
    for slug, record in ctx.applied["entities"].items():
        if record["id"] in live_entities:
            ctx.entity_ids[slug] = record["id"]
    for key, record in ctx.applied["fields"].items():
        entity, _dot, slug = key.partition(".")
        if record["id"] in live_fields:
            ctx.field_ids[(entity, slug)] = record["id"]
