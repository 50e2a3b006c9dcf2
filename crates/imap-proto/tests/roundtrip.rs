//! Round trips: every `Command` value the strategies below can build encodes to bytes
//! that `parse_command` reads back to the same value; modified UTF-7 decodes what it
//! encodes; arbitrary bytes never make the parser panic.

use mailstead_imap_proto::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

const MAX_U63: u64 = i64::MAX as u64;

/// Characters that make string encoding interesting: quotes, backslashes, CR/LF, space,
/// non-ASCII and any other non-NUL character.
fn awkward_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('a', 'z'),
        1 => Just('"'),
        1 => Just('\\'),
        1 => Just('\r'),
        1 => Just('\n'),
        1 => Just(' '),
        1 => Just('%'),
        1 => Just('{'),
        1 => Just(']'),
        1 => Just('\u{00e9}'),
        1 => Just('\u{1f600}'),
        1 => any::<char>().prop_filter("no NUL", |c| *c != '\0'),
    ]
}

fn awkward_string() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        1 => Just("NIL".to_owned()),
        8 => vec(awkward_char(), 0..12).prop_map(|cs| cs.into_iter().collect()),
    ]
}

/// Raw mailbox octets: anything but NUL (a literal may not hold NUL).
fn mailbox() -> impl Strategy<Value = MailboxName> {
    prop_oneof![
        Just(MailboxName(b"INBOX".to_vec())),
        Just(MailboxName(Vec::new())),
        awkward_string().prop_map(|s| MailboxName(s.into_bytes())),
        vec(1u8..=255, 0..10).prop_map(MailboxName),
    ]
}

const ATOM_CHARS: &str = "abcXYZ019!#$&'+,-./:;<=>?@[^_`|~";

fn atom() -> impl Strategy<Value = String> {
    vec(
        proptest::sample::select(ATOM_CHARS.chars().collect::<Vec<_>>()),
        1..8,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

fn tag() -> impl Strategy<Value = String> {
    let chars: Vec<char> = ATOM_CHARS
        .chars()
        .filter(|&c| c != '+')
        .chain([']'])
        .collect();
    vec(proptest::sample::select(chars), 1..8).prop_map(|cs| cs.into_iter().collect())
}

fn flag() -> impl Strategy<Value = Flag> {
    prop_oneof![
        Just(Flag::Seen),
        Just(Flag::Answered),
        Just(Flag::Flagged),
        Just(Flag::Deleted),
        Just(Flag::Draft),
        Just(Flag::Recent),
        atom()
            .prop_filter("not a system flag", |a| {
                !["SEEN", "ANSWERED", "FLAGGED", "DELETED", "DRAFT", "RECENT"]
                    .contains(&a.to_ascii_uppercase().as_str())
            })
            .prop_map(Flag::Extension),
        atom().prop_map(Flag::Keyword),
    ]
}

fn seq_num() -> impl Strategy<Value = SeqNum> {
    prop_oneof![
        1 => Just(SeqNum::Star),
        2 => (1u32..20).prop_map(SeqNum::Value),
        2 => (1u32..=u32::MAX).prop_map(SeqNum::Value),
    ]
}

fn sequence_set() -> impl Strategy<Value = SequenceSet> {
    prop_oneof![
        1 => Just(SequenceSet::Saved),
        6 => vec(
            (seq_num(), seq_num()).prop_map(|(start, end)| SeqRange { start, end }),
            1..4
        )
        .prop_map(SequenceSet::Ranges),
    ]
}

fn date() -> impl Strategy<Value = Date> {
    (1000i32..=9999, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| {
        let month = time::Month::try_from(m).expect("1..=12");
        Date::from_calendar_date(y, month, d).expect("valid date")
    })
}

fn date_time() -> impl Strategy<Value = DateTime> {
    (date(), 0u8..24, 0u8..60, 0u8..60, -1439i32..=1439).prop_map(|(d, h, mi, s, off)| {
        let t = time::Time::from_hms(h, mi, s).expect("valid time");
        let off = time::UtcOffset::from_whole_seconds(off * 60).expect("valid offset");
        time::PrimitiveDateTime::new(d, t).assume_offset(off)
    })
}

fn status_item() -> impl Strategy<Value = StatusItem> {
    prop_oneof![
        Just(StatusItem::Messages),
        Just(StatusItem::Recent),
        Just(StatusItem::UidNext),
        Just(StatusItem::UidValidity),
        Just(StatusItem::Unseen),
        Just(StatusItem::Deleted),
        Just(StatusItem::Size),
        Just(StatusItem::HighestModSeq),
        Just(StatusItem::AppendLimit),
    ]
}

fn search_key() -> impl Strategy<Value = SearchKey> {
    use SearchKey as K;
    let leaf = prop_oneof![
        Just(K::All),
        Just(K::Answered),
        Just(K::Deleted),
        Just(K::Draft),
        Just(K::Flagged),
        Just(K::New),
        Just(K::Old),
        Just(K::Recent),
        Just(K::Seen),
        Just(K::Unanswered),
        Just(K::Undeleted),
        Just(K::Undraft),
        Just(K::Unflagged),
        Just(K::Unseen),
        awkward_string().prop_map(K::Bcc),
        awkward_string().prop_map(K::Body),
        awkward_string().prop_map(K::Cc),
        awkward_string().prop_map(K::From),
        awkward_string().prop_map(K::Subject),
        awkward_string().prop_map(K::Text),
        awkward_string().prop_map(K::To),
        (awkward_string(), awkward_string()).prop_map(|(f, v)| K::Header(f, v)),
        atom().prop_map(K::Keyword),
        atom().prop_map(K::Unkeyword),
        date().prop_map(K::Before),
        date().prop_map(K::On),
        date().prop_map(K::Since),
        date().prop_map(K::SentBefore),
        date().prop_map(K::SentOn),
        date().prop_map(K::SentSince),
        (0..=MAX_U63).prop_map(K::Larger),
        (0..=MAX_U63).prop_map(K::Smaller),
        (0..=MAX_U63).prop_map(K::ModSeq),
        sequence_set().prop_map(K::Uid),
        sequence_set().prop_map(K::SequenceSet),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|k| K::Not(Box::new(k))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| K::Or(Box::new(a), Box::new(b))),
            vec(inner, 1..4).prop_map(K::And),
        ]
    })
}

fn partial() -> impl Strategy<Value = Option<Partial>> {
    option::of(
        (any::<u32>(), 1u32..=u32::MAX).prop_map(|(origin, count)| Partial { origin, count }),
    )
}

fn part() -> impl Strategy<Value = Vec<u32>> {
    vec(prop_oneof![1u32..5, 1u32..=u32::MAX], 0..4)
}

fn header_names() -> impl Strategy<Value = Vec<String>> {
    vec(awkward_string(), 1..4)
}

fn section() -> impl Strategy<Value = Section> {
    (
        part(),
        option::of(prop_oneof![
            Just(SectionText::Header),
            Just(SectionText::Text),
            Just(SectionText::Mime),
            header_names().prop_map(SectionText::HeaderFields),
            header_names().prop_map(SectionText::HeaderFieldsNot),
        ]),
    )
        .prop_map(|(part, text)| {
            // MIME exists only after a part number.
            let text = match text {
                Some(SectionText::Mime) if part.is_empty() => Some(SectionText::Header),
                t => t,
            };
            Section { part, text }
        })
}

fn fetch_attr() -> impl Strategy<Value = FetchAttr> {
    use FetchAttr as A;
    prop_oneof![
        Just(A::Envelope),
        Just(A::Flags),
        Just(A::InternalDate),
        Just(A::Rfc822),
        Just(A::Rfc822Header),
        Just(A::Rfc822Size),
        Just(A::Rfc822Text),
        Just(A::Body),
        Just(A::BodyStructure),
        Just(A::Uid),
        Just(A::ModSeq),
        (any::<bool>(), section(), partial()).prop_map(|(peek, section, partial)| {
            A::BodySection {
                peek,
                section,
                partial,
            }
        }),
        (any::<bool>(), part(), partial()).prop_map(|(peek, part, partial)| A::Binary {
            peek,
            part,
            partial
        }),
        part().prop_map(|part| A::BinarySize { part }),
    ]
}

fn select_params() -> impl Strategy<Value = SelectParams> {
    let qresync = (
        1u32..=u32::MAX,
        1..=MAX_U63,
        option::of(sequence_set()),
        option::of((sequence_set(), sequence_set())),
    )
        .prop_map(
            |(uid_validity, mod_seq, known_uids, seq_match)| QresyncParams {
                uid_validity,
                mod_seq,
                known_uids,
                seq_match,
            },
        );
    (any::<bool>(), option::of(qresync))
        .prop_map(|(condstore, qresync)| SelectParams { condstore, qresync })
}

fn list_command() -> impl Strategy<Value = ListCommand> {
    let select = prop_oneof![
        Just(ListSelect::Subscribed),
        Just(ListSelect::Remote),
        Just(ListSelect::RecursiveMatch),
        Just(ListSelect::SpecialUse),
    ];
    let ret = prop_oneof![
        Just(ListReturn::Subscribed),
        Just(ListReturn::Children),
        Just(ListReturn::SpecialUse),
        vec(status_item(), 0..4).prop_map(ListReturn::Status),
    ];
    let pattern = prop_oneof![
        Just(MailboxName(b"*".to_vec())),
        Just(MailboxName(b"%".to_vec())),
        Just(MailboxName(b"Sent/%".to_vec())),
        mailbox(),
    ];
    (
        vec(select, 0..4),
        mailbox(),
        vec(pattern, 1..4),
        vec(ret, 0..4),
    )
        .prop_map(|(selection, reference, patterns, returns)| ListCommand {
            selection,
            reference,
            patterns,
            returns,
        })
}

fn append_message() -> impl Strategy<Value = AppendMessage> {
    (
        vec(flag(), 0..3),
        option::of(date_time()),
        vec(any::<u8>(), 0..40),
        any::<bool>(),
    )
        .prop_map(|(flags, date, mut data, binary)| {
            if !binary {
                // NUL only travels in a literal8.
                data.iter_mut().filter(|b| **b == 0).for_each(|b| *b = 1);
            }
            AppendMessage {
                flags,
                date,
                data,
                binary,
            }
        })
}

fn command() -> impl Strategy<Value = Command> {
    let simple = prop_oneof![
        Just(Command::Capability),
        Just(Command::Noop),
        Just(Command::Logout),
        Just(Command::StartTls),
        Just(Command::Namespace),
        Just(Command::Idle),
        Just(Command::Check),
        Just(Command::Close),
        Just(Command::Unselect),
        Just(Command::Expunge),
    ];
    let auth = prop_oneof![
        (awkward_string(), awkward_string())
            .prop_map(|(username, password)| Command::Login { username, password }),
        (
            "[A-Z0-9_-]{1,12}",
            option::of(prop_oneof![
                Just("=".to_owned()),
                "[A-Za-z0-9+/]{1,16}={0,2}"
            ])
        )
            .prop_map(|(mechanism, initial_response)| Command::Authenticate {
                mechanism,
                initial_response,
            }),
        vec(atom(), 1..4).prop_map(Command::Enable),
        (mailbox(), select_params())
            .prop_map(|(mailbox, params)| Command::Select { mailbox, params }),
        (mailbox(), select_params())
            .prop_map(|(mailbox, params)| Command::Examine { mailbox, params }),
        (mailbox(), vec(atom().prop_map(|a| format!("\\{a}")), 0..3)).prop_map(
            |(mailbox, special_use)| Command::Create {
                mailbox,
                special_use
            }
        ),
        mailbox().prop_map(Command::Delete),
        (mailbox(), mailbox()).prop_map(|(from, to)| Command::Rename { from, to }),
        mailbox().prop_map(Command::Subscribe),
        mailbox().prop_map(Command::Unsubscribe),
        list_command().prop_map(Command::List),
        (mailbox(), mailbox())
            .prop_map(|(reference, pattern)| Command::Lsub { reference, pattern }),
        (mailbox(), vec(status_item(), 0..5))
            .prop_map(|(mailbox, items)| Command::Status { mailbox, items }),
        (mailbox(), vec(append_message(), 1..4))
            .prop_map(|(mailbox, messages)| Command::Append { mailbox, messages }),
    ];
    let selected =
        prop_oneof![
            sequence_set().prop_map(Command::UidExpunge),
            (
                any::<bool>(),
                option::of(vec(
                    prop_oneof![
                        Just(SearchReturn::Min),
                        Just(SearchReturn::Max),
                        Just(SearchReturn::All),
                        Just(SearchReturn::Count),
                        Just(SearchReturn::Save),
                    ],
                    0..4
                )),
                option::of(prop_oneof![
                    Just("UTF-8".to_owned()),
                    Just("US-ASCII".to_owned())
                ]),
                vec(search_key(), 1..4),
            )
                .prop_map(|(uid, returns, charset, keys)| Command::Search {
                    uid,
                    returns,
                    charset,
                    criteria: SearchKey::And(keys),
                }),
            (
                any::<bool>(),
                sequence_set(),
                vec(fetch_attr(), 1..5),
                option::of(1..=MAX_U63),
                any::<bool>()
            )
                .prop_map(|(uid, set, attrs, changed_since, vanished)| {
                    Command::Fetch {
                        uid,
                        set,
                        attrs,
                        modifiers: FetchModifiers {
                            changed_since,
                            vanished: vanished && uid,
                        },
                    }
                }),
            (
                any::<bool>(),
                sequence_set(),
                option::of(0..=MAX_U63),
                prop_oneof![
                    Just(StoreKind::Replace),
                    Just(StoreKind::Add),
                    Just(StoreKind::Remove)
                ],
                any::<bool>(),
                vec(flag(), 0..4),
            )
                .prop_map(|(uid, set, unchanged_since, kind, silent, flags)| {
                    Command::Store {
                        uid,
                        set,
                        unchanged_since,
                        kind,
                        silent,
                        flags,
                    }
                }),
            (any::<bool>(), sequence_set(), mailbox())
                .prop_map(|(uid, set, mailbox)| Command::Copy { uid, set, mailbox }),
            (any::<bool>(), sequence_set(), mailbox())
                .prop_map(|(uid, set, mailbox)| Command::Move { uid, set, mailbox }),
        ];
    let other = prop_oneof![
        option::of(vec((awkward_string(), option::of(awkward_string())), 0..4))
            .prop_map(Command::Id),
        awkward_string().prop_map(Command::GetQuota),
        mailbox().prop_map(Command::GetQuotaRoot),
        awkward_string().prop_map(Command::SetQuota),
    ];
    prop_oneof![1 => simple, 4 => auth, 4 => selected, 1 => other]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn every_command_survives_encode_then_parse(tag in tag(), command in command()) {
        let wire = command.encode(&tag);
        let parsed = parse_command(&wire);
        prop_assert_eq!(
            parsed,
            Ok(CommandLine { tag, command }),
            "wire: {:?}",
            String::from_utf8_lossy(&wire)
        );
    }

    #[test]
    fn mutf7_decodes_what_it_encodes(name in any::<String>()) {
        let encoded = mutf7::encode(&name);
        prop_assert!(encoded.bytes().all(|b| (0x20..=0x7e).contains(&b)));
        prop_assert_eq!(mutf7::decode(encoded.as_bytes()), Some(name));
    }

    #[test]
    fn mutf7_decode_never_panics(bytes in vec(any::<u8>(), 0..32)) {
        if let Some(s) = mutf7::decode(&bytes) {
            // What decodes re-encodes to something that decodes to the same name.
            prop_assert_eq!(mutf7::decode(mutf7::encode(&s).as_bytes()), Some(s));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_what_parses_round_trips(
        prefix in prop_oneof![
            Just(&b"a "[..]), Just(&b"a UID "[..]), Just(&b"a SEARCH "[..]),
            Just(&b"a FETCH 1 "[..]), Just(&b"a LIST "[..]), Just(&b""[..]),
        ],
        body in vec(prop_oneof![
            any::<u8>(),
            proptest::sample::select(b" ()[]<>{}\"\\*%$:,.+-~\r\n0123456789".to_vec()),
        ], 0..40),
    ) {
        let mut input = prefix.to_vec();
        input.extend_from_slice(&body);
        let _ = literal_at_end(&input);
        if let Ok(line) = parse_command(&input) {
            let again = parse_command(&line.command.encode(&line.tag));
            prop_assert_eq!(again, Ok(line));
        }
    }
}
