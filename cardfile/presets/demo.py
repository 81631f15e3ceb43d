"""Demo data of a preset: users with unusable passwords, then records file by file through
`record_bulk_create`, with the ``@`` values resolved:

``@ref:c17`` the id of the demo record named c17; ``@user:tech1`` a demo user's id;
``@today``, ``@today-75``, ``@today+3`` a date around the install day; ``@today-70T16:30``
that day at that local time; ``@@text`` the literal ``@text``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from cardfile.core.models import AuditLog
from cardfile.core.services import audit_log_record
from cardfile.metamodel import events
from cardfile.metamodel.records import record_bulk_create
from cardfile.metamodel.records.exceptions import RecordValidationError

from .exceptions import PresetInvalid, PresetProblem
from .installer.base import InstallContext, at, join_path, zero_based
from .loader import USERS_FILE, EntityDef

_TODAY = re.compile(r"^@today(?:([+-]\d+))?(?:T(\d{1,2}):(\d{2}))?$")


class DemoValues:
    """Turns the ``@`` values of demo records into what the record service takes."""

    def __init__(self, ctx: InstallContext) -> None:
        self.ctx = ctx
        self.today = timezone.localdate()
        self.refs: dict[str, int] = {}
        self.users: dict[str, int] = {}
        self._slugs: dict[str, dict[str, str]] = {}

    def value(self, value: Any, file: str, path: str) -> Any:
        if isinstance(value, list):
            return [self.value(v, file, f"{path}[{n}]") for n, v in enumerate(value)]
        if isinstance(value, dict):
            return {k: self.value(v, file, f"{path}.{k}") for k, v in value.items()}
        if not isinstance(value, str) or not value.startswith("@"):
            return value
        if value.startswith("@@"):
            return value[1:]
        if value.startswith("@ref:"):
            found = self.refs.get(value[5:])
            if found is None:
                raise PresetInvalid(
                    [
                        PresetProblem(
                            file, path, _("%(value)s names no demo record.") % {"value": value}
                        )
                    ]
                )
            return found
        if value.startswith("@user:"):
            found = self.users.get(value[6:])
            if found is None:
                raise PresetInvalid(
                    [
                        PresetProblem(
                            file, path, _("%(value)s names no demo user.") % {"value": value}
                        )
                    ]
                )
            return found
        match = _TODAY.match(value)
        if match is None:
            raise PresetInvalid(
                [
                    PresetProblem(
                        file,
                        path,
                        _(
                            "%(value)s is not a demo value; use @ref:NAME, @user:NAME, @today, "
                            "@today-N, @today-NT16:30, or @@ for a literal @."
                        )
                        % {"value": value},
                    )
                ]
            )
        day = self.today + dt.timedelta(days=int(match.group(1) or 0))
        if match.group(2) is None:
            return day.isoformat()
        moment = dt.datetime.combine(day, dt.time(int(match.group(2)), int(match.group(3))))
        return timezone.make_aware(moment).isoformat()

    def slugs(self, entity: str) -> dict[str, str]:
        found = self._slugs.get(entity)
        if found is None:
            found = self._slugs[entity] = self.ctx.field_slugs(entity)
        return found

    def record(self, entity: EntityDef, record: dict[str, Any], file: str, path: str) -> dict:
        slugs = self.slugs(entity.slug)
        data: dict[str, Any] = {}
        for key, value in record.items():
            if key == "_ref":
                continue
            f = entity.field(key)
            key_path = f"{path}.{key}"
            if f is not None and f["type"] == "child_table" and isinstance(value, list):
                lines = self.ctx.preset.entity(f["options"]["target"])
                value = [
                    self.record(lines, line, file, f"{key_path}[{n}]")
                    if isinstance(line, dict) and lines is not None
                    else line
                    for n, line in enumerate(value)
                ]
            else:
                value = self.value(value, file, key_path)
            data[slugs.get(key, key)] = value
        return data


def load_demo_users(ctx: InstallContext, values: DemoValues) -> None:
    """Demo accounts with unusable passwords (the owner sets them), skipped if the username
    exists. Written here rather than by `user_create`, which insists on a password and hashes
    it: a few hundred milliseconds per user for a password nobody may use."""
    model = get_user_model()
    role_groups = {g.name: g for g in Group.objects.filter(cardfile_role__isnull=False)}
    for number, spec in enumerate(ctx.preset.demo_users):
        username = spec["username"]
        found = model.objects.filter(username__iexact=username).first()
        if found is None:
            path = f"users[{number}]"
            names = [r for r in spec.get("roles") or [] if r != "owner"]
            unknown = [r for r in names if r not in role_groups]
            if unknown:
                raise PresetInvalid(
                    [
                        PresetProblem(
                            USERS_FILE,
                            f"{path}.roles",
                            _("There is no role %(roles)s.") % {"roles": ", ".join(unknown)},
                        )
                    ]
                )
            found = model(
                username=username,
                email=spec.get("email", ""),
                first_name=spec.get("first_name", ""),
                last_name=spec.get("last_name", ""),
            )
            found.set_unusable_password()
            with at(USERS_FILE, path):
                try:
                    found.full_clean(exclude=["password"])
                except ValidationError as error:
                    raise PresetInvalid(
                        [
                            PresetProblem(USERS_FILE, join_path(path, key), str(message))
                            for key, messages in error.message_dict.items()
                            for message in messages
                        ]
                    ) from error
                found.save()
            found.groups.set([role_groups[r] for r in names])
            audit_log_record(
                user=ctx.user,
                action=AuditLog.Action.CREATE,
                object_type="user",
                object_id=found.pk,
                object_repr=found.username,
                after={"username": found.username, "roles": names, "demo": True},
            )
            ctx.step("create", f"user {username}")
        values.users[username] = found.pk
        ctx.tick(f"user {username}")


def load_demo_records(ctx: InstallContext) -> int:
    """Demo users, then the demo records file by file; returns how many records. The writes
    publish no record events, so no notification rule fires at made-up clients."""
    with events.muted():
        return _load(ctx)


def _load(ctx: InstallContext) -> int:
    values = DemoValues(ctx)
    load_demo_users(ctx, values)
    count = 0
    for demo in ctx.preset.demo_files:
        entity = ctx.preset.entity(demo.entity)
        current = ctx.entity_slug(demo.entity)
        ctx.tick(demo.file)
        if entity is None or current is None:
            continue
        rows = [
            values.record(entity, record, demo.file, f"records[{number}]")
            for number, record in enumerate(demo.records)
        ]
        with at(demo.file, "records"):
            try:
                created = record_bulk_create(entity=current, rows=rows, user=ctx.user)
            except RecordValidationError as error:
                raise PresetInvalid(
                    [
                        PresetProblem(
                            demo.file,
                            join_path("", zero_based(key).replace("rows[", "records[", 1)),
                            str(message),
                        )
                        for key, messages in error.errors.items()
                        for message in messages
                    ]
                ) from error
        for record, obj in zip(demo.records, created, strict=True):
            if record.get("_ref") is not None:
                values.refs[str(record["_ref"])] = obj.pk
        count += len(created)
        ctx.step("load", f"{demo.entity}", _("%(n)d demo records") % {"n": len(created)})
    return count
