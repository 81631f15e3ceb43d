"""Record lists and kanban boards: a table of the records the user may read, with columns,
sort, filters, quick search and saved views; a board per choice field.

The list is the record selector's queryset sliced into a page (the same `record_list` the API
calls), so rights, row rules and hidden fields apply as there.

- `state`: what a list shows, read from the query or a saved view;
- `cells`: rows of formatted cells (badges, links to other records' cards);
- `filters`: the filter builder and the typed condition, and where their errors show;
- `table`: the list screen; `views`: saved views; `kanban`: boards.
"""

from django.urls import path

from .kanban import record_kanban, record_kanban_move
from .table import record_list_view
from .views import view_create, view_delete, view_update

urlpatterns = [
    path("<slug:entity>/", record_list_view, name="record_list"),
    path("<slug:entity>/views/", view_create, name="record_view_create"),
    path("<slug:entity>/views/<int:view_id>/", view_update, name="record_view_update"),
    path("<slug:entity>/views/<int:view_id>/delete/", view_delete, name="record_view_delete"),
    path("<slug:entity>/kanban/<slug:field_slug>/", record_kanban, name="record_kanban"),
    path(
        "<slug:entity>/kanban/<slug:field_slug>/move/",
        record_kanban_move,
        name="record_kanban_move",
    ),
]
