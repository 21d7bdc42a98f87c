"""Listeners and emulators of the embedded run; `backend/entrypoints/background.py` lists them."""
