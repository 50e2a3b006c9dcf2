#!/usr/bin/env python3
"""Submits messages with Python's smtplib: STARTTLS + AUTH (login()) on the submission
port, or implicit TLS (SMTP_SSL) on the submissions port, then send_message().

    submit.py --port 2587 --mode starttls|implicit --user U --password P \
        --from alice@example.org --to bob@sink.test[,..] --tag t1 [--count N]

Message i has Message-ID <TAG-i@example.org> and Subject "TAG i". Prints one JSON object:
{"accepted": [message ids], "refused": [{"message_id", "code", "error"}]}. Certificates
are not verified (the server's is self-signed).
"""

import argparse
import json
import smtplib
import ssl
import sys
from email.message import EmailMessage


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mode", choices=["starttls", "implicit"], required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--from", dest="sender", required=True)
    p.add_argument("--to", required=True)
    p.add_argument("--tag", required=True)
    p.add_argument("--count", type=int, default=1)
    args = p.parse_args()

    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if args.mode == "implicit":
        smtp = smtplib.SMTP_SSL("127.0.0.1", args.port, context=ctx, timeout=30)
        smtp.ehlo("client.test")
    else:
        smtp = smtplib.SMTP("127.0.0.1", args.port, timeout=30)
        smtp.ehlo("client.test")
        smtp.starttls(context=ctx)
        smtp.ehlo("client.test")
    smtp.login(args.user, args.password)
    out = {"accepted": [], "refused": []}
    for i in range(args.count):
        msg = EmailMessage()
        msg["From"] = args.sender
        msg["To"] = args.to
        msg["Subject"] = f"{args.tag} {i}"
        msg["Message-ID"] = f"<{args.tag}-{i}@example.org>"
        msg["Date"] = "Mon, 02 Mar 2026 10:00:00 +0000"
        msg.set_content(f"Message {i} of {args.tag}.\nA second line.\n")
        try:
            smtp.send_message(msg, from_addr=args.sender, to_addrs=args.to.split(","))
            out["accepted"].append(msg["Message-ID"])
        except smtplib.SMTPResponseException as e:
            out["refused"].append({"message_id": msg["Message-ID"], "code": e.smtp_code,
                                   "error": e.smtp_error.decode("utf-8", "replace")})
            smtp.rset()
        except smtplib.SMTPRecipientsRefused as e:
            out["refused"].append({"message_id": msg["Message-ID"], "code": 0, "error": repr(e.recipients)})
            smtp.rset()
    smtp.quit()
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
