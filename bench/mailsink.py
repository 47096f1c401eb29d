"""A local SMTP sink for `make prod-demo` and `make drill`: accepts every message on 127.0.0.1 and
appends one JSON line per message (arrival time, Message-ID, recipients, subject) to a file, and
keeps the raw message under <dir>/<n>.eml for a look.

    python bench/mailsink.py --port 2525 --out /tmp/mail/received.jsonl
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import signal
import threading
import time
from pathlib import Path


def main() -> None:
    from aiosmtpd.controller import Controller

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--keep-eml", action="store_true", help="also keep each message as an .eml file")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    out = open(args.out, "a", encoding="utf-8")  # noqa: SIM115 - open for the life of the process
    counter = {"n": sum(1 for _ in open(args.out, encoding="utf-8"))}

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
            line = {"t": time.time(), "message_id": str(msg.get("Message-ID", "")).strip(), "to": list(envelope.rcpt_tos),
                    "subject": str(msg.get("Subject", ""))}
            with lock:
                counter["n"] += 1
                out.write(json.dumps(line) + "\n")
                out.flush()
                if args.keep_eml:
                    (args.out.parent / f"{counter['n']:06d}.eml").write_bytes(envelope.content)
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname="127.0.0.1", port=args.port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"SMTP sink on 127.0.0.1:{args.port}, writing {args.out}", flush=True)
    stop.wait()
    controller.stop()
    out.close()


if __name__ == "__main__":
    main()
