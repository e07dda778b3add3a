"""Text that came from outside may not be valid Unicode: what to do with a lone surrogate.

``json.loads('"\\ud800"')`` is a ``str`` holding a lone surrogate (request bodies, JWT
claims, headers decoded by an application). Python accepts such a string, UTF-8 cannot
encode it, and some C extensions do not check: mmh3 5.x dereferences a NULL buffer and the
interpreter dies with SIGSEGV. Everything rollwise hands to a C extension or ships on the
wire therefore goes through one of these first. Each is a no-op on ASCII (an O(1) flag
check in CPython), so valid text costs nothing and keeps its exact bytes.
"""

from __future__ import annotations

__all__ = ["printable", "utf8", "well_formed"]


def utf8(text: str) -> bytes:
    """``text`` as UTF-8; a lone surrogate as its three-byte form (``surrogatepass``).

    For every valid string this is exactly ``text.encode("utf-8")``; for the others it is
    deterministic and never raises (what Python, Rust's WTF-8 and Java's modified UTF-8
    agree on for a lone surrogate).
    """
    return text.encode("utf-8", "surrogatepass")


def well_formed(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8 (holds no lone surrogate)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """``text``, with each lone surrogate written as ``\\udXXX`` so that it can be shipped."""
    if well_formed(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
