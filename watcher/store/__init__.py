"""The store: pins, approvals, releases seen, poll state, analyses and the alert outbox.

`db.open_store()` opens (and migrates) it; `repo` reads and writes it in dataclasses;
`tables` holds the SQLModel rows, which never leave this package.
"""
