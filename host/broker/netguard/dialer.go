package netguard

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// DefaultTimeout is the dial timeout of a [Dialer] whose Timeout is zero.
const DefaultTimeout = 10 * time.Second

// minAttemptTimeout is the least time a dial to one of several addresses gets, as in package net.
const minAttemptTimeout = 2 * time.Second

// Resolver looks up the IP addresses of a DNS name. [*net.Resolver] satisfies it. Implementations
// must be safe for concurrent use.
type Resolver interface {
	// LookupNetIP returns the addresses of host; network is "ip", "ip4" or "ip6".
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var _ Resolver = (*net.Resolver)(nil)

// Dialer opens TCP connections only to addresses its Policy allows; its DialContext is meant for
// [net/http.Transport.DialContext]. It resolves a name once, refuses it if any answer is
// forbidden, and then dials the checked addresses themselves, never the name, so a second DNS
// answer cannot change where the connection goes; every socket is checked again just before it
// connects ([Policy.Control]). The zero value is ready to use: strict policy, [net.DefaultResolver]
// and [DefaultTimeout]. A Dialer is safe for concurrent use once built; do not change its fields
// while it is in use.
type Dialer struct {
	// Policy decides which addresses may be reached.
	Policy Policy
	// Resolver looks up names; nil means net.DefaultResolver.
	Resolver Resolver
	// Timeout bounds the whole dial, name resolution included, and is spread over the addresses
	// tried as in package net; zero or negative means DefaultTimeout. A deadline of the context
	// that comes sooner wins.
	Timeout time.Duration
}

// DialContext connects to address ("host:port") on network "tcp", "tcp4" or "tcp6". The host
// passes [CheckHost]; a literal address must pass [Policy.CheckAddr]; a name is resolved once
// with the Resolver and every answer must pass CheckAddr. The checked addresses are then dialled
// in the order the Resolver gave them until one connects.
//
// # Errors
//
// Refusals wrap [ErrHostLiteral] (a host CheckHost refuses) or [ErrForbiddenAddress] (another
// network, a port that is not a number from 1 to 65535, a forbidden address — then also an
// [*AddrError] — or a name with no addresses), and name the address. A failed lookup or connection
// is returned wrapped, without a sentinel, so that callers may retry it.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var lookupNet string
	switch network {
	case "tcp":
		lookupNet = "ip"
	case "tcp4":
		lookupNet = "ip4"
	case "tcp6":
		lookupNet = "ip6"
	default:
		return nil, fmt.Errorf("%w: dial %q %q: network not allowed", ErrForbiddenAddress, network, address)
	}
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("%w: dial %s %q: %v", ErrForbiddenAddress, network, address, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		return nil, fmt.Errorf("%w: dial %s %q: port %q is not a number from 1 to 65535", ErrForbiddenAddress, network, address, portStr)
	}

	timeout := d.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	ip, isLiteral, err := CheckHost(host)
	if err != nil {
		return nil, fmt.Errorf("netguard: dial %s %q: %w", network, address, err)
	}
	addrs := []netip.Addr{ip}
	if !isLiteral {
		if addrs, err = d.resolve(ctx, lookupNet, host); err != nil {
			return nil, fmt.Errorf("netguard: dial %s %q: %w", network, address, err)
		}
	}
	for _, a := range addrs {
		if err := d.Policy.CheckAddr(a); err != nil {
			if isLiteral {
				return nil, fmt.Errorf("netguard: dial %s %q: %w", network, address, err)
			}
			return nil, fmt.Errorf("netguard: dial %s %q: %s resolves to %s: %w", network, address, host, a, err)
		}
	}

	nd := net.Dialer{Control: d.Policy.Control}
	var first error
	for i, a := range addrs {
		attemptCtx, cancelAttempt := attemptContext(ctx, len(addrs)-i)
		conn, err := nd.DialContext(attemptCtx, network, netip.AddrPortFrom(a.Unmap(), uint16(port)).String())
		cancelAttempt()
		if err == nil {
			return conn, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("netguard: dial %s %q: %w", network, address, first)
}

// resolve looks host up once and returns its addresses, refusing a name without any.
func (d *Dialer) resolve(ctx context.Context, network, host string) ([]netip.Addr, error) {
	var r Resolver = net.DefaultResolver
	if d.Resolver != nil {
		r = d.Resolver
	}
	addrs, err := r.LookupNetIP(ctx, network, host)
	if err != nil {
		return nil, fmt.Errorf("lookup %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w: %s resolves to no address", ErrForbiddenAddress, host)
	}
	return addrs, nil
}

// attemptContext gives one of n remaining dials its share of the time left before ctx's
// deadline, but at least minAttemptTimeout, as package net does.
func attemptContext(ctx context.Context, n int) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok || n <= 1 {
		return ctx, func() {}
	}
	share := time.Until(deadline) / time.Duration(n)
	if share < minAttemptTimeout {
		share = minAttemptTimeout
	}
	if d := time.Now().Add(share); d.Before(deadline) {
		return context.WithDeadline(ctx, d)
	}
	return ctx, func() {}
}
