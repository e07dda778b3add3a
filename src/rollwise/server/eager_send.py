"""Run an ASGI ``send`` at once, outside any task, and finish it in one only if it blocks.

A change goes to thousands of event streams at once. Waking a coroutine per stream so that
it makes one ``send`` costs about as much again as the send itself (a future, a task step,
the coroutine chain resumed and suspended again). A server's ``send`` of a body chunk
normally completes without suspending (uvicorn suspends only while the client's socket
buffer is full), so the fan-out steps each ``send`` coroutine itself, as Python 3.12's eager
tasks do for a whole task; a send that did suspend is handed back as an awaitable of its
remaining part, for a task to await.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from starlette.types import Message, Send

__all__ = ["Remainder", "send_now"]


def send_now(send: Send, message: Message) -> Remainder | None:
    """Start ``send(message)``: None when it completed at once, else the rest of it to
    await. What the send raises (OSError from a server, say) propagates."""
    steps = send(message).__await__()
    try:
        waiting_for = next(steps)
    except StopIteration:
        return None
    return Remainder(steps, waiting_for)


class Remainder:
    """The part of a started send after it suspended; awaiting it resumes the send where
    it stopped (the future it waits for is handed to the awaiting task as is)."""

    __slots__ = ("_steps", "_waiting_for")

    def __init__(self, steps: Generator[Any, None, Any], waiting_for: Any) -> None:
        self._steps = steps
        self._waiting_for = waiting_for

    def __await__(self) -> Generator[Any, None, None]:
        steps, waiting_for = self._steps, self._waiting_for
        while True:
            try:
                yield waiting_for
            except BaseException as error:  # noqa: BLE001 - cancelled while it waits: into the send
                try:
                    waiting_for = steps.throw(error)
                except StopIteration:
                    return
                continue
            try:
                waiting_for = steps.send(None)
            except StopIteration:
                return
