"""The HTML UI: server-rendered Django templates with htmx. Views parse the request, call the
same services and selectors as the REST API (so rights are checked in one place), and render."""
