package netguard

import (
	"fmt"
	"net/netip"
	"slices"
	"syscall"
)

// Policy decides which IP addresses outbound connections may reach. The zero value is the strict
// policy: only public unicast addresses pass. A Policy is a plain value, safe for concurrent use.
type Policy struct {
	// AllowLoopback lets 127.0.0.0/8 and ::1 (and their IPv4-mapped forms) through, for tests and
	// single-machine development. It allows nothing else: not 0.0.0.0, not ::, and not a loopback
	// address embedded in a NAT64, 6to4 or Teredo address, which would be some other machine's
	// loopback.
	AllowLoopback bool `json:"allowLoopback"`
}

// rangeOf pairs a prefix with the name reported for it.
type rangeOf struct {
	prefix netip.Prefix
	name   string
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// Ranges are checked in order, the most specific first, so that an address gets the most useful
// name (169.254.169.254 is "metadata", not "link-local"). The doc.go paragraph "Why these ranges"
// gives the reason for each.
var (
	metadata = []netip.Addr{
		netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure, OCI, DigitalOcean instance metadata
		netip.MustParseAddr("169.254.170.2"),   // AWS ECS task metadata and credentials
		netip.MustParseAddr("169.254.170.23"),  // AWS EKS Pod Identity agent
		netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud instance metadata
		netip.MustParseAddr("192.0.0.192"),     // Oracle Cloud legacy instance metadata
		netip.MustParseAddr("168.63.129.16"),   // Azure WireServer (a public address, reachable only inside Azure)
		netip.MustParseAddr("fd00:ec2::254"),   // AWS instance metadata over IPv6
		netip.MustParseAddr("fd00:ec2::23"),    // AWS EKS Pod Identity agent over IPv6
	}

	ipv4Ranges = []rangeOf{
		{pfx("0.0.0.0/8"), "this-network"}, // 0.0.0.0 itself is "unspecified", checked first
		{pfx("127.0.0.0/8"), "loopback"},
		{pfx("10.0.0.0/8"), "private"},
		{pfx("172.16.0.0/12"), "private"},
		{pfx("192.168.0.0/16"), "private"},
		{pfx("100.64.0.0/10"), "cgnat"},
		{pfx("169.254.0.0/16"), "link-local"},
		{pfx("192.0.0.0/24"), "reserved"},
		{pfx("192.0.2.0/24"), "documentation"},
		{pfx("198.51.100.0/24"), "documentation"},
		{pfx("203.0.113.0/24"), "documentation"},
		{pfx("198.18.0.0/15"), "benchmarking"},
		{pfx("192.88.99.0/24"), "6to4-relay"},
		{pfx("224.0.0.0/4"), "multicast"},
		{pfx("240.0.0.0/4"), "reserved"}, // 255.255.255.255 is "broadcast", checked first
	}

	// ipv6Outside lists the special ranges outside 2000::/3 that get a name of their own; anything
	// else outside 2000::/3 is "reserved".
	ipv6Outside = []rangeOf{
		{pfx("::/96"), "ipv4-compatible"}, // :: and ::1 are checked first
		{pfx("fc00::/7"), "private"},
		{pfx("fe80::/10"), "link-local"},
		{pfx("fec0::/10"), "site-local"},
		{pfx("ff00::/8"), "multicast"},
		{pfx("100::/64"), "discard"},
	}

	// ipv6Inside lists the special ranges inside 2000::/3, after Teredo and 6to4 are handled.
	ipv6Inside = []rangeOf{
		{pfx("2001:2::/48"), "benchmarking"},
		{pfx("2001::/23"), "reserved"},
		{pfx("2001:db8::/32"), "documentation"},
		{pfx("3fff::/20"), "documentation"},
		{pfx("5f00::/16"), "reserved"},
	}

	globalUnicast = pfx("2000::/3")
	nat64WKP      = pfx("64:ff9b::/96")
	nat64Local    = pfx("64:ff9b:1::/48")
	sixToFour     = pfx("2002::/16")
	teredo        = pfx("2001::/32")
)

// CheckAddr returns nil if ip is a public unicast address that outbound connections may reach,
// and an [*AddrError] naming the range otherwise. It never resolves or dials anything.
//
// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) gets the verdict of its IPv4 address. A NAT64
// (64:ff9b::/96, 64:ff9b:1::/48), 6to4 (2002::/16) or Teredo (2001::/32) address is refused when
// an IPv4 address embedded in it would be; those embedded addresses are always judged strictly,
// whatever AllowLoopback says. An address with a zone is always refused.
//
// # Errors
//
// Every non-nil error is an *AddrError and matches [ErrForbiddenAddress].
func (p Policy) CheckAddr(ip netip.Addr) error {
	if name, detail := p.classify(ip); name != "" {
		return &AddrError{Addr: ip, Range: name, detail: detail}
	}
	return nil
}

// Control is a [net.Dialer] Control function: it parses address, the IP and port that a socket
// is about to connect to, and refuses the connection unless [Policy.CheckAddr] allows the IP. It
// is the last line of defence: whatever name resolution happened before, the socket connects only
// to an address that passed the check.
//
// # Errors
//
// An address that does not parse as IP:port is refused with [ErrForbiddenAddress]; a forbidden
// address with an [*AddrError].
func (p Policy) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: connect %s %q: not an IP address and port", ErrForbiddenAddress, network, address)
	}
	if err := p.CheckAddr(ap.Addr()); err != nil {
		return fmt.Errorf("netguard: connect %s %s: %w", network, address, err)
	}
	return nil
}

// classify returns the name of the forbidden range that holds ip, and what was embedded in it,
// or "" if ip may be reached.
func (p Policy) classify(ip netip.Addr) (name, detail string) {
	switch {
	case !ip.IsValid():
		return "invalid", ""
	case ip.Zone() != "":
		return "zone", ""
	case ip.Is4():
		return p.classify4(ip), ""
	case ip.Is4In6():
		if name := p.classify4(ip.Unmap()); name != "" {
			return name, "ipv4-mapped"
		}
		return "", ""
	}
	switch {
	case ip == netip.IPv6Unspecified():
		return "unspecified", ""
	case ip == netip.IPv6Loopback():
		if p.AllowLoopback {
			return "", ""
		}
		return "loopback", ""
	case nat64WKP.Contains(ip):
		return embedded("nat64", "embedded", low32(ip))
	case nat64Local.Contains(ip):
		// The position of the IPv4 address depends on the operator's prefix length (RFC 6052,
		// section 2.2). Only the /96 form, with bits 48 to 95 zero, has one reading that is not
		// inside 0.0.0.0/8; anything else is refused.
		b := ip.As16()
		for _, x := range b[6:12] {
			if x != 0 {
				return "nat64", "local-use prefix with bits 48 to 95 set, where the IPv4 position is ambiguous"
			}
		}
		return embedded("nat64", "embedded", low32(ip))
	case slices.Contains(metadata, ip):
		return "metadata", ""
	case !globalUnicast.Contains(ip):
		for _, r := range ipv6Outside {
			if r.prefix.Contains(ip) {
				return r.name, ""
			}
		}
		return "reserved", ""
	case teredo.Contains(ip):
		b := ip.As16()
		server := netip.AddrFrom4([4]byte(b[4:8]))
		client := netip.AddrFrom4([4]byte{b[12] ^ 0xff, b[13] ^ 0xff, b[14] ^ 0xff, b[15] ^ 0xff})
		if name, detail := embedded("teredo", "server", server); name != "" {
			return name, detail
		}
		return embedded("teredo", "client", client)
	case sixToFour.Contains(ip):
		b := ip.As16()
		return embedded("6to4", "embedded", netip.AddrFrom4([4]byte(b[2:6])))
	}
	for _, r := range ipv6Inside {
		if r.prefix.Contains(ip) {
			return r.name, ""
		}
	}
	return "", ""
}

// classify4 returns the name of the forbidden range that holds the IPv4 address ip, or "".
func (p Policy) classify4(ip netip.Addr) string {
	switch {
	case ip == netip.IPv4Unspecified():
		return "unspecified"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	case ip.IsLoopback() && p.AllowLoopback:
		return ""
	case slices.Contains(metadata, ip):
		return "metadata"
	}
	for _, r := range ipv4Ranges {
		if r.prefix.Contains(ip) {
			return r.name
		}
	}
	return ""
}

// embedded judges, strictly, an IPv4 address embedded in an IPv6 address of the given kind;
// role says which embedded address it is.
func embedded(kind, role string, v4 netip.Addr) (name, detail string) {
	if name := (Policy{}).classify4(v4); name != "" {
		return kind, role + " " + v4.String() + " is " + name
	}
	return "", ""
}

func low32(ip netip.Addr) netip.Addr {
	b := ip.As16()
	return netip.AddrFrom4([4]byte(b[12:16]))
}
