"""Record cards: the create/edit form generated from the entity's card layout, child tables as
editable grids, live computed values and ``visible_if`` of the draft, link search, quick create,
edit conflicts, history, trash and restore.

Views parse the form (`cardfile.web.ui.forms`), call one record service or selector with the
user, and render. What the card shows follows the user's rights: hidden fields are never
rendered, read-only ones are text, and a user who may not change the record reads it only.

Modules: `build` (the card from the layout), `widgets` (field inputs and line grids), `views`
(create, edit, a status's move, draft, delete, restore), `transitions` (the status buttons),
`conflict`, `history`, `links` (link options, quick create), `files` (downloads within the
record's rights), `common`. Titles of records and values
as text are `cardfile.web.ui.display`'s, shared with the lists and search.
"""

from django.urls import path

from .files import record_file
from .history import record_history_view
from .links import link_options
from .views import (
    record_card,
    record_delete_view,
    record_draft,
    record_new,
    record_restore_view,
    record_transition,
    record_trashed,
)

urlpatterns = [
    path("<slug:entity>/new/", record_new, name="record_new"),
    path("<slug:entity>/draft/", record_draft, name="record_draft_new"),
    path("<slug:entity>/fields/<slug:field_slug>/options/", link_options, name="link_options"),
    path("<slug:entity>/<int:record_id>/", record_card, name="record_card"),
    path("<slug:entity>/<int:record_id>/draft/", record_draft, name="record_draft"),
    path("<slug:entity>/<int:record_id>/history/", record_history_view, name="record_history"),
    path("<slug:entity>/<int:record_id>/delete/", record_delete_view, name="record_delete"),
    path("<slug:entity>/<int:record_id>/restore/", record_restore_view, name="record_restore"),
    path("<slug:entity>/<int:record_id>/trash/", record_trashed, name="record_trashed"),
    path("<slug:entity>/<int:record_id>/transition/", record_transition, name="record_transition"),
    path(
        "<slug:entity>/<int:record_id>/files/<slug:field_slug>/<int:index>/",
        record_file,
        name="record_file",
    ),
]
