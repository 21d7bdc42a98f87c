"""Modules that declare extra `python -m backend` commands are imported here."""
