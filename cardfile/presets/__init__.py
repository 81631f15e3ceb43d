"""Industry presets: folders of YAML that set up entities, roles, statuses, reminders and demo
data for a trade; the installer, the upgrader, the exporter and the first-start setup."""
