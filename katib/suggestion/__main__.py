"""``python -m katib.suggestion --port PORT``: serve Hyperband to Katib until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading

from katib.suggestion.service import DEFAULT_PORT, serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m katib.suggestion", description=__doc__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on (Katib uses 6789)")
    parser.add_argument("--host", default="[::]", help="address to bind (default: all interfaces)")
    parser.add_argument("--workers", type=int, default=4, help="request threads")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server, port = serve(args.port, args.host, args.workers)
    print(f"kwp-hyperband suggestion service ready on port {port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.stop(grace=5).wait()


if __name__ == "__main__":
    main()
