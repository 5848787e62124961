"""The cause of a failure in one line (pure: no Dagster import; works on Dagster's ``SerializableErrorInfo``
and on Python exceptions alike, by their ``cause``/``context`` or ``__cause__``/``__context__``).

Dagster reports a failing step as ``DagsterExecutionStepExecutionError: Error occurred while executing op
...``; a failed ``COMMIT`` followed by a failed ``ROLLBACK`` reports "cannot rollback - no transaction is
active". Neither says what a person must fix. :func:`failure_line` walks the whole chain (explicit causes and
the exceptions being handled when a later one was raised) and names the innermost operating-system error —
``PermissionError: [Errno 13] Permission denied: '/srv/data/outbox'`` — or else the innermost error of all.
"""

from __future__ import annotations

import builtins

#: Error classes that are about the machine (disk, permissions, paths), by name; DuckDB's I/O errors count too.
_OS_LIKE_SUFFIXES = ("IOException",)
_MAX_CHAIN = 50
_MAX_LINE = 400


def _cls_name(error) -> str:
    return getattr(error, "cls_name", None) or type(error).__name__


def _message(error) -> str:
    if hasattr(error, "cls_name"):  # SerializableErrorInfo: "<module.Class>: text\n"
        text = (error.message or "").strip()
        head, sep, rest = text.partition(": ")
        return rest if sep and head.rsplit(".", 1)[-1] == error.cls_name else text
    return str(error)


def _links(error) -> list:
    if hasattr(error, "cls_name"):
        return [e for e in (getattr(error, "cause", None), getattr(error, "context", None)) if e is not None]
    cause = error.__cause__
    context = None if error.__suppress_context__ else error.__context__
    return [e for e in (cause, context) if e is not None]


def error_chain(error) -> list:
    """``error`` and every error behind it (causes before contexts), outermost first, each once."""
    out, seen, todo = [], set(), [error]
    while todo and len(out) < _MAX_CHAIN:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        out.append(e)
        todo.extend(_links(e))
    return out


def is_os_error(error) -> bool:
    name = _cls_name(error)
    cls = getattr(builtins, name, None)
    return (isinstance(cls, type) and issubclass(cls, OSError)) or name.endswith(_OS_LIKE_SUFFIXES)


def root_cause(error):
    """The innermost operating-system error of the chain (it names the path), else the innermost error."""
    chain = error_chain(error)
    os_errors = [e for e in chain if is_os_error(e)]
    return (os_errors or chain)[-1]


def failure_line(error) -> str:
    """``Class: message`` of :func:`root_cause`, on one line (at most 400 characters)."""
    cause = root_cause(error)
    message = " ".join(_message(cause).split())
    line = f"{_cls_name(cause)}: {message}" if message else _cls_name(cause)
    return line if len(line) <= _MAX_LINE else line[: _MAX_LINE - 1] + "…"
