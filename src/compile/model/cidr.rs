//! Address ranges in CIDR form (`10.89.7.0/24`, `fd00:9::/64`): parsing and containment, for
//! the subnets of networks and the static addresses of containers on them.

use std::fmt;
use std::net::IpAddr;

/// A subnet: a network address (no host bits set) and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    len: u8,
}

/// Why a string is not a subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CidrError {
    /// Not `ADDRESS/LENGTH` with a valid address and length.
    Syntax,
    /// Host bits are set (`10.89.7.5/24`); carries the network it means (`10.89.7.0/24`).
    HostBits(Cidr),
}

impl Cidr {
    /// `ADDRESS/LENGTH` with digits only in the length and no host bits set.
    pub fn parse(value: &str) -> Result<Cidr, CidrError> {
        let (addr, len) = value.split_once('/').ok_or(CidrError::Syntax)?;
        if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CidrError::Syntax);
        }
        let addr: IpAddr = addr.parse().map_err(|_| CidrError::Syntax)?;
        let len: u8 = len.parse().map_err(|_| CidrError::Syntax)?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if len > max {
            return Err(CidrError::Syntax);
        }
        let given = Cidr { addr, len };
        let network = Cidr {
            addr: given.first(),
            len,
        };
        if network.addr != addr {
            return Err(CidrError::HostBits(network));
        }
        Ok(given)
    }

    /// Whether `ip` is in this subnet (always false across address families).
    pub fn contains(self, ip: IpAddr) -> bool {
        let ((net, width), (host, host_width)) = (bits(self.addr), bits(ip));
        width == host_width && net & self.mask() == host & self.mask()
    }

    /// Whether two subnets share an address.
    pub fn overlaps(self, other: Cidr) -> bool {
        self.contains(other.addr) || other.contains(self.addr)
    }

    /// The prefix length.
    pub fn prefix_len(self) -> u8 {
        self.len
    }

    /// The network address.
    pub fn address(self) -> IpAddr {
        self.addr
    }

    pub fn is_ipv4(self) -> bool {
        self.addr.is_ipv4()
    }

    /// The first address after the network address: podman's default gateway.
    pub fn first_host(self) -> IpAddr {
        let (net, _) = bits(self.addr);
        from_bits(net | 1, self.addr)
    }

    /// The network address.
    fn first(self) -> IpAddr {
        let (net, _) = bits(self.addr);
        from_bits(net & self.mask(), self.addr)
    }

    /// The prefix mask, on the 128-bit scale of [`bits`].
    fn mask(self) -> u128 {
        let host_bits = width(self.addr) - u32::from(self.len);
        u128::MAX.checked_shl(host_bits).unwrap_or(0) & full(self.addr)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

fn width(a: IpAddr) -> u32 {
    if a.is_ipv4() { 32 } else { 128 }
}

/// All bits of the address family set, on the scale of [`bits`].
fn full(a: IpAddr) -> u128 {
    u128::MAX >> (128 - width(a))
}

/// The address as a number, and its family's width.
fn bits(a: IpAddr) -> (u128, u32) {
    match a {
        IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
        IpAddr::V6(v) => (u128::from(v), 128),
    }
}

/// A number back into an address of `family`'s kind.
fn from_bits(n: u128, family: IpAddr) -> IpAddr {
    match family {
        IpAddr::V4(_) => IpAddr::V4(u32::try_from(n).unwrap_or(u32::MAX).into()),
        IpAddr::V6(_) => IpAddr::V6(n.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn contains_and_overlaps() {
        let v4 = Cidr::parse("10.89.8.0/24").expect("v4");
        assert!(v4.contains(ip("10.89.8.5")));
        assert!(!v4.contains(ip("10.89.9.5")));
        assert!(!v4.contains(ip("fd00::5")));
        let v6 = Cidr::parse("fd00:9::/64").expect("v6");
        assert!(v6.contains(ip("fd00:9::5")));
        assert!(!v6.contains(ip("fd00:8::5")));
        let all = Cidr::parse("0.0.0.0/0").expect("all");
        assert!(all.contains(ip("1.2.3.4")));
        assert!(Cidr::parse("10.89.0.0/16").expect("16").overlaps(v4));
        assert!(!Cidr::parse("10.88.0.0/16").expect("16").overlaps(v4));
        assert!(!v4.overlaps(v6));
    }

    #[test]
    fn host_bits_and_syntax_are_refused() {
        assert_eq!(
            Cidr::parse("10.89.8.5/24"),
            Err(CidrError::HostBits(
                Cidr::parse("10.89.8.0/24").expect("net")
            ))
        );
        for bad in [
            "10.89.8.0",
            "10.89.8.0/33",
            "10.89.8.0/+4",
            "x/8",
            "fd00::/129",
        ] {
            assert_eq!(Cidr::parse(bad), Err(CidrError::Syntax), "{bad}");
        }
    }

    #[test]
    fn first_host_is_podmans_default_gateway() {
        assert_eq!(
            Cidr::parse("10.89.8.0/24").expect("v4").first_host(),
            ip("10.89.8.1")
        );
        assert_eq!(
            Cidr::parse("fd00:9::/64").expect("v6").first_host(),
            ip("fd00:9::1")
        );
    }
}
