"""Use cases: each public function owns one transaction (load, decide with the domain, persist, notify)."""
