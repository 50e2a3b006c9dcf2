#!/usr/bin/env python3
"""A small SMTP server (standard library only) that answers RCPT with 451 for the first
N transactions, then accepts: a greylisting MX for the retry tests of queue_e2e.rs.

    flaky_mx.py --host 127.0.0.3 --port 2525 --log attempts.jsonl --dump DIR --fail 1

--fail -1 answers 451 forever. Every transaction is logged as one JSON line
({"rcpt": [...], "code": 451|250, "message_id": ...}); accepted messages are saved, as
received (CRLF, dot-unstuffed), to DIR/<n>.eml. "ready" is printed once listening.
No STARTTLS, no AUTH; PIPELINING is offered (replies are sent in order anyway).
"""

import argparse
import json
import os
import re
import socketserver
import sys
import threading

LOCK = threading.Lock()
STATE = {"transactions": 0, "saved": 0}


class Handler(socketserver.StreamRequestHandler):
    timeout = 60

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        args = self.server.args
        self.reply("220 flaky.test ESMTP flaky_mx")
        rcpts, mail_from, failing = [], None, False
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            cmd = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-flaky.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 10000000")
            elif verb == "HELO":
                self.reply("250 flaky.test")
            elif verb == "MAIL":
                with LOCK:
                    n = STATE["transactions"]
                    STATE["transactions"] += 1
                failing = args.fail < 0 or n < args.fail
                mail_from, rcpts = cmd[10:], []
                self.reply("250 2.1.0 ok")
            elif verb == "RCPT":
                to = cmd[8:]
                if failing:
                    self.log({"from": mail_from, "rcpt": [to], "code": 451})
                    self.reply("451 4.7.1 greylisted, try again later")
                else:
                    rcpts.append(to)
                    self.reply("250 2.1.5 ok")
            elif verb == "DATA":
                if not rcpts:
                    self.reply("554 5.5.1 no valid recipients")
                    continue
                self.reply("354 go ahead")
                data = bytearray()
                while True:
                    l = self.rfile.readline(1 << 20)
                    if not l:
                        return
                    if l == b".\r\n":
                        break
                    if l.startswith(b"."):
                        l = l[1:]
                    data += l
                with LOCK:
                    STATE["saved"] += 1
                    n = STATE["saved"]
                with open(os.path.join(args.dump, f"{n}.eml"), "wb") as f:
                    f.write(data)
                m = re.search(rb"(?im)^message-id:\s*(<[^>]*>)", bytes(data))
                self.log({
                    "from": mail_from,
                    "rcpt": rcpts,
                    "code": 250,
                    "message_id": m.group(1).decode() if m else None,
                })
                rcpts = []
                self.reply("250 2.0.0 queued")
            elif verb == "RSET":
                rcpts = []
                self.reply("250 2.0.0 ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 bye")
                return
            else:
                self.reply("502 5.5.2 not implemented")

    def log(self, entry):
        with LOCK:
            with open(self.server.args.log, "a") as f:
                f.write(json.dumps(entry) + "\n")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--dump", required=True)
    p.add_argument("--fail", type=int, default=1)
    args = p.parse_args()
    server = Server((args.host, args.port), Handler)
    server.args = args
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
