//! The command parser (RFC 9051 §9 / RFC 3501 §9 and the extensions' ABNF).
//!
//! A hand-written recursive-descent parser over the complete command as it came on the
//! wire: lines and the literals between them (`{n}` / `{n+}` CRLF, then `n` octets). Each
//! method is named after the ABNF rule it implements and quotes it. Keywords are
//! case-insensitive; strings keep their octets. Parenthesised SEARCH keys, `NOT` and `OR`
//! nest at most [`MAX_SEARCH_DEPTH`] levels, so no input can exhaust the stack.

use crate::types::{
    AppendMessage, Command, CommandLine, Date, DateTime, FetchAttr, FetchModifiers, Flag,
    ListCommand, ListReturn, ListSelect, MailboxName, Partial, QresyncParams, SearchKey,
    SearchReturn, Section, SectionText, SelectParams, SeqNum, SeqRange, SequenceSet, StatusItem,
    StoreKind,
};

/// Why a command could not be parsed; answered with `tag BAD text` (or `* BAD` when not
/// even the tag could be read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// The tag, when one was read.
    pub tag: Option<String>,
    /// What is wrong, for the client.
    pub message: String,
}

/// How deep parenthesised SEARCH keys, `NOT` and `OR` may nest.
pub const MAX_SEARCH_DEPTH: usize = 100;

/// Largest mod-sequence (RFC 7162 §7: 63-bit) and `number64` (RFC 9051 §9).
const MAX_U63: u64 = i64::MAX as u64;

/// Parses one complete command: every line and literal as received, the last line with
/// its CRLF.
pub fn parse_command(input: &[u8]) -> Result<CommandLine, ParseError> {
    let mut p = Parser { s: input, i: 0 };
    let tag = p
        .tag()
        .map_err(|message| ParseError { tag: None, message })?;
    let with_tag = |message| ParseError {
        tag: Some(tag.clone()),
        message,
    };
    if !p.eat(b' ') {
        return Err(with_tag("missing command".to_owned()));
    }
    let command = p.command().map_err(with_tag)?;
    Ok(CommandLine { tag, command })
}

type PResult<T> = Result<T, String>;

fn err<T>(message: &str) -> PResult<T> {
    Err(message.to_owned())
}

/// `ATOM-CHAR = <any CHAR except atom-specials>`; atom-specials are
/// `( ) { SP CTL % * " \ ]`.
pub(crate) fn is_atom_char(b: u8) -> bool {
    matches!(b, 0x21..=0x7e) && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// `ASTRING-CHAR = ATOM-CHAR / resp-specials`
pub(crate) fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// `list-char = ATOM-CHAR / list-wildcards / resp-specials`
pub(crate) fn is_list_char(b: u8) -> bool {
    is_astring_char(b) || b == b'%' || b == b'*'
}

/// `tag = 1*<any ASTRING-CHAR except "+">`
pub(crate) fn is_tag_char(b: u8) -> bool {
    is_astring_char(b) && b != b'+'
}

/// Cursor over the command's octets.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, k: usize) -> Option<u8> {
        self.s.get(self.i + k).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8, message: &str) -> PResult<()> {
        if self.eat(b) { Ok(()) } else { err(message) }
    }

    fn sp(&mut self) -> PResult<()> {
        self.expect(b' ', "expected a space")
    }

    fn open(&mut self) -> PResult<()> {
        self.expect(b'(', "expected \"(\"")
    }

    fn close(&mut self) -> PResult<()> {
        self.expect(b')', "expected \")\"")
    }

    /// True at CR or LF: the end of the command (no literal can start there).
    fn at_eol(&self) -> bool {
        matches!(self.peek(), Some(b'\r' | b'\n') | None)
    }

    /// `CRLF` (or a bare LF) ending the command, and nothing after it.
    fn end(&mut self) -> PResult<()> {
        let rest = &self.s[self.i.min(self.s.len())..];
        match rest {
            b"\r\n" | b"\n" => {
                self.i = self.s.len();
                Ok(())
            }
            [] => err("missing CRLF at the end of the command"),
            [b'\r' | b'\n', ..] => err("data after the end of the command"),
            _ => err("unexpected characters at the end of the command"),
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &[u8] {
        let start = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        &self.s[start..self.i]
    }

    /// `tag`, which must be followed by SP or the end of the line to count as read.
    fn tag(&mut self) -> PResult<String> {
        let tag = self.take_while(is_tag_char);
        if tag.is_empty() {
            return err("missing or invalid tag");
        }
        // Only ASCII octets pass is_tag_char.
        let tag = String::from_utf8_lossy(tag).into_owned();
        match self.peek() {
            Some(b' ' | b'\r' | b'\n') | None => Ok(tag),
            _ => err("invalid character in tag"),
        }
    }

    /// `atom = 1*ATOM-CHAR`
    fn atom(&mut self) -> PResult<&[u8]> {
        let a = self.take_while(is_atom_char);
        if a.is_empty() {
            return err("expected an atom");
        }
        Ok(a)
    }

    /// An atom read as an upper-cased keyword.
    fn keyword(&mut self) -> PResult<String> {
        let a = self.atom()?;
        Ok(String::from_utf8_lossy(a).to_ascii_uppercase())
    }

    /// An atom as a string (atoms are ASCII).
    fn atom_string(&mut self) -> PResult<String> {
        let a = self.atom()?;
        Ok(String::from_utf8_lossy(a).into_owned())
    }

    /// `number = 1*DIGIT` (32 bit)
    fn number(&mut self) -> PResult<u32> {
        let n = self.number64_any()?;
        u32::try_from(n).map_err(|_| "number too large".to_owned())
    }

    /// `nz-number = digit-nz *DIGIT` (32 bit)
    fn nz_number(&mut self) -> PResult<u32> {
        match self.number()? {
            0 => err("zero is not a valid number here"),
            n => Ok(n),
        }
    }

    /// `number64 = 1*DIGIT` (63 bit), also `mod-sequence-valzer`.
    fn number64(&mut self) -> PResult<u64> {
        let n = self.number64_any()?;
        if n > MAX_U63 {
            return err("number too large");
        }
        Ok(n)
    }

    /// `mod-sequence-value = 1*DIGIT` (positive, 63 bit; RFC 7162 §7).
    fn mod_sequence_value(&mut self) -> PResult<u64> {
        match self.number64()? {
            0 => err("mod-sequence must be positive"),
            n => Ok(n),
        }
    }

    fn number64_any(&mut self) -> PResult<u64> {
        let digits = self.take_while(|b| b.is_ascii_digit());
        if digits.is_empty() {
            return err("expected a number");
        }
        let mut n: u64 = 0;
        for d in digits {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .ok_or_else(|| "number too large".to_owned())?;
        }
        Ok(n)
    }

    /// `literal = "{" number64 ["+"] "}" CRLF *CHAR8`; with `binary`, also RFC 3516
    /// `literal8 = "~{" number64 ["+"] "}" CRLF *OCTET`. Returns the octets and whether
    /// it was a literal8.
    fn literal(&mut self, binary_ok: bool) -> PResult<(Vec<u8>, bool)> {
        let binary = self.eat(b'~');
        if binary && !binary_ok {
            return err("literal8 is not allowed here");
        }
        self.expect(b'{', "expected a literal")?;
        let len = self.number64_any()?;
        self.eat(b'+');
        self.expect(b'}', "invalid literal")?;
        self.eat(b'\r');
        self.expect(b'\n', "literal size must end the line")?;
        let len = usize::try_from(len).map_err(|_| "literal too large".to_owned())?;
        let end = self
            .i
            .checked_add(len)
            .filter(|&end| end <= self.s.len())
            .ok_or_else(|| "literal runs past the end of the command".to_owned())?;
        let data = self.s[self.i..end].to_vec();
        if !binary && data.contains(&0) {
            return err("NUL in a literal (use literal8)");
        }
        self.i = end;
        Ok((data, binary))
    }

    /// `quoted = DQUOTE *QUOTED-CHAR DQUOTE`;
    /// `QUOTED-CHAR = <any TEXT-CHAR except quoted-specials> / "\" quoted-specials / UTF8-2..4`
    fn quoted(&mut self) -> PResult<Vec<u8>> {
        self.expect(b'"', "expected a quoted string")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None | Some(b'\r' | b'\n' | 0) => return err("unterminated quoted string"),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    match self.peek_at(1) {
                        Some(c @ (b'"' | b'\\')) => out.push(c),
                        _ => return err("invalid escape in quoted string"),
                    }
                    self.i += 2;
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    /// `string = quoted / literal`
    fn string(&mut self) -> PResult<Vec<u8>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => Ok(self.literal(false)?.0),
            _ => err("expected a string"),
        }
    }

    /// `astring = 1*ASTRING-CHAR / string`
    fn astring(&mut self) -> PResult<Vec<u8>> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let a = self.take_while(is_astring_char);
                if a.is_empty() {
                    return err("expected a string");
                }
                Ok(a.to_vec())
            }
        }
    }

    /// An astring that must be UTF-8.
    fn astring_utf8(&mut self) -> PResult<String> {
        String::from_utf8(self.astring()?).map_err(|_| "string is not UTF-8".to_owned())
    }

    /// `nstring = string / nil`
    fn nstring(&mut self) -> PResult<Option<Vec<u8>>> {
        if self.peek().is_some_and(|b| b.eq_ignore_ascii_case(&b'n')) {
            let a = self.atom()?;
            if a.eq_ignore_ascii_case(b"NIL") {
                return Ok(None);
            }
            return err("expected a string or NIL");
        }
        self.string().map(Some)
    }

    /// `mailbox = "INBOX" / astring` (raw octets; the server decodes them).
    fn mailbox(&mut self) -> PResult<MailboxName> {
        self.astring().map(MailboxName)
    }

    /// `list-mailbox = 1*list-char / string`
    fn list_mailbox(&mut self) -> PResult<MailboxName> {
        match self.peek() {
            Some(b'"' | b'{') => self.string().map(MailboxName),
            _ => {
                let a = self.take_while(is_list_char);
                if a.is_empty() {
                    return err("expected a mailbox pattern");
                }
                Ok(MailboxName(a.to_vec()))
            }
        }
    }

    /// `seq-number = nz-number / "*"`
    fn seq_number(&mut self) -> PResult<SeqNum> {
        if self.eat(b'*') {
            Ok(SeqNum::Star)
        } else {
            self.nz_number().map(SeqNum::Value)
        }
    }

    /// `sequence-set = (seq-number / seq-range) ["," sequence-set]` /
    /// `"$"` (RFC 5182 `seq-last-command`)
    fn sequence_set(&mut self) -> PResult<SequenceSet> {
        if self.eat(b'$') {
            return Ok(SequenceSet::Saved);
        }
        let mut ranges = Vec::new();
        loop {
            let start = self.seq_number()?;
            let end = if self.eat(b':') {
                self.seq_number()?
            } else {
                start
            };
            ranges.push(SeqRange { start, end });
            if !self.eat(b',') {
                return Ok(SequenceSet::Ranges(ranges));
            }
        }
    }

    /// `flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" /
    /// flag-keyword / flag-extension`
    fn flag(&mut self) -> PResult<Flag> {
        if self.eat(b'\\') {
            let name = self.atom_string()?;
            let flag = match name.to_ascii_uppercase().as_str() {
                "SEEN" => Flag::Seen,
                "ANSWERED" => Flag::Answered,
                "FLAGGED" => Flag::Flagged,
                "DELETED" => Flag::Deleted,
                "DRAFT" => Flag::Draft,
                "RECENT" => Flag::Recent,
                _ => Flag::Extension(name),
            };
            Ok(flag)
        } else {
            self.atom_string().map(Flag::Keyword)
        }
    }

    /// `flag-list = "(" [flag *(SP flag)] ")"`
    fn flag_list(&mut self) -> PResult<Vec<Flag>> {
        self.open()?;
        let mut flags = Vec::new();
        if self.eat(b')') {
            return Ok(flags);
        }
        loop {
            flags.push(self.flag()?);
            if self.eat(b')') {
                return Ok(flags);
            }
            self.sp()?;
        }
    }

    /// A parenthesised, space-separated, possibly empty list.
    fn paren_list<T>(&mut self, mut item: impl FnMut(&mut Self) -> PResult<T>) -> PResult<Vec<T>> {
        self.open()?;
        let mut items = Vec::new();
        if self.eat(b')') {
            return Ok(items);
        }
        loop {
            items.push(item(self)?);
            if self.eat(b')') {
                return Ok(items);
            }
            self.sp()?;
        }
    }

    /// `date = date-text / DQUOTE date-text DQUOTE`;
    /// `date-text = date-day "-" date-month "-" date-year`
    fn date(&mut self) -> PResult<Date> {
        let quoted = self.eat(b'"');
        let day = self.take_while(|b| b.is_ascii_digit());
        if day.is_empty() || day.len() > 2 {
            return err("invalid date");
        }
        let day = day.iter().fold(0u8, |a, d| a * 10 + (d - b'0'));
        self.expect(b'-', "invalid date")?;
        let (month, year) = self.month_year()?;
        if quoted {
            self.expect(b'"', "invalid date")?;
        }
        Date::from_calendar_date(year, month, day).map_err(|_| "invalid date".to_owned())
    }

    /// `date-month "-" date-year`
    fn month_year(&mut self) -> PResult<(time::Month, i32)> {
        let name = self.s.get(self.i..self.i + 3).ok_or("invalid date")?;
        let month = month_from_name(name).ok_or("invalid month")?;
        self.i += 3;
        self.expect(b'-', "invalid date")?;
        let year = self.fixed_digits(4).ok_or("invalid year")?;
        Ok((month, year as i32))
    }

    /// Exactly `n` digits.
    fn fixed_digits(&mut self, n: usize) -> Option<u32> {
        let d = self.s.get(self.i..self.i + n)?;
        if !d.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i += n;
        Some(d.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0')))
    }

    /// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`
    /// (a day without the leading space or zero is accepted too).
    fn date_time(&mut self) -> PResult<DateTime> {
        const BAD: &str = "invalid date-time";
        self.expect(b'"', BAD)?;
        self.eat(b' ');
        let day = self.take_while(|b| b.is_ascii_digit());
        if day.is_empty() || day.len() > 2 {
            return err(BAD);
        }
        let day = day.iter().fold(0u8, |a, d| a * 10 + (d - b'0'));
        self.expect(b'-', BAD)?;
        let (month, year) = self.month_year()?;
        self.expect(b' ', BAD)?;
        let hour = self.fixed_digits(2).ok_or(BAD)?;
        self.expect(b':', BAD)?;
        let minute = self.fixed_digits(2).ok_or(BAD)?;
        self.expect(b':', BAD)?;
        let second = self.fixed_digits(2).ok_or(BAD)?;
        self.expect(b' ', BAD)?;
        let negative = match self.peek() {
            Some(b'+') => false,
            Some(b'-') => true,
            _ => return err(BAD),
        };
        self.i += 1;
        let zone = self.fixed_digits(4).ok_or(BAD)?;
        self.expect(b'"', BAD)?;
        let date = Date::from_calendar_date(year, month, day).map_err(|_| BAD.to_owned())?;
        let time = time::Time::from_hms(hour as u8, minute as u8, second as u8)
            .map_err(|_| BAD.to_owned())?;
        let (zh, zm) = ((zone / 100) as i8, (zone % 100) as i8);
        let (zh, zm) = if negative { (-zh, -zm) } else { (zh, zm) };
        let offset = time::UtcOffset::from_hms(zh, zm, 0).map_err(|_| BAD.to_owned())?;
        Ok(time::PrimitiveDateTime::new(date, time).assume_offset(offset))
    }

    // --------------------------------------------------------------------------------
    // Commands
    // --------------------------------------------------------------------------------

    /// `command = tag SP (command-any / command-auth / command-nonauth / command-select) CRLF`
    fn command(&mut self) -> PResult<Command> {
        let name = self
            .keyword()
            .map_err(|_| "missing or invalid command".to_owned())?;
        let command = match name.as_str() {
            "CAPABILITY" => Command::Capability,
            "NOOP" => Command::Noop,
            "LOGOUT" => Command::Logout,
            "STARTTLS" => Command::StartTls,
            "NAMESPACE" => Command::Namespace,
            "IDLE" => Command::Idle,
            "CHECK" => Command::Check,
            "CLOSE" => Command::Close,
            "UNSELECT" => Command::Unselect,
            "EXPUNGE" => Command::Expunge,
            "LOGIN" => self.login()?,
            "AUTHENTICATE" => self.authenticate()?,
            "ENABLE" => self.enable()?,
            "SELECT" => {
                let (mailbox, params) = self.select()?;
                Command::Select { mailbox, params }
            }
            "EXAMINE" => {
                let (mailbox, params) = self.select()?;
                Command::Examine { mailbox, params }
            }
            "CREATE" => self.create()?,
            "DELETE" => {
                self.sp()?;
                Command::Delete(self.mailbox()?)
            }
            "RENAME" => {
                self.sp()?;
                let from = self.mailbox()?;
                self.sp()?;
                let to = self.mailbox()?;
                Command::Rename { from, to }
            }
            "SUBSCRIBE" => {
                self.sp()?;
                Command::Subscribe(self.mailbox()?)
            }
            "UNSUBSCRIBE" => {
                self.sp()?;
                Command::Unsubscribe(self.mailbox()?)
            }
            "LIST" => Command::List(self.list()?),
            "LSUB" => {
                self.sp()?;
                let reference = self.mailbox()?;
                self.sp()?;
                let pattern = self.list_mailbox()?;
                Command::Lsub { reference, pattern }
            }
            "STATUS" => self.status()?,
            "APPEND" => self.append()?,
            "SEARCH" => self.search(false)?,
            "FETCH" => self.fetch(false)?,
            "STORE" => self.store(false)?,
            "COPY" => self.copy_move(false, false)?,
            "MOVE" => self.copy_move(false, true)?,
            "UID" => self.uid()?,
            "ID" => self.id()?,
            "GETQUOTA" => {
                self.sp()?;
                Command::GetQuota(self.astring_utf8()?)
            }
            "GETQUOTAROOT" => {
                self.sp()?;
                Command::GetQuotaRoot(self.mailbox()?)
            }
            "SETQUOTA" => self.setquota()?,
            _ => return err("unknown command"),
        };
        self.end()?;
        Ok(command)
    }

    /// `login = "LOGIN" SP userid SP password`
    fn login(&mut self) -> PResult<Command> {
        self.sp()?;
        let username = self.astring_utf8()?;
        self.sp()?;
        let password = self.astring_utf8()?;
        Ok(Command::Login { username, password })
    }

    /// `authenticate = "AUTHENTICATE" SP auth-type [SP (base64 / "=")]` (RFC 4959)
    fn authenticate(&mut self) -> PResult<Command> {
        self.sp()?;
        let mechanism = self.keyword()?;
        let initial_response = if self.eat(b' ') {
            let r =
                self.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
            if r.is_empty() {
                return err("invalid initial response");
            }
            Some(String::from_utf8_lossy(r).into_owned())
        } else {
            None
        };
        Ok(Command::Authenticate {
            mechanism,
            initial_response,
        })
    }

    /// `enable = "ENABLE" 1*(SP capability)` (RFC 5161)
    fn enable(&mut self) -> PResult<Command> {
        let mut caps = Vec::new();
        while self.eat(b' ') {
            caps.push(self.atom_string()?);
        }
        if caps.is_empty() {
            return err("ENABLE needs a capability");
        }
        Ok(Command::Enable(caps))
    }

    /// `select = "SELECT" SP mailbox [select-params]`;
    /// `select-params = SP "(" select-param *(SP select-param) ")"` (RFC 4466, RFC 7162)
    fn select(&mut self) -> PResult<(MailboxName, SelectParams)> {
        self.sp()?;
        let mailbox = self.mailbox()?;
        let mut params = SelectParams::default();
        if self.eat(b' ') {
            self.paren_list(|p| {
                match p.keyword()?.as_str() {
                    "CONDSTORE" => params.condstore = true,
                    "QRESYNC" => {
                        p.sp()?;
                        params.qresync = Some(p.qresync()?);
                    }
                    _ => return err("unknown SELECT parameter"),
                }
                Ok(())
            })?;
        }
        Ok((mailbox, params))
    }

    /// `"(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"`;
    /// `seq-match-data = "(" known-sequence-set SP known-uid-set ")"` (RFC 7162 §7)
    fn qresync(&mut self) -> PResult<QresyncParams> {
        self.open()?;
        let uid_validity = self.nz_number()?;
        self.sp()?;
        let mod_seq = self.mod_sequence_value()?;
        let mut known_uids = None;
        let mut seq_match = None;
        if self.eat(b' ') {
            if self.peek() != Some(b'(') {
                known_uids = Some(self.sequence_set()?);
                if self.eat(b' ') {
                    seq_match = Some(self.seq_match_data()?);
                }
            } else {
                seq_match = Some(self.seq_match_data()?);
            }
        }
        self.close()?;
        Ok(QresyncParams {
            uid_validity,
            mod_seq,
            known_uids,
            seq_match,
        })
    }

    fn seq_match_data(&mut self) -> PResult<(SequenceSet, SequenceSet)> {
        self.open()?;
        let seqs = self.sequence_set()?;
        self.sp()?;
        let uids = self.sequence_set()?;
        self.close()?;
        Ok((seqs, uids))
    }

    /// `create = "CREATE" SP mailbox [create-params]`;
    /// `create-param =/ "USE" SP "(" [use-attr *(SP use-attr)] ")"` (RFC 6154 §6)
    fn create(&mut self) -> PResult<Command> {
        self.sp()?;
        let mailbox = self.mailbox()?;
        let mut special_use = Vec::new();
        if self.eat(b' ') {
            self.paren_list(|p| {
                if p.keyword()? != "USE" {
                    return err("unknown CREATE parameter");
                }
                p.sp()?;
                let attrs = p.paren_list(|p| {
                    p.expect(b'\\', "expected a special-use attribute")?;
                    Ok(format!("\\{}", p.atom_string()?))
                })?;
                special_use.extend(attrs);
                Ok(())
            })?;
        }
        Ok(Command::Create {
            mailbox,
            special_use,
        })
    }

    /// `list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]`
    /// (RFC 5258 §5, RFC 9051 §9)
    fn list(&mut self) -> PResult<ListCommand> {
        self.sp()?;
        let mut selection = Vec::new();
        if self.peek() == Some(b'(') {
            selection = self.paren_list(|p| {
                Ok(match p.keyword()?.as_str() {
                    "SUBSCRIBED" => ListSelect::Subscribed,
                    "REMOTE" => ListSelect::Remote,
                    "RECURSIVEMATCH" => ListSelect::RecursiveMatch,
                    "SPECIAL-USE" => ListSelect::SpecialUse,
                    _ => return err("unknown LIST selection option"),
                })
            })?;
            self.sp()?;
        }
        let reference = self.mailbox()?;
        self.sp()?;
        let patterns = if self.peek() == Some(b'(') {
            let patterns = self.paren_list(Self::list_mailbox)?;
            if patterns.is_empty() {
                return err("LIST needs a pattern");
            }
            patterns
        } else {
            vec![self.list_mailbox()?]
        };
        let mut returns = Vec::new();
        if self.eat(b' ') {
            if self.keyword()? != "RETURN" {
                return err("expected RETURN");
            }
            self.sp()?;
            returns = self.paren_list(|p| {
                Ok(match p.keyword()?.as_str() {
                    "SUBSCRIBED" => ListReturn::Subscribed,
                    "CHILDREN" => ListReturn::Children,
                    "SPECIAL-USE" => ListReturn::SpecialUse,
                    "STATUS" => {
                        p.sp()?;
                        ListReturn::Status(p.paren_list(Self::status_att)?)
                    }
                    _ => return err("unknown LIST return option"),
                })
            })?;
        }
        Ok(ListCommand {
            selection,
            reference,
            patterns,
            returns,
        })
    }

    /// `status = "STATUS" SP mailbox SP "(" [status-att *(SP status-att)] ")"`
    fn status(&mut self) -> PResult<Command> {
        self.sp()?;
        let mailbox = self.mailbox()?;
        self.sp()?;
        let items = self.paren_list(Self::status_att)?;
        Ok(Command::Status { mailbox, items })
    }

    /// `status-att = "MESSAGES" / "UIDNEXT" / "UIDVALIDITY" / "UNSEEN" / "DELETED" /
    /// "SIZE" / "RECENT" / "HIGHESTMODSEQ" / "APPENDLIMIT"`
    fn status_att(&mut self) -> PResult<StatusItem> {
        Ok(match self.keyword()?.as_str() {
            "MESSAGES" => StatusItem::Messages,
            "RECENT" => StatusItem::Recent,
            "UIDNEXT" => StatusItem::UidNext,
            "UIDVALIDITY" => StatusItem::UidValidity,
            "UNSEEN" => StatusItem::Unseen,
            "DELETED" => StatusItem::Deleted,
            "SIZE" => StatusItem::Size,
            "HIGHESTMODSEQ" => StatusItem::HighestModSeq,
            "APPENDLIMIT" => StatusItem::AppendLimit,
            _ => return err("unknown STATUS item"),
        })
    }

    /// `append = "APPEND" SP mailbox 1*append-message` (RFC 3502);
    /// `append-message = [SP flag-list] [SP date-time] SP (literal / literal8)`
    fn append(&mut self) -> PResult<Command> {
        self.sp()?;
        let mailbox = self.mailbox()?;
        let mut messages = Vec::new();
        loop {
            self.sp()?;
            let mut flags = Vec::new();
            if self.peek() == Some(b'(') {
                flags = self.flag_list()?;
                self.sp()?;
            }
            let mut date = None;
            if self.peek() == Some(b'"') {
                date = Some(self.date_time()?);
                self.sp()?;
            }
            if !matches!(self.peek(), Some(b'{' | b'~')) {
                return err("APPEND needs the message as a literal");
            }
            let (data, binary) = self.literal(true)?;
            messages.push(AppendMessage {
                flags,
                date,
                data,
                binary,
            });
            if self.at_eol() {
                return Ok(Command::Append { mailbox, messages });
            }
        }
    }

    /// `"UID" SP (copy / move / fetch / search / store / uid-expunge)`
    fn uid(&mut self) -> PResult<Command> {
        self.sp()?;
        match self.keyword()?.as_str() {
            "FETCH" => self.fetch(true),
            "SEARCH" => self.search(true),
            "STORE" => self.store(true),
            "COPY" => self.copy_move(true, false),
            "MOVE" => self.copy_move(true, true),
            "EXPUNGE" => {
                self.sp()?;
                Ok(Command::UidExpunge(self.sequence_set()?))
            }
            _ => err("unknown UID command"),
        }
    }

    /// `copy = "COPY" SP sequence-set SP mailbox`, `move = "MOVE" SP sequence-set SP mailbox`
    fn copy_move(&mut self, uid: bool, is_move: bool) -> PResult<Command> {
        self.sp()?;
        let set = self.sequence_set()?;
        self.sp()?;
        let mailbox = self.mailbox()?;
        Ok(if is_move {
            Command::Move { uid, set, mailbox }
        } else {
            Command::Copy { uid, set, mailbox }
        })
    }

    /// `search = "SEARCH" [search-return-opts] SP search-program`;
    /// `search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"`;
    /// `search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)`
    fn search(&mut self, uid: bool) -> PResult<Command> {
        self.sp()?;
        let mut returns = None;
        let mut charset = None;
        if self.peek_keyword("RETURN") {
            self.i += "RETURN".len();
            self.sp()?;
            returns = Some(self.paren_list(|p| {
                Ok(match p.keyword()?.as_str() {
                    "MIN" => SearchReturn::Min,
                    "MAX" => SearchReturn::Max,
                    "ALL" => SearchReturn::All,
                    "COUNT" => SearchReturn::Count,
                    "SAVE" => SearchReturn::Save,
                    _ => return err("unknown SEARCH return option"),
                })
            })?);
            self.sp()?;
        }
        if self.peek_keyword("CHARSET") {
            self.i += "CHARSET".len();
            self.sp()?;
            let cs = self.astring()?;
            charset = Some(String::from_utf8_lossy(&cs).to_ascii_uppercase());
            self.sp()?;
        }
        // Strings in another charset are kept lossily so the server can still answer
        // NO [BADCHARSET] instead of BAD.
        let lossy = charset
            .as_deref()
            .is_some_and(|c| c != "UTF-8" && c != "US-ASCII");
        let mut keys = vec![self.search_key(lossy, 0)?];
        while self.eat(b' ') {
            keys.push(self.search_key(lossy, 0)?);
        }
        Ok(Command::Search {
            uid,
            returns,
            charset,
            criteria: SearchKey::And(keys),
        })
    }

    /// True when the next atom is `word` (case-insensitively).
    fn peek_keyword(&self, word: &str) -> bool {
        let end = self.i + word.len();
        self.s
            .get(self.i..end)
            .is_some_and(|w| w.eq_ignore_ascii_case(word.as_bytes()))
            && !self.s.get(end).is_some_and(|&b| is_atom_char(b))
    }

    fn search_string(&mut self, lossy: bool) -> PResult<String> {
        let s = self.astring()?;
        if lossy {
            Ok(String::from_utf8_lossy(&s).into_owned())
        } else {
            String::from_utf8(s).map_err(|_| "search string is not UTF-8".to_owned())
        }
    }

    /// `search-key` of RFC 9051 §9 and RFC 3501 §9, plus RFC 7162 `MODSEQ`.
    fn search_key(&mut self, lossy: bool, depth: usize) -> PResult<SearchKey> {
        if depth >= MAX_SEARCH_DEPTH {
            return err("search keys nested too deeply");
        }
        match self.peek() {
            Some(b'(') => {
                self.i += 1;
                let mut keys = vec![self.search_key(lossy, depth + 1)?];
                while self.eat(b' ') {
                    keys.push(self.search_key(lossy, depth + 1)?);
                }
                self.close()?;
                return Ok(SearchKey::And(keys));
            }
            Some(b'0'..=b'9' | b'*' | b'$') => {
                return self.sequence_set().map(SearchKey::SequenceSet);
            }
            _ => {}
        }
        let name = self
            .keyword()
            .map_err(|_| "expected a search key".to_owned())?;
        let key = match name.as_str() {
            "ALL" => SearchKey::All,
            "ANSWERED" => SearchKey::Answered,
            "DELETED" => SearchKey::Deleted,
            "DRAFT" => SearchKey::Draft,
            "FLAGGED" => SearchKey::Flagged,
            "NEW" => SearchKey::New,
            "OLD" => SearchKey::Old,
            "RECENT" => SearchKey::Recent,
            "SEEN" => SearchKey::Seen,
            "UNANSWERED" => SearchKey::Unanswered,
            "UNDELETED" => SearchKey::Undeleted,
            "UNDRAFT" => SearchKey::Undraft,
            "UNFLAGGED" => SearchKey::Unflagged,
            "UNSEEN" => SearchKey::Unseen,
            "BCC" | "BODY" | "CC" | "FROM" | "SUBJECT" | "TEXT" | "TO" => {
                self.sp()?;
                let s = self.search_string(lossy)?;
                match name.as_str() {
                    "BCC" => SearchKey::Bcc(s),
                    "BODY" => SearchKey::Body(s),
                    "CC" => SearchKey::Cc(s),
                    "FROM" => SearchKey::From(s),
                    "SUBJECT" => SearchKey::Subject(s),
                    "TEXT" => SearchKey::Text(s),
                    _ => SearchKey::To(s),
                }
            }
            "BEFORE" | "ON" | "SINCE" | "SENTBEFORE" | "SENTON" | "SENTSINCE" => {
                self.sp()?;
                let d = self.date()?;
                match name.as_str() {
                    "BEFORE" => SearchKey::Before(d),
                    "ON" => SearchKey::On(d),
                    "SINCE" => SearchKey::Since(d),
                    "SENTBEFORE" => SearchKey::SentBefore(d),
                    "SENTON" => SearchKey::SentOn(d),
                    _ => SearchKey::SentSince(d),
                }
            }
            "HEADER" => {
                self.sp()?;
                let field = self.astring_utf8()?;
                self.sp()?;
                SearchKey::Header(field, self.search_string(lossy)?)
            }
            "KEYWORD" => {
                self.sp()?;
                SearchKey::Keyword(self.atom_string()?)
            }
            "UNKEYWORD" => {
                self.sp()?;
                SearchKey::Unkeyword(self.atom_string()?)
            }
            "LARGER" => {
                self.sp()?;
                SearchKey::Larger(self.number64()?)
            }
            "SMALLER" => {
                self.sp()?;
                SearchKey::Smaller(self.number64()?)
            }
            "UID" => {
                self.sp()?;
                SearchKey::Uid(self.sequence_set()?)
            }
            "NOT" => {
                self.sp()?;
                SearchKey::Not(Box::new(self.search_key(lossy, depth + 1)?))
            }
            "OR" => {
                self.sp()?;
                let a = self.search_key(lossy, depth + 1)?;
                self.sp()?;
                let b = self.search_key(lossy, depth + 1)?;
                SearchKey::Or(Box::new(a), Box::new(b))
            }
            "MODSEQ" => {
                // search-modsequence = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer;
                // search-modseq-ext = SP entry-name SP entry-type-req (RFC 7162 §7)
                self.sp()?;
                if matches!(self.peek(), Some(b'"' | b'{')) {
                    self.string()?;
                    self.sp()?;
                    let kind = self.keyword()?;
                    if !matches!(kind.as_str(), "PRIV" | "SHARED" | "ALL") {
                        return err("invalid MODSEQ entry type");
                    }
                    self.sp()?;
                }
                SearchKey::ModSeq(self.number64()?)
            }
            _ => return err("unknown search key"),
        };
        Ok(key)
    }

    /// `fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att /
    /// "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]` (RFC 9051, RFC 7162 §3.1.4)
    fn fetch(&mut self, uid: bool) -> PResult<Command> {
        use FetchAttr as A;
        self.sp()?;
        let set = self.sequence_set()?;
        self.sp()?;
        let attrs = if self.peek() == Some(b'(') {
            let attrs = self.paren_list(Self::fetch_att)?;
            if attrs.is_empty() {
                return err("FETCH needs an attribute");
            }
            attrs
        } else if self.peek_keyword("ALL") {
            self.i += 3;
            vec![A::Flags, A::InternalDate, A::Rfc822Size, A::Envelope]
        } else if self.peek_keyword("FAST") {
            self.i += 4;
            vec![A::Flags, A::InternalDate, A::Rfc822Size]
        } else if self.peek_keyword("FULL") {
            self.i += 4;
            vec![
                A::Flags,
                A::InternalDate,
                A::Rfc822Size,
                A::Envelope,
                A::Body,
            ]
        } else {
            vec![self.fetch_att()?]
        };
        let mut modifiers = FetchModifiers::default();
        if self.eat(b' ') {
            let list = self.paren_list(|p| {
                match p.keyword()?.as_str() {
                    "CHANGEDSINCE" => {
                        p.sp()?;
                        modifiers.changed_since = Some(p.mod_sequence_value()?);
                    }
                    "VANISHED" if uid => modifiers.vanished = true,
                    _ => return err("unknown FETCH modifier"),
                }
                Ok(())
            })?;
            if list.is_empty() {
                return err("empty FETCH modifier list");
            }
        }
        Ok(Command::Fetch {
            uid,
            set,
            attrs,
            modifiers,
        })
    }

    /// `fetch-att` of RFC 9051 §9, RFC 3516 (BINARY) and RFC 7162 (MODSEQ).
    fn fetch_att(&mut self) -> PResult<FetchAttr> {
        let name = self.take_while(|b| b.is_ascii_alphanumeric() || b == b'.');
        let name = String::from_utf8_lossy(name).to_ascii_uppercase();
        Ok(match name.as_str() {
            "ENVELOPE" => FetchAttr::Envelope,
            "FLAGS" => FetchAttr::Flags,
            "INTERNALDATE" => FetchAttr::InternalDate,
            "RFC822" => FetchAttr::Rfc822,
            "RFC822.HEADER" => FetchAttr::Rfc822Header,
            "RFC822.SIZE" => FetchAttr::Rfc822Size,
            "RFC822.TEXT" => FetchAttr::Rfc822Text,
            "BODYSTRUCTURE" => FetchAttr::BodyStructure,
            "UID" => FetchAttr::Uid,
            "MODSEQ" => FetchAttr::ModSeq,
            "BODY" if self.peek() != Some(b'[') => FetchAttr::Body,
            "BODY" | "BODY.PEEK" => {
                let section = self.section()?;
                let partial = self.partial()?;
                FetchAttr::BodySection {
                    peek: name == "BODY.PEEK",
                    section,
                    partial,
                }
            }
            "BINARY" | "BINARY.PEEK" => {
                let part = self.section_binary()?;
                let partial = self.partial()?;
                FetchAttr::Binary {
                    peek: name == "BINARY.PEEK",
                    part,
                    partial,
                }
            }
            "BINARY.SIZE" => FetchAttr::BinarySize {
                part: self.section_binary()?,
            },
            _ => return err("unknown FETCH attribute"),
        })
    }

    /// `section = "[" [section-spec] "]"`;
    /// `section-spec = section-msgtext / (section-part ["." section-text])`
    fn section(&mut self) -> PResult<Section> {
        self.expect(b'[', "expected \"[\"")?;
        let mut part = Vec::new();
        let mut want_text = true;
        if self.peek().is_some_and(|b| b.is_ascii_digit()) {
            loop {
                part.push(self.nz_number()?);
                if !self.eat(b'.') {
                    want_text = false;
                    break;
                }
                if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    break;
                }
            }
        }
        let text = if want_text && self.peek() != Some(b']') {
            let name = self.take_while(|b| b.is_ascii_alphabetic() || b == b'.');
            let name = String::from_utf8_lossy(name).to_ascii_uppercase();
            Some(match name.as_str() {
                "HEADER" => SectionText::Header,
                "TEXT" => SectionText::Text,
                "MIME" if !part.is_empty() => SectionText::Mime,
                "HEADER.FIELDS" => {
                    self.sp()?;
                    SectionText::HeaderFields(self.header_list()?)
                }
                "HEADER.FIELDS.NOT" => {
                    self.sp()?;
                    SectionText::HeaderFieldsNot(self.header_list()?)
                }
                _ => return err("invalid section"),
            })
        } else if want_text && !part.is_empty() {
            return err("invalid section");
        } else {
            None
        };
        self.expect(b']', "expected \"]\"")?;
        Ok(Section { part, text })
    }

    /// `header-list = "(" header-fld-name *(SP header-fld-name) ")"`
    fn header_list(&mut self) -> PResult<Vec<String>> {
        let names = self.paren_list(Self::astring_utf8)?;
        if names.is_empty() {
            return err("empty header list");
        }
        Ok(names)
    }

    /// `section-binary = "[" [section-part] "]"` (RFC 3516)
    fn section_binary(&mut self) -> PResult<Vec<u32>> {
        self.expect(b'[', "expected \"[\"")?;
        let mut part = Vec::new();
        if self.peek() != Some(b']') {
            loop {
                part.push(self.nz_number()?);
                if !self.eat(b'.') {
                    break;
                }
            }
        }
        self.expect(b']', "expected \"]\"")?;
        Ok(part)
    }

    /// `partial = "<" number64 "." nz-number64 ">"`
    fn partial(&mut self) -> PResult<Option<Partial>> {
        if !self.eat(b'<') {
            return Ok(None);
        }
        let origin = self.number()?;
        self.expect(b'.', "invalid partial")?;
        let count = self.nz_number()?;
        self.expect(b'>', "invalid partial")?;
        Ok(Some(Partial { origin, count }))
    }

    /// `store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags`;
    /// `store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))`
    fn store(&mut self, uid: bool) -> PResult<Command> {
        self.sp()?;
        let set = self.sequence_set()?;
        self.sp()?;
        let mut unchanged_since = None;
        if self.peek() == Some(b'(') {
            // store-modifier =/ "UNCHANGEDSINCE" SP mod-sequence-valzer (RFC 7162 §7)
            let list = self.paren_list(|p| {
                if p.keyword()? != "UNCHANGEDSINCE" {
                    return err("unknown STORE modifier");
                }
                p.sp()?;
                unchanged_since = Some(p.number64()?);
                Ok(())
            })?;
            if list.is_empty() {
                return err("empty STORE modifier list");
            }
            self.sp()?;
        }
        let kind = if self.eat(b'+') {
            StoreKind::Add
        } else if self.eat(b'-') {
            StoreKind::Remove
        } else {
            StoreKind::Replace
        };
        let silent = match self.keyword()?.as_str() {
            "FLAGS" => false,
            "FLAGS.SILENT" => true,
            _ => return err("expected FLAGS"),
        };
        self.sp()?;
        let flags = if self.peek() == Some(b'(') {
            self.flag_list()?
        } else {
            let mut flags = vec![self.flag()?];
            while self.eat(b' ') {
                flags.push(self.flag()?);
            }
            flags
        };
        Ok(Command::Store {
            uid,
            set,
            unchanged_since,
            kind,
            silent,
            flags,
        })
    }

    /// `id = "ID" SP id-params-list`;
    /// `id-params-list = "(" *(string SP nstring) ")" / nil` (RFC 2971 §4)
    fn id(&mut self) -> PResult<Command> {
        self.sp()?;
        if self.peek() != Some(b'(') {
            return match self.nstring()? {
                None => Ok(Command::Id(None)),
                Some(_) => err("expected ID parameters or NIL"),
            };
        }
        let fields = self.paren_list(|p| {
            let name = String::from_utf8(p.string()?).map_err(|_| "ID field is not UTF-8")?;
            p.sp()?;
            let value = match p.nstring()? {
                None => None,
                Some(v) => Some(String::from_utf8(v).map_err(|_| "ID value is not UTF-8")?),
            };
            Ok((name, value))
        })?;
        Ok(Command::Id(Some(fields)))
    }

    /// `setquota = "SETQUOTA" SP quota-root-name SP setquota-list`;
    /// `setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")"` (RFC 9208 §5)
    fn setquota(&mut self) -> PResult<Command> {
        self.sp()?;
        let root = self.astring_utf8()?;
        self.sp()?;
        self.paren_list(|p| {
            p.atom()?;
            p.sp()?;
            p.number64()
        })?;
        Ok(Command::SetQuota(root))
    }
}

/// `date-month = "Jan" / "Feb" / ... / "Dec"` (case-insensitive).
fn month_from_name(name: &[u8]) -> Option<time::Month> {
    const NAMES: [&[u8]; 12] = [
        b"JAN", b"FEB", b"MAR", b"APR", b"MAY", b"JUN", b"JUL", b"AUG", b"SEP", b"OCT", b"NOV",
        b"DEC",
    ];
    let idx = NAMES.iter().position(|n| n.eq_ignore_ascii_case(name))?;
    time::Month::try_from(u8::try_from(idx + 1).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_not_chain_is_an_error_not_a_stack_overflow() {
        let mut cmd = b"a SEARCH ".to_vec();
        for _ in 0..100_000 {
            cmd.extend_from_slice(b"NOT ");
        }
        cmd.extend_from_slice(b"ALL\r\n");
        let e = parse_command(&cmd).unwrap_err();
        assert_eq!(e.tag.as_deref(), Some("a"));
        let mut cmd = b"a SEARCH ".to_vec();
        cmd.extend(std::iter::repeat_n(b'(', 100_000));
        cmd.extend_from_slice(b"ALL\r\n");
        assert!(parse_command(&cmd).is_err());
    }

    #[test]
    fn nesting_below_the_cap_parses() {
        let mut cmd = b"a SEARCH ".to_vec();
        for _ in 0..MAX_SEARCH_DEPTH - 1 {
            cmd.extend_from_slice(b"NOT ");
        }
        cmd.extend_from_slice(b"ALL\r\n");
        assert!(parse_command(&cmd).is_ok());
    }
}
