"""Metamodel: entities, fields and their real tables, generated models, records and history."""
