#!/usr/bin/env python3
"""A loopback HTTP server that accepts every connection, reads the request and never answers: every virtual
user of the load generator stays waiting, which is what the memory-per-VU figure measures."""
import asyncio
import sys


async def hold(reader, writer):
    try:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(3600)
    except Exception:
        pass
    finally:
        writer.close()


async def main(port):
    server = await asyncio.start_server(hold, "127.0.0.1", port, backlog=16384)
    async with server:
        await server.serve_forever()


asyncio.run(main(int(sys.argv[1])))
