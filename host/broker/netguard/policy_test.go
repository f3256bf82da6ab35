package netguard_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/splicehq/splice/host/broker/netguard"
)

func TestCheckAddr(t *testing.T) {
	t.Parallel()
	strict := netguard.Policy{}
	loopbackOK := netguard.Policy{AllowLoopback: true}
	tests := []struct {
		name   string
		policy netguard.Policy
		addr   string
		want   string // Range of the refusal, "" if allowed
	}{
		// Public unicast.
		{"google dns", strict, "8.8.8.8", ""},
		{"cloudflare dns", strict, "1.1.1.1", ""},
		{"public low", strict, "1.0.0.1", ""},
		{"public high", strict, "223.255.255.254", ""},
		{"below private 172", strict, "172.15.255.255", ""},
		{"above private 172", strict, "172.32.0.0", ""},
		{"below cgnat", strict, "100.63.255.255", ""},
		{"above cgnat", strict, "100.128.0.0", ""},
		{"near benchmarking", strict, "198.20.0.1", ""},
		{"as112 v4", strict, "192.31.196.1", ""},
		{"cloudflare v6", strict, "2606:4700:4700::1111", ""},
		{"google v6", strict, "2001:4860:4860::8888", ""},
		{"ipv4-mapped public", strict, "::ffff:8.8.8.8", ""},

		// Loopback.
		{"loopback", strict, "127.0.0.1", "loopback"},
		{"loopback top", strict, "127.255.255.254", "loopback"},
		{"loopback v6", strict, "::1", "loopback"},
		{"loopback mapped", strict, "::ffff:127.0.0.1", "loopback"},
		{"allow loopback v4", loopbackOK, "127.0.0.1", ""},
		{"allow loopback v4 range", loopbackOK, "127.1.2.3", ""},
		{"allow loopback v6", loopbackOK, "::1", ""},
		{"allow loopback mapped", loopbackOK, "::ffff:127.0.0.1", ""},
		{"allow loopback keeps private", loopbackOK, "10.0.0.1", "private"},
		{"allow loopback keeps unspecified", loopbackOK, "0.0.0.0", "unspecified"},
		{"allow loopback keeps unspecified v6", loopbackOK, "::", "unspecified"},
		{"allow loopback keeps metadata", loopbackOK, "169.254.169.254", "metadata"},
		{"allow loopback keeps nat64 loopback", loopbackOK, "64:ff9b::7f00:1", "nat64"},
		{"allow loopback keeps compatible loopback", loopbackOK, "::127.0.0.1", "ipv4-compatible"},
		{"allow loopback keeps zone", loopbackOK, "::1%lo", "zone"},

		// Unspecified and this network.
		{"unspecified", strict, "0.0.0.0", "unspecified"},
		{"this network", strict, "0.1.2.3", "this-network"},
		{"unspecified v6", strict, "::", "unspecified"},
		{"unspecified mapped", strict, "::ffff:0.0.0.0", "unspecified"},

		// Private.
		{"rfc1918 10", strict, "10.0.0.1", "private"},
		{"rfc1918 10 top", strict, "10.255.255.255", "private"},
		{"rfc1918 172", strict, "172.16.0.1", "private"},
		{"rfc1918 172 top", strict, "172.31.255.255", "private"},
		{"rfc1918 192", strict, "192.168.1.1", "private"},
		{"private mapped", strict, "::ffff:192.168.0.1", "private"},
		{"ula fc", strict, "fc00::1", "private"},
		{"ula fd", strict, "fd12:3456:789a::1", "private"},

		// Link-local and metadata.
		{"link-local", strict, "169.254.1.1", "link-local"},
		{"link-local v6", strict, "fe80::1", "link-local"},
		{"link-local v6 top", strict, "febf:ffff::1", "link-local"},
		{"metadata aws gcp azure", strict, "169.254.169.254", "metadata"},
		{"metadata ecs", strict, "169.254.170.2", "metadata"},
		{"metadata mapped", strict, "::ffff:169.254.169.254", "metadata"},
		{"metadata alibaba", strict, "100.100.100.200", "metadata"},
		{"metadata aws v6", strict, "fd00:ec2::254", "metadata"},
		{"metadata azure wireserver", strict, "168.63.129.16", "metadata"},
		{"metadata oracle", strict, "192.0.0.192", "metadata"},

		// Shared address space.
		{"cgnat", strict, "100.64.0.1", "cgnat"},
		{"cgnat top", strict, "100.127.255.255", "cgnat"},

		// Multicast, broadcast, reserved.
		{"multicast", strict, "224.0.0.1", "multicast"},
		{"multicast top", strict, "239.255.255.255", "multicast"},
		{"multicast v6", strict, "ff02::1", "multicast"},
		{"multicast v6 global", strict, "ff0e::1", "multicast"},
		{"broadcast", strict, "255.255.255.255", "broadcast"},
		{"class e", strict, "240.0.0.1", "reserved"},
		{"class e top", strict, "255.255.255.254", "reserved"},
		{"ietf protocol assignments", strict, "192.0.0.1", "reserved"},

		// Documentation and benchmarking.
		{"test-net-1", strict, "192.0.2.1", "documentation"},
		{"test-net-2", strict, "198.51.100.1", "documentation"},
		{"test-net-3", strict, "203.0.113.1", "documentation"},
		{"benchmarking", strict, "198.18.0.1", "benchmarking"},
		{"benchmarking top", strict, "198.19.255.255", "benchmarking"},
		{"documentation v6", strict, "2001:db8::1", "documentation"},
		{"documentation v6 3fff", strict, "3fff::1", "documentation"},
		{"benchmarking v6", strict, "2001:2::1", "benchmarking"},
		{"6to4 relay anycast", strict, "192.88.99.1", "6to4-relay"},

		// Other IPv6 special ranges.
		{"site-local", strict, "fec0::1", "site-local"},
		{"discard", strict, "100::1", "discard"},
		{"outside 2000::/3", strict, "4000::1", "reserved"},
		{"ipv4-translated", strict, "::ffff:0:808:808", "reserved"},
		{"ietf protocol block", strict, "2001:4:112::1", "reserved"},
		{"orchid v2", strict, "2001:20::1", "reserved"},
		{"srv6", strict, "5f00::1", "reserved"},
		{"ipv4-compatible", strict, "::8.8.8.8", "ipv4-compatible"},
		{"ipv4-compatible loopback", strict, "::127.0.0.1", "ipv4-compatible"},
		{"ipv4-compatible low", strict, "::2", "ipv4-compatible"},

		// NAT64.
		{"nat64 loopback", strict, "64:ff9b::7f00:1", "nat64"},
		{"nat64 private", strict, "64:ff9b::a00:1", "nat64"},
		{"nat64 metadata", strict, "64:ff9b::a9fe:a9fe", "nat64"},
		{"nat64 public", strict, "64:ff9b::808:808", ""},
		{"nat64 local public", strict, "64:ff9b:1::808:808", ""},
		{"nat64 local loopback", strict, "64:ff9b:1::7f00:1", "nat64"},
		{"nat64 local /48 reading", strict, "64:ff9b:1:7f00:0:1:808:808", "nat64"},

		// 6to4.
		{"6to4 loopback", strict, "2002:7f00:1::1", "6to4"},
		{"6to4 private", strict, "2002:c0a8:101::1", "6to4"},
		{"6to4 metadata", strict, "2002:a9fe:a9fe::1", "6to4"},
		{"6to4 public", strict, "2002:808:808::1", ""},

		// Teredo: server 65.54.227.120 is public; the client is stored inverted.
		{"teredo public", strict, "2001:0:4136:e378:8000:63bf:f7f7:f7f7", ""},
		{"teredo client loopback", strict, "2001:0:4136:e378:8000:63bf:80ff:fffe", "teredo"},
		{"teredo client private", strict, "2001:0:4136:e378:8000:63bf:f5ff:fffe", "teredo"},
		{"teredo server private", strict, "2001:0:a00:1:8000:63bf:f7f7:f7f7", "teredo"},
		{"teredo server loopback", strict, "2001:0:7f00:1:8000:63bf:f7f7:f7f7", "teredo"},

		// Zones and the zero Addr.
		{"zone link-local", strict, "fe80::1%eth0", "zone"},
		{"zone public", strict, "2606:4700:4700::1111%eth0", "zone"},
		{"invalid", strict, "", "invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ip netip.Addr
			if tc.addr != "" {
				ip = netip.MustParseAddr(tc.addr)
			}
			err := tc.policy.CheckAddr(ip)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckAddr(%s) = %v, want nil", tc.addr, err)
				}
				return
			}
			var ae *netguard.AddrError
			if !errors.As(err, &ae) {
				t.Fatalf("CheckAddr(%s) = %v, want an *AddrError", tc.addr, err)
			}
			if !errors.Is(err, netguard.ErrForbiddenAddress) {
				t.Errorf("CheckAddr(%s) = %v, does not match ErrForbiddenAddress", tc.addr, err)
			}
			if ae.Range != tc.want || ae.Addr != ip {
				t.Errorf("CheckAddr(%s) = {%s %q}, want {%s %q}", tc.addr, ae.Addr, ae.Range, ip, tc.want)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "netguard: ") || !strings.Contains(msg, "("+tc.want) {
				t.Errorf("message %q does not name the package and the range", msg)
			}
		})
	}
}

func TestAddrErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		addr string
		want string
	}{
		{"plain", "10.1.2.3", "netguard: forbidden address 10.1.2.3 (private)"},
		{"mapped", "::ffff:127.0.0.1", "netguard: forbidden address ::ffff:127.0.0.1 (loopback, ipv4-mapped)"},
		{"nat64", "64:ff9b::7f00:1", "netguard: forbidden address 64:ff9b::7f00:1 (nat64, embedded 127.0.0.1 is loopback)"},
		{"teredo", "2001:0:4136:e378:8000:63bf:80ff:fffe", "netguard: forbidden address 2001:0:4136:e378:8000:63bf:80ff:fffe (teredo, client 127.0.0.1 is loopback)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := netguard.Policy{}.CheckAddr(netip.MustParseAddr(tc.addr))
			if err == nil || err.Error() != tc.want {
				t.Errorf("CheckAddr(%s) = %v, want %q", tc.addr, err, tc.want)
			}
		})
	}
}

func TestControl(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		policy  netguard.Policy
		address string
		allowed bool
	}{
		{"public", netguard.Policy{}, "8.8.8.8:443", true},
		{"public v6", netguard.Policy{}, "[2606:4700:4700::1111]:443", true},
		// The address a rebound name would connect to, after a check that saw a public one.
		{"rebound loopback", netguard.Policy{}, "127.0.0.1:8080", false},
		{"rebound metadata", netguard.Policy{}, "169.254.169.254:80", false},
		{"loopback v6", netguard.Policy{}, "[::1]:80", false},
		{"zone", netguard.Policy{}, "[fe80::1%eth0]:80", false},
		{"mapped loopback", netguard.Policy{}, "[::ffff:127.0.0.1]:80", false},
		{"name", netguard.Policy{}, "localhost:80", false},
		{"no port", netguard.Policy{}, "8.8.8.8", false},
		{"allowed loopback", netguard.Policy{AllowLoopback: true}, "127.0.0.1:8080", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.policy.Control("tcp", tc.address, nil)
			if tc.allowed {
				if err != nil {
					t.Fatalf("Control(%s) = %v, want nil", tc.address, err)
				}
				return
			}
			if !errors.Is(err, netguard.ErrForbiddenAddress) {
				t.Fatalf("Control(%s) = %v, want ErrForbiddenAddress", tc.address, err)
			}
		})
	}
}
