//! Parsing any command line must never panic, and a parsed command must re-parse from its
//! own wire form to itself (for MAIL and RCPT that includes the Display of the path).
#![no_main]
use libfuzzer_sys::fuzz_target;
use mailstead_smtp_proto::{Command, parse_command};

fuzz_target!(|data: &[u8]| {
    match parse_command(data) {
        Ok(cmd) => {
            let again = parse_command(cmd.to_string().as_bytes());
            assert_eq!(again.as_ref(), Ok(&cmd), "wire form re-parses");
            if let Command::Rcpt(r) = &cmd {
                let line = format!("RCPT TO:<{}>", r.forward_path);
                assert!(
                    parse_command(line.as_bytes()).is_ok(),
                    "path display re-parses"
                );
            }
            if let Command::Mail(m) = &cmd {
                let line = format!("MAIL FROM:{}", m.reverse_path);
                assert!(
                    parse_command(line.as_bytes()).is_ok(),
                    "path display re-parses"
                );
            }
        }
        Err(e) => {
            let reply = e.reply();
            assert!(reply.is_permanent(), "parse errors are 5yz");
            assert_eq!(reply.encode().iter().filter(|&&b| b == b'\n').count(), 1);
        }
    }
});
