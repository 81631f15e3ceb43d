"""The REST API under /api/v1/ (DESIGN.md, "The public contract")."""
