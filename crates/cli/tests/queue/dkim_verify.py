#!/usr/bin/env python3
"""Verifies every DKIM-Signature of a message with dkimpy (PyNaCl for Ed25519), looking
the keys up over DNS (dnspython) at the given nameserver only.

    dkim_verify.py MESSAGE_FILE NAMESERVER_IP PORT

Prints one JSON list, one object per signature in header order:
{"index": i, "a": "rsa-sha256", "d": "example.org", "s": "...", "valid": true|false}.
"""

import json
import sys

import dkim
import dns.resolver


def main():
    path, ip, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [ip]
    resolver.port = port

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

    message = open(path, "rb").read()
    d = dkim.DKIM(message)
    headers, _ = dkim.rfc822_parse(message)
    sigs = [v for (k, v) in headers if k.lower() == b"dkim-signature"]
    out = []
    for i, raw in enumerate(sigs):
        tags = dkim.util.parse_tag_value(b"".join(raw.split()))
        try:
            valid = dkim.DKIM(message).verify(idx=i, dnsfunc=dnsfunc)
            error = None
        except Exception as e:  # a verification error is a result, not a crash
            valid, error = False, repr(e)
        out.append({
            "index": i,
            "a": tags.get(b"a", b"").decode(),
            "d": tags.get(b"d", b"").decode(),
            "s": tags.get(b"s", b"").decode(),
            "valid": bool(valid),
            "error": error,
        })
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
