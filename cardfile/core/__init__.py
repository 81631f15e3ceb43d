"""The Django project: settings, urls, CLI, users, branches, the audit log and the error tree."""
