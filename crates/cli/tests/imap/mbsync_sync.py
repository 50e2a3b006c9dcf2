#!/usr/bin/env python3
"""Two-way synchronisation of an IMAP account with a local Maildir by mbsync (isync),
checked message by message on both sides. Standard library only, plus the mbsync binary.

usage: mbsync_sync.py [--count N] [--reset] [--mbsync PATH] [--verbose]
                      HOST PORT USER PASSWORD SCRATCH_DIR

SCRATCH_DIR receives mbsyncrc, the password file and the local Maildir tree (mail/);
what an earlier run left there is removed first. The account must hold nothing but
empty mailboxes (a fresh account, whose special-use mailboxes may exist) unless --reset
is given, which deletes every message and every mailbox but INBOX and the special-use
ones first: use --reset only on a test account.

mbsync runs with plaintext LOGIN and no TLS (SSLType None, AuthMechs LOGIN): run it
over loopback, where the server must allow that. The channel syncs every mailbox
(Patterns *) both ways: Sync All, Create Both, Expunge Both, SyncState *.

The steps (each one exits 1 with a message on its first wrong detail):
  a. APPEND N messages (default 1,000) to INBOX and 20 to a sub-mailbox Archive<d>2024
     (d = the server's delimiter), with \\Seen, \\Flagged, \\Answered, \\Draft set in
     patterns; mbsync; the Maildir must then hold every message, byte for byte (mbsync
     stores LF line ends) and with the matching Maildir flags (S F R D).
  b. mbsync again: nothing to do. Its counters show no new message and no flag
     update either way, and neither the Maildir file names nor the server's UIDs and flags
     change.
  c. Changes on both sides: locally, flags set and cleared by renaming files, files
     deleted, new files, a new folder; on the server, STORE of flags, EXPUNGE, APPEND;
     one message gets a different flag on each side. mbsync; both sides must then equal
     the expected state exactly (the same Message-IDs in every mailbox, the same flags,
     the same bytes), compared through IMAP FETCH and a Maildir listing. A last mbsync
     must again have nothing to do.
"""

import imaplib
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time

MAILDIR_FLAGS = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S", "\\Deleted": "T"}
SPECIAL_USE = {"\\ALL", "\\ARCHIVE", "\\DRAFTS", "\\FLAGGED", "\\JUNK", "\\SENT", "\\TRASH"}


class Failure(Exception):
    pass


def check(cond, what, detail=""):
    if not cond:
        raise Failure(what + (f": {detail}" if detail else ""))


def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------

WORDS = ("river bridge harbour lantern meadow orchard pebble quarry ridge summit tunnel "
         "valley willow anchor beacon canyon delta estuary fjord glacier").split()


def message(kind, i):
    """A small, distinct message with CRLF line ends; kind tells where it was made."""
    lines = [f"{WORDS[(i * 7 + k) % len(WORDS)]} {WORDS[(i + k * 3) % len(WORDS)]} line {k}"
             for k in range(3 + i % 40)]
    return ("From: Sync Test <sync@example.net>\r\n"
            "To: alice@example.org\r\n"
            f"Subject: {kind} message {i}\r\n"
            f"Date: Mon, 01 Apr 2024 {i % 24:02d}:{i % 60:02d}:00 +0000\r\n"
            f"Message-ID: <{kind}-{i}@mbsync.test>\r\n"
            "\r\n" + "\r\n".join(lines) + "\r\n").encode()


def initial_flags(i):
    flags = set()
    if i % 3 == 0:
        flags.add("\\Seen")
    if i % 10 == 0:
        flags.add("\\Flagged")
    if i % 17 == 0:
        flags.add("\\Answered")
    if i % 97 == 0:
        flags.add("\\Draft")
    return flags


def normalize(body):
    """What the two sides' copies are compared by: LF line ends (mbsync's Maildir keeps
    LF, IMAP servers CRLF) and no X-TUID header (mbsync's own marker on uploads)."""
    body = body.replace(b"\r\n", b"\n")
    head, sep, rest = body.partition(b"\n\n")
    head = b"\n".join(h for h in head.split(b"\n") if not h.lower().startswith(b"x-tuid:"))
    return head + sep + rest


def message_id(body):
    m = re.search(rb"^message-id:\s*(<[^>]*>)", body, re.I | re.M)
    return m.group(1).decode() if m else None


# ---------------------------------------------------------------------------------
# The server side, through imaplib
# ---------------------------------------------------------------------------------


class Server:
    def __init__(self, host, port, user, password):
        self.host, self.port, self.user, self.password = host, port, user, password
        self.m = imaplib.IMAP4(host, port, timeout=60)
        typ, data = self.m.login(user, password)
        check(typ == "OK", "LOGIN", repr(data))
        typ, data = self.m.list('""', '""')
        check(typ == "OK" and data and data[0], 'LIST "" ""', repr(data))
        d = re.match(rb'\([^)]*\) (?:"(.)"|NIL)', data[0])
        check(d and d.group(1), "the server has a hierarchy delimiter", repr(data))
        self.delim = d.group(1).decode()

    def cmd(self, what, name, *args):
        self.m.untagged_responses = {}
        typ, data = self.m._simple_command(name, *args)
        check(typ == "OK", what, f"{name} {args} -> {typ} {data}")
        return dict(self.m.untagged_responses)

    def mailboxes(self):
        """{name: attributes} of every mailbox."""
        typ, data = self.m.list('""', '"*"')
        check(typ == "OK", "LIST", repr(data))
        out = {}
        items = list(data)
        i = 0
        while i < len(items):
            it = items[i]
            if isinstance(it, tuple):  # the name came as a literal
                attrs = re.match(rb"\(([^)]*)\)", it[0]).group(1)
                name = it[1].decode()
                i += 1  # the rest of the line follows
            else:
                mm = re.match(rb'\(([^)]*)\) (?:"(?:\\.|[^"])*"|NIL) (.*)$', it)
                check(mm, "LIST response", repr(it))
                attrs, name = mm.group(1), mm.group(2).decode()
                if name.startswith('"'):
                    name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            out[name] = {a.upper() for a in attrs.decode().split()}
            i += 1
        return out

    def append(self, mailbox, body, flags=()):
        typ, data = self.m.append(q(mailbox), "(" + " ".join(sorted(flags)) + ")", None, body)
        check(typ == "OK", f"APPEND to {mailbox}", repr(data))

    def select(self, mailbox):
        typ, data = self.m.select(q(mailbox))
        check(typ == "OK", f"SELECT {mailbox}", repr(data))
        return int(data[0] or 0)

    def snapshot(self, mailbox):
        """{Message-ID: (uid, flags, body)} of a mailbox."""
        n = self.select(mailbox)
        out = {}
        if n:
            typ, data = self.m.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
            check(typ == "OK", f"FETCH all of {mailbox}", repr(data)[:300])
            for it in data:
                if not isinstance(it, tuple):
                    continue
                head = it[0].decode()
                uid = int(re.search(r"UID (\d+)", head).group(1))
                flags_m = re.search(r"FLAGS \(([^)]*)\)", head)
                # FLAGS may come after the literal: then it is in the next item.
                if not flags_m:
                    raise Failure(f"FETCH of {mailbox}: FLAGS not before BODY[] in {head!r}")
                flags = {f for f in flags_m.group(1).split() if f != "\\Recent"}
                mid = message_id(it[1])
                check(mid and mid not in out, f"{mailbox}: one message per Message-ID", f"{mid}")
                out[mid] = (uid, frozenset(flags), it[1])
        self.m.close()
        return out

    def logout(self):
        try:
            self.m.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


# ---------------------------------------------------------------------------------
# The local side: a Maildir tree as mbsync writes it (SubFolders Verbatim)
# ---------------------------------------------------------------------------------


def maildir_path(root, mailbox):
    return os.path.join(root, "INBOX") if mailbox == "INBOX" else os.path.join(root, *mailbox.split("/"))


def maildir_files(root, mailbox):
    """[(path, flags string)] of the messages of one local folder."""
    out = []
    base = maildir_path(root, mailbox)
    for sub in ("new", "cur"):
        d = os.path.join(base, sub)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.startswith("."):
                continue
            info = name.split(":2,", 1)[1] if ":2," in name else ""
            out.append((os.path.join(d, name), info))
    return out


def local_snapshot(root, mailbox):
    """{Message-ID: (path, maildir flags, body)} of a local folder."""
    out = {}
    for path, info in maildir_files(root, mailbox):
        with open(path, "rb") as f:
            body = f.read()
        mid = message_id(body)
        check(mid and mid not in out, f"local {mailbox}: one message per Message-ID", f"{mid} in {path}")
        out[mid] = (path, "".join(sorted(c for c in info if c.isupper())), body)
    return out


def local_folders(root):
    """Local folder names ("INBOX", "Archive/2024", ...) that are maildirs."""
    out = set()
    for dirpath, dirnames, _ in os.walk(root):
        if {"cur", "new", "tmp"} <= set(dirnames):
            rel = os.path.relpath(dirpath, root)
            out.add(rel.replace(os.sep, "/"))
        dirnames[:] = [d for d in dirnames if d not in ("cur", "new", "tmp")]
    return out


def set_local_flags(path, flags):
    """Renames a Maildir file to carry exactly FLAGS (a string of letters); moves it to
    cur/ as a reader would."""
    d, name = os.path.split(path)
    base = name.split(":2,", 1)[0]
    new = os.path.join(os.path.dirname(d), "cur", base + ":2," + "".join(sorted(flags)))
    os.rename(path, new)
    return new


def imap_to_maildir(flags):
    return "".join(sorted(MAILDIR_FLAGS[f] for f in flags if f in MAILDIR_FLAGS))


# ---------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------


class Run:
    def __init__(self, host, port, user, password, scratch, count, mbsync, verbose):
        self.host, self.port, self.user, self.password = host, port, user, password
        self.scratch = os.path.abspath(scratch)
        self.count = count
        self.mbsync_bin = mbsync
        self.verbose = verbose
        self.root = os.path.join(self.scratch, "mail")

    def log(self, msg):
        if self.verbose:
            print(msg, flush=True)

    def write_config(self):
        if os.path.isdir(self.scratch):
            for name in ("mail", "mbsyncrc", "password", "mbsync.log"):
                p = os.path.join(self.scratch, name)
                if os.path.isdir(p):
                    shutil.rmtree(p)
                elif os.path.exists(p):
                    os.remove(p)
        os.makedirs(self.root, exist_ok=True)
        pwfile = os.path.join(self.scratch, "password")
        with open(pwfile, "w") as f:
            f.write(self.password + "\n")
        os.chmod(pwfile, 0o600)
        self.rc = os.path.join(self.scratch, "mbsyncrc")
        with open(self.rc, "w") as f:
            f.write(f"""# Written by mailstead's crates/cli/tests/imap/mbsync_sync.py
IMAPAccount test
Host {self.host}
Port {self.port}
User {self.user}
PassCmd "cat {pwfile}"
# Plaintext on loopback: no TLS, the IMAP LOGIN command.
SSLType None
AuthMechs LOGIN
Timeout 120

IMAPStore remote
Account test

MaildirStore local
Path {self.root}/
Inbox {self.root}/INBOX
SubFolders Verbatim

Channel test
Far :remote:
Near :local:
Patterns *
Sync All
Create Both
Expunge Both
SyncState *
CopyArrivalDate yes
""")

    def mbsync(self, what):
        """Runs mbsync -V on the channel; returns the counts of its last progress line.

        mbsync 1.4 prints its counters ("C: 1/1  B: 6/6  F: +0/0 *0/0 #0/0  N: +0/0 *0/0
        #0/0": F = far side, N = near side; + new messages, * flag updates, # trashed)
        only to a terminal, so it runs on a pseudo-terminal."""
        started = time.monotonic()
        primary, secondary = pty.openpty()
        p = subprocess.Popen([self.mbsync_bin, "-V", "-c", self.rc, "test"], stdin=subprocess.DEVNULL,
                             stdout=secondary, stderr=secondary, close_fds=True)
        os.close(secondary)
        chunks = []
        deadline = time.monotonic() + 600
        while True:
            if time.monotonic() > deadline:
                p.kill()
                raise Failure(f"mbsync ({what}) did not finish within 600 s")
            ready, _, _ = select.select([primary], [], [], 1.0)
            if not ready:
                continue
            try:
                data = os.read(primary, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not data:
                break
            chunks.append(data)
        os.close(primary)
        code = p.wait()
        out = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
        with open(os.path.join(self.scratch, "mbsync.log"), "a") as f:
            f.write(f"===== {what} (exit {code})\n{out}\n")
        tail = "\n".join(out.replace("\r", "\n").splitlines()[-25:])
        check(code == 0, f"mbsync ({what}) exits 0", f"exit {code}:\n{tail}")
        check("error" not in out.lower(), f"mbsync ({what}) reports no error", tail)
        progress = re.findall(r"F: \+(\d+)/\d+ \*(\d+)/\d+ #(\d+)/\d+\s+N: \+(\d+)/\d+ \*(\d+)/\d+ #(\d+)/\d+", out)
        check(progress, f"mbsync ({what}) prints its counters", tail)
        last = [int(x) for x in progress[-1]]
        counts = dict(zip(("pushed_new", "pushed_flags", "trashed_far", "pulled_new", "pulled_flags",
                           "trashed_near"), last))
        self.log(f"mbsync {what}: {time.monotonic() - started:.1f}s {counts}")
        return counts

    def compare(self, srv, expected, what):
        """Both sides must hold exactly EXPECTED: {mailbox: {Message-ID: (flags, body)}}."""
        boxes = srv.mailboxes()
        local = local_folders(self.root)
        for mailbox, want in expected.items():
            server_name = mailbox.replace("/", srv.delim)
            check(server_name in boxes and not (boxes[server_name] & {"\\NOSELECT", "\\NONEXISTENT"}),
                  f"{what}: server has mailbox {server_name}", repr(sorted(boxes)))
            check(mailbox in local, f"{what}: local folder {mailbox} exists", repr(sorted(local)))
            remote = srv.snapshot(server_name)
            near = local_snapshot(self.root, mailbox)
            check(set(remote) == set(want),
                  f"{what}: server {server_name} holds the expected messages",
                  f"missing {sorted(set(want) - set(remote))[:5]}, extra {sorted(set(remote) - set(want))[:5]}")
            check(set(near) == set(want),
                  f"{what}: local {mailbox} holds the expected messages",
                  f"missing {sorted(set(want) - set(near))[:5]}, extra {sorted(set(near) - set(want))[:5]}")
            for mid, (flags, body) in want.items():
                rflags = remote[mid][1]
                check(set(rflags) == set(flags), f"{what}: server flags of {mid} in {server_name}",
                      f"{sorted(rflags)} vs expected {sorted(flags)}")
                check(near[mid][1] == imap_to_maildir(flags), f"{what}: Maildir flags of {mid} in {mailbox}",
                      f"{near[mid][1]!r} vs expected {imap_to_maildir(flags)!r} ({near[mid][0]})")
                check(normalize(remote[mid][2]) == normalize(body), f"{what}: server copy of {mid} is exact")
                check(normalize(near[mid][2]) == normalize(body), f"{what}: local copy of {mid} is exact")
        # Nothing else with messages on either side.
        for name, attrs in boxes.items():
            mailbox = name.replace(srv.delim, "/")
            if mailbox not in expected and not attrs & {"\\NOSELECT", "\\NONEXISTENT"}:
                check(not srv.snapshot(name), f"{what}: server mailbox {name} is empty")
        for mailbox in local - set(expected):
            check(not maildir_files(self.root, mailbox), f"{what}: local folder {mailbox} is empty")
        return sum(len(v) for v in expected.values())

    def server_state(self, srv):
        """{mailbox: {Message-ID: (uid, flags)}} to tell that a sync changed nothing."""
        out = {}
        for name, attrs in srv.mailboxes().items():
            if not attrs & {"\\NOSELECT", "\\NONEXISTENT"}:
                out[name] = {mid: (v[0], v[1]) for mid, v in srv.snapshot(name).items()}
        return out

    def local_state(self):
        return {mb: sorted(p for p, _ in maildir_files(self.root, mb)) for mb in local_folders(self.root)}

    def nothing_to_do(self, srv, what):
        before = (self.server_state(srv), self.local_state())
        counts = self.mbsync(what)
        check(all(v == 0 for v in counts.values()), f"{what}: mbsync has nothing to do", repr(counts))
        after = (self.server_state(srv), self.local_state())
        check(after[0] == before[0], f"{what}: the server's UIDs and flags are unchanged")
        check(after[1] == before[1], f"{what}: the Maildir's file names are unchanged")

    def reset(self, srv):
        boxes = srv.mailboxes()
        for name in sorted(boxes, key=lambda n: -n.count(srv.delim)):
            if name.upper() == "INBOX" or boxes[name] & SPECIAL_USE:
                continue
            srv.m._simple_command("DELETE", q(name))
        for name, attrs in srv.mailboxes().items():
            if attrs & {"\\NOSELECT", "\\NONEXISTENT"}:
                continue
            if srv.select(name):
                srv.cmd("STORE \\Deleted", "STORE", "1:*", "+FLAGS.SILENT", "(\\Deleted)")
                srv.cmd("EXPUNGE", "EXPUNGE")
            srv.m.close()

    def main(self, reset):
        self.write_config()
        srv = Server(self.host, self.port, self.user, self.password)
        if reset:
            self.reset(srv)
        boxes = srv.mailboxes()
        for name, attrs in boxes.items():
            if not attrs & {"\\NOSELECT", "\\NONEXISTENT"}:
                check(srv.select(name) == 0, f"the account is empty to start with ({name} is not; see --reset)")
                srv.m.close()
        d = srv.delim

        # a. Populate, first sync.
        started = time.monotonic()
        expected = {"INBOX": {}, "Archive/2024": {}}
        for i in range(self.count):
            body, flags = message("server", i), initial_flags(i)
            srv.append("INBOX", body, flags)
            expected["INBOX"][message_id(body)] = (frozenset(flags), body)
        srv.cmd("CREATE Archive/2024", "CREATE", q(f"Archive{d}2024"))
        for i in range(20):
            body, flags = message("archive", i), initial_flags(i + 1)
            srv.append(f"Archive{d}2024", body, flags)
            expected["Archive/2024"][message_id(body)] = (frozenset(flags), body)
        self.log(f"populated {self.count} + 20 messages in {time.monotonic() - started:.1f}s")
        counts = self.mbsync("a: first sync")
        check(counts["pulled_new"] == self.count + 20, "a: mbsync pulled every message", repr(counts))
        check(counts["pushed_new"] == 0, "a: mbsync pushed nothing", repr(counts))
        n = self.compare(srv, expected, "a: after the first sync")
        check(len(maildir_files(self.root, "INBOX")) == self.count, f"a: the local INBOX has {self.count} messages")

        # b. Nothing to do.
        self.nothing_to_do(srv, "b: second sync")

        # c. Changes on both sides.
        inbox = expected["INBOX"]
        near = local_snapshot(self.root, "INBOX")

        def mid(kind, i):
            return f"<{kind}-{i}@mbsync.test>"

        def local_set(i, add="", remove=""):
            path, info, _ = near[mid("server", i)]
            set_local_flags(path, (set(info) | set(add)) - set(remove))

        def imap_flags(i):
            return set(inbox[mid("server", i)][0])

        def expect_flags(i, flags):
            inbox[mid("server", i)] = (frozenset(flags), inbox[mid("server", i)][1])

        # Locally: flag 5, unsee 5 seen ones, delete 5, add 5 new, a new folder.
        for i in range(100, 105):
            local_set(i, add="F")
            expect_flags(i, imap_flags(i) | {"\\Flagged"})
        for i in range(105, 120, 3):
            check("\\Seen" in imap_flags(i), "c: test set-up (a seen message)")
            local_set(i, remove="S")
            expect_flags(i, imap_flags(i) - {"\\Seen"})
        for i in range(200, 205):
            os.remove(near[mid("server", i)][0])
            del inbox[mid("server", i)]
        for i in range(5):
            body = message("local", i)
            flags = {"\\Seen"} if i % 2 else set()
            name = f"{int(time.time())}.local{i}_{os.getpid()}.mbsync-test"
            sub = "cur" if flags else "new"
            path = os.path.join(self.root, "INBOX", sub, name + (":2,S" if flags else ""))
            with open(path, "wb") as f:
                f.write(body.replace(b"\r\n", b"\n"))
            inbox[message_id(body)] = (frozenset(flags), body)
        newdir = os.path.join(self.root, "Local-new")
        expected["Local-new"] = {}
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(newdir, sub))
        for i in range(2):
            body = message("localfolder", i)
            with open(os.path.join(newdir, "new", f"{int(time.time())}.lf{i}_{os.getpid()}.mbsync-test"), "wb") as f:
                f.write(body.replace(b"\r\n", b"\n"))
            expected["Local-new"][message_id(body)] = (frozenset(), body)

        # On the server: flag 5, unsee 5, answer 5, expunge 5, append 5.
        srv.select("INBOX")
        uids = {m: v[0] for m, v in srv.snapshot("INBOX").items()}
        srv.select("INBOX")

        def store(i, op, flags):
            srv.cmd(f"UID STORE {op}", "UID", "STORE", str(uids[mid("server", i)]), op, "(" + flags + ")")

        for i in range(300, 305):
            store(i, "+FLAGS.SILENT", "\\Flagged")
            expect_flags(i, imap_flags(i) | {"\\Flagged"})
        for i in range(303, 318, 3):
            store(i, "-FLAGS.SILENT", "\\Seen")
            expect_flags(i, imap_flags(i) - {"\\Seen"})
        for i in range(400, 405):
            store(i, "+FLAGS.SILENT", "\\Answered")
            expect_flags(i, imap_flags(i) | {"\\Answered"})
        for i in range(500, 505):
            store(i, "+FLAGS.SILENT", "\\Deleted")
            del inbox[mid("server", i)]
        srv.cmd("EXPUNGE", "EXPUNGE")
        srv.m.close()
        for i in range(5):
            body = message("server-new", i)
            flags = {"\\Seen"} if i % 2 else set()
            srv.append("INBOX", body, flags)
            inbox[message_id(body)] = (frozenset(flags), body)
        # One message changed on both sides: the changes merge.
        local_set(600, add="F")
        srv.select("INBOX")
        store(600, "+FLAGS.SILENT", "\\Answered")
        srv.m.close()
        expect_flags(600, imap_flags(600) | {"\\Flagged", "\\Answered"})

        counts = self.mbsync("c: sync of changes on both sides")
        check(counts["pulled_new"] == 5 and counts["pushed_new"] == 7,
              "c: mbsync pulled the 5 new server messages and pushed the 7 local ones", repr(counts))
        check(counts["pulled_flags"] > 0 and counts["pushed_flags"] > 0,
              "c: mbsync propagated flag changes both ways", repr(counts))
        n = self.compare(srv, expected, "c: after the sync of changes")
        self.nothing_to_do(srv, "c: sync after the changes")
        srv.logout()
        return n


def main(argv):
    args = []
    count, reset, verbose, mbsync = 1000, False, False, "mbsync"
    it = iter(argv)
    for a in it:
        if a == "--count":
            count = int(next(it))
        elif a == "--reset":
            reset = True
        elif a == "--verbose":
            verbose = True
        elif a == "--mbsync":
            mbsync = next(it)
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            args.append(a)
    if len(args) != 5:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    if count < 700:
        print("--count must be at least 700 (the changes touch messages up to 600)", file=sys.stderr)
        return 2
    host, port, user, password, scratch = args
    if shutil.which(mbsync) is None:
        print(f"mbsync not found ({mbsync}); Debian package isync", file=sys.stderr)
        return 2
    run = Run(host, int(port), user, password, scratch, count, mbsync, verbose)
    started = time.monotonic()
    try:
        n = run.main(reset)
    except Failure as e:
        print(f"mbsync sync FAILED: {e}\n(mbsync's output: {os.path.join(run.scratch, 'mbsync.log')})",
              file=sys.stderr)
        return 1
    except (OSError, imaplib.IMAP4.error, subprocess.TimeoutExpired) as e:
        print(f"mbsync sync FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(f"mbsync sync: {count} + 20 messages synced, both sides changed and equal again "
          f"({n} messages), {time.monotonic() - started:.1f}s against {host}:{port}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
