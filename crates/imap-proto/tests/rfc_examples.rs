//! Known-answer tests from the RFC examples: commands parse to exact values, responses
//! encode to exact bytes, malformed commands give a `ParseError` with the tag when it
//! could be read.

use mailstead_imap_proto::encode::format_date_time;
use mailstead_imap_proto::*;
use time::macros::{date, datetime};

fn mb(s: &str) -> MailboxName {
    MailboxName(s.as_bytes().to_vec())
}

fn n(v: u32) -> SeqNum {
    SeqNum::Value(v)
}

/// A sequence set from `(start, end)` pairs (use `Star` via [`star`]).
fn set(ranges: &[(SeqNum, SeqNum)]) -> SequenceSet {
    SequenceSet::Ranges(
        ranges
            .iter()
            .map(|&(start, end)| SeqRange { start, end })
            .collect(),
    )
}

fn one(v: u32) -> SequenceSet {
    set(&[(n(v), n(v))])
}

fn range(a: u32, b: u32) -> (SeqNum, SeqNum) {
    (n(a), n(b))
}

fn single(a: u32) -> (SeqNum, SeqNum) {
    (n(a), n(a))
}

fn parse(input: &[u8]) -> CommandLine {
    match parse_command(input) {
        Ok(c) => c,
        Err(e) => panic!("{:?}: {e:?}", String::from_utf8_lossy(input)),
    }
}

fn and(keys: Vec<SearchKey>) -> SearchKey {
    SearchKey::And(keys)
}

fn search(returns: Option<Vec<SearchReturn>>, keys: Vec<SearchKey>) -> Command {
    Command::Search {
        uid: false,
        returns,
        charset: None,
        criteria: and(keys),
    }
}

fn fetch(set: SequenceSet, attrs: Vec<FetchAttr>) -> Command {
    Command::Fetch {
        uid: false,
        set,
        attrs,
        modifiers: FetchModifiers::default(),
    }
}

fn select(name: &str) -> Command {
    Command::Select {
        mailbox: mb(name),
        params: SelectParams::default(),
    }
}

fn list(reference: &str, pattern: &str) -> Command {
    Command::List(ListCommand {
        selection: vec![],
        reference: mb(reference),
        patterns: vec![mb(pattern)],
        returns: vec![],
    })
}

fn body_section(peek: bool, part: Vec<u32>, text: Option<SectionText>) -> FetchAttr {
    FetchAttr::BodySection {
        peek,
        section: Section { part, text },
        partial: None,
    }
}

fn status_cmd(name: &str, items: Vec<StatusItem>) -> Command {
    Command::Status {
        mailbox: mb(name),
        items,
    }
}

fn append_one(name: &str, flags: Vec<Flag>, data: &[u8], binary: bool) -> Command {
    Command::Append {
        mailbox: mb(name),
        messages: vec![AppendMessage {
            flags,
            date: None,
            data: data.to_vec(),
            binary,
        }],
    }
}

// ------------------------------------------------------------------------------------
// RFC 3501 §8 sample session
// ------------------------------------------------------------------------------------

#[test]
fn rfc3501_sample_session_commands_parse() {
    use FetchAttr as A;
    let cases: Vec<(&[u8], &str, Command)> = vec![
        (
            b"a001 login mrc secret\r\n",
            "a001",
            Command::Login {
                username: "mrc".into(),
                password: "secret".into(),
            },
        ),
        (b"a002 select inbox\r\n", "a002", select("inbox")),
        (
            b"a003 fetch 12 full\r\n",
            "a003",
            fetch(
                one(12),
                vec![
                    A::Flags,
                    A::InternalDate,
                    A::Rfc822Size,
                    A::Envelope,
                    A::Body,
                ],
            ),
        ),
        (
            b"a004 fetch 12 body[header]\r\n",
            "a004",
            fetch(
                one(12),
                vec![body_section(false, vec![], Some(SectionText::Header))],
            ),
        ),
        (
            b"a005 store 12 +flags \\deleted\r\n",
            "a005",
            Command::Store {
                uid: false,
                set: one(12),
                unchanged_since: None,
                kind: StoreKind::Add,
                silent: false,
                flags: vec![Flag::Deleted],
            },
        ),
        (b"a006 logout\r\n", "a006", Command::Logout),
    ];
    for (input, tag, command) in cases {
        let parsed = parse(input);
        assert_eq!(parsed.tag, tag);
        assert_eq!(
            parsed.command,
            command,
            "{}",
            String::from_utf8_lossy(input)
        );
    }
}

// ------------------------------------------------------------------------------------
// RFC 9051 §6 and the extension RFCs
// ------------------------------------------------------------------------------------

#[allow(clippy::too_many_lines)]
fn command_table() -> Vec<(&'static [u8], Command)> {
    use FetchAttr as A;
    use SearchKey as K;
    vec![
        // RFC 9051 §6.1
        (b"a002 CAPABILITY\r\n", Command::Capability),
        (b"a047 NOOP\r\n", Command::Noop),
        (b"a047 NOOP\n", Command::Noop),
        (b"A023 LOGOUT\r\n", Command::Logout),
        // §6.2
        (b"a001 STARTTLS\r\n", Command::StartTls),
        (
            b"A001 AUTHENTICATE GSSAPI\r\n",
            Command::Authenticate {
                mechanism: "GSSAPI".into(),
                initial_response: None,
            },
        ),
        (
            b"a001 LOGIN SMITH SESAME\r\n",
            Command::Login {
                username: "SMITH".into(),
                password: "SESAME".into(),
            },
        ),
        (
            b"a001 LOGIN {5}\r\nfred\" \"pa ss\\\\\"\r\n",
            Command::Login {
                username: "fred\"".into(),
                password: "pa ss\\".into(),
            },
        ),
        (
            b"a001 LOGIN {5+}\r\nsm\r\nh {0}\r\n\r\n",
            Command::Login {
                username: "sm\r\nh".into(),
                password: String::new(),
            },
        ),
        // RFC 4959 SASL-IR
        (
            b"a01 AUTHENTICATE plain dGVzdAB0ZXN0AHRlc3Q=\r\n",
            Command::Authenticate {
                mechanism: "PLAIN".into(),
                initial_response: Some("dGVzdAB0ZXN0AHRlc3Q=".into()),
            },
        ),
        (
            b"a02 AUTHENTICATE EXTERNAL =\r\n",
            Command::Authenticate {
                mechanism: "EXTERNAL".into(),
                initial_response: Some("=".into()),
            },
        ),
        // RFC 5161 ENABLE
        (
            b"t2 ENABLE CONDSTORE X-GOOD-IDEA\r\n",
            Command::Enable(vec!["CONDSTORE".into(), "X-GOOD-IDEA".into()]),
        ),
        (
            b"A01 ENABLE UTF8=ACCEPT\r\n",
            Command::Enable(vec!["UTF8=ACCEPT".into()]),
        ),
        // §6.3
        (b"A142 SELECT INBOX\r\n", select("INBOX")),
        (b"A143 SELECT foo]bar\r\n", select("foo]bar")),
        (b"A144 SELECT \"a\\\"b\\\\c d\"\r\n", select("a\"b\\c d")),
        (b"A145 SELECT {3}\r\nx y\r\n", select("x y")),
        (
            b"A932 EXAMINE blurdybloop\r\n",
            Command::Examine {
                mailbox: mb("blurdybloop"),
                params: SelectParams::default(),
            },
        ),
        (
            b"A003 CREATE owatagusiam/\r\n",
            Command::Create {
                mailbox: mb("owatagusiam/"),
                special_use: vec![],
            },
        ),
        (b"A683 DELETE blurdybloop\r\n", Command::Delete(mb("blurdybloop"))),
        (
            b"A683 RENAME blurdybloop sarasoop\r\n",
            Command::Rename {
                from: mb("blurdybloop"),
                to: mb("sarasoop"),
            },
        ),
        (
            b"A002 SUBSCRIBE #news.comp.mail.mime\r\n",
            Command::Subscribe(mb("#news.comp.mail.mime")),
        ),
        (
            b"A002 UNSUBSCRIBE #news.comp.mail.mime\r\n",
            Command::Unsubscribe(mb("#news.comp.mail.mime")),
        ),
        (b"A101 LIST \"\" \"\"\r\n", list("", "")),
        (b"A102 LIST #news.comp.mail.misc \"\"\r\n", list("#news.comp.mail.misc", "")),
        (b"A202 LIST ~/Mail/ %\r\n", list("~/Mail/", "%")),
        (b"A203 LIST \"\" *\r\n", list("", "*")),
        (
            b"A002 LSUB \"#news.\" \"comp.mail.*\"\r\n",
            Command::Lsub {
                reference: mb("#news."),
                pattern: mb("comp.mail.*"),
            },
        ),
        (b"A001 NAMESPACE\r\n", Command::Namespace),
        (
            b"A042 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n",
            status_cmd("blurdybloop", vec![StatusItem::UidNext, StatusItem::Messages]),
        ),
        (
            b"A003 APPEND saved-messages (\\Seen) {5+}\r\nhello\r\n",
            append_one("saved-messages", vec![Flag::Seen], b"hello", false),
        ),
        (
            b"A003 APPEND saved-messages \" 7-Feb-1994 21:52:25 -0800\" {2}\r\nhi\r\n",
            Command::Append {
                mailbox: mb("saved-messages"),
                messages: vec![AppendMessage {
                    flags: vec![],
                    date: Some(datetime!(1994-02-07 21:52:25 -08:00)),
                    data: b"hi".to_vec(),
                    binary: false,
                }],
            },
        ),
        (b"a IDLE\r\n", Command::Idle),
        // §6.4
        (b"FXXZ CHECK\r\n", Command::Check),
        (b"A341 CLOSE\r\n", Command::Close),
        (b"A342 UNSELECT\r\n", Command::Unselect),
        (b"A202 EXPUNGE\r\n", Command::Expunge),
        (
            b"A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
            search(
                Some(vec![SearchReturn::Min, SearchReturn::Count]),
                vec![
                    K::Flagged,
                    K::Since(date!(1994 - 02 - 01)),
                    K::Not(Box::new(K::From("Smith".into()))),
                ],
            ),
        ),
        (
            b"A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
            search(
                Some(vec![]),
                vec![
                    K::Flagged,
                    K::Since(date!(1994 - 02 - 01)),
                    K::Not(Box::new(K::From("Smith".into()))),
                ],
            ),
        ),
        (
            b"A284 SEARCH TEXT \"string not in mailbox\"\r\n",
            search(None, vec![K::Text("string not in mailbox".into())]),
        ),
        (
            "A285 SEARCH CHARSET utf-8 TEXT {12+}\r\nXXXXXX\u{00e9}\u{00e9}\u{00e9}\r\n"
                .as_bytes()
                .to_vec()
                .leak(),
            Command::Search {
                uid: false,
                returns: None,
                charset: Some("UTF-8".into()),
                criteria: and(vec![K::Text("XXXXXX\u{00e9}\u{00e9}\u{00e9}".into())]),
            },
        ),
        (
            b"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n",
            fetch(
                set(&[range(2, 4)]),
                vec![
                    A::Flags,
                    body_section(
                        false,
                        vec![],
                        Some(SectionText::HeaderFields(vec!["DATE".into(), "FROM".into()])),
                    ),
                ],
            ),
        ),
        (
            b"A003 STORE 2:4 +FLAGS (\\Deleted)\r\n",
            Command::Store {
                uid: false,
                set: set(&[range(2, 4)]),
                unchanged_since: None,
                kind: StoreKind::Add,
                silent: false,
                flags: vec![Flag::Deleted],
            },
        ),
        (
            b"A004 STORE 1 -FLAGS.SILENT (\\Seen $Forwarded \\X-Custom)\r\n",
            Command::Store {
                uid: false,
                set: one(1),
                unchanged_since: None,
                kind: StoreKind::Remove,
                silent: true,
                flags: vec![
                    Flag::Seen,
                    Flag::Keyword("$Forwarded".into()),
                    Flag::Extension("X-Custom".into()),
                ],
            },
        ),
        (
            b"A005 STORE 1:* FLAGS ()\r\n",
            Command::Store {
                uid: false,
                set: set(&[(n(1), SeqNum::Star)]),
                unchanged_since: None,
                kind: StoreKind::Replace,
                silent: false,
                flags: vec![],
            },
        ),
        (
            b"A003 COPY 2:4 MEETING\r\n",
            Command::Copy {
                uid: false,
                set: set(&[range(2, 4)]),
                mailbox: mb("MEETING"),
            },
        ),
        // RFC 6851 MOVE
        (
            b"a UID MOVE 42:69 foo\r\n",
            Command::Move {
                uid: true,
                set: set(&[range(42, 69)]),
                mailbox: mb("foo"),
            },
        ),
        (
            b"a MOVE 2:4 MEETING\r\n",
            Command::Move {
                uid: false,
                set: set(&[range(2, 4)]),
                mailbox: mb("MEETING"),
            },
        ),
        (
            b"A999 UID FETCH 4827313:4828442 FLAGS\r\n",
            Command::Fetch {
                uid: true,
                set: set(&[range(4827313, 4828442)]),
                attrs: vec![A::Flags],
                modifiers: FetchModifiers::default(),
            },
        ),
        // RFC 4315 UIDPLUS
        (
            b"A202 UID EXPUNGE 3000:3002\r\n",
            Command::UidExpunge(set(&[range(3000, 3002)])),
        ),
        // RFC 2971 ID
        (
            b"a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" NIL)\r\n",
            Command::Id(Some(vec![
                ("name".into(), Some("sodr".into())),
                ("version".into(), Some("19.34".into())),
                ("vendor".into(), None),
            ])),
        ),
        (b"a023 ID NIL\r\n", Command::Id(None)),
        // RFC 9208 QUOTA
        (
            b"G0001 GETQUOTA \"!partition/sda4\"\r\n",
            Command::GetQuota("!partition/sda4".into()),
        ),
        (b"A003 GETQUOTAROOT INBOX\r\n", Command::GetQuotaRoot(mb("INBOX"))),
        (
            b"S0000 SETQUOTA \"#user/alice\" (STORAGE 510)\r\n",
            Command::SetQuota("#user/alice".into()),
        ),
        // RFC 5258 LIST-EXTENDED
        (
            b"A02 LIST (SUBSCRIBED) \"\" \"*\"\r\n",
            Command::List(ListCommand {
                selection: vec![ListSelect::Subscribed],
                reference: mb(""),
                patterns: vec![mb("*")],
                returns: vec![],
            }),
        ),
        (
            b"A03 LIST () \"\" \"%\" RETURN (CHILDREN)\r\n",
            Command::List(ListCommand {
                selection: vec![],
                reference: mb(""),
                patterns: vec![mb("%")],
                returns: vec![ListReturn::Children],
            }),
        ),
        (
            b"A05 list (subscribed recursivematch REMOTE) \"\" \"%\" return (CHILDREN)\r\n",
            Command::List(ListCommand {
                selection: vec![
                    ListSelect::Subscribed,
                    ListSelect::RecursiveMatch,
                    ListSelect::Remote,
                ],
                reference: mb(""),
                patterns: vec![mb("%")],
                returns: vec![ListReturn::Children],
            }),
        ),
        (
            b"A06 LIST \"\" (\"INBOX\" Drafts \"Sent/%\")\r\n",
            Command::List(ListCommand {
                selection: vec![],
                reference: mb(""),
                patterns: vec![mb("INBOX"), mb("Drafts"), mb("Sent/%")],
                returns: vec![],
            }),
        ),
        // RFC 5819 LIST-STATUS, RFC 6154 SPECIAL-USE
        (
            b"A07 LIST (SUBSCRIBED RECURSIVEMATCH SPECIAL-USE REMOTE) \"\" (pat1 pat2) RETURN (CHILDREN SUBSCRIBED SPECIAL-USE STATUS (MESSAGES UNSEEN))\r\n",
            Command::List(ListCommand {
                selection: vec![
                    ListSelect::Subscribed,
                    ListSelect::RecursiveMatch,
                    ListSelect::SpecialUse,
                    ListSelect::Remote,
                ],
                reference: mb(""),
                patterns: vec![mb("pat1"), mb("pat2")],
                returns: vec![
                    ListReturn::Children,
                    ListReturn::Subscribed,
                    ListReturn::SpecialUse,
                    ListReturn::Status(vec![StatusItem::Messages, StatusItem::Unseen]),
                ],
            }),
        ),
        (
            b"t3 CREATE MySpecial (USE (\\Drafts \\Sent))\r\n",
            Command::Create {
                mailbox: mb("MySpecial"),
                special_use: vec!["\\Drafts".into(), "\\Sent".into()],
            },
        ),
        // RFC 7162 CONDSTORE
        (
            b"a SELECT INBOX (CONDSTORE)\r\n",
            Command::Select {
                mailbox: mb("INBOX"),
                params: SelectParams {
                    condstore: true,
                    qresync: None,
                },
            },
        ),
        (
            b"s100 FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n",
            Command::Fetch {
                uid: false,
                set: set(&[(n(1), SeqNum::Star)]),
                attrs: vec![A::Flags],
                modifiers: FetchModifiers {
                    changed_since: Some(12345),
                    vanished: false,
                },
            },
        ),
        (
            b"a106 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)\r\n",
            Command::Store {
                uid: false,
                set: set(&[single(7), single(5), single(9)]),
                unchanged_since: Some(320162338),
                kind: StoreKind::Add,
                silent: true,
                flags: vec![Flag::Deleted],
            },
        ),
        (
            b"a STORE 1 (UNCHANGEDSINCE 5) +FLAGS (\\Seen)\r\n",
            Command::Store {
                uid: false,
                set: one(1),
                unchanged_since: Some(5),
                kind: StoreKind::Add,
                silent: false,
                flags: vec![Flag::Seen],
            },
        ),
        (b"a SEARCH MODSEQ 5\r\n", search(None, vec![K::ModSeq(5)])),
        (
            b"a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338\r\n",
            search(None, vec![K::ModSeq(620162338)]),
        ),
        (
            b"t SEARCH OR NOT MODSEQ 720162338 LARGER 50000\r\n",
            search(
                None,
                vec![K::Or(
                    Box::new(K::Not(Box::new(K::ModSeq(720162338)))),
                    Box::new(K::Larger(50000)),
                )],
            ),
        ),
        (
            b"a STATUS blurdybloop (UIDNEXT MESSAGES HIGHESTMODSEQ)\r\n",
            status_cmd(
                "blurdybloop",
                vec![StatusItem::UidNext, StatusItem::Messages, StatusItem::HighestModSeq],
            ),
        ),
        // RFC 7162 QRESYNC
        (
            b"A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
            Command::Select {
                mailbox: mb("INBOX"),
                params: SelectParams {
                    condstore: false,
                    qresync: Some(QresyncParams {
                        uid_validity: 67890007,
                        mod_seq: 20050715194045000,
                        known_uids: Some(set(&[single(41), range(43, 211), range(214, 541)])),
                        seq_match: None,
                    }),
                },
            },
        ),
        (
            b"B02 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973)))\r\n",
            Command::Select {
                mailbox: mb("INBOX"),
                params: SelectParams {
                    condstore: false,
                    qresync: Some(QresyncParams {
                        uid_validity: 67890007,
                        mod_seq: 90060115194045000,
                        known_uids: Some(set(&[range(1, 29997)])),
                        seq_match: Some((
                            set(&[single(5000), single(7500), single(9000), range(9990, 9999)]),
                            set(&[
                                single(15000),
                                single(22500),
                                single(27000),
                                single(29970),
                                single(29973),
                            ]),
                        )),
                    }),
                },
            },
        ),
        (
            b"C02 EXAMINE INBOX (QRESYNC (1 2))\r\n",
            Command::Examine {
                mailbox: mb("INBOX"),
                params: SelectParams {
                    condstore: false,
                    qresync: Some(QresyncParams {
                        uid_validity: 1,
                        mod_seq: 2,
                        known_uids: None,
                        seq_match: None,
                    }),
                },
            },
        ),
        (
            b"s100 UID FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)\r\n",
            Command::Fetch {
                uid: true,
                set: set(&[(n(1), SeqNum::Star)]),
                attrs: vec![A::Flags],
                modifiers: FetchModifiers {
                    changed_since: Some(1),
                    vanished: true,
                },
            },
        ),
        // RFC 4731 ESEARCH, RFC 5182 SEARCHRES
        (
            b"A301 UID SEARCH RETURN (MIN MAX COUNT ALL SAVE) UNDELETED\r\n",
            Command::Search {
                uid: true,
                returns: Some(vec![
                    SearchReturn::Min,
                    SearchReturn::Max,
                    SearchReturn::Count,
                    SearchReturn::All,
                    SearchReturn::Save,
                ]),
                charset: None,
                criteria: and(vec![K::Undeleted]),
            },
        ),
        (
            b"A283 FETCH $ (UID INTERNALDATE FLAGS RFC822.SIZE)\r\n",
            fetch(
                SequenceSet::Saved,
                vec![A::Uid, A::InternalDate, A::Flags, A::Rfc822Size],
            ),
        ),
        (
            b"B284 UID COPY $ \"Other Messages\"\r\n",
            Command::Copy {
                uid: true,
                set: SequenceSet::Saved,
                mailbox: mb("Other Messages"),
            },
        ),
        (
            b"E283 SEARCH $ SMALLER 4096\r\n",
            search(None, vec![K::SequenceSet(SequenceSet::Saved), K::Smaller(4096)]),
        ),
        (
            b"E284 UID SEARCH UID $\r\n",
            Command::Search {
                uid: true,
                returns: None,
                charset: None,
                criteria: and(vec![K::Uid(SequenceSet::Saved)]),
            },
        ),
        // RFC 3516 BINARY
        (
            b"t FETCH 1 (BINARY[1.2]<0.100>)\r\n",
            fetch(
                one(1),
                vec![A::Binary {
                    peek: false,
                    part: vec![1, 2],
                    partial: Some(Partial {
                        origin: 0,
                        count: 100,
                    }),
                }],
            ),
        ),
        (
            b"t FETCH 1 (BINARY.PEEK[] BINARY.SIZE[3])\r\n",
            fetch(
                one(1),
                vec![
                    A::Binary {
                        peek: true,
                        part: vec![],
                        partial: None,
                    },
                    A::BinarySize { part: vec![3] },
                ],
            ),
        ),
        (
            b"A003 APPEND Drafts (\\Seen $MDNSent) ~{3+}\r\na\0b\r\n",
            append_one(
                "Drafts",
                vec![Flag::Seen, Flag::Keyword("$MDNSent".into())],
                b"a\0b",
                true,
            ),
        ),
        // RFC 3502 MULTIAPPEND
        (
            b"A003 APPEND saved-messages (\\Seen) {5+}\r\nhello \"17-Jul-1996 02:44:25 -0700\" ~{5}\r\nworld {0}\r\n\r\n",
            Command::Append {
                mailbox: mb("saved-messages"),
                messages: vec![
                    AppendMessage {
                        flags: vec![Flag::Seen],
                        date: None,
                        data: b"hello".to_vec(),
                        binary: false,
                    },
                    AppendMessage {
                        flags: vec![],
                        date: Some(datetime!(1996-07-17 02:44:25 -07:00)),
                        data: b"world".to_vec(),
                        binary: true,
                    },
                    AppendMessage {
                        flags: vec![],
                        date: None,
                        data: vec![],
                        binary: false,
                    },
                ],
            },
        ),
        // RFC 8438 STATUS=SIZE, RFC 9051 DELETED, RFC 7889 APPENDLIMIT
        (
            b"a STATUS INBOX (MESSAGES SIZE DELETED APPENDLIMIT RECENT UIDVALIDITY UNSEEN)\r\n",
            status_cmd(
                "INBOX",
                vec![
                    StatusItem::Messages,
                    StatusItem::Size,
                    StatusItem::Deleted,
                    StatusItem::AppendLimit,
                    StatusItem::Recent,
                    StatusItem::UidValidity,
                    StatusItem::Unseen,
                ],
            ),
        ),
        // FETCH macros and sections (RFC 9051 §6.4.5)
        (
            b"a FETCH 1 FAST\r\n",
            fetch(one(1), vec![A::Flags, A::InternalDate, A::Rfc822Size]),
        ),
        (
            b"a FETCH 1:2 all\r\n",
            fetch(
                set(&[range(1, 2)]),
                vec![A::Flags, A::InternalDate, A::Rfc822Size, A::Envelope],
            ),
        ),
        (
            b"a FETCH 1 (BODY.PEEK[1.2.MIME] BODY[]<0.2048> BODY[1.HEADER.FIELDS.NOT (X-A \"X B\")])\r\n",
            fetch(
                one(1),
                vec![
                    body_section(true, vec![1, 2], Some(SectionText::Mime)),
                    A::BodySection {
                        peek: false,
                        section: Section::default(),
                        partial: Some(Partial {
                            origin: 0,
                            count: 2048,
                        }),
                    },
                    body_section(
                        false,
                        vec![1],
                        Some(SectionText::HeaderFieldsNot(vec!["X-A".into(), "X B".into()])),
                    ),
                ],
            ),
        ),
        (
            b"a FETCH 1 (BODY[3] BODY[2.TEXT] BODY[TEXT] BODY BODYSTRUCTURE ENVELOPE)\r\n",
            fetch(
                one(1),
                vec![
                    body_section(false, vec![3], None),
                    body_section(false, vec![2], Some(SectionText::Text)),
                    body_section(false, vec![], Some(SectionText::Text)),
                    A::Body,
                    A::BodyStructure,
                    A::Envelope,
                ],
            ),
        ),
        (
            b"a FETCH 1 (RFC822 RFC822.HEADER RFC822.TEXT RFC822.SIZE UID MODSEQ)\r\n",
            fetch(
                one(1),
                vec![
                    A::Rfc822,
                    A::Rfc822Header,
                    A::Rfc822Text,
                    A::Rfc822Size,
                    A::Uid,
                    A::ModSeq,
                ],
            ),
        ),
        // SEARCH keys (RFC 9051 §6.4.4), case-insensitive
        (
            b"a SEARCH answered DELETED draft flagged new old recent seen unanswered undeleted undraft unflagged unseen all\r\n",
            search(
                None,
                vec![
                    K::Answered,
                    K::Deleted,
                    K::Draft,
                    K::Flagged,
                    K::New,
                    K::Old,
                    K::Recent,
                    K::Seen,
                    K::Unanswered,
                    K::Undeleted,
                    K::Undraft,
                    K::Unflagged,
                    K::Unseen,
                    K::All,
                ],
            ),
        ),
        (
            b"a SEARCH BCC x CC \"y z\" BODY {1}\r\nw TO v SUBJECT \"\"\r\n",
            search(
                None,
                vec![
                    K::Bcc("x".into()),
                    K::Cc("y z".into()),
                    K::Body("w".into()),
                    K::To("v".into()),
                    K::Subject(String::new()),
                ],
            ),
        ),
        (
            b"a SEARCH HEADER Message-ID \"<a@b>\" KEYWORD $Forwarded UNKEYWORD Junk\r\n",
            search(
                None,
                vec![
                    K::Header("Message-ID".into(), "<a@b>".into()),
                    K::Keyword("$Forwarded".into()),
                    K::Unkeyword("Junk".into()),
                ],
            ),
        ),
        (
            b"a SEARCH BEFORE \"1-Feb-1994\" ON 02-mar-2000 SENTBEFORE 3-APR-2001 SENTON 31-Dec-1999 SENTSINCE 1-Jan-2020\r\n",
            search(
                None,
                vec![
                    K::Before(date!(1994 - 02 - 01)),
                    K::On(date!(2000 - 03 - 02)),
                    K::SentBefore(date!(2001 - 04 - 03)),
                    K::SentOn(date!(1999 - 12 - 31)),
                    K::SentSince(date!(2020 - 01 - 01)),
                ],
            ),
        ),
        (
            b"a SEARCH LARGER 100 SMALLER 5 UID 1:*,5 2,4:7\r\n",
            search(
                None,
                vec![
                    K::Larger(100),
                    K::Smaller(5),
                    K::Uid(set(&[(n(1), SeqNum::Star), single(5)])),
                    K::SequenceSet(set(&[single(2), range(4, 7)])),
                ],
            ),
        ),
        (
            b"a SEARCH (OR SEEN DRAFT) NOT (UNSEEN)\r\n",
            search(
                None,
                vec![
                    K::And(vec![K::Or(Box::new(K::Seen), Box::new(K::Draft))]),
                    K::Not(Box::new(K::And(vec![K::Unseen]))),
                ],
            ),
        ),
        (
            b"a SEARCH CHARSET ISO-8859-1 SUBJECT {3}\r\nd\xe9j\r\n",
            Command::Search {
                uid: false,
                returns: None,
                charset: Some("ISO-8859-1".into()),
                criteria: and(vec![K::Subject("d\u{fffd}j".into())]),
            },
        ),
    ]
}

#[test]
fn rfc_command_examples_parse_to_exact_values() {
    let table = command_table();
    assert!(table.len() >= 60, "table has {} rows", table.len());
    for (input, command) in table {
        let parsed = parse(input);
        let expected_tag = input.split(|&b| b == b' ').next().unwrap_or_default();
        assert_eq!(parsed.tag.as_bytes(), expected_tag);
        assert_eq!(
            parsed.command,
            command,
            "{}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn rfc_command_examples_re_encode_to_themselves() {
    for (_, command) in command_table() {
        if let Command::Search {
            charset: Some(c), ..
        } = &command
            && c != "UTF-8"
        {
            continue; // lossily decoded on purpose
        }
        let wire = command.encode("x1");
        assert_eq!(
            parse(&wire).command,
            command,
            "{}",
            String::from_utf8_lossy(&wire)
        );
    }
}

#[test]
fn literal_at_end_finds_the_literals_of_the_examples() {
    let spec = |len, non_sync, binary| {
        Some(LiteralSpec {
            len,
            non_sync,
            binary,
        })
    };
    assert_eq!(
        literal_at_end(b"A003 APPEND saved-messages (\\Seen) {326}\r\n"),
        spec(326, false, false)
    );
    assert_eq!(
        literal_at_end(b"A003 APPEND Drafts ~{5+}\r\n"),
        spec(5, true, true)
    );
    assert_eq!(literal_at_end(b"a001 login mrc secret\r\n"), None);
}

// ------------------------------------------------------------------------------------
// Malformed commands
// ------------------------------------------------------------------------------------

#[test]
fn malformed_commands_are_errors_with_the_tag_when_readable() {
    let deep = {
        let mut v = b"d1 SEARCH ".to_vec();
        v.extend(std::iter::repeat_n(b'(', 200));
        v.extend_from_slice(b"ALL");
        v.extend(std::iter::repeat_n(b')', 200));
        v.extend_from_slice(b"\r\n");
        v
    };
    let cases: Vec<(&[u8], Option<&str>)> = vec![
        (b"", None),
        (b"\r\n", None),
        (b" NOOP\r\n", None),
        (b"+a NOOP\r\n", None),
        (b"a*b NOOP\r\n", None),
        (b"a\0 NOOP\r\n", None),
        (b"a1\r\n", Some("a1")),
        (b"a1 \r\n", Some("a1")),
        (b"a FOO\r\n", Some("a")),
        (b"a NOOP", Some("a")),
        (b"a NOOP extra\r\n", Some("a")),
        (b"a NOOP\r\n\r\n", Some("a")),
        (b"a NOOP \r\n", Some("a")),
        (b"a LOGIN x\r\n", Some("a")),
        (b"a LOGIN {10}\r\nabc\r\n", Some("a")),
        (b"a LOGIN {3} abc x\r\n", Some("a")),
        (b"a LOGIN \"x\xff\" y\r\n", Some("a")),
        (b"a SELECT\r\n", Some("a")),
        (b"a SELECT \"unterminated\r\n", Some("a")),
        (b"a SELECT \"bad\\escape\"\r\n", Some("a")),
        (b"a SELECT INBOX (BOGUS)\r\n", Some("a")),
        (b"a SELECT INBOX (QRESYNC (0 1))\r\n", Some("a")),
        (b"a SELECT INBOX (QRESYNC (1 0))\r\n", Some("a")),
        (b"a FETCH 0 FLAGS\r\n", Some("a")),
        (b"a FETCH 4294967296 FLAGS\r\n", Some("a")),
        (b"a FETCH 1 (FLAGS\r\n", Some("a")),
        (b"a FETCH 1 ()\r\n", Some("a")),
        (b"a FETCH 1 FLAGS (VANISHED)\r\n", Some("a")),
        (b"a FETCH 1 FLAGS ()\r\n", Some("a")),
        (b"a FETCH 1 BODY[1.MIME\r\n", Some("a")),
        (b"a FETCH 1 BODY[MIME]\r\n", Some("a")),
        (b"a FETCH 1 BODY[1.]\r\n", Some("a")),
        (b"a FETCH 1 BODY[HEADER.FIELDS ()]\r\n", Some("a")),
        (b"a FETCH 1 BODY[]<1.0>\r\n", Some("a")),
        (b"a FETCH 1 BODY.PEEK\r\n", Some("a")),
        (b"a FETCH 1 ALL FLAGS\r\n", Some("a")),
        (b"a STORE 1 FLAGS \\*\r\n", Some("a")),
        (b"a STORE 1 +FLAGZ (\\Seen)\r\n", Some("a")),
        (b"a STORE 1 (UNCHANGEDSINCE x) FLAGS ()\r\n", Some("a")),
        (b"a APPEND INBOX \"x\"\r\n", Some("a")),
        (b"a APPEND INBOX {3}\r\na\0b\r\n", Some("a")),
        (
            b"a APPEND INBOX \"32-Jan-2000 00:00:00 +0000\" {1}\r\nx\r\n",
            Some("a"),
        ),
        (b"a APPEND INBOX\r\n", Some("a")),
        (b"a SEARCH\r\n", Some("a")),
        (b"a SEARCH FOO\r\n", Some("a")),
        (b"a SEARCH BEFORE 32-Jan-2000\r\n", Some("a")),
        (b"a SEARCH SINCE 1-Foo-2000\r\n", Some("a")),
        (b"a SEARCH MODSEQ 9223372036854775808\r\n", Some("a")),
        (b"a SEARCH RETURN (PARTIAL 1:5) ALL\r\n", Some("a")),
        (b"a SEARCH ()\r\n", Some("a")),
        (b"a SEARCH (ALL\r\n", Some("a")),
        (b"a SEARCH OR ALL\r\n", Some("a")),
        (&deep, Some("d1")),
        (b"a UID FOO 1\r\n", Some("a")),
        (b"a UID\r\n", Some("a")),
        (b"a LIST (BOGUS) \"\" *\r\n", Some("a")),
        (b"a LIST \"\" ()\r\n", Some("a")),
        (b"a LIST \"\" * RETURN (BOGUS)\r\n", Some("a")),
        (b"a STATUS INBOX (BOGUS)\r\n", Some("a")),
        (b"a ENABLE\r\n", Some("a")),
        (b"a AUTHENTICATE PLAIN !!!\r\n", Some("a")),
        (b"a ID (\"x\")\r\n", Some("a")),
        (b"a CREATE x (USE (Sent))\r\n", Some("a")),
        (b"a SETQUOTA r (STORAGE)\r\n", Some("a")),
    ];
    for (input, tag) in cases {
        match parse_command(input) {
            Ok(c) => panic!("{:?} parsed as {c:?}", String::from_utf8_lossy(input)),
            Err(e) => {
                assert_eq!(
                    e.tag.as_deref(),
                    tag,
                    "{:?}",
                    String::from_utf8_lossy(input)
                );
                assert!(!e.message.is_empty());
                assert!(!e.message.contains(['\r', '\n']));
            }
        }
    }
}

// ------------------------------------------------------------------------------------
// Responses
// ------------------------------------------------------------------------------------

fn enc(r: &Response) -> String {
    let mut out = Vec::new();
    r.encode(&mut out);
    String::from_utf8(out).expect("ASCII")
}

fn ok(tag: Option<&str>, code: Option<ResponseCode>, text: &str) -> Response {
    Response::Status {
        tag: tag.map(Into::into),
        status: Status::Ok,
        code,
        text: text.into(),
    }
}

fn s(v: &str) -> Option<String> {
    Some(v.into())
}

fn addr(name: Option<&str>, mailbox: &str, host: &str) -> EnvelopeAddress {
    EnvelopeAddress {
        name: name.map(Into::into),
        adl: None,
        mailbox: s(mailbox),
        host: s(host),
    }
}

fn rfc3501_envelope() -> Envelope {
    let gray = vec![addr(Some("Terry Gray"), "gray", "cac.washington.edu")];
    Envelope {
        date: s("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)"),
        subject: s("IMAP4rev1 WG mtg summary and minutes"),
        from: gray.clone(),
        sender: gray.clone(),
        reply_to: gray,
        to: vec![addr(None, "imap", "cac.washington.edu")],
        cc: vec![
            addr(None, "minutes", "CNRI.Reston.VA.US"),
            addr(Some("John Klensin"), "KLENSIN", "MIT.EDU"),
        ],
        bcc: vec![],
        in_reply_to: None,
        message_id: s("<B27397-0100000@cac.washington.edu>"),
    }
}

fn text_plain(params: Vec<(&str, &str)>, octets: u32, lines: u32) -> BodyStructure {
    BodyStructure::Single {
        media_type: "TEXT".into(),
        subtype: "PLAIN".into(),
        fields: BodyFields {
            params: params
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            id: None,
            description: None,
            encoding: "7BIT".into(),
            octets,
        },
        lines: Some(lines),
        message: None,
        ext: BodyExtension::default(),
    }
}

#[test]
fn rfc3501_sample_session_responses_encode_exactly() {
    let fetch = Response::Fetch(
        12,
        vec![
            FetchItem::Flags(vec![Flag::Seen]),
            FetchItem::InternalDate(datetime!(1996-07-17 02:44:25 -07:00)),
            FetchItem::Rfc822Size(4286),
            FetchItem::Envelope(Box::new(rfc3501_envelope())),
            FetchItem::Body(Box::new(text_plain(
                vec![("CHARSET", "US-ASCII")],
                3028,
                92,
            ))),
        ],
    );
    assert_eq!(
        enc(&fetch),
        "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" \
         RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \
         \"IMAP4rev1 WG mtg summary and minutes\" \
         ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
         ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
         ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
         ((NIL NIL \"imap\" \"cac.washington.edu\")) \
         ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")\
         (\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \
         \"<B27397-0100000@cac.washington.edu>\") \
         BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n"
    );
    let cases = vec![
        (
            ok(None, None, "IMAP4rev1 Service Ready"),
            "* OK IMAP4rev1 Service Ready\r\n",
        ),
        (
            ok(Some("a001"), None, "LOGIN completed"),
            "a001 OK LOGIN completed\r\n",
        ),
        (Response::Exists(18), "* 18 EXISTS\r\n"),
        (
            Response::Flags(vec![
                Flag::Answered,
                Flag::Flagged,
                Flag::Deleted,
                Flag::Seen,
                Flag::Draft,
            ]),
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n",
        ),
        (Response::Recent(2), "* 2 RECENT\r\n"),
        (
            ok(
                None,
                Some(ResponseCode::Unseen(17)),
                "Message 17 is the first unseen message",
            ),
            "* OK [UNSEEN 17] Message 17 is the first unseen message\r\n",
        ),
        (
            ok(
                None,
                Some(ResponseCode::UidValidity(3857529045)),
                "UIDs valid",
            ),
            "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n",
        ),
        (
            ok(
                Some("a002"),
                Some(ResponseCode::ReadWrite),
                "SELECT completed",
            ),
            "a002 OK [READ-WRITE] SELECT completed\r\n",
        ),
        (
            Response::Fetch(
                12,
                vec![FetchItem::BodySection {
                    section: Section {
                        part: vec![],
                        text: Some(SectionText::Header),
                    },
                    origin: None,
                    data: Some(b"Date: Wed\r\n\r\n".to_vec()),
                }],
            ),
            "* 12 FETCH (BODY[HEADER] {13}\r\nDate: Wed\r\n\r\n)\r\n",
        ),
        (
            Response::Fetch(12, vec![FetchItem::Flags(vec![Flag::Seen, Flag::Deleted])]),
            "* 12 FETCH (FLAGS (\\Seen \\Deleted))\r\n",
        ),
        (
            Response::Status {
                tag: None,
                status: Status::Bye,
                code: None,
                text: "IMAP4rev1 server terminating connection".into(),
            },
            "* BYE IMAP4rev1 server terminating connection\r\n",
        ),
    ];
    for (r, wire) in cases {
        assert_eq!(enc(&r), wire);
    }
}

#[test]
fn rfc9051_and_extension_responses_encode_exactly() {
    let cases: Vec<(Response, &str)> = vec![
        (
            ok(
                None,
                Some(ResponseCode::PermanentFlags(vec![
                    Flag::Deleted,
                    Flag::Seen,
                    Flag::Wildcard,
                ])),
                "Limited",
            ),
            "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n",
        ),
        (
            Response::Status {
                tag: Some("A1".into()),
                status: Status::No,
                code: Some(ResponseCode::TryCreate),
                text: String::new(),
            },
            "A1 NO [TRYCREATE] failed\r\n",
        ),
        (
            Response::Status {
                tag: Some("A2".into()),
                status: Status::Bad,
                code: None,
                text: "line\r\nbreak".into(),
            },
            "A2 BAD line  break\r\n",
        ),
        (
            ok(
                Some("A003"),
                Some(ResponseCode::AppendUid(38505, vec![(3955, 3955)])),
                "APPEND completed",
            ),
            "A003 OK [APPENDUID 38505 3955] APPEND completed\r\n",
        ),
        (
            ok(
                Some("A004"),
                Some(ResponseCode::CopyUid(
                    38505,
                    vec![(304, 304), (319, 320)],
                    vec![(3956, 3958)],
                )),
                "Done",
            ),
            "A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n",
        ),
        (
            ok(
                None,
                Some(ResponseCode::AppendUid(1, vec![(1, 3), (5, 5)])),
                "x",
            ),
            "* OK [APPENDUID 1 1:3,5] x\r\n",
        ),
        (
            ok(
                None,
                Some(ResponseCode::HighestModSeq(715194045007)),
                "Highest",
            ),
            "* OK [HIGHESTMODSEQ 715194045007] Highest\r\n",
        ),
        (
            Response::Status {
                tag: Some("d105".into()),
                status: Status::Ok,
                code: Some(ResponseCode::Modified(vec![(7, 7), (9, 9)])),
                text: "Conditional STORE failed".into(),
            },
            "d105 OK [MODIFIED 7,9] Conditional STORE failed\r\n",
        ),
        (
            Response::Status {
                tag: Some("A".into()),
                status: Status::No,
                code: Some(ResponseCode::BadCharset(vec![
                    "UTF-8".into(),
                    "US-ASCII".into(),
                ])),
                text: "x".into(),
            },
            "A NO [BADCHARSET (UTF-8 US-ASCII)] x\r\n",
        ),
        (
            ok(
                None,
                Some(ResponseCode::Capability(vec![
                    "IMAP4rev2".into(),
                    "IMAP4rev1".into(),
                ])),
                "ready",
            ),
            "* OK [CAPABILITY IMAP4rev2 IMAP4rev1] ready\r\n",
        ),
        (
            Response::Capability(vec!["IMAP4rev2".into(), "AUTH=PLAIN".into()]),
            "* CAPABILITY IMAP4rev2 AUTH=PLAIN\r\n",
        ),
        (
            Response::Enabled(vec!["CONDSTORE".into()]),
            "* ENABLED CONDSTORE\r\n",
        ),
        (
            Response::Continue("Ready for additional command text".into()),
            "+ Ready for additional command text\r\n",
        ),
        (Response::Continue(String::new()), "+ \r\n"),
        (Response::Expunge(3), "* 3 EXPUNGE\r\n"),
        (
            Response::Vanished {
                earlier: true,
                uids: vec![(41, 41), (43, 116), (118, 118), (120, 211), (214, 540)],
            },
            "* VANISHED (EARLIER) 41,43:116,118,120:211,214:540\r\n",
        ),
        (
            Response::Vanished {
                earlier: false,
                uids: vec![(405, 405), (407, 410)],
            },
            "* VANISHED 405,407:410\r\n",
        ),
        (
            Response::List(ListItem {
                attributes: vec!["\\Noselect".into()],
                delimiter: Some('/'),
                name: String::new(),
                child_info: vec![],
                old_name: None,
            }),
            "* LIST (\\Noselect) \"/\" \"\"\r\n",
        ),
        (
            Response::List(ListItem {
                attributes: vec![],
                delimiter: Some('/'),
                name: "Foo".into(),
                child_info: vec!["SUBSCRIBED".into()],
                old_name: None,
            }),
            "* LIST () \"/\" Foo (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n",
        ),
        (
            Response::List(ListItem {
                attributes: vec![],
                delimiter: Some('/'),
                name: "New Name".into(),
                child_info: vec![],
                old_name: Some("foo".into()),
            }),
            "* LIST () \"/\" \"New Name\" (\"OLDNAME\" (\"foo\"))\r\n",
        ),
        (
            Response::List(ListItem {
                attributes: vec!["\\Subscribed".into(), "\\HasChildren".into()],
                delimiter: Some('\\'),
                name: "a%b".into(),
                child_info: vec!["SUBSCRIBED".into()],
                old_name: Some("x".into()),
            }),
            "* LIST (\\Subscribed \\HasChildren) \"\\\\\" \"a%b\" (\"CHILDINFO\" (\"SUBSCRIBED\") \"OLDNAME\" (\"x\"))\r\n",
        ),
        (
            Response::List(ListItem {
                attributes: vec!["\\Noinferiors".into()],
                delimiter: None,
                name: "INBOX".into(),
                child_info: vec![],
                old_name: None,
            }),
            "* LIST (\\Noinferiors) NIL INBOX\r\n",
        ),
        (
            Response::Lsub(ListItem {
                attributes: vec![],
                delimiter: Some('.'),
                name: "#news.comp.mail.misc".into(),
                child_info: vec!["SUBSCRIBED".into()],
                old_name: None,
            }),
            "* LSUB () \".\" #news.comp.mail.misc\r\n",
        ),
        (
            Response::MailboxStatus {
                mailbox: "blurdybloop".into(),
                items: vec![(StatusItem::Messages, 231), (StatusItem::UidNext, 44292)],
            },
            "* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n",
        ),
        (
            Response::MailboxStatus {
                mailbox: "Sent Items".into(),
                items: vec![
                    (StatusItem::HighestModSeq, 7011231777),
                    (StatusItem::Size, 44),
                    (StatusItem::Deleted, 1),
                    (StatusItem::AppendLimit, 2),
                    (StatusItem::Unseen, 3),
                    (StatusItem::UidValidity, 4),
                    (StatusItem::Recent, 5),
                ],
            },
            "* STATUS \"Sent Items\" (HIGHESTMODSEQ 7011231777 SIZE 44 DELETED 1 APPENDLIMIT 2 UNSEEN 3 UIDVALIDITY 4 RECENT 5)\r\n",
        ),
        (
            Response::Search(vec![2, 84, 882], None),
            "* SEARCH 2 84 882\r\n",
        ),
        (Response::Search(vec![], None), "* SEARCH\r\n"),
        (
            Response::Search(vec![2, 5, 6, 7, 11, 12, 18, 19, 20, 23], Some(917162500)),
            "* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)\r\n",
        ),
        (
            Response::ESearch(ESearch {
                tag: s("A282"),
                min: Some(2),
                count: Some(3),
                ..ESearch::default()
            }),
            "* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\n",
        ),
        (
            Response::ESearch(ESearch {
                tag: s("a1"),
                uid: true,
                min: Some(2),
                count: Some(3),
                all: Some(vec![(2, 2), (4, 5)]),
                ..ESearch::default()
            }),
            "* ESEARCH (TAG \"a1\") UID MIN 2 COUNT 3 ALL 2,4:5\r\n",
        ),
        (
            Response::ESearch(ESearch {
                tag: s("a2"),
                uid: true,
                max: Some(9),
                all: Some(vec![]),
                modseq: Some(5),
                ..ESearch::default()
            }),
            "* ESEARCH (TAG \"a2\") UID MAX 9 MODSEQ 5\r\n",
        ),
        (
            Response::Namespace {
                prefix: String::new(),
                delimiter: '/',
            },
            "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n",
        ),
        (
            Response::Id(Some(vec![
                ("name".into(), "Cyrus".into()),
                ("version".into(), "1.5".into()),
            ])),
            "* ID (\"name\" \"Cyrus\" \"version\" \"1.5\")\r\n",
        ),
        (Response::Id(None), "* ID NIL\r\n"),
        (
            Response::Quota {
                root: String::new(),
                resources: vec![("STORAGE".into(), 10, 512)],
            },
            "* QUOTA \"\" (STORAGE 10 512)\r\n",
        ),
        (
            Response::QuotaRoot {
                mailbox: "INBOX".into(),
                roots: vec![String::new()],
            },
            "* QUOTAROOT INBOX \"\"\r\n",
        ),
        (
            Response::Fetch(
                1,
                vec![
                    FetchItem::Uid(7),
                    FetchItem::ModSeq(624140003),
                    FetchItem::Binary {
                        part: vec![1],
                        origin: None,
                        data: Some(b"a\0b".to_vec()),
                    },
                    FetchItem::Binary {
                        part: vec![],
                        origin: Some(4),
                        data: Some(b"ab".to_vec()),
                    },
                    FetchItem::Binary {
                        part: vec![2],
                        origin: None,
                        data: None,
                    },
                    FetchItem::BinarySize {
                        part: vec![1, 2],
                        size: 42,
                    },
                ],
            ),
            "* 1 FETCH (UID 7 MODSEQ (624140003) BINARY[1] ~{3}\r\na\0b BINARY[]<4> {2}\r\nab BINARY[2] NIL BINARY.SIZE[1.2] 42)\r\n",
        ),
        (
            Response::Fetch(
                2,
                vec![
                    FetchItem::BodySection {
                        section: Section {
                            part: vec![1, 2],
                            text: Some(SectionText::HeaderFields(vec![
                                "SUBJECT".into(),
                                "FROM".into(),
                            ])),
                        },
                        origin: Some(0),
                        data: Some(b"S".to_vec()),
                    },
                    FetchItem::BodySection {
                        section: Section {
                            part: vec![3],
                            text: Some(SectionText::Mime),
                        },
                        origin: None,
                        data: None,
                    },
                    FetchItem::Rfc822 {
                        attr: "RFC822.HEADER",
                        data: b"X: y\r\n\r\n".to_vec(),
                    },
                ],
            ),
            "* 2 FETCH (BODY[1.2.HEADER.FIELDS (SUBJECT FROM)]<0> {1}\r\nS BODY[3.MIME] NIL RFC822.HEADER {8}\r\nX: y\r\n\r\n)\r\n",
        ),
    ];
    for (r, wire) in cases {
        assert_eq!(enc(&r), wire, "{r:?}");
    }
}

/// RFC 3501 §7.4.2's multipart example, as BODY (no extension data) and BODYSTRUCTURE.
#[test]
fn multipart_body_and_bodystructure_nest_correctly() {
    let part2 = BodyStructure::Single {
        media_type: "TEXT".into(),
        subtype: "PLAIN".into(),
        fields: BodyFields {
            params: vec![
                ("CHARSET".into(), "US-ASCII".into()),
                ("NAME".into(), "cc.diff".into()),
            ],
            id: s("<960723163407.20117h@cac.washington.edu>"),
            description: s("Compiler diff"),
            encoding: "BASE64".into(),
            octets: 4554,
        },
        lines: Some(73),
        message: None,
        ext: BodyExtension {
            md5: None,
            disposition: Some((
                "attachment".into(),
                vec![("filename".into(), "cc.diff".into())],
            )),
            language: vec![],
            location: None,
        },
    };
    let multi = BodyStructure::Multi {
        parts: vec![text_plain(vec![("CHARSET", "US-ASCII")], 1152, 23), part2],
        subtype: "MIXED".into(),
        params: vec![("BOUNDARY".into(), "xyz".into())],
        ext: BodyExtension {
            md5: None,
            disposition: None,
            language: vec!["en".into(), "de".into()],
            location: s("http://x/"),
        },
    };
    assert_eq!(
        enc(&Response::Fetch(
            1,
            vec![FetchItem::Body(Box::new(multi.clone()))]
        )),
        "* 1 FETCH (BODY ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23)\
         (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") \
         \"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4554 73) \
         \"MIXED\"))\r\n"
    );
    assert_eq!(
        enc(&Response::Fetch(
            1,
            vec![FetchItem::BodyStructure(Box::new(multi))]
        )),
        "* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23 NIL NIL NIL NIL)\
         (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") \
         \"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4554 73 \
         NIL (\"attachment\" (\"filename\" \"cc.diff\")) NIL NIL) \
         \"MIXED\" (\"BOUNDARY\" \"xyz\") NIL (\"en\" \"de\") \"http://x/\"))\r\n"
    );
}

#[test]
fn message_rfc822_part_carries_envelope_body_and_lines() {
    let inner_env = Envelope {
        subject: s("inner"),
        ..Envelope::default()
    };
    let msg = BodyStructure::Single {
        media_type: "MESSAGE".into(),
        subtype: "RFC822".into(),
        fields: BodyFields {
            encoding: "7BIT".into(),
            octets: 100,
            ..BodyFields::default()
        },
        lines: Some(9),
        message: Some(Box::new((inner_env, text_plain(vec![], 10, 1)))),
        ext: BodyExtension {
            language: vec!["en".into()],
            ..BodyExtension::default()
        },
    };
    let image = BodyStructure::Single {
        media_type: "IMAGE".into(),
        subtype: "PNG".into(),
        fields: BodyFields {
            encoding: "BASE64".into(),
            octets: 8,
            ..BodyFields::default()
        },
        lines: None,
        message: None,
        ext: BodyExtension {
            md5: s("abc"),
            ..BodyExtension::default()
        },
    };
    let env_nil_but_subject = "(NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL)";
    assert_eq!(
        enc(&Response::Fetch(
            3,
            vec![
                FetchItem::Body(Box::new(msg.clone())),
                FetchItem::Body(Box::new(image.clone())),
            ]
        )),
        format!(
            "* 3 FETCH (BODY (\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 100 {env_nil_but_subject} \
             (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 10 1) 9) \
             BODY (\"IMAGE\" \"PNG\" NIL NIL NIL \"BASE64\" 8))\r\n"
        )
    );
    assert_eq!(
        enc(&Response::Fetch(
            3,
            vec![
                FetchItem::BodyStructure(Box::new(msg)),
                FetchItem::BodyStructure(Box::new(image)),
            ]
        )),
        format!(
            "* 3 FETCH (BODYSTRUCTURE (\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 100 {env_nil_but_subject} \
             (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 10 1 NIL NIL NIL NIL) 9 NIL NIL \"en\" NIL) \
             BODYSTRUCTURE (\"IMAGE\" \"PNG\" NIL NIL NIL \"BASE64\" 8 \"abc\" NIL NIL NIL))\r\n"
        )
    );
}

#[test]
fn strings_become_atoms_quoted_strings_or_literals() {
    let name = |n: &str| {
        enc(&Response::MailboxStatus {
            mailbox: n.into(),
            items: vec![],
        })
    };
    assert_eq!(name("INBOX"), "* STATUS INBOX ()\r\n");
    assert_eq!(name("a]b"), "* STATUS a]b ()\r\n");
    assert_eq!(name("NIL"), "* STATUS \"NIL\" ()\r\n");
    assert_eq!(
        name("say \"hi\" \\o/"),
        "* STATUS \"say \\\"hi\\\" \\\\o/\" ()\r\n"
    );
    assert_eq!(
        name("Entw\u{00fc}rfe"),
        "* STATUS {9}\r\nEntw\u{00fc}rfe ()\r\n"
    );
    assert_eq!(name("a\r\nb"), "* STATUS {4}\r\na\r\nb ()\r\n");
    let env = Envelope {
        subject: s("x\ty"),
        ..Envelope::default()
    };
    assert_eq!(
        enc(&Response::Fetch(
            1,
            vec![FetchItem::Envelope(Box::new(env))]
        )),
        "* 1 FETCH (ENVELOPE (NIL {3}\r\nx\ty NIL NIL NIL NIL NIL NIL NIL NIL))\r\n"
    );
}

#[test]
fn internal_date_is_written_as_rfc_date_time() {
    assert_eq!(
        format_date_time(&datetime!(1996-07-17 02:44:25 -07:00)),
        "17-Jul-1996 02:44:25 -0700"
    );
    assert_eq!(
        format_date_time(&datetime!(2024-02-03 04:05:06 +05:30)),
        "03-Feb-2024 04:05:06 +0530"
    );
    assert_eq!(
        format_date_time(&datetime!(2000-01-01 00:00:00 -00:30)),
        "01-Jan-2000 00:00:00 -0030"
    );
}

#[test]
fn client_side_command_encoding_is_exact() {
    let login = Command::Login {
        username: "mrc".into(),
        password: "se cret\"".into(),
    };
    assert_eq!(login.encode("a001"), b"a001 LOGIN mrc \"se cret\\\"\"\r\n");
    let login = Command::Login {
        username: "m\u{00fc}".into(),
        password: String::new(),
    };
    assert_eq!(
        login.encode("a"),
        "a LOGIN {3+}\r\nm\u{00fc} \"\"\r\n".as_bytes()
    );
    let cmd = append_one("INBOX", vec![Flag::Seen], b"a\0", true);
    assert_eq!(cmd.encode("t"), b"t APPEND INBOX (\\Seen) ~{2+}\r\na\0\r\n");
}

#[test]
fn response_complete_frames_encoded_responses() {
    use mailstead_imap_proto::client::response_complete;
    let r = enc(&Response::Fetch(
        1,
        vec![FetchItem::Rfc822 {
            attr: "RFC822",
            data: b"a\r\nb\r\n".to_vec(),
        }],
    ));
    let mut buf = r.clone().into_bytes();
    buf.extend_from_slice(b"* 2 EXISTS\r\n");
    assert_eq!(response_complete(&buf), Some(r.len()));
}
