"""Imports every module that declares background helpers for the embedded run command."""
