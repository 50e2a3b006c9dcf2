//! Relay networks: client addresses trusted to submit without AUTH (Postfix `mynetworks`,
//! Mailu `RELAYNETS`), given as CIDR blocks `(address, prefix length)`.

use std::net::IpAddr;

/// Whether `ip` lies in one of `networks`. An IPv4-mapped IPv6 client (`::ffff:a.b.c.d`,
/// as a dual-stack socket reports it) is matched as IPv4. A prefix longer than the
/// address is read as the whole address.
pub(crate) fn in_networks(ip: IpAddr, networks: &[(IpAddr, u8)]) -> bool {
    let ip = ip.to_canonical();
    networks
        .iter()
        .any(|&(net, prefix)| contains(net.to_canonical(), prefix, ip))
}

fn contains(net: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            same_prefix(u32::from(n).into(), u32::from(a).into(), prefix.min(32), 32)
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            same_prefix(u128::from(n), u128::from(a), prefix.min(128), 128)
        }
        _ => false,
    }
}

/// Whether the first `prefix` of `bits` bits of `a` and `b` agree.
fn same_prefix(a: u128, b: u128, prefix: u8, bits: u32) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = bits - u32::from(prefix);
    (a >> shift) == (b >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str, p: u8) -> (IpAddr, u8) {
        (s.parse().unwrap(), p)
    }

    #[test]
    fn cidr_table() {
        let nets = [
            net("192.168.0.0", 16),
            net("10.1.2.3", 32),
            net("2001:db8::", 32),
        ];
        let table = [
            ("192.168.4.5", true),
            ("192.169.0.1", false),
            ("10.1.2.3", true),
            ("10.1.2.4", false),
            ("2001:db8:1::5", true),
            ("2001:db9::1", false),
            ("::ffff:192.168.1.1", true),
            ("::ffff:172.16.0.1", false),
        ];
        for (ip, want) in table {
            assert_eq!(in_networks(ip.parse().unwrap(), &nets), want, "{ip}");
        }
    }

    #[test]
    fn zero_prefix_matches_its_family_and_long_prefix_is_exact() {
        assert!(in_networks(
            "8.8.8.8".parse().unwrap(),
            &[net("0.0.0.0", 0)]
        ));
        assert!(!in_networks("::1".parse().unwrap(), &[net("0.0.0.0", 0)]));
        assert!(in_networks(
            "127.0.0.1".parse().unwrap(),
            &[net("127.0.0.1", 99)]
        ));
        assert!(!in_networks(
            "127.0.0.2".parse().unwrap(),
            &[net("127.0.0.1", 99)]
        ));
        assert!(!in_networks("127.0.0.1".parse().unwrap(), &[]));
    }
}
