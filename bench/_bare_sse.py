"""The floor for ``fanout.py``'s streams: a bare asyncio server holding event streams.

``GET /<anything>`` opens a stream (chunked, one first event); ``GET /change`` writes the
next event to every open stream at once, from one loop, without a coroutine per stream:
what fanning one event out to N sockets costs on this machine right now, nothing else.

    python bench/_bare_sse.py PORT
"""

from __future__ import annotations

import asyncio
import sys

EVENT = b"event: config\nid: bare:%d\ndata: {}\n\n"
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class BareServer:
    def __init__(self) -> None:
        self.streams: set[asyncio.StreamWriter] = set()
        self.revision = 1

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (OSError, asyncio.IncompleteReadError):  # the start-up probe, say
            writer.close()
            return
        if head.startswith(b"GET /change "):
            self.revision += 1
            data = chunk(EVENT % self.revision)
            for stream in list(self.streams):
                stream.write(data)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            writer.close()
            return
        writer.write(STREAM_HEAD + chunk(b"retry: 2000\n" + EVENT % self.revision))
        self.streams.add(writer)
        try:
            while await reader.read(65536):
                pass
        except OSError:
            pass
        finally:
            self.streams.discard(writer)
            writer.close()


async def main(port: int) -> None:
    bare = BareServer()
    server = await asyncio.start_server(bare.handle, "127.0.0.1", port, backlog=2048)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(int(sys.argv[1])))
