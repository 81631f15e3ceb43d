"""HTTP only: the REST API (`web.api`, DRF) and, later, the HTML UI. Views parse input, call a
service or selector, and render; business rules live below."""
