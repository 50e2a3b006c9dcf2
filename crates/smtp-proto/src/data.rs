//! The DATA phase: a streaming decoder for what follows `354`, and the matching encoder.
//!
//! RFC 5321 §4.1.1.4: the mail data ends with `<CRLF>.<CRLF>`; §4.5.2: a line beginning
//! with `.` has had one `.` added by the sender ("dot-stuffing"), which the receiver
//! removes. The data may begin with the end marker's `.<CRLF>` directly (an empty
//! message: the CRLF of the `DATA` command line counts).
//!
//! # Line endings and SMTP smuggling
//!
//! Only CRLF ends a line for the protocol: the end marker is recognised only as a real
//! `CRLF "." CRLF`, and a leading dot is removed only after a real CRLF. A bare LF (RFC
//! 5321 §2.3.8: servers should not accept it as a line ending) is stored normalised to
//! CRLF and counted in [`DataDecoder::bare_lf_seen`]; a bare CR is stored as is and counted
//! in [`DataDecoder::bare_cr_seen`]. This keeps `<LF>.<LF>`, `<LF>.<CRLF>` and
//! `<CR>.<CR>` from ending the message here while another MTA would end it there
//! ("SMTP smuggling", CVE-2023-51764 and friends); the server decides whether to reject
//! such messages. [`dot_stuff`] never emits a bare CR or LF.

/// Where the decoder is within the protocol's line structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line (after CRLF, or at the very beginning).
    LineStart,
    /// At the start of a line, after a `.`.
    Dot,
    /// At the start of a line, after `.` CR: LF completes the end marker.
    DotCr,
    /// Inside a line.
    Text,
    /// After a CR inside a line (or a CR that began one).
    Cr,
    /// The end marker has been seen.
    Done,
}

/// What [`DataDecoder::feed`] made of its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataProgress {
    /// All `consumed` (= all) input bytes belonged to the message; feed more.
    NeedMore {
        /// Bytes of the input taken.
        consumed: usize,
    },
    /// The end marker ended at `consumed`; later bytes are pipelined commands.
    Done {
        /// Bytes of the input taken, end marker included.
        consumed: usize,
    },
}

/// Streaming DATA decoder: feed it the bytes after the `354` reply in chunks of any size.
///
/// The result is the same for any split of the input into chunks.
#[derive(Debug, Clone)]
pub struct DataDecoder {
    max_size: u64,
    state: State,
    message: Vec<u8>,
    size: u64,
    too_big: bool,
    bare_lf: u64,
    bare_cr: u64,
    nul: u64,
    line_len: usize,
    longest_line: usize,
}

impl DataDecoder {
    /// A decoder storing at most `max_size` decoded octets (pass `u64::MAX` for no limit).
    pub fn new(max_size: u64) -> Self {
        Self {
            max_size,
            state: State::LineStart,
            message: Vec::new(),
            size: 0,
            too_big: false,
            bare_lf: 0,
            bare_cr: 0,
            nul: 0,
            line_len: 0,
            longest_line: 0,
        }
    }

    /// Decodes `input`; see [`DataProgress`]. After `Done`, further input is not consumed.
    pub fn feed(&mut self, input: &[u8]) -> DataProgress {
        if self.state == State::Done {
            return DataProgress::Done { consumed: 0 };
        }
        for (i, &b) in input.iter().enumerate() {
            self.step(b);
            if self.state == State::Done {
                return DataProgress::Done { consumed: i + 1 };
            }
        }
        DataProgress::NeedMore {
            consumed: input.len(),
        }
    }

    fn step(&mut self, b: u8) {
        if b != b'\r' && b != b'\n' {
            self.line_len += 1;
        }
        match self.state {
            State::LineStart => match b {
                b'.' => self.state = State::Dot,
                _ => self.text(b),
            },
            State::Dot => match b {
                b'\r' => self.state = State::DotCr,
                // RFC 5321 §4.5.2: "If the first character is a period and there are
                // other characters on the line, the first character is deleted."
                _ => self.text(b),
            },
            State::DotCr => {
                if b == b'\n' {
                    self.end_line();
                    self.state = State::Done;
                } else {
                    // `.` CR x: the dot was a stuffed one, the CR a bare CR.
                    self.bare_cr();
                    self.text(b);
                }
            }
            State::Text => self.text(b),
            State::Cr => {
                if b == b'\n' {
                    self.store(b"\r\n");
                    self.end_line();
                    self.state = State::LineStart;
                } else {
                    self.bare_cr();
                    self.text(b);
                }
            }
            State::Done => {}
        }
    }

    /// A byte inside a line (`Text` state semantics).
    fn text(&mut self, b: u8) {
        match b {
            b'\r' => self.state = State::Cr,
            b'\n' => {
                // Bare LF: stored as CRLF, but not a line end for the protocol.
                self.bare_lf += 1;
                self.store(b"\r\n");
                self.end_line();
                self.state = State::Text;
            }
            _ => {
                if b == 0 {
                    self.nul += 1;
                }
                self.store(&[b]);
                self.state = State::Text;
            }
        }
    }

    fn bare_cr(&mut self) {
        self.bare_cr += 1;
        self.store(b"\r");
    }

    fn end_line(&mut self) {
        self.longest_line = self.longest_line.max(self.line_len);
        self.line_len = 0;
    }

    fn store(&mut self, bytes: &[u8]) {
        self.size = self.size.saturating_add(bytes.len() as u64);
        if self.too_big {
            return;
        }
        if self.size > self.max_size {
            self.too_big = true;
            // The message will be refused with 552 5.3.4; free its memory now.
            self.message = Vec::new();
            return;
        }
        self.message.extend_from_slice(bytes);
    }

    /// True once the end marker has been seen.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The decoded message so far (CRLF line endings, dots unstuffed); empty once
    /// [`too_big`](Self::too_big). Leaves the decoder's buffer empty.
    pub fn take_message(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.message)
    }

    /// The decoded size in octets, counting what was not stored once too big.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// True once the decoded size exceeds `max_size` (RFC 1870 §6: reply 552 5.3.4 after
    /// the end marker). Decoding continues to find the end, but nothing more is stored.
    pub fn too_big(&self) -> bool {
        self.too_big
    }

    /// How many bare LFs (LF without CR before it) were seen, each stored as CRLF.
    pub fn bare_lf_seen(&self) -> u64 {
        self.bare_lf
    }

    /// How many bare CRs (CR without LF after it) were seen, each stored as is.
    pub fn bare_cr_seen(&self) -> u64 {
        self.bare_cr
    }

    /// How many NUL octets were seen (and stored).
    pub fn nul_seen(&self) -> u64 {
        self.nul
    }

    /// The longest line seen, in octets on the wire without its line ending (a bare LF
    /// ends a line here, as it does in the stored message). RFC 5321 §4.5.3.1.6 limits a
    /// text line to 1000 octets including CRLF, i.e. 998 here; the server decides.
    pub fn longest_line(&self) -> usize {
        self.longest_line.max(self.line_len)
    }
}

/// Encodes a message for DATA: a `.` is added before every line that begins with `.`
/// (RFC 5321 §4.5.2), a final CRLF is added if the message does not end with one, then the
/// end marker `.` CRLF.
///
/// Bare CR and bare LF are sent as CRLF, so the output never holds a line ending another
/// MTA could read differently. For a message with CRLF line endings only (ending in
/// CRLF, or empty), `DataDecoder` gives back exactly `message`.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 5);
    let mut line_start = true;
    let mut i = 0;
    while let Some(&b) = message.get(i) {
        match b {
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                // CRLF is one line ending, not two.
                i += if b == b'\r' && message.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                line_start = true;
                continue;
            }
            b'.' if line_start => out.extend_from_slice(b".."),
            _ => out.push(b),
        }
        line_start = false;
        i += 1;
    }
    if !line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(input: &[u8], max: u64) -> (DataDecoder, DataProgress) {
        let mut d = DataDecoder::new(max);
        let p = d.feed(input);
        (d, p)
    }

    #[test]
    fn simple_message_and_pipelined_rest() {
        let input = b"Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n";
        let (mut d, p) = decode_all(input, 1000);
        assert_eq!(
            p,
            DataProgress::Done {
                consumed: input.len() - 6
            }
        );
        assert_eq!(d.take_message(), b"Subject: hi\r\n\r\nbody\r\n");
        assert!(!d.too_big());
        assert_eq!(d.bare_lf_seen(), 0);
        assert_eq!(d.longest_line(), 11);
    }

    #[test]
    fn empty_message_is_just_the_end_marker() {
        let (mut d, p) = decode_all(b".\r\nRSET\r\n", 10);
        assert_eq!(p, DataProgress::Done { consumed: 3 });
        assert!(d.take_message().is_empty());
    }

    #[test]
    fn dots_are_unstuffed() {
        let (mut d, p) = decode_all(b"..\r\n...x\r\na.b\r\n.\r\n", 100);
        assert!(matches!(p, DataProgress::Done { .. }));
        assert_eq!(d.take_message(), b".\r\n..x\r\na.b\r\n");
    }

    #[test]
    fn bare_lf_is_normalised_and_never_ends_the_message() {
        for smuggle in [
            &b"a\n.\nb\r\n.\r\n"[..],
            b"a\n.\r\nb\r\n.\r\n",
            b"a\r\n.\nb\r\n.\r\n",
        ] {
            let (mut d, p) = decode_all(smuggle, 100);
            assert_eq!(
                p,
                DataProgress::Done {
                    consumed: smuggle.len()
                }
            );
            assert!(d.bare_lf_seen() > 0);
            let m = d.take_message();
            assert!(m.ends_with(b"b\r\n"), "{m:?}");
        }
        let (mut d, _) = decode_all(b"a\nb\r\n.\r\n", 100);
        assert_eq!(d.take_message(), b"a\r\nb\r\n");
        assert_eq!(d.bare_lf_seen(), 1);
    }

    #[test]
    fn bare_cr_is_kept_and_never_ends_the_message() {
        let input = b"a\r.\rb\r\n.\r\n";
        let (mut d, p) = decode_all(input, 100);
        assert_eq!(
            p,
            DataProgress::Done {
                consumed: input.len()
            }
        );
        assert_eq!(d.take_message(), b"a\r.\rb\r\n");
        assert_eq!(d.bare_cr_seen(), 2);
        // ".<CR>x" at a line start: stuffed dot removed, CR kept.
        let (mut d, _) = decode_all(b".\rx\r\n.\r\n", 100);
        assert_eq!(d.take_message(), b"\rx\r\n");
    }

    #[test]
    fn nul_is_counted() {
        let (d, _) = decode_all(b"a\0b\0\r\n.\r\n", 100);
        assert_eq!(d.nul_seen(), 2);
    }

    #[test]
    fn too_big_keeps_consuming_until_the_end() {
        let input = b"0123456789\r\n0123456789\r\n.\r\nQUIT\r\n";
        let (mut d, p) = decode_all(input, 12);
        assert_eq!(
            p,
            DataProgress::Done {
                consumed: input.len() - 6
            }
        );
        assert!(d.too_big());
        assert_eq!(d.size(), 24);
        assert!(d.take_message().is_empty());
        let (d, _) = decode_all(b"0123456789\r\n.\r\n", 12);
        assert!(!d.too_big());
    }

    #[test]
    fn longest_line_is_reported() {
        let mut input = vec![b'x'; 1200];
        input.extend_from_slice(b"\r\nshort\r\n.\r\n");
        let (d, _) = decode_all(&input, u64::MAX);
        assert_eq!(d.longest_line(), 1200);
    }

    #[test]
    fn feed_after_done_consumes_nothing() {
        let mut d = DataDecoder::new(10);
        assert_eq!(d.feed(b".\r\n"), DataProgress::Done { consumed: 3 });
        assert_eq!(d.feed(b"x"), DataProgress::Done { consumed: 0 });
        assert!(d.is_done());
    }

    #[test]
    fn dot_stuff_examples() {
        assert_eq!(dot_stuff(b""), b".\r\n");
        assert_eq!(dot_stuff(b"a"), b"a\r\n.\r\n");
        assert_eq!(dot_stuff(b".a\r\n.\r\n"), b"..a\r\n..\r\n.\r\n");
        assert_eq!(dot_stuff(b"a\nb\rc"), b"a\r\nb\r\nc\r\n.\r\n");
    }

    /// Messages with CRLF line endings only.
    fn crlf_message() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            proptest::collection::vec(
                prop_oneof![
                    Just(b'.'),
                    Just(b'\0'),
                    any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n')
                ],
                0..12,
            ),
            0..8,
        )
        .prop_map(|lines| {
            let mut m = Vec::new();
            for l in lines {
                m.extend_from_slice(&l);
                m.extend_from_slice(b"\r\n");
            }
            m
        })
    }

    fn feed_in_chunks(d: &mut DataDecoder, wire: &[u8], cuts: &[usize]) -> Option<usize> {
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
        points.push(0);
        points.push(wire.len());
        points.sort_unstable();
        points.dedup();
        let mut total = 0;
        for w in points.windows(2) {
            match d.feed(&wire[w[0]..w[1]]) {
                DataProgress::NeedMore { consumed } => total += consumed,
                DataProgress::Done { consumed } => return Some(total + consumed),
            }
        }
        None
    }

    proptest! {
        #[test]
        fn decode_of_dot_stuffed_message_in_any_chunks_gives_it_back(
            message in crlf_message(),
            cuts in proptest::collection::vec(any::<usize>(), 0..10),
            tail in proptest::collection::vec(any::<u8>(), 0..10),
        ) {
            let mut wire = dot_stuff(&message);
            let len = wire.len();
            wire.extend_from_slice(&tail);
            let mut d = DataDecoder::new(u64::MAX);
            prop_assert_eq!(feed_in_chunks(&mut d, &wire, &cuts), Some(len));
            prop_assert_eq!(d.take_message(), message);
            prop_assert_eq!(d.bare_lf_seen(), 0);
            prop_assert_eq!(d.bare_cr_seen(), 0);
        }

        #[test]
        fn any_input_in_any_chunks_decodes_the_same(
            input in proptest::collection::vec(prop_oneof![Just(b'.'), Just(b'\r'), Just(b'\n'), any::<u8>()], 0..64),
            cuts in proptest::collection::vec(any::<usize>(), 0..10),
            max in 0u64..40,
        ) {
            let mut whole = DataDecoder::new(max);
            let p = whole.feed(&input);
            let mut chunked = DataDecoder::new(max);
            let done = feed_in_chunks(&mut chunked, &input, &cuts);
            match p {
                DataProgress::Done { consumed } => prop_assert_eq!(done, Some(consumed)),
                DataProgress::NeedMore { .. } => prop_assert_eq!(done, None),
            }
            prop_assert!(whole.take_message().len() as u64 <= max);
            prop_assert_eq!(whole.size(), chunked.size());
            prop_assert_eq!(whole.too_big(), chunked.too_big());
            prop_assert_eq!(whole.bare_lf_seen(), chunked.bare_lf_seen());
            prop_assert_eq!(whole.longest_line(), chunked.longest_line());
        }

        #[test]
        fn dot_stuff_output_is_crlf_clean_and_decodes(message in proptest::collection::vec(any::<u8>(), 0..64)) {
            let wire = dot_stuff(&message);
            let mut d = DataDecoder::new(u64::MAX);
            prop_assert_eq!(d.feed(&wire), DataProgress::Done { consumed: wire.len() });
            prop_assert_eq!(d.bare_lf_seen() + d.bare_cr_seen(), 0);
        }
    }
}
