package netguard

import (
	"errors"
	"net/netip"
)

// Errors that callers branch on with [errors.Is]. Every refusal of this package wraps one of them.
var (
	// ErrForbiddenAddress reports a destination that outbound requests may not reach: an address in
	// a forbidden range (the error is then an [*AddrError]), a name that resolves to one or to
	// nothing, or a network other than TCP.
	ErrForbiddenAddress = errors.New("netguard: forbidden address")
	// ErrHostLiteral reports a host that is neither a canonical IP literal nor a plain DNS name: a
	// numeric form that some resolver could read as an IPv4 address other than the one it seems
	// to name ("2130706433", "0x7f.1", "0177.0.0.1", "127.1", "127.0.0.1."), a zone, or a
	// character that no DNS name holds.
	ErrHostLiteral = errors.New("netguard: ambiguous host literal")
)

// AddrError reports an address in a forbidden range. It matches [ErrForbiddenAddress] under
// [errors.Is], and its message names the address and the range. It is a plain value, safe to share.
type AddrError struct {
	// Addr is the address as it was checked, zone included.
	Addr netip.Addr
	// Range names the reason, one of "invalid", "zone", "unspecified", "this-network", "broadcast",
	// "loopback", "private", "cgnat", "link-local", "metadata", "multicast", "reserved",
	// "documentation", "benchmarking", "6to4-relay", "ipv4-compatible", "site-local", "discard",
	// "nat64", "6to4" and "teredo". For an IPv4-mapped IPv6 address it is the range of the IPv4
	// address; for NAT64, 6to4 and Teredo addresses it names the embedding, and the message names
	// the embedded IPv4 address that was refused.
	Range string

	detail string // what was embedded, for the message
}

// Error returns "netguard: forbidden address <addr> (<range>)", with the embedded IPv4 address
// and its range when there is one.
func (e *AddrError) Error() string {
	s := "netguard: forbidden address " + e.Addr.String() + " (" + e.Range
	if e.detail != "" {
		s += ", " + e.detail
	}
	return s + ")"
}

// Unwrap returns [ErrForbiddenAddress], so that errors.Is(err, ErrForbiddenAddress) holds for
// every *AddrError.
func (e *AddrError) Unwrap() error { return ErrForbiddenAddress }
