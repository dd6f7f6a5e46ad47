"""Argument names in the ``TypeError`` of a wrong-typed argument.

PyO3 (0.30) reports a value it cannot convert to an argument's type as a
``TypeError`` whose message does not name the argument (it adds the note
``while processing 'NAME'``, shown in tracebacks only). ``named(f)`` is ``f``
with such an error re-raised as ``TypeError("argument `NAME`: ...")``, so
that every refusal names what to fix; any other exception passes unchanged.
"""

import functools
from typing import Any, Callable, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])

_NOTE = "while processing '"


def named(f: F) -> F:
    """``f`` whose argument-conversion ``TypeError`` names the argument."""

    @functools.wraps(f)
    def call(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except TypeError as e:
            for note in getattr(e, "__notes__", ()):
                if note.startswith(_NOTE) and note.endswith("'"):
                    name = note[len(_NOTE) : -1]
                    if f"`{name}`" not in str(e):
                        raise TypeError(f"argument `{name}`: {e}") from e
            raise

    return cast(F, call)
