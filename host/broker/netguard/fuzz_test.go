package netguard_test

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/splicehq/splice/host/broker/netguard"
)

// FuzzCheckHost feeds arbitrary hosts to CheckHost: it never panics, every refusal is
// ErrHostLiteral, a literal round-trips through its String form, and nothing that inet_aton(3)
// would read as an IPv4 address passes as a name or as a different literal.
func FuzzCheckHost(f *testing.F) {
	for _, s := range []string{
		"", ".", "8.8.8.8", "127.0.0.1", "127.0.0.1.", "2130706433", "0x7f000001", "0x7f.0.0.1",
		"0177.0.0.1", "127.1", "127.000.000.001", "::1", "::ffff:127.0.0.1", "fe80::1%eth0",
		"64:ff9b::7f00:1", "api.example.com", "localhost", "a.b-c.d.", "exa mple.com",
		"ex%61mple.com", "exämple.com", "example.123", "0x.0x", "1.2.3.4.5", "[::1]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		addr, isLiteral, err := netguard.CheckHost(host)
		if err != nil {
			if !errors.Is(err, netguard.ErrHostLiteral) {
				t.Fatalf("CheckHost(%q) = %v, not ErrHostLiteral", host, err)
			}
			if isLiteral || addr.IsValid() {
				t.Fatalf("CheckHost(%q) refused but returned %v, %v", host, addr, isLiteral)
			}
			return
		}
		if v4, ok := inetAton(strings.TrimSuffix(host, ".")); ok && (!isLiteral || addr != v4) {
			t.Fatalf("CheckHost(%q) = %v, %v; inet_aton reads it as %s", host, addr, isLiteral, v4)
		}
		if !isLiteral {
			if addr.IsValid() {
				t.Fatalf("CheckHost(%q) returned a name with address %s", host, addr)
			}
			if _, err := netip.ParseAddr(host); err == nil {
				t.Fatalf("CheckHost(%q) took an IP address for a name", host)
			}
			return
		}
		if !addr.IsValid() || addr.Zone() != "" {
			t.Fatalf("CheckHost(%q) returned literal %v", host, addr)
		}
		again, lit, err := netguard.CheckHost(addr.String())
		if err != nil || !lit || again != addr {
			t.Fatalf("CheckHost(%q) = %s, but CheckHost(%q) = %v, %v, %v", host, addr, addr.String(), again, lit, err)
		}
	})
}

// FuzzCheckAddr feeds arbitrary addresses to CheckAddr: it never panics, an IPv4 address and its
// IPv4-mapped form get the same verdict, and nothing it allows is loopback, private, link-local,
// multicast or unspecified by the standard library's own tests.
func FuzzCheckAddr(f *testing.F) {
	for _, s := range []string{
		"::", "::1", "::ffff:127.0.0.1", "::ffff:8.8.8.8", "64:ff9b::7f00:1", "64:ff9b::808:808",
		"2002:7f00:1::1", "2002:808:808::1", "2001:0:4136:e378:8000:63bf:80ff:fffe",
		"2606:4700:4700::1111", "fd00:ec2::254", "fe80::1", "ff02::1",
	} {
		b := netip.MustParseAddr(s).As16()
		f.Add(b[:])
	}
	for _, s := range []string{"0.0.0.0", "127.0.0.1", "8.8.8.8", "169.254.169.254", "255.255.255.255"} {
		b := netip.MustParseAddr(s).As4()
		f.Add(b[:])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var b [16]byte
		copy(b[:], data)
		v6 := netip.AddrFrom16(b)
		v4 := netip.AddrFrom4([4]byte(b[:4]))
		mapped := netip.AddrFrom16(netip.AddrFrom4([4]byte(b[:4])).As16())
		for _, p := range []netguard.Policy{{}, {AllowLoopback: true}} {
			for _, ip := range []netip.Addr{v6, v4} {
				err := p.CheckAddr(ip)
				if err == nil {
					if p.AllowLoopback && ip.IsLoopback() {
						continue
					}
					if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
						ip.IsMulticast() || ip.IsUnspecified() || !ip.Unmap().IsGlobalUnicast() {
						t.Fatalf("%+v allowed %s", p, ip)
					}
					continue
				}
				var ae *netguard.AddrError
				if !errors.As(err, &ae) || !errors.Is(err, netguard.ErrForbiddenAddress) || ae.Addr != ip || ae.Range == "" {
					t.Fatalf("%+v.CheckAddr(%s) = %#v", p, ip, err)
				}
			}
			if got, want := verdict(p.CheckAddr(mapped)), verdict(p.CheckAddr(v4)); got != want {
				t.Fatalf("%+v: CheckAddr(%s) = %s, but CheckAddr(%s) = %s", p, mapped, got, v4, want)
			}
		}
	})
}

func verdict(err error) string {
	var ae *netguard.AddrError
	if errors.As(err, &ae) {
		return ae.Range
	}
	if err != nil {
		return err.Error()
	}
	return "allowed"
}

// inetAton parses s as inet_aton(3) does (one to four parts, each decimal, octal with a leading 0
// or hexadecimal with 0x; the last part fills the remaining bytes), without glibc's tolerance of
// trailing whitespace.
func inetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		base, digits := 10, p
		switch {
		case len(p) > 1 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'):
			base, digits = 16, p[2:]
			if digits == "" {
				digits = "0" // inet_aton reads "0x" as 0
			}
		case len(p) > 1 && p[0] == '0':
			base, digits = 8, p[1:]
		}
		if digits == "" || strings.ContainsAny(digits, "+-_") {
			return netip.Addr{}, false
		}
		v, err := strconv.ParseUint(digits, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	last := len(vals) - 1
	for _, v := range vals[:last] {
		if v > 0xff {
			return netip.Addr{}, false
		}
	}
	if vals[last] >= 1<<(8*(4-last)) {
		return netip.Addr{}, false
	}
	var n uint64
	for _, v := range vals[:last] {
		n = n<<8 | v
	}
	n = n<<(8*(4-last)) | vals[last]
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

func TestInetAton(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string // want "" if inet_aton refuses it
	}{
		{"decimal", "2130706433", "127.0.0.1"},
		{"hex", "0x7f000001", "127.0.0.1"},
		{"hex parts", "0x7f.0.0.1", "127.0.0.1"},
		{"octal", "0177.0.0.1", "127.0.0.1"},
		{"short", "127.1", "127.0.0.1"},
		{"three parts", "10.1.258", "10.1.1.2"},
		{"leading zeros", "127.000.000.001", "127.0.0.1"},
		{"bare 0x", "0x", "0.0.0.0"},
		{"canonical", "8.8.8.8", "8.8.8.8"},
		{"too many", "1.2.3.4.5", ""},
		{"octet too big", "256.1.1.1", ""},
		{"bad octal", "08.0.0.1", ""},
		{"name", "example.com", ""},
		{"empty part", "1..2", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := inetAton(tc.in)
			switch {
			case tc.want == "" && ok:
				t.Errorf("inetAton(%q) = %s, want refusal", tc.in, got)
			case tc.want != "" && (!ok || got != netip.MustParseAddr(tc.want)):
				t.Errorf("inetAton(%q) = %s, %v; want %s", tc.in, got, ok, tc.want)
			}
		})
	}
}
