"""Schema: generated models (`dynamic`), DDL (`sync`), entity and field services."""
