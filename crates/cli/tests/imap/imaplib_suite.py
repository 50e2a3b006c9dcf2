#!/usr/bin/env python3
"""A real-client run of the IMAP commands with Python's imaplib (standard library only).

usage: imaplib_suite.py [--tls] [--require CAP,...] [--allow-deviation NAME,...]
                        [--idle-timeout SECS] [--verbose] HOST PORT USER PASSWORD

Exercises, against a running server, every command a mail client uses and checks each
response strictly against RFC 3501 / RFC 9051 and the extensions' RFCs, never against a
server's human-readable text, so that the same run passes against Dovecot and against
any correct IMAP4rev1/IMAP4rev2 server. The first failed check ends the run with exit
status 1 and a message naming the check, what was expected and what came back, plus the
last commands sent. Exit 0 prints one summary line (what was checked, what was skipped).

What it covers: CAPABILITY, NOOP, LOGIN, LOGOUT, STARTTLS (--tls only), AUTHENTICATE
PLAIN (with and without SASL-IR), ENABLE, ID, NAMESPACE, SELECT, EXAMINE, CREATE
(hierarchies, modified UTF-7 names), DELETE, RENAME (a hierarchy; INBOX), SUBSCRIBE,
UNSUBSCRIBE, LIST, LSUB, LIST-EXTENDED, LIST-STATUS, SPECIAL-USE, STATUS, APPEND (flags,
date), CHECK, CLOSE, UNSELECT, EXPUNGE, UID EXPUNGE, SEARCH (flags, headers, bodies,
CHARSET UTF-8, OR/NOT, dates, sizes, sequence and UID sets, ESEARCH), FETCH (FLAGS UID
INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY[] header fields, partial, BODY[n],
BINARY[n]), STORE (+FLAGS, -FLAGS.SILENT, FLAGS, keywords), COPY and MOVE with COPYUID,
the UID forms, IDLE, changes seen by a second connection, GETQUOTAROOT/GETQUOTA.

Extensions are tested when the server advertises them (or, for those IMAP4rev2 folds
in, when it is an IMAP4rev2-only server); --require makes an extension's absence a
failure. --allow-deviation accepts one named, known deviation of a reference server
(see DEVIATIONS) instead of failing on it.

The account should be a test account. The run works in mailboxes under a fresh prefix
"imaplib-suite-<random>" and deletes them at the end (and the leftovers of earlier,
failed runs at the start). It touches INBOX only to check RENAME INBOX: INBOX's messages
are moved to a new mailbox and back, and the two messages the check adds are deleted.
Plaintext LOGIN is used without TLS unless --tls is given: run it over loopback.
"""

import base64
import datetime
import imaplib
import os
import re
import socket
import ssl
import sys
import time

# Known deviations of reference servers that --allow-deviation may accept.
DEVIATIONS = {
    # Dovecot 2.3 answers RENAME INBOX with NO [CANNOT] (RFC 3501 §6.3.5 and RFC 9051
    # §6.3.6 define it: the messages move to the new mailbox, INBOX stays, empty).
    "rename-inbox": "RENAME INBOX refused with NO",
    # Dovecot 2.3.19 simplifies an OR of negated system flags wrongly: `OR UNSEEN
    # UNFLAGGED` and `NOT (SEEN FLAGGED)` miss the messages that are \Seen and not
    # \Flagged.
    "search-or-not-flags": "SEARCH NOT (flag flag) / OR UNflag UNflag miss messages",
}

# Extensions that an IMAP4rev2 server has without advertising them (RFC 9051 §1).
REV2_INCLUDES = {
    "NAMESPACE", "UNSELECT", "UIDPLUS", "ESEARCH", "SEARCHRES", "ENABLE", "IDLE",
    "SASL-IR", "LIST-EXTENDED", "LIST-STATUS", "MOVE", "LITERAL-", "BINARY",
    "SPECIAL-USE", "STATUS=SIZE", "ID",
}

FLAG_WORDS = {"\\SEEN", "\\ANSWERED", "\\FLAGGED", "\\DELETED", "\\DRAFT"}


class Failure(Exception):
    pass


# ---------------------------------------------------------------------------------
# Parsing server data (imaplib hands back raw bytes).
# ---------------------------------------------------------------------------------


class Atom(bytes):
    """An unquoted atom (as opposed to a quoted string or literal)."""


LITERAL_RE = re.compile(rb"~?\{(\d+)\+?\}\r\n")


def parse(buf, pos=0, closing=False):
    """Parses IMAP data (atoms, "quoted", {n} and ~{n} literals, NIL, (lists)) into
    Python values: bytes for strings, Atom for atoms, None for NIL, list for lists."""
    out = []
    n = len(buf)
    while pos < n:
        c = buf[pos]
        if c in b" \r\n":
            pos += 1
        elif c == 0x29:  # )
            if closing:
                return out, pos + 1
            raise Failure(f"unbalanced ')' in server data {buf[:200]!r}")
        elif c == 0x28:  # (
            value, pos = parse(buf, pos + 1, True)
            out.append(value)
        elif c == 0x22:  # "
            pos += 1
            s = bytearray()
            while True:
                if pos >= n:
                    raise Failure(f"unterminated quoted string in {buf[:200]!r}")
                ch = buf[pos]
                if ch == 0x5C:
                    s.append(buf[pos + 1])
                    pos += 2
                elif ch == 0x22:
                    pos += 1
                    break
                else:
                    s.append(ch)
                    pos += 1
            out.append(bytes(s))
        elif c == 0x7B or (c == 0x7E and buf[pos + 1:pos + 2] == b"{"):
            m = LITERAL_RE.match(buf, pos)
            if not m:
                raise Failure(f"bad literal in server data {buf[pos:pos + 40]!r}")
            size = int(m.group(1))
            out.append(buf[m.end():m.end() + size])
            if m.end() + size > n:
                raise Failure("literal longer than the data received")
            pos = m.end() + size
        else:
            # An atom; a section such as BODY[HEADER.FIELDS (SUBJECT)] keeps its spaces
            # and parentheses, and a partial suffix <0> stays part of it.
            start = pos
            depth = 0
            while pos < n:
                ch = buf[pos]
                if ch == 0x5B:
                    depth += 1
                elif ch == 0x5D:
                    depth -= 1
                elif depth == 0 and ch in b" ()\r\n":
                    break
                pos += 1
            a = buf[start:pos]
            out.append(None if a.upper() == b"NIL" else Atom(a))
    if closing:
        raise Failure(f"unterminated list in server data {buf[:200]!r}")
    return out, pos


def values(buf):
    return parse(buf)[0]


def wire(items):
    """Joins imaplib's pieces of untagged responses (bytes, or (prefix, literal) tuples
    followed by the rest of the line) back into one bytes value per response."""
    out = []
    cur = b""
    pending = False
    for it in items or []:
        if it is None:
            continue
        if isinstance(it, tuple):
            cur += it[0] + b"\r\n" + it[1]
            pending = True
        else:
            cur += it
            out.append(cur)
            cur = b""
            pending = False
    if pending:
        out.append(cur)
    return out


def text(v):
    return v.decode("utf-8", "replace") if isinstance(v, (bytes, bytearray)) else str(v)


def upper_set(items):
    return {text(x).upper() for x in items}


def fetch_items(untagged):
    """{seq: {ITEM: value}} from the untagged FETCH responses of one command."""
    res = {}
    for raw in wire(untagged.get("FETCH")):
        vals = values(raw)
        if len(vals) != 2 or not isinstance(vals[1], list):
            raise Failure(f"malformed FETCH response {raw[:300]!r}")
        seq = int(vals[0])
        lst = vals[1]
        if len(lst) % 2:
            raise Failure(f"FETCH item without value in {raw[:300]!r}")
        d = res.setdefault(seq, {})
        for i in range(0, len(lst), 2):
            d[text(lst[i]).upper()] = lst[i + 1]
    return res


def search_hits(untagged):
    hits = []
    for raw in untagged.get("SEARCH") or []:
        if raw:
            hits += [int(x) for x in raw.split() if x.isdigit()]
    return hits


def uid_set(s):
    """'1:3,7' -> [1, 2, 3, 7] (in the order given)."""
    out = []
    for part in text(s).split(","):
        if ":" in part:
            a, b = (int(x) for x in part.split(":"))
            step = 1 if b >= a else -1
            out += list(range(a, b + step, step))
        else:
            out.append(int(part))
    return out


def code_args(untagged, code):
    """The arguments of the response code CODE (from a tagged or untagged OK)."""
    for v in untagged.get(code) or []:
        if v is not None:
            return text(v).split()
    return None


def parse_internaldate(v):
    return datetime.datetime.strptime(text(v).strip(), "%d-%b-%Y %H:%M:%S %z")


def q(s):
    """An IMAP quoted string."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------------
# Test messages. CRLF throughout; the expected MIME facts are computed from the parts.
# ---------------------------------------------------------------------------------


def crlf(s):
    return s.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


ATTACHMENT = bytes((i * 37 + 11) % 256 for i in range(300))  # includes NUL bytes


def messages(tag):
    """Six messages: (bytes, flags, internal date, facts for the checks)."""
    b64 = base64.b64encode(ATTACHMENT).decode()
    b64_lines = "\r\n".join(b64[i:i + 76] for i in range(0, len(b64), 76))
    part1_alt = "Plain numbers went up.\r\n"
    part2_alt = "<p>Plain numbers went <b>up</b>.</p>\r\n"
    part1_mix = "Please find the invoice attached.\r\n"
    big_lines = "".join(
        f"Line {i:05d} of a long report about rivers, bridges and harbours.\r\n"
        for i in range(1800))
    msgs = [
        (crlf(f"""From: Ann Example <ann@example.net>
To: Alice <alice@example.org>
Subject: Hello world planning
Date: Wed, 01 Jan 2020 12:00:00 +0000
Message-ID: <suite-1.{tag}@example.net>
X-Suite-Tag: alpha
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Let us plan the quokka expedition.
Bring maps.
"""), ["\\Seen"], "01-Jan-2020 12:00:00 +0000", {}),
        (crlf(f"""From: Bob Example <bob@example.com>
To: alice@example.org
Cc: Carol <carol@example.com>
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=
Date: Tue, 15 Jun 2021 12:00:00 +0000
Message-ID: <suite-2.{tag}@example.net>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Sch=C3=B6ne Gr=C3=BC=C3=9Fe aus der Stra=C3=9Fe.
"""), [], "15-Jun-2021 12:00:00 +0000", {}),
        (crlf(f"""From: Carl Report <carl@example.com>
To: alice@example.org
Subject: Quarterly report
Date: Thu, 10 Mar 2022 12:00:00 +0000
Message-ID: <suite-3.{tag}@example.net>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1-alt"

--b1-alt
Content-Type: text/plain; charset=us-ascii

{part1_alt}
--b1-alt
Content-Type: text/html; charset=us-ascii

{part2_alt}
--b1-alt--
"""), ["\\Flagged"], "10-Mar-2022 12:00:00 +0000",
         {"parts": [part1_alt.encode(), part2_alt.encode()]}),
        (crlf(f"""From: Dora Billing <dora@example.com>
To: alice@example.org
Subject: Invoice attached
Date: Mon, 05 Sep 2022 12:00:00 +0000
Message-ID: <suite-4.{tag}@example.net>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b2-mix"

--b2-mix
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 7bit

{part1_mix}
--b2-mix
Content-Type: application/octet-stream; name="invoice.bin"
Content-Disposition: attachment; filename="invoice.bin"
Content-Transfer-Encoding: base64

{b64_lines}
--b2-mix--
"""), ["\\Answered", "$Work"], "05-Sep-2022 12:00:00 +0000",
         {"parts": [part1_mix.encode(), b64_lines.encode()]}),
        (crlf(f"""From: Eve Large <eve@example.com>
To: alice@example.org
Subject: Large message
Date: Wed, 20 Dec 2023 12:00:00 +0000
Message-ID: <suite-5.{tag}@example.net>
X-Suite-Tag: beta
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

""") + big_lines.encode(), [], "20-Dec-2023 12:00:00 +0000", {}),
        (crlf(f"""From: Alice <alice@example.org>
To: Ann Example <ann@example.net>
Subject: Re: Hello world planning
Date: Thu, 02 Jan 2020 12:00:00 +0000
Message-ID: <suite-6.{tag}@example.net>
In-Reply-To: <suite-1.{tag}@example.net>

Thanks, see you there.
"""), ["\\Seen", "\\Answered"], "02-Jan-2020 12:00:00 +0000", {}),
    ]
    return msgs


def simple_message(tag, n, subject="note"):
    return crlf(f"""From: Suite <suite@example.net>
To: alice@example.org
Subject: {subject} {n}
Date: Fri, 01 Mar 2024 12:00:00 +0000
Message-ID: <suite-x{n}.{tag}@example.net>

Body {n}.
""")


# ---------------------------------------------------------------------------------
# The run.
# ---------------------------------------------------------------------------------


class Suite:
    def __init__(self, host, port, user, password, tls, require, allow, idle_timeout,
                 verbose):
        self.host, self.port, self.user, self.password = host, port, user, password
        self.tls, self.require, self.allow = tls, require, allow
        self.idle_timeout = idle_timeout
        self.verbose = verbose
        self.checks = 0
        self.skipped = []
        self.history = []  # the last commands and their results, for failure reports
        self.tag = os.urandom(4).hex()
        self.prefix = f"imaplib-suite-{self.tag}"
        self.pre_login_caps = set()

    # -- reporting -----------------------------------------------------------------

    def check(self, cond, what, detail=""):
        self.checks += 1
        if not cond:
            raise Failure(f"{what}" + (f": {detail}" if detail else ""))
        if self.verbose:
            print(f"ok  {what}")

    def skip(self, what):
        self.skipped.append(what)
        if self.verbose:
            print(f"skip {what}")

    # -- connections and commands ----------------------------------------------------

    def connect(self, login=True):
        try:
            m = imaplib.IMAP4(self.host, self.port, timeout=30)
        except OSError as e:
            raise Failure(f"connect to {self.host}:{self.port}: {e}")
        if self.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # a test server's self-signed certificate
            typ, data = m.starttls(ssl_context=ctx)
            self.check(typ == "OK", "STARTTLS", f"{typ} {data}")
        if login:
            self.login(m)
        return m

    def login(self, m):
        try:
            typ, data = m.login(self.user, self.password)
        except imaplib.IMAP4.error as e:
            raise Failure(f"LOGIN {self.user}: {e}")
        self.check(typ == "OK", "LOGIN", f"{typ} {data}")

    def run(self, m, name, *args, literal=None):
        """One command; returns (status, text, untagged) where untagged holds only
        what this command brought (imaplib keeps untagged responses by type)."""
        imaplib.Commands.setdefault(name, ("NONAUTH", "AUTH", "SELECTED"))
        m.untagged_responses = {}
        if literal is not None:
            m.literal = literal
        try:
            typ, data = m._simple_command(name, *args)
        except imaplib.IMAP4.abort as e:
            self.history.append((name, args, "ABORT", str(e)))
            raise Failure(f"{name} {' '.join(map(str, args))}: connection failed: {e}")
        except imaplib.IMAP4.error as e:
            # imaplib raises on BAD.
            typ, data = "BAD", [str(e).encode()]
        untagged = dict(m.untagged_responses)
        m.untagged_responses = {}
        msg = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        self.history.append((name, args, typ, msg[:200]))
        del self.history[:-8]
        if self.verbose:
            print(f"    {name} {' '.join(map(str, args))[:100]} -> {typ} {msg[:100]}")
        return typ, msg, untagged

    def ok(self, m, what, name, *args, literal=None):
        typ, msg, untagged = self.run(m, name, *args, literal=literal)
        self.check(typ == "OK", what, f"{name} {' '.join(map(str, args))[:200]} -> {typ} {msg}")
        return untagged, msg

    def no(self, m, what, name, *args, literal=None, code=None, allow_bad=False):
        typ, msg, untagged = self.run(m, name, *args, literal=literal)
        allowed = ("NO", "BAD") if allow_bad else ("NO",)
        self.check(typ in allowed, what, f"expected {'/'.join(allowed)}, got {typ} {msg}")
        if code:
            self.check(msg.upper().startswith(f"[{code}"), f"{what}: response code [{code}]",
                       f"got {typ} {msg}")
        return untagged, msg

    def select(self, m, mailbox, readonly=False):
        m.untagged_responses = {}
        try:
            typ, data = m.select(q(mailbox), readonly=readonly)
        except imaplib.IMAP4.error as e:
            raise Failure(f"{'EXAMINE' if readonly else 'SELECT'} {mailbox}: {e}")
        untagged = dict(m.untagged_responses)
        m.untagged_responses = {}
        self.check(typ == "OK", f"{'EXAMINE' if readonly else 'SELECT'} {mailbox}",
                   f"{typ} {data}")
        return untagged

    def raw(self, m, line, wait=True):
        """Sends LINE with a fresh tag outside imaplib; returns (status, lines) where
        lines are the untagged lines read before the tagged one."""
        tag = m._new_tag()
        m.send(tag + b" " + line.encode() + b"\r\n")
        lines = []
        while wait:
            resp = m.readline()
            if not resp:
                raise Failure(f"{line}: connection closed by the server")
            if resp.startswith(tag + b" "):
                status = resp[len(tag) + 1:].split(b" ", 1)[0].decode()
                return status, lines + [resp]
            lines.append(resp)
        return tag, []

    def capabilities(self, m):
        untagged, _ = self.ok(m, "CAPABILITY", "CAPABILITY")
        caps = set()
        for c in untagged.get("CAPABILITY") or []:
            caps |= {x.upper() for x in text(c).split()}
        self.check(bool(caps & {"IMAP4REV1", "IMAP4REV2"}), "CAPABILITY lists IMAP4rev1 or IMAP4rev2",
                   " ".join(sorted(caps)))
        m.capabilities = tuple(caps)
        return caps

    def has(self, cap):
        cap = cap.upper()
        if cap in self.caps:
            return True
        return "IMAP4REV1" not in self.caps and cap in REV2_INCLUDES

    def mailbox_list(self, m, *args, what="LIST", cmd="LIST"):
        """[(attributes, delimiter, name, extended)] from a LIST/LSUB command."""
        untagged, _ = self.ok(m, what, cmd, *args)
        out = []
        for raw in wire(untagged.get(cmd)):
            v = values(raw)
            self.check(len(v) >= 3 and isinstance(v[0], list), f"{what}: response shape", repr(raw))
            name = text(v[2])
            out.append((upper_set(v[0]), None if v[1] is None else text(v[1]), name,
                        v[3] if len(v) > 3 else None))
        return out, untagged

    def names(self, listing):
        return {e[2] for e in listing}

    def status(self, m, mailbox, items="(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)"):
        untagged, _ = self.ok(m, f"STATUS {mailbox}", "STATUS", q(mailbox), items)
        raws = wire(untagged.get("STATUS"))
        self.check(len(raws) == 1, f"STATUS {mailbox}: one STATUS response", repr(raws))
        v = values(raws[0])
        self.check(len(v) == 2 and text(v[0]) == mailbox and isinstance(v[1], list),
                   f"STATUS {mailbox}: names the mailbox", repr(raws[0]))
        d = {text(v[1][i]).upper(): int(v[1][i + 1]) for i in range(0, len(v[1]), 2)}
        return d

    def search(self, m, *criteria, uid=False, literal=None):
        if uid:
            untagged, _ = self.ok(m, f"UID SEARCH {' '.join(criteria)}", "UID", "SEARCH",
                                  *criteria, literal=literal)
        else:
            untagged, _ = self.ok(m, f"SEARCH {' '.join(criteria)}", "SEARCH", *criteria,
                                  literal=literal)
        return sorted(search_hits(untagged))

    def fetch(self, m, seqset, items, uid=False):
        if uid:
            untagged, _ = self.ok(m, f"UID FETCH {seqset} {items}", "UID", "FETCH", seqset, items)
        else:
            untagged, _ = self.ok(m, f"FETCH {seqset} {items}", "FETCH", seqset, items)
        return fetch_items(untagged), untagged

    def mb(self, *parts):
        """A mailbox name under the run's prefix, joined with the server's delimiter."""
        return self.delim.join((self.prefix,) + parts)

    # -- the checks, in order --------------------------------------------------------

    def main(self):
        self.pre_login()
        self.main_conn = m = self.connect(login=False)
        self.login_checks(m)
        self.caps = self.capabilities(m)
        for cap in self.require:
            self.check(self.has(cap), f"required capability {cap} advertised",
                       " ".join(sorted(self.caps)))
        self.authenticate_checks()
        self.id_namespace_enable(m)
        self.create_list(m)
        self.subscriptions_and_list_extensions(m)
        self.append_status_select(m)
        self.fetch_checks(m)
        self.search_checks(m)
        self.store_checks(m)
        self.copy_move(m)
        self.expunge_close_unselect(m)
        self.two_connections_and_idle(m)
        self.rename_delete(m)
        self.quota(m)
        self.cleanup(m)
        self.logout(m)

    def pre_login(self):
        try:
            m = imaplib.IMAP4(self.host, self.port, timeout=30)
        except OSError as e:
            raise Failure(f"connect to {self.host}:{self.port}: {e}")
        self.check(m.welcome.startswith(b"* OK"), "greeting is * OK", repr(m.welcome))
        caps = self.capabilities(m)
        self.pre_login_caps = caps
        self.ok(m, "NOOP before login", "NOOP")
        status, lines = self.raw(m, "SELECT INBOX")
        self.check(status in ("NO", "BAD"), "SELECT before login is refused", repr(lines))
        if self.tls:
            self.check("STARTTLS" in caps, "STARTTLS advertised before TLS", " ".join(sorted(caps)))
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            typ, data = m.starttls(ssl_context=ctx)
            self.check(typ == "OK", "STARTTLS", f"{typ} {data}")
            caps2 = self.capabilities(m)
            self.check("STARTTLS" not in caps2, "no STARTTLS advertised after TLS (RFC 9051 §6.2.1)",
                       " ".join(sorted(caps2)))
            self.check("LOGINDISABLED" not in caps2, "LOGIN allowed after STARTTLS")
            self.login(m)
            self.ok(m, "NOOP over TLS", "NOOP")
        else:
            self.check("LOGINDISABLED" not in caps,
                       "LOGIN allowed without TLS (the server must treat loopback as secure)",
                       " ".join(sorted(caps)))
            self.skip("STARTTLS (no --tls)")
        self.logout(m)

    def login_checks(self, m):
        try:
            typ, data = m.login(self.user, self.password + "-wrong")
        except imaplib.IMAP4.error as e:
            typ, data = "NO", [str(e)]
        self.check(typ == "NO", "LOGIN with a wrong password is NO", f"{typ} {data}")
        self.check(m.state == "NONAUTH", "still not authenticated after a failed LOGIN")
        self.login(m)

    def authenticate_checks(self):
        self.check("AUTH=PLAIN" in self.caps or "AUTH=PLAIN" in self.pre_login_caps,
                   "AUTH=PLAIN advertised", " ".join(sorted(self.caps)))
        m = self.connect(login=False)
        cred = b"\0" + self.user.encode() + b"\0" + self.password.encode()
        try:
            typ, data = m.authenticate("PLAIN", lambda _challenge: cred)
        except imaplib.IMAP4.error as e:
            raise Failure(f"AUTHENTICATE PLAIN: {e}")
        self.check(typ == "OK", "AUTHENTICATE PLAIN", f"{typ} {data}")
        self.ok(m, "NOOP after AUTHENTICATE", "NOOP")
        self.logout(m)

        m = self.connect(login=False)
        bad = b"\0" + self.user.encode() + b"\0wrong-" + self.password.encode()
        try:
            typ, data = m.authenticate("PLAIN", lambda _challenge: bad)
        except imaplib.IMAP4.error as e:
            typ, data = "NO", [str(e)]
        self.check(typ == "NO", "AUTHENTICATE PLAIN with a wrong password is NO", f"{typ} {data}")
        if "SASL-IR" in self.caps or "SASL-IR" in self.pre_login_caps:
            status, lines = self.raw(m, "AUTHENTICATE PLAIN " + base64.b64encode(cred).decode())
            self.check(status == "OK", "AUTHENTICATE PLAIN with an initial response (SASL-IR)",
                       repr(lines))
            m.state = "AUTH"
        else:
            self.skip("SASL-IR (not advertised)")
        self.logout(m)

    def id_namespace_enable(self, m):
        if self.has("ID"):
            untagged, _ = self.ok(m, "ID with parameters", "ID", '("name" "imaplib-suite" "version" "1")')
            ids = wire(untagged.get("ID"))
            self.check(len(ids) == 1, "ID: one untagged ID response", repr(ids))
            v = values(ids[0])
            self.check(v == [None] or (len(v) == 1 and isinstance(v[0], list) and len(v[0]) % 2 == 0),
                       "ID response is NIL or a list of field/value pairs", repr(ids[0]))
            untagged, _ = self.ok(m, "ID NIL", "ID", "NIL")
            self.check(len(wire(untagged.get("ID"))) == 1, "ID NIL: one untagged ID response")
        else:
            self.skip("ID (not advertised)")

        # The hierarchy delimiter: LIST "" "" (RFC 9051 §6.3.9).
        listing, _ = self.mailbox_list(m, '""', '""', what='LIST "" ""')
        self.check(len(listing) == 1, 'LIST "" "": one response', repr(listing))
        self.delim = listing[0][1]
        self.check(self.delim is not None and len(self.delim) == 1,
                   "the server has a one-character hierarchy delimiter", repr(listing))

        if self.has("NAMESPACE"):
            untagged, _ = self.ok(m, "NAMESPACE", "NAMESPACE")
            ns = wire(untagged.get("NAMESPACE"))
            self.check(len(ns) == 1, "NAMESPACE: one untagged response", repr(ns))
            v = values(ns[0])
            self.check(len(v) == 3, "NAMESPACE: personal, other users', shared", repr(ns[0]))
            personal = v[0]
            self.check(isinstance(personal, list) and personal and isinstance(personal[0], list)
                       and len(personal[0]) >= 2, "NAMESPACE: a personal namespace", repr(ns[0]))
            self.check(text(personal[0][1]) == self.delim,
                       "NAMESPACE: personal delimiter = LIST's", f"{personal[0][1]!r} vs {self.delim!r}")
            self.check(text(personal[0][0]) == "",
                       'NAMESPACE: the personal namespace prefix is ""', repr(personal[0][0]))
        else:
            self.skip("NAMESPACE (not advertised)")

        if self.has("ENABLE"):
            e = self.connect()
            untagged, _ = self.ok(e, "ENABLE of an unknown extension is OK", "ENABLE", "X-SUITE-UNKNOWN")
            enabled = upper_set(b" ".join(x for x in untagged.get("ENABLED") or [] if x).split())
            self.check("X-SUITE-UNKNOWN" not in enabled, "ENABLE does not enable what it does not know",
                       repr(enabled))
            if self.has("CONDSTORE"):
                untagged, _ = self.ok(e, "ENABLE CONDSTORE", "ENABLE", "CONDSTORE")
                enabled = upper_set(b" ".join(x for x in untagged.get("ENABLED") or [] if x).split())
                self.check("CONDSTORE" in enabled, "ENABLE CONDSTORE: * ENABLED CONDSTORE", repr(untagged))
                untagged = self.select(e, "INBOX")
                self.check(code_args(untagged, "HIGHESTMODSEQ") is not None,
                           "SELECT after ENABLE CONDSTORE: [HIGHESTMODSEQ]", repr(untagged))
            else:
                self.skip("ENABLE CONDSTORE (not advertised)")
            self.logout(e)
        else:
            self.skip("ENABLE (not advertised)")

    def create_list(self, m):
        d = self.delim
        # Leftovers of earlier runs that failed half-way.
        old, _ = self.mailbox_list(m, '""', q("imaplib-suite-*"))
        for name in sorted(self.names(old), key=lambda n: -n.count(d)):
            self.run(m, "DELETE", q(name))

        self.ok(m, "CREATE a top-level mailbox", "CREATE", q(self.prefix))
        self.ok(m, "CREATE work", "CREATE", q(self.mb("work")))
        self.ok(m, "CREATE a/b/c (superiors created as needed)", "CREATE", q(self.mb("a", "b", "c")))
        # A name in modified UTF-7 (RFC 3501 §5.1.3): "Entwürfe".
        utf7 = self.mb("Entw&APw-rfe")
        self.ok(m, "CREATE a modified UTF-7 name", "CREATE", q(utf7))
        listing, _ = self.mailbox_list(m, '""', q(self.prefix + "*"))
        names = self.names(listing)
        for want in (self.prefix, self.mb("work"), self.mb("a"), self.mb("a", "b"),
                     self.mb("a", "b", "c"), utf7):
            self.check(want in names, f"LIST * shows {want}", repr(sorted(names)))
        for attrs, delim, name, _ in listing:
            self.check(delim == d, f"LIST: delimiter of {name}", repr(delim))
        attrs = {e[2]: e[0] for e in listing}
        self.check("\\NOSELECT" not in attrs[self.mb("a", "b", "c")]
                   and "\\NONEXISTENT" not in attrs[self.mb("a", "b", "c")],
                   "the created leaf is selectable", repr(attrs[self.mb("a", "b", "c")]))
        self.check(not ({"\\HASCHILDREN", "\\HASNOCHILDREN"} <= attrs[self.mb("a")]),
                   "no mailbox both \\HasChildren and \\HasNoChildren", repr(attrs[self.mb("a")]))
        if "CHILDREN" in self.caps:  # RFC 3348
            self.check("\\HASCHILDREN" in attrs[self.mb("a")], "a has \\HasChildren",
                       repr(attrs[self.mb("a")]))
            self.check("\\HASNOCHILDREN" in attrs[self.mb("a", "b", "c")], "a/b/c has \\HasNoChildren",
                       repr(attrs[self.mb("a", "b", "c")]))
        # % does not cross the delimiter, * does.
        listing, _ = self.mailbox_list(m, '""', q(self.prefix + d + "%"))
        self.check(self.names(listing) == {self.mb("work"), self.mb("a"), utf7},
                   "LIST with % lists one level", repr(sorted(self.names(listing))))
        # A reference name is prefixed to the pattern.
        listing, _ = self.mailbox_list(m, q(self.prefix + d), '"a%"')
        self.check(self.names(listing) == {self.mb("a")}, "LIST with a reference name",
                   repr(sorted(self.names(listing))))
        listing, _ = self.mailbox_list(m, '""', "INBOX")
        self.check(self.names(listing) == {"INBOX"}, "LIST INBOX", repr(listing))
        listing, _ = self.mailbox_list(m, '""', "inbox")
        self.check(self.names(listing) == {"INBOX"}, "LIST inbox (INBOX is case-insensitive)", repr(listing))

        self.no(m, "CREATE of an existing mailbox is NO", "CREATE", q(self.mb("work")))
        self.no(m, "CREATE INBOX is NO", "CREATE", "INBOX")

    def subscriptions_and_list_extensions(self, m):
        sub = self.mb("work")
        self.ok(m, "SUBSCRIBE", "SUBSCRIBE", q(sub))
        if "IMAP4REV1" in self.caps:
            listing, _ = self.mailbox_list(m, '""', q(self.prefix + "*"), what="LSUB", cmd="LSUB")
            self.check(self.names(listing) == {sub}, "LSUB shows the subscribed mailbox",
                       repr(sorted(self.names(listing))))
        else:
            self.skip("LSUB (IMAP4rev2-only server)")
        if self.has("LIST-EXTENDED"):
            listing, _ = self.mailbox_list(m, "(SUBSCRIBED)", '""', q(self.prefix + "*"))
            self.check(self.names(listing) == {sub}, "LIST (SUBSCRIBED)", repr(listing))
            self.check("\\SUBSCRIBED" in listing[0][0], "LIST (SUBSCRIBED) marks \\Subscribed",
                       repr(listing))
            listing, _ = self.mailbox_list(m, '""', q(self.prefix + "*"), "RETURN", "(SUBSCRIBED)")
            subs = {e[2] for e in listing if "\\SUBSCRIBED" in e[0]}
            self.check(subs == {sub}, "LIST RETURN (SUBSCRIBED)", repr(listing))
            listing, _ = self.mailbox_list(m, '""', f'({q(self.mb("work"))} {q(self.mb("a"))})')
            self.check(self.names(listing) == {self.mb("work"), self.mb("a")},
                       "LIST with two patterns", repr(listing))
            listing, _ = self.mailbox_list(m, '""', q(self.mb("a")), "RETURN", "(CHILDREN)")
            self.check(len(listing) == 1 and "\\HASCHILDREN" in listing[0][0],
                       "LIST RETURN (CHILDREN)", repr(listing))
        else:
            self.skip("LIST-EXTENDED (not advertised)")
        self.ok(m, "UNSUBSCRIBE", "UNSUBSCRIBE", q(sub))
        if "IMAP4REV1" in self.caps:
            listing, _ = self.mailbox_list(m, '""', q(self.prefix + "*"), what="LSUB", cmd="LSUB")
            self.check(listing == [], "LSUB after UNSUBSCRIBE is empty", repr(listing))

        if self.has("LIST-STATUS"):
            listing, untagged = self.mailbox_list(
                m, '""', q(self.prefix + self.delim + "%"), "RETURN", "(STATUS (MESSAGES UIDNEXT))")
            statuses = {}
            for raw in wire(untagged.get("STATUS")):
                v = values(raw)
                statuses[text(v[0])] = {text(v[1][i]).upper(): int(v[1][i + 1])
                                        for i in range(0, len(v[1]), 2)}
            self.check(self.mb("work") in statuses and statuses[self.mb("work")].get("MESSAGES") == 0
                       and "UIDNEXT" in statuses[self.mb("work")],
                       "LIST RETURN (STATUS ...) gives STATUS for a selectable mailbox", repr(statuses))
        else:
            self.skip("LIST-STATUS (not advertised)")

        if self.has("SPECIAL-USE"):
            special = {"\\ALL", "\\ARCHIVE", "\\DRAFTS", "\\FLAGGED", "\\JUNK", "\\SENT", "\\TRASH"}
            listing, _ = self.mailbox_list(m, "(SPECIAL-USE)", '""', '"*"')
            for attrs, _, name, _ in listing:
                self.check(attrs & special, f"LIST (SPECIAL-USE) returns only special-use mailboxes ({name})",
                           repr(attrs))
            listing2, _ = self.mailbox_list(m, '""', '"*"', "RETURN", "(SPECIAL-USE)")
            marked = {e[2] for e in listing2 if e[0] & special}
            self.check(marked == {e[2] for e in listing}, "LIST RETURN (SPECIAL-USE) marks the same mailboxes",
                       f"{sorted(marked)} vs {sorted(e[2] for e in listing)}")
            if "CREATE-SPECIAL-USE" in self.caps:
                arch = self.mb("archive")
                self.ok(m, "CREATE with USE (\\Archive)", "CREATE", q(arch), "(USE (\\Archive))")
                listing, _ = self.mailbox_list(m, '""', q(arch), "RETURN", "(SPECIAL-USE)")
                self.check(len(listing) == 1 and "\\ARCHIVE" in listing[0][0],
                           "the created mailbox is \\Archive", repr(listing))
            else:
                self.skip("CREATE-SPECIAL-USE (not advertised)")
        else:
            self.skip("SPECIAL-USE (not advertised)")

    def append_status_select(self, m):
        work = self.mb("work")
        untagged = self.select(m, work)
        self.check(int((untagged.get("EXISTS") or [b"-1"])[-1]) == 0, "SELECT of an empty mailbox: 0 EXISTS",
                   repr(untagged))
        pflags = upper_set(values((untagged.get("PERMANENTFLAGS") or [b"()"])[-1])[0])
        self.keywords = "\\*" in pflags
        typ, data = m.unselect() if self.has("UNSELECT") else m.close()
        self.check(typ == "OK", "UNSELECT (or CLOSE) of the empty mailbox", f"{typ} {data}")

        self.msgs = messages(self.tag)
        self.uids = []
        uidvalidity = None
        for i, (body, flags, date, _) in enumerate(self.msgs, 1):
            if not self.keywords:
                flags = [f for f in flags if f.startswith("\\")]
            untagged, msg = self.ok(m, f"APPEND message {i} with flags and date", "APPEND", q(work),
                                    "(" + " ".join(flags) + ")", q(date), literal=body)
            if self.has("UIDPLUS"):
                args = code_args(untagged, "APPENDUID")
                self.check(args is not None and len(args) == 2, f"APPEND {i}: [APPENDUID]", msg)
                if uidvalidity is None:
                    uidvalidity = int(args[0])
                self.check(int(args[0]) == uidvalidity, f"APPEND {i}: same UIDVALIDITY")
                uid = int(args[1])
                self.check(not self.uids or uid > self.uids[-1], f"APPEND {i}: UIDs ascend",
                           f"{uid} after {self.uids}")
                self.uids.append(uid)
        if not self.has("UIDPLUS"):
            self.skip("APPENDUID (UIDPLUS not advertised)")
        self.no(m, "APPEND to a mailbox that does not exist", "APPEND", q(self.mb("nonexistent")),
                literal=b"Subject: x\r\n\r\nx\r\n", code="TRYCREATE")

        st = self.status(m, work)
        self.check(st.get("MESSAGES") == 6, "STATUS MESSAGES", repr(st))
        self.check(st.get("UNSEEN") == 4, "STATUS UNSEEN (messages without \\Seen)", repr(st))
        self.check(st.get("UIDVALIDITY", 0) > 0, "STATUS UIDVALIDITY", repr(st))
        if self.uids:
            self.check(st.get("UIDVALIDITY") == uidvalidity, "STATUS UIDVALIDITY = APPENDUID's", repr(st))
            self.check(st.get("UIDNEXT", 0) > self.uids[-1], "STATUS UIDNEXT above the last UID", repr(st))
        self.uidvalidity = st["UIDVALIDITY"]

        untagged = self.select(m, work)
        self.check(int((untagged.get("EXISTS") or [b"-1"])[-1]) == 6, "SELECT: 6 EXISTS", repr(untagged))
        self.check(code_args(untagged, "UIDVALIDITY") == [str(self.uidvalidity)],
                   "SELECT: [UIDVALIDITY] = STATUS's", repr(untagged.get("UIDVALIDITY")))
        self.check(code_args(untagged, "UIDNEXT") == [str(st["UIDNEXT"])],
                   "SELECT: [UIDNEXT] = STATUS's", repr(untagged.get("UIDNEXT")))
        self.check("READ-WRITE" in untagged, "SELECT: [READ-WRITE]", repr(list(untagged)))
        flags = upper_set(values((untagged.get("FLAGS") or [b"()"])[-1])[0])
        self.check(FLAG_WORDS <= flags, "SELECT: FLAGS lists the system flags", repr(flags))
        if self.keywords:
            self.check("$WORK" in flags, "SELECT: FLAGS lists the keyword in use", repr(flags))
        if not self.uids:
            items, _ = self.fetch(m, "1:*", "(UID)")
            self.uids = [int(items[i]["UID"]) for i in sorted(items)]

    def fetch_checks(self, m):
        msgs = self.msgs
        items, _ = self.fetch(m, "1:*", "(FLAGS UID INTERNALDATE RFC822.SIZE)")
        self.check(sorted(items) == [1, 2, 3, 4, 5, 6], "FETCH 1:* answers for every message",
                   repr(sorted(items)))
        for seq, (body, flags, date, _) in enumerate(msgs, 1):
            it = items[seq]
            want = {f.upper() for f in flags if self.keywords or f.startswith("\\")}
            got = upper_set(it.get("FLAGS") or []) - {"\\RECENT"}
            self.check(got == want, f"FETCH FLAGS of message {seq}", f"{got} vs {want}")
            self.check(int(it.get("UID", 0)) == self.uids[seq - 1], f"FETCH UID of message {seq}",
                       repr(it.get("UID")))
            self.check(int(it.get("RFC822.SIZE", -1)) == len(body), f"FETCH RFC822.SIZE of message {seq}",
                       f"{it.get('RFC822.SIZE')} vs {len(body)}")
            got_date = parse_internaldate(it.get("INTERNALDATE", b"01-Jan-1970 00:00:00 +0000"))
            want_date = parse_internaldate(date)
            self.check(got_date == want_date, f"FETCH INTERNALDATE of message {seq} = APPEND's",
                       f"{it.get('INTERNALDATE')} vs {date}")

        # ENVELOPE (RFC 9051 §7.5.2): raw header values; sender and reply-to default to from.
        items, _ = self.fetch(m, "1:6", "(ENVELOPE)")
        env = items[1]["ENVELOPE"]
        self.check(isinstance(env, list) and len(env) == 10, "ENVELOPE has 10 fields", repr(env))
        self.check(env[0] == b"Wed, 01 Jan 2020 12:00:00 +0000", "ENVELOPE date", repr(env[0]))
        self.check(env[1] == b"Hello world planning", "ENVELOPE subject", repr(env[1]))
        self.check(env[2] == [[b"Ann Example", None, b"ann", b"example.net"]], "ENVELOPE from",
                   repr(env[2]))
        self.check(env[3] == env[2] and env[4] == env[2], "ENVELOPE sender and reply-to default to from",
                   repr(env[3:5]))
        self.check(env[5] == [[b"Alice", None, b"alice", b"example.org"]], "ENVELOPE to", repr(env[5]))
        self.check(env[6] is None and env[7] is None and env[8] is None, "ENVELOPE cc, bcc, in-reply-to NIL",
                   repr(env[6:9]))
        self.check(env[9] == f"<suite-1.{self.tag}@example.net>".encode(), "ENVELOPE message-id",
                   repr(env[9]))
        env2 = items[2]["ENVELOPE"]
        self.check(env2[1] == b"=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=",
                   "ENVELOPE subject keeps the encoded-word", repr(env2[1]))
        self.check(env2[6] == [[b"Carol", None, b"carol", b"example.com"]], "ENVELOPE cc", repr(env2[6]))
        env6 = items[6]["ENVELOPE"]
        self.check(env6[8] == f"<suite-1.{self.tag}@example.net>".encode(), "ENVELOPE in-reply-to",
                   repr(env6[8]))

        # BODYSTRUCTURE (RFC 9051 §7.5.2).
        items, _ = self.fetch(m, "1,3,4", "(BODYSTRUCTURE)")
        bs1 = items[1]["BODYSTRUCTURE"]
        body1 = msgs[0][0].split(b"\r\n\r\n", 1)[1]
        self.check(isinstance(bs1, list) and len(bs1) >= 8, "BODYSTRUCTURE of a text message", repr(bs1))
        self.check([text(bs1[0]).upper(), text(bs1[1]).upper()] == ["TEXT", "PLAIN"],
                   "BODYSTRUCTURE type text/plain", repr(bs1[:2]))
        self.check(isinstance(bs1[2], list) and [text(x).upper() for x in bs1[2]] == ["CHARSET", "US-ASCII"],
                   "BODYSTRUCTURE parameters", repr(bs1[2]))
        self.check(text(bs1[5]).upper() == "7BIT", "BODYSTRUCTURE encoding", repr(bs1[5]))
        self.check(int(bs1[6]) == len(body1), "BODYSTRUCTURE size = body octets", f"{bs1[6]} vs {len(body1)}")
        lines1 = body1.count(b"\r\n")
        self.check(int(bs1[7]) == lines1, "BODYSTRUCTURE lines", f"{bs1[7]} vs {lines1}")
        bs3 = items[3]["BODYSTRUCTURE"]
        self.check(isinstance(bs3, list) and isinstance(bs3[0], list) and isinstance(bs3[1], list)
                   and text(bs3[2]).upper() == "ALTERNATIVE",
                   "BODYSTRUCTURE multipart/alternative with two parts", repr(bs3))
        for i, (sub, part) in enumerate(zip(("PLAIN", "HTML"), msgs[2][3]["parts"])):
            p = bs3[i]
            self.check([text(p[0]).upper(), text(p[1]).upper()] == ["TEXT", sub],
                       f"BODYSTRUCTURE part {i + 1} is text/{sub.lower()}", repr(p))
            self.check(int(p[6]) == len(part), f"BODYSTRUCTURE part {i + 1} size", f"{p[6]} vs {len(part)}")
        self.check(isinstance(bs3[3], list) and [text(x).upper() for x in bs3[3]][:2] == ["BOUNDARY", "B1-ALT"],
                   "BODYSTRUCTURE multipart parameters (boundary)", repr(bs3[3:4]))
        bs4 = items[4]["BODYSTRUCTURE"]
        att = bs4[1]
        self.check(text(bs4[2]).upper() == "MIXED", "BODYSTRUCTURE multipart/mixed", repr(bs4))
        self.check([text(att[0]).upper(), text(att[1]).upper(), text(att[5]).upper()]
                   == ["APPLICATION", "OCTET-STREAM", "BASE64"],
                   "BODYSTRUCTURE attachment type and encoding", repr(att))
        self.check(int(att[6]) == len(msgs[3][3]["parts"][1]), "BODYSTRUCTURE attachment size",
                   f"{att[6]} vs {len(msgs[3][3]['parts'][1])}")
        self.check(len(att) >= 9 and isinstance(att[8], list) and text(att[8][0]).upper() == "ATTACHMENT"
                   and [text(x).upper() for x in att[8][1]] == ["FILENAME", "INVOICE.BIN"],
                   "BODYSTRUCTURE disposition (extension data)", repr(att))
        items, _ = self.fetch(m, "1", "(BODY)")
        self.check(isinstance(items[1].get("BODY"), list) and len(items[1]["BODY"]) == 8,
                   "FETCH BODY: the non-extensible structure", repr(items[1].get("BODY")))

        # Bodies, PEEK: no \Seen set.
        items, _ = self.fetch(m, "1:6", "(BODY.PEEK[])")
        for seq in range(1, 7):
            self.check(items[seq].get("BODY[]") == msgs[seq - 1][0], f"BODY.PEEK[] of message {seq} is exact",
                       f"{len(items[seq].get('BODY[]') or b'')} octets vs {len(msgs[seq - 1][0])}")
        items, _ = self.fetch(m, "2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        got = items[2].get("BODY[HEADER.FIELDS (SUBJECT)]")
        self.check(got == b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\n\r\n",
                   "BODY.PEEK[HEADER.FIELDS (SUBJECT)]", repr(got))
        items, _ = self.fetch(m, "1", "(BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT FROM TO DATE MESSAGE-ID MIME-VERSION CONTENT-TYPE)])")
        got = [v for k, v in items[1].items() if k.startswith("BODY[HEADER.FIELDS.NOT")]
        self.check(got == [b"X-Suite-Tag: alpha\r\n\r\n"], "BODY.PEEK[HEADER.FIELDS.NOT (...)]", repr(got))
        items, _ = self.fetch(m, "1", "(BODY.PEEK[HEADER] BODY.PEEK[TEXT])")
        head, body = msgs[0][0].split(b"\r\n\r\n", 1)
        self.check(items[1].get("BODY[HEADER]") == head + b"\r\n\r\n", "BODY.PEEK[HEADER]",
                   repr(items[1].get("BODY[HEADER]")))
        self.check(items[1].get("BODY[TEXT]") == body, "BODY.PEEK[TEXT]", repr(items[1].get("BODY[TEXT]")))
        items, _ = self.fetch(m, "1", "(BODY.PEEK[]<0.10>)")
        self.check(items[1].get("BODY[]<0>") == msgs[0][0][:10], "partial BODY.PEEK[]<0.10>",
                   repr(items[1]))
        items, _ = self.fetch(m, "1", "(BODY.PEEK[]<20.15>)")
        self.check(items[1].get("BODY[]<20>") == msgs[0][0][20:35], "partial BODY.PEEK[]<20.15>",
                   repr(items[1]))
        items, _ = self.fetch(m, "3", "(BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[1.MIME])")
        self.check(items[3].get("BODY[1]") == msgs[2][3]["parts"][0], "BODY.PEEK[1] of multipart/alternative",
                   repr(items[3].get("BODY[1]")))
        self.check(items[3].get("BODY[2]") == msgs[2][3]["parts"][1], "BODY.PEEK[2] of multipart/alternative",
                   repr(items[3].get("BODY[2]")))
        self.check(items[3].get("BODY[1.MIME]") == b"Content-Type: text/plain; charset=us-ascii\r\n\r\n",
                   "BODY.PEEK[1.MIME]", repr(items[3].get("BODY[1.MIME]")))
        items, _ = self.fetch(m, "4", "(BODY.PEEK[2])")
        self.check(items[4].get("BODY[2]") == msgs[3][3]["parts"][1], "BODY.PEEK[2]: the attachment, encoded",
                   repr(items[4].get("BODY[2]", b"")[:80]))
        if self.has("BINARY"):
            items, _ = self.fetch(m, "4", "(BINARY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[1])")
            self.check(items[4].get("BINARY[2]") == ATTACHMENT, "BINARY.PEEK[2] decodes base64",
                       repr((items[4].get("BINARY[2]") or b"")[:40]))
            self.check(int(items[4].get("BINARY.SIZE[2]", -1)) == len(ATTACHMENT), "BINARY.SIZE[2]",
                       repr(items[4].get("BINARY.SIZE[2]")))
            self.check(items[4].get("BINARY[1]") == msgs[3][3]["parts"][0], "BINARY.PEEK[1] of a 7bit part",
                       repr(items[4].get("BINARY[1]")))
        else:
            self.skip("BINARY (not advertised)")
        items, _ = self.fetch(m, "1:*", "(FLAGS)")
        self.check(all("\\SEEN" not in upper_set(items[s]["FLAGS"]) for s in (2, 3, 4, 5)),
                   "BODY.PEEK does not set \\Seen", repr(items))

        # UID FETCH: answers by UID, always includes UID.
        items, _ = self.fetch(m, f"{self.uids[1]}:{self.uids[3]}", "(FLAGS)", uid=True)
        self.check(sorted(items) == [2, 3, 4], "UID FETCH of a UID range", repr(sorted(items)))
        self.check(all(int(items[s].get("UID", 0)) == self.uids[s - 1] for s in items),
                   "UID FETCH responses include UID", repr(items))
        items, _ = self.fetch(m, f"{self.uids[-1] + 100}:*", "(UID)", uid=True)
        self.check(sorted(items) == [6], "UID FETCH n:* with n above the last UID returns the last message",
                   repr(items))
        items, _ = self.fetch(m, "*", "(UID)")
        self.check(sorted(items) == [6], "FETCH * is the last message", repr(items))
        self.no(m, "FETCH of a message number above EXISTS is NO or BAD", "FETCH", "7", "(UID)",
                allow_bad=True)
        typ, msg, _ = self.run(m, "FETCH", "1", "(NOTANITEM)")
        self.check(typ == "BAD", "FETCH of an unknown item is BAD", f"{typ} {msg}")

    def search_checks(self, m):
        u = self.uids
        cases = [
            (("ALL",), [1, 2, 3, 4, 5, 6]),
            (("SEEN",), [1, 6]),
            (("UNSEEN",), [2, 3, 4, 5]),
            (("FLAGGED",), [3]),
            (("ANSWERED",), [4, 6]),
            (("UNANSWERED",), [1, 2, 3, 5]),
            (("DELETED",), []),
            (("UNDELETED",), [1, 2, 3, 4, 5, 6]),
            (("SUBJECT", '"hello"'), [1, 6]),
            (("SUBJECT", '"PLANNING"'), [1, 6]),
            (("FROM", '"bob@example.com"'), [2]),
            (("FROM", '"Ann"'), [1]),
            (("TO", '"ann@example.net"'), [6]),
            (("CC", '"carol"'), [2]),
            (("HEADER", "Message-ID", q(f"<suite-3.{self.tag}@")), [3]),
            (("HEADER", "X-Suite-Tag", '"alpha"'), [1]),
            (("HEADER", "X-Suite-Tag", '""'), [1, 5]),
            (("HEADER", "In-Reply-To", q(f"suite-1.{self.tag}")), [6]),
            (("BODY", '"quokka"'), [1]),
            (("BODY", '"QUOKKA"'), [1]),
            (("TEXT", '"quokka"'), [1]),
            (("TEXT", '"alpha"'), [1]),
            (("BODY", '"alpha"'), []),
            (("BODY", '"harbours"'), [5]),
            (("TEXT", '"invoice.bin"'), [4]),
            (("OR", "FLAGGED", "SEEN"), [1, 3, 6]),
            (("NOT", "SEEN"), [2, 3, 4, 5]),
            (("NOT", "(SEEN FLAGGED)"), [1, 2, 3, 4, 5, 6], "search-or-not-flags"),
            (("OR", "UNSEEN", "UNFLAGGED"), [1, 2, 3, 4, 5, 6], "search-or-not-flags"),
            (("SEEN", "SUBJECT", '"hello"'), [1, 6]),
            (("OR", "(SUBJECT", '"hello"', "SEEN)", "LARGER", "50000"), [1, 5, 6]),
            (("OR", "OR", "FLAGGED", "ANSWERED", "FROM", '"eve"'), [3, 4, 5, 6]),
            (("SINCE", "1-Jan-2022"), [3, 4, 5]),
            (("BEFORE", "1-Jan-2021"), [1, 6]),
            (("ON", "15-Jun-2021"), [2]),
            (("SENTSINCE", "1-Jan-2022"), [3, 4, 5]),
            (("SENTBEFORE", "2-Jan-2020"), [1]),
            (("SENTON", "10-Mar-2022"), [3]),
            (("LARGER", "50000"), [5]),
            (("SMALLER", "50000"), [1, 2, 3, 4, 6]),
            (("2:4",), [2, 3, 4]),
            (("1,3:4",), [1, 3, 4]),
            (("*",), [6]),
            (("5:*", "UNSEEN"), [5]),
            (("UID", f"{u[1]}:{u[3]}"), [2, 3, 4]),
            (("UID", f"{u[0]},{u[5]}"), [1, 6]),
            (("UID", f"{u[5] + 1}:{u[5] + 10}"), []),
        ]
        if self.keywords:
            cases += [(("KEYWORD", "$Work"), [4]), (("UNKEYWORD", "$Work"), [1, 2, 3, 5, 6])]
        for criteria, want, *deviation in cases:
            got = self.search(m, *criteria)
            if got != want and deviation and deviation[0] in self.allow:
                self.skip(f"SEARCH {' '.join(criteria)} (wrong; known deviation allowed)")
                continue
            self.check(got == want, f"SEARCH {' '.join(criteria)}", f"{got} vs {want}")
        for criteria, want in [(("SEEN",), [1, 6]), (("SUBJECT", '"report"'), [3]), (("ALL",), [1, 2, 3, 4, 5, 6])]:
            got = self.search(m, *criteria, uid=True)
            self.check(got == sorted(u[i - 1] for i in want), f"UID SEARCH {' '.join(criteria)}",
                       f"{got} vs {[u[i - 1] for i in want]}")
        # CHARSET UTF-8 with the non-ASCII string as a (synchronising) literal.
        for key, word, want in [("SUBJECT", "Köln", [2]), ("SUBJECT", "Grüße", [2]),
                                ("BODY", "Straße", [2]), ("TEXT", "Schöne", [2]),
                                ("SUBJECT", "Zürich", [])]:
            got = self.search(m, "CHARSET", "UTF-8", key, literal=word.encode())
            self.check(got == want, f"SEARCH CHARSET UTF-8 {key} {word}", f"{got} vs {want}")
        got = self.search(m, "CHARSET", "UTF-8", "SUBJECT", literal="Köln".encode(), uid=True)
        self.check(got == [u[1]], "UID SEARCH CHARSET UTF-8 SUBJECT Köln", repr(got))
        got = self.search(m, "CHARSET", "US-ASCII", "SUBJECT", '"report"')
        self.check(got == [3], "SEARCH CHARSET US-ASCII", repr(got))
        _, msg = self.no(m, "SEARCH with an unknown charset is NO", "SEARCH", "CHARSET", "X-SUITE-UNKNOWN", "ALL")
        self.check(msg.upper().startswith("[BADCHARSET"), "unknown charset: [BADCHARSET]", msg)
        typ, msg, _ = self.run(m, "SEARCH", "NOTAKEY")
        self.check(typ == "BAD", "SEARCH with an unknown key is BAD", f"{typ} {msg}")
        typ, msg, _ = self.run(m, "SEARCH", "SINCE", "notadate")
        self.check(typ == "BAD", "SEARCH with a malformed date is BAD", f"{typ} {msg}")
        self.ok(m, "the session goes on after BAD", "NOOP")

        if self.has("ESEARCH"):
            untagged, _ = self.ok(m, "SEARCH RETURN (MIN MAX COUNT ALL)", "SEARCH", "RETURN",
                                  "(MIN MAX COUNT ALL)", "UNSEEN")
            es = wire(untagged.get("ESEARCH"))
            self.check(len(es) == 1, "one ESEARCH response", repr(untagged))
            v = values(es[0])
            self.check(isinstance(v[0], list) and text(v[0][0]).upper() == "TAG", "ESEARCH (TAG ...) correlator",
                       repr(es[0]))
            d = {text(v[i]).upper(): text(v[i + 1]) for i in range(1, len(v) - 1, 2)}
            self.check(d.get("MIN") == "2" and d.get("MAX") == "5" and d.get("COUNT") == "4"
                       and uid_set(d.get("ALL", "0")) == [2, 3, 4, 5], "ESEARCH MIN MAX COUNT ALL", repr(d))
            untagged, _ = self.ok(m, "UID SEARCH RETURN (COUNT)", "UID", "SEARCH", "RETURN", "(COUNT)", "SEEN")
            v = values((wire(untagged.get("ESEARCH")) or [b""])[0])
            words = [text(x).upper() if isinstance(x, Atom) else None for x in v]
            count = text(v[words.index("COUNT") + 1]) if "COUNT" in words[:-1] else None
            self.check("UID" in words and count == "2", "UID SEARCH RETURN (COUNT): UID marker and COUNT 2",
                       repr(v))
        else:
            self.skip("ESEARCH (not advertised)")

    def store_checks(self, m):
        # A FETCH of BODY[] (no PEEK) sets \Seen (RFC 9051 §6.4.5).
        items, _ = self.fetch(m, "2", "(BODY[])")
        self.check(items[2].get("BODY[]") == self.msgs[1][0], "FETCH BODY[] of message 2")
        items, _ = self.fetch(m, "2", "(FLAGS)")
        self.check("\\SEEN" in upper_set(items[2]["FLAGS"]), "FETCH BODY[] set \\Seen", repr(items))

        kw = " $Label1" if self.keywords else ""
        items, untagged = self.fetch_store(m, "STORE", "3", "+FLAGS", f"(\\Flagged \\Draft{kw})")
        flags = upper_set(items.get(3, {}).get("FLAGS") or [])
        want = {"\\FLAGGED", "\\DRAFT"} | ({"$LABEL1"} if kw else set())
        self.check(want <= flags, "STORE +FLAGS answers with the new FLAGS", repr(items))
        items, untagged = self.fetch_store(m, "STORE", "3", "-FLAGS.SILENT", "(\\Draft)")
        self.check(not any("FLAGS" in v for v in items.values()), "STORE -FLAGS.SILENT sends no FLAGS",
                   repr(items))
        items, _ = self.fetch(m, "3", "(FLAGS)")
        self.check("\\DRAFT" not in upper_set(items[3]["FLAGS"]) and "\\FLAGGED" in upper_set(items[3]["FLAGS"]),
                   "STORE -FLAGS.SILENT removed the flag", repr(items))
        items, _ = self.fetch_store(m, "STORE", "5", "FLAGS", "(\\Seen \\Answered)")
        self.check(upper_set(items[5]["FLAGS"]) - {"\\RECENT"} == {"\\SEEN", "\\ANSWERED"},
                   "STORE FLAGS replaces the flags", repr(items))
        items, _ = self.fetch_store(m, "UID", "STORE", str(self.uids[0]), "+FLAGS", "(\\Flagged)")
        self.check(int(items[1].get("UID", 0)) == self.uids[0] and "\\FLAGGED" in upper_set(items[1]["FLAGS"]),
                   "UID STORE +FLAGS answers with UID and FLAGS", repr(items))
        items, _ = self.fetch_store(m, "UID", "STORE", f"{self.uids[0]},{self.uids[4]}", "-FLAGS.SILENT",
                                    "(\\Answered)")
        self.check(not any("FLAGS" in v for v in items.values()), "UID STORE -FLAGS.SILENT sends no FLAGS",
                   repr(items))
        got = self.search(m, "FLAGGED")
        self.check(got == [1, 3], "SEARCH FLAGGED after STORE", repr(got))
        got = self.search(m, "ANSWERED")
        self.check(got == [4, 6], "SEARCH ANSWERED after STORE", repr(got))
        if self.keywords:
            got = self.search(m, "KEYWORD", "$Label1")
            self.check(got == [3], "SEARCH KEYWORD after STORE of a new keyword", repr(got))
            items, _ = self.fetch_store(m, "STORE", "3", "-FLAGS", "($Label1)")
            self.check("$LABEL1" not in upper_set(items[3]["FLAGS"]), "STORE -FLAGS of a keyword", repr(items))
        else:
            self.skip("keywords (PERMANENTFLAGS has no \\*)")
        if "IMAP4REV1" in self.caps:
            # RFC 3501 §2.3.2: \Recent cannot be altered by the client (IMAP4rev2 has no \Recent).
            typ, msg, _ = self.run(m, "STORE", "1", "+FLAGS", "(\\Recent)")
            self.check(typ in ("NO", "BAD"), "STORE of \\Recent is refused", f"{typ} {msg}")

    def fetch_store(self, m, *args):
        untagged, _ = self.ok(m, " ".join(args), *args)
        return fetch_items(untagged), untagged

    def message_ids(self, m, mailbox):
        """{UID: Message-ID} of a mailbox, through EXAMINE (leaves it unselected)."""
        n = self.status(m, mailbox, "(MESSAGES)")["MESSAGES"]
        self.select(m, mailbox, readonly=True)
        out = {}
        if n:
            items, _ = self.fetch(m, "1:*", "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            for it in items.values():
                hdr = it.get("BODY[HEADER.FIELDS (MESSAGE-ID)]") or b""
                out[int(it["UID"])] = text(hdr).split(":", 1)[-1].strip()
        m.close()
        return out

    def copy_move(self, m):
        work, dest, moved = self.mb("work"), self.mb("copies"), self.mb("moved")
        self.ok(m, "CREATE copies", "CREATE", q(dest))
        self.ok(m, "CREATE moved", "CREATE", q(moved))
        want_ids = {u: f"<suite-{i}.{self.tag}@example.net>" for i, u in enumerate(self.uids, 1)}

        untagged, msg = self.ok(m, "COPY 1:2", "COPY", "1:2", q(dest))
        untagged2, msg2 = self.ok(m, "UID COPY", "UID", "COPY", f"{self.uids[2]}", q(dest))
        self.no(m, "COPY to a mailbox that does not exist", "COPY", "1", q(self.mb("nonexistent")),
                code="TRYCREATE")
        dest_ids = self.message_ids(m, dest)
        self.check(sorted(dest_ids.values()) == sorted(want_ids[u] for u in self.uids[:3]),
                   "COPY: the destination has the copies", repr(dest_ids))
        if self.has("UIDPLUS"):
            for what, unt, src in (("COPY", untagged, self.uids[:2]), ("UID COPY", untagged2, self.uids[2:3])):
                args = code_args(unt, "COPYUID")
                self.check(args is not None and len(args) == 3, f"{what}: [COPYUID]", repr(unt))
                self.check(uid_set(args[1]) == src, f"{what}: COPYUID source UIDs", repr(args))
                for s, d in zip(uid_set(args[1]), uid_set(args[2])):
                    self.check(dest_ids.get(d) == want_ids[s], f"{what}: COPYUID maps UID {s} to {d}",
                               repr(dest_ids))
        else:
            self.skip("COPYUID (UIDPLUS not advertised)")
        self.select(m, work)
        items, _ = self.fetch(m, "1:*", "(UID)")
        self.check(len(items) == 6, "COPY leaves the source alone", repr(items))

        if not self.has("MOVE"):
            self.skip("MOVE (not advertised)")
            return
        # MOVE 6, then UID MOVE of message 5 (RFC 6851): untagged [COPYUID] and EXPUNGE.
        untagged, _ = self.ok(m, "MOVE 6", "MOVE", "6", q(moved))
        self.check([int(x) for x in untagged.get("EXPUNGE") or []] == [6], "MOVE: * 6 EXPUNGE",
                   repr(untagged))
        untagged2, _ = self.ok(m, "UID MOVE", "UID", "MOVE", str(self.uids[4]), q(moved))
        self.check([int(x) for x in untagged2.get("EXPUNGE") or []] == [5], "UID MOVE: * 5 EXPUNGE",
                   repr(untagged2))
        moved_ids = self.message_ids(m, moved)
        self.check(sorted(moved_ids.values()) == sorted([want_ids[self.uids[5]], want_ids[self.uids[4]]]),
                   "MOVE: the destination has the messages", repr(moved_ids))
        if self.has("UIDPLUS"):
            for what, unt, src in (("MOVE", untagged, [self.uids[5]]), ("UID MOVE", untagged2, [self.uids[4]])):
                args = code_args(unt, "COPYUID")
                self.check(args is not None and uid_set(args[1]) == src, f"{what}: [COPYUID] with the source UID",
                           repr(unt))
                self.check(moved_ids.get(uid_set(args[2])[0]) == want_ids[src[0]],
                           f"{what}: COPYUID names the new UID", repr(args))
        self.select(m, work)
        items, _ = self.fetch(m, "1:*", "(UID)")
        self.check(sorted(int(v["UID"]) for v in items.values()) == self.uids[:4],
                   "MOVE removed the messages from the source", repr(items))
        self.uids = self.uids[:4]
        self.no(m, "MOVE to a mailbox that does not exist", "MOVE", "1", q(self.mb("nonexistent")),
                code="TRYCREATE")

    def expunge_close_unselect(self, m):
        work = self.mb("work")
        # Four messages left: UIDs u1..u4. EXPUNGE 2 and 4: the untagged EXPUNGEs renumber
        # as they go (RFC 9051 §7.5.1), so replaying them must remove exactly those.
        self.select(m, work)
        self.ok(m, "STORE \\Deleted", "STORE", "2,4", "+FLAGS.SILENT", "(\\Deleted)")
        got = self.search(m, "DELETED")
        self.check(got == [2, 4], "SEARCH DELETED", repr(got))
        untagged, _ = self.ok(m, "EXPUNGE", "EXPUNGE")
        seqs = list(self.uids)
        for x in untagged.get("EXPUNGE") or []:
            n = int(x)
            self.check(1 <= n <= len(seqs), "EXPUNGE numbers are valid at the time they are sent", repr(untagged))
            del seqs[n - 1]
        self.check(seqs == [self.uids[0], self.uids[2]], "EXPUNGE removed exactly the \\Deleted messages",
                   f"left {seqs} of {self.uids}")
        items, _ = self.fetch(m, "1:*", "(UID)")
        self.check(sorted(int(v["UID"]) for v in items.values()) == seqs, "FETCH after EXPUNGE", repr(items))
        self.uids = seqs

        # UID EXPUNGE only expunges the given UIDs (RFC 4315 §2.1).
        m.literal = None
        self.ok(m, "APPEND three more", "APPEND", q(work), literal=simple_message(self.tag, 1))
        self.ok(m, "APPEND", "APPEND", q(work), literal=simple_message(self.tag, 2))
        self.ok(m, "APPEND", "APPEND", q(work), literal=simple_message(self.tag, 3))
        self.ok(m, "NOOP sees the appended messages", "NOOP")
        items, _ = self.fetch(m, "1:*", "(UID)")
        uids = sorted(int(v["UID"]) for v in items.values())
        self.check(len(uids) == 5, "five messages after APPEND", repr(uids))
        if self.has("UIDPLUS"):
            self.ok(m, "STORE \\Deleted", "STORE", "3:4", "+FLAGS.SILENT", "(\\Deleted)")
            untagged, _ = self.ok(m, "UID EXPUNGE", "UID", "EXPUNGE", str(uids[2]))
            self.check([int(x) for x in untagged.get("EXPUNGE") or []] == [3], "UID EXPUNGE: * 3 EXPUNGE",
                       repr(untagged))
            items, _ = self.fetch(m, "1:*", "(UID FLAGS)")
            left = {int(v["UID"]): upper_set(v["FLAGS"]) for v in items.values()}
            self.check(sorted(left) == uids[:2] + uids[3:], "UID EXPUNGE removed only that UID", repr(left))
            self.check("\\DELETED" in left[uids[3]], "the other \\Deleted message stays", repr(left))
            self.ok(m, "STORE -FLAGS", "STORE", "1:*", "-FLAGS.SILENT", "(\\Deleted)")
        else:
            self.skip("UID EXPUNGE (UIDPLUS not advertised)")

        typ, msg, _ = self.run(m, "CHECK")
        if "IMAP4REV1" in self.caps:
            self.check(typ == "OK", "CHECK", f"{typ} {msg}")
        else:
            self.check(typ in ("OK", "BAD"), "CHECK (IMAP4rev2 removed it)", f"{typ} {msg}")

        # (STATUS of the selected mailbox is what a client should not do: count by FETCH.)
        n = len(self.fetch(m, "1:*", "(UID)")[0])
        # UNSELECT does not expunge.
        if self.has("UNSELECT"):
            self.ok(m, "STORE \\Deleted", "STORE", "1", "+FLAGS.SILENT", "(\\Deleted)")
            typ, data = m.unselect()
            self.check(typ == "OK", "UNSELECT", f"{typ} {data}")
            self.check(m.state == "AUTH", "UNSELECT leaves the selected state")
            self.check(self.status(m, work, "(MESSAGES)")["MESSAGES"] == n, "UNSELECT does not expunge")
        else:
            self.skip("UNSELECT (not advertised)")
            self.select(m, work)
            self.ok(m, "STORE \\Deleted", "STORE", "1", "+FLAGS.SILENT", "(\\Deleted)")
            m.close()
        # EXAMINE: read-only; STORE is refused, BODY[] does not set \Seen, CLOSE does not expunge.
        untagged = self.select(m, work, readonly=True)
        self.check("READ-ONLY" in untagged, "EXAMINE: [READ-ONLY]", repr(list(untagged)))
        before, _ = self.fetch(m, "1:*", "(UID FLAGS)")
        typ, msg, _ = self.run(m, "STORE", "1:*", "+FLAGS", "(\\Flagged)")
        # NO is the clear answer; Dovecot says OK and ignores it. Either way nothing changes.
        self.check(typ in ("NO", "OK"), "STORE in an EXAMINEd mailbox is NO (or ignored)", f"{typ} {msg}")
        items, _ = self.fetch(m, "1:*", "(UID FLAGS)")
        self.check({s: upper_set(v["FLAGS"]) for s, v in items.items()}
                   == {s: upper_set(v["FLAGS"]) for s, v in before.items()},
                   "STORE in an EXAMINEd mailbox changes no flags", f"{before} -> {items}")
        unseen = [s for s in items if "\\SEEN" not in upper_set(items[s]["FLAGS"])]
        self.check(bool(unseen), "an unseen message to read in EXAMINE", repr(items))
        self.fetch(m, str(unseen[0]), "(BODY[])")
        items, _ = self.fetch(m, str(unseen[0]), "(FLAGS)")
        self.check("\\SEEN" not in upper_set(items[unseen[0]]["FLAGS"]),
                   "FETCH BODY[] in an EXAMINEd mailbox does not set \\Seen", repr(items))
        typ, data = m.close()
        self.check(typ == "OK", "CLOSE of an EXAMINEd mailbox", f"{typ} {data}")
        self.check(self.status(m, work, "(MESSAGES)")["MESSAGES"] == n, "CLOSE after EXAMINE does not expunge")
        # CLOSE expunges silently.
        self.select(m, work)
        m.untagged_responses = {}
        typ, data = m.close()
        self.check(typ == "OK", "CLOSE", f"{typ} {data}")
        self.check("EXPUNGE" not in m.untagged_responses, "CLOSE sends no EXPUNGE", repr(m.untagged_responses))
        self.check(m.state == "AUTH", "CLOSE leaves the selected state")
        self.check(self.status(m, work, "(MESSAGES)")["MESSAGES"] == n - 1, "CLOSE expunged the \\Deleted message")
        status, lines = self.raw(m, "FETCH 1 (FLAGS)")
        self.check(status in ("BAD", "NO"), "FETCH without a selected mailbox is refused", repr(lines))

    def two_connections_and_idle(self, m):
        live = self.mb("live")
        self.ok(m, "CREATE live", "CREATE", q(live))
        self.ok(m, "APPEND", "APPEND", q(live), literal=simple_message(self.tag, 10))
        b = self.connect()
        untagged = self.select(b, live)
        self.check(int(untagged["EXISTS"][-1]) == 1, "second connection: SELECT sees 1 message")

        # A's APPEND -> B's NOOP: * 2 EXISTS.
        self.ok(m, "APPEND", "APPEND", q(live), literal=simple_message(self.tag, 11))
        untagged, _ = self.ok(b, "NOOP on the second connection", "NOOP")
        self.check([int(x) for x in untagged.get("EXISTS") or []][-1:] == [2],
                   "second connection: NOOP reports * 2 EXISTS after the first one's APPEND", repr(untagged))
        # A's STORE -> B's NOOP: * 1 FETCH (FLAGS ...).
        self.select(m, live)
        self.ok(m, "STORE", "STORE", "1", "+FLAGS.SILENT", "(\\Flagged)")
        untagged, _ = self.ok(b, "NOOP on the second connection", "NOOP")
        items = fetch_items(untagged)
        self.check(1 in items and "\\FLAGGED" in upper_set(items[1].get("FLAGS") or []),
                   "second connection: NOOP reports the flag change as FETCH FLAGS", repr(untagged))
        # A's EXPUNGE -> B's NOOP: * 1 EXPUNGE.
        self.ok(m, "STORE", "STORE", "1", "+FLAGS.SILENT", "(\\Deleted)")
        self.ok(m, "EXPUNGE", "EXPUNGE")
        untagged, _ = self.ok(b, "NOOP on the second connection", "NOOP")
        self.check([int(x) for x in untagged.get("EXPUNGE") or []] == [1],
                   "second connection: NOOP reports * 1 EXPUNGE", repr(untagged))
        m.close()

        # IDLE (RFC 2177): B idles, A appends, B gets * 2 EXISTS without asking.
        if not self.has("IDLE"):
            self.skip("IDLE (not advertised)")
            self.logout(b)
            return
        tag, _ = self.raw(b, "IDLE", wait=False)
        cont = b.readline()
        self.check(cont.startswith(b"+"), "IDLE: continuation", repr(cont))
        time.sleep(0.2)
        self.ok(m, "APPEND while the other connection idles", "APPEND", q(live),
                literal=simple_message(self.tag, 12))
        start = time.monotonic()
        b.sock.settimeout(self.idle_timeout)
        seen = []
        try:
            while True:
                line = b.readline()
                if not line:
                    raise Failure("IDLE: connection closed")
                seen.append(line)
                if re.match(rb"\* 2 EXISTS\r\n", line):
                    break
                if not line.startswith(b"* "):
                    raise Failure(f"IDLE: unexpected line {line!r}")
        except (socket.timeout, TimeoutError):
            raise Failure(f"IDLE: no * 2 EXISTS within {self.idle_timeout}s of the other connection's "
                          f"APPEND (got {seen!r})")
        latency = time.monotonic() - start
        b.send(b"DONE\r\n")
        while True:
            line = b.readline()
            if line.startswith(tag + b" "):
                self.check(line[len(tag) + 1:].startswith(b"OK"), "IDLE: DONE ends it with OK", repr(line))
                break
            self.check(line.startswith(b"* "), "IDLE: only untagged responses before the tagged OK", repr(line))
        b.sock.settimeout(30)
        self.ok(b, "commands work after IDLE", "NOOP")
        self.idle_latency = latency
        self.logout(b)

    def rename_delete(self, m):
        d = self.delim
        # A mailbox with messages keeps them.
        src, dst = self.mb("copies"), self.mb("renamed")
        n = self.status(m, src, "(MESSAGES)")["MESSAGES"]
        self.ok(m, "RENAME", "RENAME", q(src), q(dst))
        names = self.names(self.mailbox_list(m, '""', q(self.prefix + "*"))[0])
        self.check(dst in names and src not in names, "RENAME: new name listed, old one gone", repr(sorted(names)))
        self.check(self.status(m, dst, "(MESSAGES)")["MESSAGES"] == n, "RENAME keeps the messages")
        # A hierarchy: a/b/c under a -> z: z, z/b, z/b/c.
        self.ok(m, "RENAME of a hierarchy", "RENAME", q(self.mb("a")), q(self.mb("z")))
        names = self.names(self.mailbox_list(m, '""', q(self.prefix + "*"))[0])
        self.check(self.mb("z", "b", "c") in names and self.mb("z", "b") in names,
                   "RENAME of a hierarchy renames the inferiors", repr(sorted(names)))
        self.check(not any(x.startswith(self.mb("a") + d) for x in names) and self.mb("a") not in names,
                   "RENAME of a hierarchy leaves nothing under the old name", repr(sorted(names)))
        self.check(self.status(m, self.mb("z", "b", "c"), "(MESSAGES)")["MESSAGES"] == 0,
                   "the renamed inferior is selectable")
        self.no(m, "RENAME onto an existing name is NO", "RENAME", q(dst), q(self.mb("work")))
        self.no(m, "RENAME of a mailbox that does not exist is NO", "RENAME", q(self.mb("nonexistent")),
                q(self.mb("other")))

        # RENAME INBOX: the messages move, INBOX stays and is empty (RFC 9051 §6.3.6).
        self.ok(m, "APPEND to INBOX", "APPEND", "INBOX", literal=simple_message(self.tag, 20, "inbox"))
        self.ok(m, "APPEND to INBOX", "APPEND", "INBOX", literal=simple_message(self.tag, 21, "inbox"))
        n = self.status(m, "INBOX", "(MESSAGES)")["MESSAGES"]
        old = self.mb("old-inbox")
        typ, msg, _ = self.run(m, "RENAME", "INBOX", q(old))
        if typ == "NO" and "rename-inbox" in self.allow:
            self.skip("RENAME INBOX (refused; known deviation allowed)")
        else:
            self.check(typ == "OK", "RENAME INBOX", f"{typ} {msg}")
            self.check(self.status(m, old, "(MESSAGES)")["MESSAGES"] == n,
                       "RENAME INBOX moved the messages", f"expected {n}")
            self.check(self.status(m, "INBOX", "(MESSAGES)")["MESSAGES"] == 0, "RENAME INBOX leaves INBOX empty")
            names = self.names(self.mailbox_list(m, '""', '"*"')[0])
            self.check("INBOX" in names, "INBOX still exists after RENAME INBOX", repr(sorted(names)))
            # Put the messages back.
            self.select(m, old)
            if self.has("MOVE"):
                self.ok(m, "MOVE the messages back", "MOVE", "1:*", "INBOX")
            else:
                self.ok(m, "COPY the messages back", "COPY", "1:*", "INBOX")
            m.close()
            self.ok(m, "DELETE the renamed INBOX", "DELETE", q(old))
        # Delete the two messages this check added to INBOX.
        self.select(m, "INBOX")
        hits = self.search(m, "HEADER", "Message-ID", q(f".{self.tag}@example.net"))
        self.check(len(hits) == 2, "the two messages appended to INBOX are there", repr(hits))
        self.ok(m, "STORE \\Deleted", "STORE", ",".join(map(str, hits)), "+FLAGS.SILENT", "(\\Deleted)")
        if self.has("UIDPLUS"):
            items, _ = self.fetch(m, ",".join(map(str, hits)), "(UID)")
            self.ok(m, "UID EXPUNGE", "UID", "EXPUNGE", ",".join(str(int(v["UID"])) for v in items.values()))
        else:
            self.ok(m, "EXPUNGE", "EXPUNGE")
        m.close()

        # DELETE.
        self.ok(m, "DELETE", "DELETE", q(dst))
        names = self.names(self.mailbox_list(m, '""', q(self.prefix + "*"))[0])
        self.check(dst not in names, "DELETE: gone from LIST", repr(sorted(names)))
        self.no(m, "STATUS of a deleted mailbox is NO", "STATUS", q(dst), "(MESSAGES)")
        self.no(m, "DELETE of a mailbox that does not exist is NO", "DELETE", q(self.mb("nonexistent")))
        self.no(m, "DELETE INBOX is NO", "DELETE", "INBOX")
        self.ok(m, "DELETE a leaf of a hierarchy", "DELETE", q(self.mb("z", "b", "c")))
        names = self.names(self.mailbox_list(m, '""', q(self.prefix + "*"))[0])
        self.check(self.mb("z", "b", "c") not in names, "the deleted leaf is gone", repr(sorted(names)))

    def quota(self, m):
        if "QUOTA" not in self.caps:
            typ, msg, _ = self.run(m, "GETQUOTAROOT", "INBOX")
            self.check(typ in ("NO", "BAD"), "GETQUOTAROOT without QUOTA advertised is NO or BAD", f"{typ} {msg}")
            self.skip("QUOTA (not advertised)")
            return
        untagged, _ = self.ok(m, "GETQUOTAROOT INBOX", "GETQUOTAROOT", "INBOX")
        roots = wire(untagged.get("QUOTAROOT"))
        self.check(len(roots) == 1, "GETQUOTAROOT: one QUOTAROOT response", repr(untagged))
        v = values(roots[0])
        self.check(text(v[0]).upper() == "INBOX", "QUOTAROOT names INBOX", repr(v))
        quotas = wire(untagged.get("QUOTA"))
        self.check(len(quotas) == len(v) - 1, "one QUOTA response per root", repr(untagged))
        for raw in quotas:
            qv = values(raw)
            self.check(len(qv) == 2 and isinstance(qv[1], list) and len(qv[1]) % 3 == 0,
                       "QUOTA: root and (resource usage limit)*", repr(raw))
            for i in range(0, len(qv[1]), 3):
                self.check(0 <= int(qv[1][i + 1]) <= int(qv[1][i + 2]) or text(qv[1][i]).upper() != "STORAGE",
                           "QUOTA: usage within the limit", repr(raw))
        if len(v) > 1:
            untagged, _ = self.ok(m, "GETQUOTA", "GETQUOTA", q(text(v[1])))
            self.check(len(wire(untagged.get("QUOTA"))) == 1, "GETQUOTA: one QUOTA response", repr(untagged))

    def cleanup(self, m):
        listing, _ = self.mailbox_list(m, '""', q(self.prefix + "*"))
        for name in sorted(self.names(listing), key=lambda n: -n.count(self.delim)):
            self.run(m, "DELETE", q(name))
        listing, _ = self.mailbox_list(m, '""', q(self.prefix + "*"))
        selectable = [e for e in listing if not (e[0] & {"\\NOSELECT", "\\NONEXISTENT"})]
        self.check(selectable == [], "all of the run's mailboxes deleted", repr(listing))

    def logout(self, m):
        status, lines = self.raw(m, "LOGOUT")
        self.check(any(x.startswith(b"* BYE") for x in lines[:-1]), "LOGOUT: * BYE first", repr(lines))
        self.check(status == "OK", "LOGOUT: tagged OK", repr(lines))
        m.shutdown()


def main(argv):
    args = []
    tls = verbose = False
    require, allow = [], []
    idle_timeout = 40.0
    it = iter(argv)
    for a in it:
        if a == "--tls":
            tls = True
        elif a == "--verbose":
            verbose = True
        elif a == "--require":
            require += [x.strip().upper() for x in next(it).split(",") if x.strip()]
        elif a == "--allow-deviation":
            for x in next(it).split(","):
                if x not in DEVIATIONS:
                    print(f"unknown deviation {x!r}; known: {', '.join(DEVIATIONS)}", file=sys.stderr)
                    return 2
                allow.append(x)
        elif a == "--idle-timeout":
            idle_timeout = float(next(it))
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            args.append(a)
    if len(args) != 4:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    host, port, user, password = args
    suite = Suite(host, int(port), user, password, tls, require, allow, idle_timeout, verbose)
    started = time.monotonic()
    try:
        suite.main()
    except Failure as e:
        print(f"imaplib suite FAILED at check {suite.checks}: {e}", file=sys.stderr)
        print("last commands:", file=sys.stderr)
        for name, a, typ, msg in suite.history:
            print(f"  {name} {' '.join(map(str, a))[:120]} -> {typ} {msg}", file=sys.stderr)
        return 1
    except (OSError, imaplib.IMAP4.error) as e:
        print(f"imaplib suite FAILED at check {suite.checks}: {type(e).__name__}: {e}", file=sys.stderr)
        for name, a, typ, msg in suite.history:
            print(f"  {name} {' '.join(map(str, a))[:120]} -> {typ} {msg}", file=sys.stderr)
        return 1
    skipped = f"; skipped: {', '.join(suite.skipped)}" if suite.skipped else ""
    idle = f"; IDLE notification after {suite.idle_latency * 1000:.0f} ms" if hasattr(suite, "idle_latency") else ""
    print(f"imaplib suite: {suite.checks} checks passed in {time.monotonic() - started:.1f}s against "
          f"{host}:{port} (delimiter {suite.delim!r}{idle}){skipped}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
