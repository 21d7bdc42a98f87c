"""Uploads to partner systems (provincial health cloud, cadre-health system) through the shared outbox.

Each partner's rules decide what goes; the outbox (`backend/services/outbox.py`) carries it with retries.
"""
