"""The provincial cadre-health system (省干部保健管理系统): client, token cache, emulator and wire mapping.

Nobody here holds the real specification: the wire format is the emulator's, documented in
docs/cadre_health_interface.md, and kept to one module (mapping.py) so the real one replaces it there.
"""
