#!/usr/bin/env python3
"""The remote side of tests/inbound_e2e.rs: DKIM keys and signed messages made with
dkimpy (PyNaCl for Ed25519), delivery with smtplib from a chosen loopback address, and
reading back over IMAP with imaplib (each stored message's DKIM signatures checked again
with dkimpy, keys looked up with dnspython at the test's own nameserver only).

    inbound.py keys DIR DOMAIN...
        Makes an RSA-2048 (openssl) and an Ed25519 (PyNaCl) key per domain in DIR; prints
        {"DOMAIN": {"rsa": TXT, "ed25519": TXT}} with the key records to publish.
    inbound.py message --out FILE --from HDR --to HDR --subject S --message-id ID
                       [--header "Name: value"]... [--body TEXT] [--html HTML]
                       [--attachment NAME] [--sign DOMAIN:SELECTOR:KEYFILE:ALG]...
                       [--tamper]
        Writes a CRLF message, signed (relaxed/relaxed) once per --sign in order; --tamper
        changes the body after signing.
    inbound.py send --port P --source IP --helo NAME --mail-from ADDR --rcpt ADDR FILE
        Sends FILE as is with smtplib; prints {"code": N, "text": "..."} of the final reply
        (or of the refused command; code null when the connection broke): never raises
        on an SMTP refusal.
    inbound.py fetch --port P --user U --password PW --ns IP:PORT
        Prints every message of INBOX and Junk as JSON: mailbox, uid, message_id, flags,
        the raw message, and dkimpy's verdict per DKIM-Signature.
    inbound.py move --port P --user U --password PW --message-id ID --to MAILBOX
        UID MOVE (RFC 6851) of the INBOX message with that Message-ID; prints the UIDs.
"""

import argparse
import base64
import email
import email.utils
import imaplib
import json
import os
import re
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY

import dkim
import dkim.util
import dns.resolver
import nacl.signing

SIGNED_HEADERS = [
    b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
]


def cmd_keys(args):
    os.makedirs(args.dir, exist_ok=True)
    out = {}
    for domain in args.domains:
        rsa_path = os.path.join(args.dir, f"{domain}.rsa.pem")
        # PKCS#1 ("BEGIN RSA PRIVATE KEY"), which dkimpy reads.
        subprocess.run(
            ["openssl", "genrsa", "-traditional", "-out", rsa_path, "2048"],
            check=True, capture_output=True,
        )
        der = subprocess.run(
            ["openssl", "rsa", "-in", rsa_path, "-pubout", "-outform", "DER"],
            check=True, capture_output=True,
        ).stdout
        ed = nacl.signing.SigningKey.generate()
        ed_path = os.path.join(args.dir, f"{domain}.ed25519")
        # dkimpy's Ed25519 private key format: the base64 32-byte seed (RFC 8463).
        with open(ed_path, "wb") as f:
            f.write(base64.b64encode(bytes(ed)))
        out[domain] = {
            "rsa": "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode(),
            "ed25519": "v=DKIM1; k=ed25519; p="
            + base64.b64encode(bytes(ed.verify_key)).decode(),
        }
    print(json.dumps(out))


def cmd_message(args):
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = args.from_
    msg["To"] = args.to
    msg["Subject"] = args.subject
    msg["Date"] = email.utils.formatdate()
    msg["Message-ID"] = args.message_id
    for h in args.header:
        name, value = h.split(":", 1)
        msg[name.strip()] = value.strip()
    msg.set_content(args.body + "\n")
    if args.html:
        msg.add_alternative(args.html, subtype="html")
    if args.attachment:
        # A Windows PE header is all it takes to look like a program.
        msg.add_attachment(
            b"MZ\x90\x00" + b"\x00" * 60 + b"This program cannot be run in DOS mode.",
            maintype="application", subtype="octet-stream", filename=args.attachment,
        )
    raw = msg.as_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b""), "CRLF expected"
    for spec in args.sign:
        domain, selector, keyfile, alg = spec.split(":")
        key = open(keyfile, "rb").read()
        sig = dkim.sign(
            raw, selector.encode(), domain.encode(), key,
            canonicalize=(b"relaxed", b"relaxed"),
            signature_algorithm=alg.encode(),
            include_headers=SIGNED_HEADERS,
        )
        raw = sig + raw
    if args.tamper:
        head, body = raw.split(b"\r\n\r\n", 1)
        assert b"Amount: 100 EUR" in body, "--tamper changes 'Amount: 100 EUR'"
        raw = head + b"\r\n\r\n" + body.replace(b"Amount: 100 EUR", b"Amount: 900 EUR")
    with open(args.out, "wb") as f:
        f.write(raw)


def cmd_send(args):
    raw = open(args.file, "rb").read()
    result = {"code": 250, "text": ""}
    try:
        with smtplib.SMTP(
            "127.0.0.1", args.port, local_hostname=args.helo,
            source_address=(args.source, 0), timeout=30,
        ) as s:
            s.sendmail(args.mail_from, [args.rcpt], raw)
    except smtplib.SMTPRecipientsRefused as e:
        code, text = next(iter(e.recipients.values()))
        result = {"code": code, "text": text.decode(errors="replace"), "at": "RCPT"}
    except smtplib.SMTPSenderRefused as e:
        result = {"code": e.smtp_code, "text": e.smtp_error.decode(errors="replace"),
                  "at": "MAIL"}
    except smtplib.SMTPDataError as e:
        result = {"code": e.smtp_code, "text": e.smtp_error.decode(errors="replace"),
                  "at": "DATA"}
    except (smtplib.SMTPServerDisconnected, OSError) as e:
        # The server dropped the connection (or never answered): a result to report.
        result = {"code": None, "text": repr(e), "at": "connection"}
    print(json.dumps(result))


def resolver_func(ns):
    ip, port = ns.rsplit(":", 1)
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [ip]
    resolver.port = int(port)

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        try:
            answer = resolver.resolve(name, "TXT", lifetime=timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        for rr in answer:
            return b"".join(rr.strings)
        return None

    return dnsfunc


def dkim_verdicts(raw, dnsfunc):
    headers, _ = dkim.rfc822_parse(raw)
    sigs = [v for (k, v) in headers if k.lower() == b"dkim-signature"]
    out = []
    for i, value in enumerate(sigs):
        tags = dkim.util.parse_tag_value(b"".join(value.split()))
        try:
            valid, error = dkim.DKIM(raw).verify(idx=i, dnsfunc=dnsfunc), None
        except Exception as e:  # a failed verification is a result, not a crash
            valid, error = False, repr(e)
        out.append({
            "a": tags.get(b"a", b"").decode(),
            "d": tags.get(b"d", b"").decode(),
            "valid": bool(valid),
            "error": error,
        })
    return out


def login(args):
    imap = imaplib.IMAP4("127.0.0.1", args.port, timeout=30)
    imap.login(args.user, args.password)
    return imap


def cmd_fetch(args):
    dnsfunc = resolver_func(args.ns)
    imap = login(args)
    out = []
    for mailbox in ("INBOX", "Junk"):
        typ, data = imap.select(mailbox, readonly=True)
        assert typ == "OK", (mailbox, data)
        typ, data = imap.uid("SEARCH", None, "ALL")
        assert typ == "OK", data
        for uid in data[0].split():
            typ, data = imap.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
            assert typ == "OK", data
            meta, raw = data[0]
            out.append({
                "mailbox": mailbox,
                "uid": int(uid),
                "message_id": (email.message_from_bytes(raw)["Message-ID"] or "").strip(),
                "flags": re.search(rb"FLAGS \(([^)]*)\)", meta).group(1).decode().split(),
                "raw": raw.decode("utf-8", errors="replace"),
                "dkim": dkim_verdicts(raw, dnsfunc),
            })
    imap.logout()
    print(json.dumps(out))


def cmd_move(args):
    imap = login(args)
    typ, data = imap.select("INBOX")
    assert typ == "OK", data
    typ, data = imap.uid("SEARCH", None, "HEADER", "Message-ID", args.message_id)
    assert typ == "OK", data
    uids = data[0].split()
    assert len(uids) == 1, f"{args.message_id} in INBOX: {uids}"
    typ, data = imap.uid("MOVE", uids[0], args.to)
    assert typ == "OK", data
    imap.logout()
    print(json.dumps({"moved": [int(u) for u in uids]}))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("keys")
    k.add_argument("dir")
    k.add_argument("domains", nargs="+")
    m = sub.add_parser("message")
    m.add_argument("--out", required=True)
    m.add_argument("--from", dest="from_", required=True)
    m.add_argument("--to", required=True)
    m.add_argument("--subject", required=True)
    m.add_argument("--message-id", required=True)
    m.add_argument("--header", action="append", default=[])
    m.add_argument("--body", default="Hello.")
    m.add_argument("--html")
    m.add_argument("--attachment")
    m.add_argument("--sign", action="append", default=[])
    m.add_argument("--tamper", action="store_true")
    s = sub.add_parser("send")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--source", required=True)
    s.add_argument("--helo", required=True)
    s.add_argument("--mail-from", required=True)
    s.add_argument("--rcpt", required=True)
    s.add_argument("file")
    for name in ("fetch", "move"):
        f = sub.add_parser(name)
        f.add_argument("--port", type=int, required=True)
        f.add_argument("--user", required=True)
        f.add_argument("--password", required=True)
        if name == "fetch":
            f.add_argument("--ns", required=True)
        else:
            f.add_argument("--message-id", required=True)
            f.add_argument("--to", required=True)
    args = p.parse_args()
    {"keys": cmd_keys, "message": cmd_message, "send": cmd_send,
     "fetch": cmd_fetch, "move": cmd_move}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
