#!/usr/bin/python3
"""A TCP proxy on loopback that makes a storage backend slow: every chunk the client sends
that starts an HTTP PUT request (its first bytes are b"PUT ") is held for DELAY seconds
before it is passed on; everything else flows at once. Our S3 client writes a request's
head in one send, so each PUT is delayed once. Used by tests/http/062-slow-storage.sh.

usage: slowproxy.py LISTEN_PORT UPSTREAM_HOST UPSTREAM_PORT DELAY_SECONDS
Prints "ready" when listening; counts delayed PUTs in its log (stderr)."""
import asyncio
import sys

LISTEN, HOST, PORT, DELAY = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
delayed = 0


async def pipe(reader, writer, slow):
    global delayed
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if slow and data.startswith(b"PUT "):
                delayed += 1
                print(f"delaying PUT #{delayed} by {DELAY} s", file=sys.stderr, flush=True)
                await asyncio.sleep(DELAY)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def handle(creader, cwriter):
    try:
        ureader, uwriter = await asyncio.open_connection(HOST, PORT)
    except OSError:
        cwriter.close()
        return
    await asyncio.gather(pipe(creader, uwriter, True), pipe(ureader, cwriter, False))


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", LISTEN)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
