package netguard_test

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/splicehq/splice/host/broker/netguard"
)

func TestCheckHost(t *testing.T) {
	t.Parallel()
	const (
		name    = iota // a DNS name: zero Addr, false, nil
		literal        // a canonical literal: the address, true, nil
		refused        // ErrHostLiteral
	)
	tests := []struct {
		name string
		host string
		want int
		addr string // for literals
	}{
		// Canonical literals: CheckHost accepts them; CheckAddr judges them.
		{"ipv4", "8.8.8.8", literal, "8.8.8.8"},
		{"ipv4 loopback", "127.0.0.1", literal, "127.0.0.1"},
		{"ipv4 zero", "0.0.0.0", literal, "0.0.0.0"},
		{"ipv4 max", "255.255.255.255", literal, "255.255.255.255"},
		{"ipv6", "2606:4700:4700::1111", literal, "2606:4700:4700::1111"},
		{"ipv6 uppercase", "2606:4700:4700::ABCD", literal, "2606:4700:4700::abcd"},
		{"ipv6 loopback", "::1", literal, "::1"},
		{"ipv6 full", "0:0:0:0:0:0:0:1", literal, "::1"},
		{"ipv4-mapped", "::ffff:127.0.0.1", literal, "::ffff:127.0.0.1"},
		{"nat64", "64:ff9b::7f00:1", literal, "64:ff9b::7f00:1"},

		// Other IPv4 spellings that inet_aton(3) or a URL parser accepts.
		{"decimal", "2130706433", refused, ""},
		{"decimal zero", "0", refused, ""},
		{"hex", "0x7f000001", refused, ""},
		{"hex upper", "0X7F000001", refused, ""},
		{"hex parts", "0x7f.0.0.1", refused, ""},
		{"hex last part", "127.0.0.0x1", refused, ""},
		{"hex empty", "0x", refused, ""},
		{"octal", "0177.0.0.1", refused, ""},
		{"octal whole", "017700000001", refused, ""},
		{"leading zeros", "127.000.000.001", refused, ""},
		{"leading zero", "127.0.0.01", refused, ""},
		{"two parts", "127.1", refused, ""},
		{"two parts private", "10.1", refused, ""},
		{"three parts", "127.0.1", refused, ""},
		{"five parts", "1.2.3.4.5", refused, ""},
		{"octet too big", "256.0.0.1", refused, ""},
		{"trailing dot", "127.0.0.1.", refused, ""},
		{"trailing dot public", "8.8.8.8.", refused, ""},
		{"ends in a number", "example.123", refused, ""},
		{"ends in hex", "foo.0x7f", refused, ""},

		// Malformed hosts.
		{"empty", "", refused, ""},
		{"dot", ".", refused, ""},
		{"two trailing dots", "example.com..", refused, ""},
		{"leading dot", ".example.com", refused, ""},
		{"empty label", "a..b", refused, ""},
		{"space", "exa mple.com", refused, ""},
		{"percent escape", "ex%61mple.com", refused, ""},
		{"zone", "fe80::1%eth0", refused, ""},
		{"zone encoded", "fe80::1%25eth0", refused, ""},
		{"brackets", "[::1]", refused, ""},
		{"port", "example.com:80", refused, ""},
		{"ipv6 bad", "1:2:3:4:5:6:7:8:9", refused, ""},
		{"ipv6 octal embedded", "::ffff:0177.0.0.1", refused, ""},
		{"ipv6 hex embedded", "::ffff:0x7f.0.0.1", refused, ""},
		{"underscore", "my_host.example.com", refused, ""},
		{"slash", "example.com/x", refused, ""},
		{"backslash", `example.com\x`, refused, ""},
		{"userinfo", "user@example.com", refused, ""},
		{"nul", "example.com\x00.evil", refused, ""},
		{"tab", "example.com\t", refused, ""},
		{"unicode", "exämple.com", refused, ""},
		{"fullwidth digits", "１２７.０.０.１", refused, ""},
		{"ideographic dot", "127。0。0。1", refused, ""},
		{"label too long", strings.Repeat("a", 64) + ".com", refused, ""},
		{"name too long", strings.Repeat("a.", 127) + "com", refused, ""},

		// DNS names.
		{"name", "api.example.com", name, ""},
		{"localhost", "localhost", name, ""},
		{"trailing dot name", "a.b-c.d.", name, ""},
		{"single label", "intranet", name, ""},
		{"numeric labels first", "1.2.3.example", name, ""},
		{"hex-looking label first", "0x7f.example.com", name, ""},
		{"digits and letters", "1e100.net", name, ""},
		{"uppercase", "API.Example.COM", name, ""},
		{"hyphen", "xn--bcher-kva.example", name, ""},
		{"label at limit", strings.Repeat("a", 63) + ".com", name, ""},
		{"name at limit", strings.Repeat("a.", 125) + "com", name, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr, isLiteral, err := netguard.CheckHost(tc.host)
			switch tc.want {
			case name:
				if err != nil || isLiteral || addr.IsValid() {
					t.Fatalf("CheckHost(%q) = %v, %v, %v; want a name", tc.host, addr, isLiteral, err)
				}
			case literal:
				if err != nil || !isLiteral || addr != netip.MustParseAddr(tc.addr) {
					t.Fatalf("CheckHost(%q) = %v, %v, %v; want literal %s", tc.host, addr, isLiteral, err, tc.addr)
				}
			case refused:
				if !errors.Is(err, netguard.ErrHostLiteral) {
					t.Fatalf("CheckHost(%q) = %v, %v, %v; want ErrHostLiteral", tc.host, addr, isLiteral, err)
				}
				if isLiteral || addr.IsValid() {
					t.Errorf("CheckHost(%q) refused but returned %v, %v", tc.host, addr, isLiteral)
				}
				if !strings.HasPrefix(err.Error(), "netguard: ") || !strings.Contains(err.Error(), strconv.Quote(tc.host)) {
					t.Errorf("error %q does not name the package and the host", err)
				}
			}
		})
	}
}
