"""Which entities have screens of their own."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _

from cardfile.core.exceptions import NotFound
from cardfile.metamodel.schema.dynamic import EntitySchema, SchemaRegistry, get_registry


def screen_entity(slug: str) -> tuple[SchemaRegistry, EntitySchema]:
    """The entity of a list or card URL; unknown ones and line entities (their records live
    in their parent's card) are 404."""
    registry = get_registry()
    try:
        schema = registry.entity(slug)
    except NotFound:
        schema = None
    if schema is None or schema.parent_field is not None:
        raise Http404(_("There is no entity %(entity)s.") % {"entity": slug})
    return registry, schema
