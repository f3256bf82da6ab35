package netguard

import (
	"fmt"
	"net/netip"
	"strings"
)

// Limits of a DNS name in its text form (RFC 1035, section 2.3.4), without the trailing dot.
const (
	maxNameLen  = 253
	maxLabelLen = 63
)

// CheckHost classifies host, a URL's Hostname() (no brackets, no port), before anything resolves
// it. For a canonical IP literal — an IPv4 dotted quad of four decimal parts 0-255 without leading
// zeros, or an IPv6 address without a zone — it returns the address and isLiteral true; the caller
// then judges the address with [Policy.CheckAddr]. For a DNS name of ASCII letters, digits, '-'
// and '.' (with at most one trailing '.') it returns the zero Addr, false and nil; the caller
// resolves the name and judges every answer. "localhost" is a name here: it is refused when it
// resolves to a loopback address.
//
// A host whose labels are all numbers (decimal, octal with a leading zero, or 0x hexadecimal), or
// whose last label is one, is taken as an attempt at an IPv4 address: only the canonical dotted
// quad is accepted, so that no resolver can read the host as an address other than the one
// checked.
//
// # Errors
//
// Every other host — empty, with a zone, with a character outside the set above, with an empty or
// over-long label, or a numeric form other than the canonical dotted quad ("2130706433",
// "0x7f000001", "0177.0.0.1", "127.1", "127.0.0.1.") — is refused with an error that wraps
// [ErrHostLiteral] and names the host.
func CheckHost(host string) (addr netip.Addr, isLiteral bool, err error) {
	refuse := func(why string) (netip.Addr, bool, error) {
		return netip.Addr{}, false, fmt.Errorf("%w: host %q: %s", ErrHostLiteral, host, why)
	}
	if host == "" {
		return refuse("empty")
	}
	if strings.Contains(host, "%") {
		return refuse("zone or escape")
	}
	if strings.Contains(host, ":") {
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() {
			return refuse("not an IPv6 address")
		}
		return ip, true, nil
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; !isLetterDigit(c) && c != '-' && c != '.' {
			return refuse(fmt.Sprintf("character %q not allowed in a DNS name", c))
		}
	}
	name := strings.TrimSuffix(host, ".")
	if name == "" {
		return refuse("no labels")
	}
	if len(name) > maxNameLen {
		return refuse("name too long")
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" {
			return refuse("empty label")
		}
		if len(l) > maxLabelLen {
			return refuse("label too long")
		}
	}
	// A host whose last label is a number is an attempt at an IPv4 address; that covers every
	// host whose labels are all numbers.
	if !isNumber(labels[len(labels)-1]) {
		return netip.Addr{}, false, nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Is4() || ip.String() != host {
		return refuse("numeric host that is not a canonical dotted-quad IPv4 address")
	}
	return ip, true, nil
}

// isNumber reports whether a label is a number that inet_aton(3) or a URL parser would read:
// decimal or octal digits, or 0x followed by zero or more hexadecimal digits.
func isNumber(l string) bool {
	if len(l) >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X') {
		for i := 2; i < len(l); i++ {
			if !isHex(l[i]) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(l); i++ {
		if l[i] < '0' || l[i] > '9' {
			return false
		}
	}
	return l != ""
}

func isLetterDigit(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
