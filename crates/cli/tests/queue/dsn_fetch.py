#!/usr/bin/env python3
"""Fetches every message of a mailbox over IMAP (imaplib, LOGIN on loopback) and
describes each with Python's email parser, for the bounce tests of queue_e2e.rs.

    dsn_fetch.py HOST PORT USER PASSWORD

Prints one JSON list, one object per message: its Content-Type, report-type, Subject,
From, and for a multipart/report its parts: the delivery-status fields (per-message
block and each per-recipient block) and the returned original (Message-ID and Subject of
an attached message/rfc822 or text/rfc822-headers part).
"""

import email
import email.policy
import imaplib
import json
import sys


def describe(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    out = {
        "content_type": msg.get_content_type(),
        "report_type": msg.get_param("report-type"),
        "subject": msg.get("Subject"),
        "from": msg.get("From"),
        "auto_submitted": msg.get("Auto-Submitted"),
        "parts": [],
    }
    if not msg.is_multipart():
        return out
    for part in msg.get_payload():
        ct = part.get_content_type()
        entry = {"content_type": ct}
        if ct == "message/delivery-status":
            blocks = part.get_payload()
            entry["per_message"] = dict(blocks[0].items()) if blocks else {}
            entry["recipients"] = [dict(b.items()) for b in blocks[1:]]
        elif ct == "message/rfc822":
            inner = part.get_payload()[0]
            entry["message_id"] = inner.get("Message-ID")
            entry["subject"] = inner.get("Subject")
            entry["has_body"] = bool(inner.get_payload())
        elif ct == "text/rfc822-headers":
            inner = email.message_from_string(part.get_payload(decode=True).decode("utf-8", "replace"))
            entry["message_id"] = inner.get("Message-ID")
            entry["subject"] = inner.get("Subject")
        else:
            entry["text"] = part.get_payload(decode=True).decode("utf-8", "replace")
        out["parts"].append(entry)
    return out


def main():
    host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    imap = imaplib.IMAP4(host, port)
    imap.login(user, password)
    typ, _ = imap.select("INBOX", readonly=True)
    assert typ == "OK", typ
    typ, data = imap.uid("SEARCH", None, "ALL")
    assert typ == "OK", typ
    out = []
    for uid in data[0].split():
        typ, fetched = imap.uid("FETCH", uid, "(BODY.PEEK[])")
        assert typ == "OK", typ
        raw = next(item[1] for item in fetched if isinstance(item, tuple))
        out.append(describe(raw))
    imap.logout()
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
