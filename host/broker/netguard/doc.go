// Package netguard is the broker's guard against server-side request forgery (SSRF): it decides
// which network addresses the outbound HTTP requests of connectors may reach, both when a host is
// parsed and resolved and again when a socket connects.
//
// It owns the list of forbidden address ranges ([Policy.CheckAddr]), the reading of a URL's host
// as an IP literal or a DNS name ([CheckHost]), and a dialer for [net/http.Transport] that resolves
// a name once, judges every answer and connects only to checked addresses ([Dialer],
// [Policy.Control]). It leaves to the broker everything above the socket: parsing URLs, schemes,
// ports and host allowlists, following (or refusing) redirects, proxies, and credentials. It
// imports only the standard library.
//
// [Policy] and [AddrError] are plain values. A [Dialer] is safe for concurrent use once built, as
// long as its fields are not changed while it is in use; it holds no state between dials. The
// package has no locks and no package-level mutable state.
//
// # Why these ranges
//
// Outbound requests go to the public internet, so an address passes only if it is public
// unicast. Every range below reaches something else: this machine, its network, its cloud, or
// nothing that any service on the internet could be.
//
//   - Loopback, 127.0.0.0/8 (RFC 1122) and ::1 (RFC 4291), is this machine: the host's own
//     management API, databases and sidecars listening on localhost.
//   - 0.0.0.0/8 ("this network", RFC 1122 and RFC 6890) and :: (unspecified, RFC 4291): Linux
//     and other systems connect a socket aimed at 0.0.0.0 or :: to the local host, so they are
//     loopback in disguise.
//   - Private networks, 10.0.0.0/8, 172.16.0.0/12 and 192.168.0.0/16 (RFC 1918), and unique local
//     addresses, fc00::/7 (RFC 4193), are the operator's internal network. fd00:ec2::254, the
//     IPv6 address of the AWS instance metadata service, lies in fc00::/7.
//   - Shared address space, 100.64.0.0/10 (RFC 6598), is carrier-grade NAT and, in practice,
//     internal networks of cloud providers and overlay networks; Alibaba Cloud serves instance
//     metadata at 100.100.100.200.
//   - Link-local, 169.254.0.0/16 (RFC 3927) and fe80::/10 (RFC 4291), holds the instance metadata
//     services of most clouds (169.254.169.254, which hands out credentials) and never leaves the
//     local link. Known metadata endpoints are reported as "metadata" rather than by their range;
//     that list also holds 168.63.129.16, Azure's platform endpoint, which is a public address
//     that every Azure VM reaches but which serves only the VM's own platform.
//   - Multicast, 224.0.0.0/4 (RFC 5771) and ff00::/8 (RFC 4291), 255.255.255.255 (limited
//     broadcast, RFC 919) and 240.0.0.0/4 (reserved, RFC 1112) are not unicast.
//   - 192.0.0.0/24 (IETF protocol assignments, RFC 6890), the documentation ranges 192.0.2.0/24,
//     198.51.100.0/24 and 203.0.113.0/24 (RFC 5737), 2001:db8::/32 (RFC 3849) and 3fff::/20
//     (RFC 9637), benchmarking 198.18.0.0/15 (RFC 2544) and 2001:2::/48 (RFC 5180), the retired
//     6to4 relay anycast 192.88.99.0/24 (RFC 3068, deprecated by RFC 7526), site-local fec0::/10
//     (deprecated by RFC 3879), the discard prefix 100::/64 (RFC 6666), the rest of the IETF
//     protocol block 2001::/23 (RFC 2928) and SRv6 SIDs 5f00::/16 (RFC 9602) hold no public
//     service; where they answer at all they answer inside someone's network.
//   - IPv6 outside 2000::/3 is refused unless it is one of the forms judged below: IANA allocates
//     global unicast space only from 2000::/3 (RFC 4291, section 2.4, and RFC 3587), so anything
//     else is special or not yet assigned. This list needs a change if that ever changes.
//
// # Why embedded IPv4 addresses are judged
//
// Several IPv6 forms carry an IPv4 address that some part of the network will eventually
// connect to, so checking the IPv6 address alone would let 127.0.0.1 or 10.0.0.1 through:
//
//   - IPv4-mapped addresses, ::ffff:a.b.c.d (RFC 4291, section 2.5.5.2), are how a dual-stack
//     socket reaches the IPv4 address itself; they get exactly the IPv4 address's verdict, and
//     the error names the IPv4 address's range.
//   - IPv4-compatible addresses, ::a.b.c.d (RFC 4291, section 2.5.5.1), are deprecated and some
//     stacks still treat them as IPv4; all of ::/96 is refused, apart from :: and ::1 above.
//   - NAT64 addresses, 64:ff9b::/96 (RFC 6052) and the local-use 64:ff9b:1::/48 (RFC 8215), are
//     translated by a NAT64 gateway to the IPv4 address in their low 32 bits. In the local-use
//     prefix the IPv4 address sits elsewhere when the operator's prefix is shorter than /96
//     (RFC 6052, section 2.2), so only the /96 form, with bits 48 to 95 zero, is accepted: any
//     other reading of it falls in 0.0.0.0/8, which no gateway forwards.
//   - 6to4 addresses, 2002::/16 (RFC 3056), are tunnelled to the IPv4 address in bits 16 to 47.
//   - Teredo addresses, 2001::/32 (RFC 4380), carry the server's IPv4 address in bits 32 to 63
//     and the client's, inverted, in the low 32 bits; both are judged.
//
// An embedded address is judged with the strict policy even when [Policy.AllowLoopback] is set:
// 127.0.0.1 behind a NAT64 gateway or a tunnel is the gateway's loopback, not this machine's.
// Addresses with a zone (fe80::1%eth0) are refused: a zone names a local interface, which only
// local addresses need.
//
// # Why numeric hosts are refused
//
// "http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/" and "http://127.1/" all reach
// 127.0.0.1 through some client: inet_aton(3), which getaddrinfo(3) and so Go's cgo resolver use
// for numeric hosts, accepts one to four parts in decimal, octal or hexadecimal, and the WHATWG
// URL Standard parses any host whose last label is a number as IPv4. Go's own resolver treats the
// same strings as DNS names. A guard that reads a host one way while the resolver reads it
// another is bypassed (RFC 3986, section 7.4, warns of these "rare IP address formats"), so
// [CheckHost] accepts exactly one spelling of an IPv4 address, the canonical dotted quad, and
// refuses every other host that looks numeric. A DNS name never has a numeric top-level label
// (RFC 1123, section 2.1; RFC 3696, section 2), so no real name is lost. Characters outside
// letters, digits, '-' and '.' are refused too: no hostname needs them, and '%', spaces or
// non-ASCII bytes are what makes parsers disagree. ErrHostLiteral covers all these refusals, the
// empty host included, so that callers have one condition to branch on.
//
// # Why resolve once and check again at connect time
//
// A name is resolved once per dial, and the connection goes to the checked addresses, never to
// the name: a DNS server that answers a public address to the check and 127.0.0.1 to the
// connection (DNS rebinding) gets no second question. A name is refused if any of its answers is
// forbidden, not just the first, because which answer a client uses depends on its address
// family preferences and on retries, which an attacker who controls the DNS zone can steer.
// Finally [Policy.Control] runs on every socket just before it connects and checks the address
// it is about to reach, so a connection made by a path that skipped the checks above (a change
// in package net, or a caller that used the Policy with its own dialer) is still refused.
//
// # Notes
//
// The guard checks the address a socket connects to, so a [net/http.Transport] that uses it must
// not use a proxy (Proxy must be nil): through a proxy, the dialer sees only the proxy's address.
// Redirects dial again through the same Dialer and are checked like any other request; whether
// to follow them at all is the broker's decision.
package netguard
