"""What a log record is about, beyond its message: the edit whose task logged it.

The edit service sets the id once an edit has a reservation; every log line of that
task (and of the tasks it starts) then carries it, including the provider client's and
the store's, which know nothing of edits. The JSON log format writes it as `edit_id`.
"""

from __future__ import annotations

from contextvars import ContextVar

edit_id_in_logs: ContextVar[int | None] = ContextVar("retouch_edit_id", default=None)
