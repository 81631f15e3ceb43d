"""Reading saved views: the shared ones and the user's own, of an entity the user may read."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _

from cardfile.core.exceptions import NotFound
from cardfile.metamodel.access import Access, access_for, require
from cardfile.metamodel.models import SavedView
from cardfile.metamodel.schema.dynamic import EntitySchema, get_registry

from .config import User


def readable_entity(entity: str, user: User) -> tuple[EntitySchema, Access]:
    """The entity and the user's rights; refused unless the user may read its records."""
    schema = get_registry().entity(entity)
    access = access_for(user)
    require(access, "read", schema)
    return schema, access


def _visible_to(user: User) -> Q:
    mine = Q(user_id=user.pk) if user is not None and user.is_authenticated else Q(pk__in=[])
    return Q(user__isnull=True) | mine


def saved_view_list(entity: str, user: User) -> list[SavedView]:
    """The views of ``entity`` the user may open: the shared ones, then their own."""
    schema, _access = readable_entity(entity, user)
    views = SavedView.objects.filter(_visible_to(user), entity_id=schema.entity.pk)
    return sorted(views, key=lambda v: (not v.shared, v.position, v.id))


def saved_view_get(entity: str, view_id: int, user: User) -> SavedView:
    """One view the user may open (shared, or their own), else `NotFound`."""
    schema, _access = readable_entity(entity, user)
    view = SavedView.objects.filter(
        _visible_to(user), entity_id=schema.entity.pk, pk=view_id
    ).first()
    if view is None:
        raise NotFound(
            _("There is no saved view #%(id)s of %(entity)s.") % {"id": view_id, "entity": entity},
            code="not_found",
        )
    return view
