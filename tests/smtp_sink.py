#!/usr/bin/python3
"""smtp_sink.py - a local SMTP server for tests and development stacks: it
accepts every message and saves it, exactly as received, as one file in a
directory, so tests can read what cpa-remindd sent.  It relays nothing.

    smtp_sink.py --port PORT --dir DIR [--host 127.0.0.1] [--delay SECONDS]
                 [--ready-file FILE]

Each message becomes DIR/<ns timestamp>-<serial>.eml, written to a dot
file first and renamed, so a reader never sees half a message.  The
envelope goes in X-Sink-Mail-From and X-Sink-Rcpt-To header lines added on
top.  --delay holds each message that long before answering DATA (a slow
relay, for crash tests; the message is saved only after the wait).
--ready-file is written once the port accepts connections.  SIGTERM and
SIGINT stop it.  Loopback only: the host must be a 127/8 address.
"""

import argparse
import asyncio
import itertools
import ipaddress
import os
import signal
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class Saver:
    def __init__(self, directory, delay):
        self.directory = directory
        self.delay = delay
        self.serial = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        n = next(self.serial)
        name = f"{time.time_ns()}-{n:06d}.eml"
        head = (f"X-Sink-Mail-From: {envelope.mail_from}\r\n"
                f"X-Sink-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n")
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        tmp = os.path.join(self.directory, "." + name)
        with open(tmp, "wb") as f:
            f.write(head.encode("ascii", "replace") + data)
        os.rename(tmp, os.path.join(self.directory, name))
        return "250 OK saved"


class SinkController(Controller):
    # The server keeps the data exactly as received (no decoding), and
    # accepts 8BITMIME bodies.
    def factory(self):
        return SMTP(self.handler, decode_data=False, enable_SMTPUTF8=True,
                    hostname="cpa-smtp-sink")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--ready-file")
    args = ap.parse_args()
    if not ipaddress.ip_address(args.host).is_loopback:
        ap.error("--host must be a loopback address")
    if not 1 <= args.port <= 65535:
        ap.error("--port must be 1 to 65535")
    os.makedirs(args.dir, exist_ok=True)

    ctl = SinkController(Saver(args.dir, args.delay), hostname=args.host,
                         port=args.port, ready_timeout=10)
    ctl.start()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.rename(args.ready_file + ".tmp", args.ready_file)
    print(f"smtp_sink: listening on {args.host}:{args.port}, saving to {args.dir}",
          file=sys.stderr, flush=True)
    try:
        while not stop:
            time.sleep(0.2)
    finally:
        ctl.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
