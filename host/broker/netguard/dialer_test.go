package netguard_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splicehq/splice/host/broker/netguard"
)

// canary is a TCP listener on a loopback address that counts the connections it accepts. An SSRF
// guard that works never lets one reach it.
type canary struct {
	port     string
	accepted atomic.Int64
}

// startCanary listens on address (port 0) and reports whether it could.
func startCanary(t *testing.T, address string) (*canary, bool) {
	t.Helper()
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return nil, false
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	c := &canary{port: port}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.accepted.Add(1)
			conn.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return c, true
}

// settle waits until the canary has accepted want connections (at most 5 s), then a little more
// for any that might still arrive, and returns the count.
func (c *canary) settle(want int64) int64 {
	for end := time.Now().Add(5 * time.Second); c.accepted.Load() < want && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	return c.accepted.Load()
}

// fakeResolver answers from a script: call i gets answers[i], and the last answer repeats. It
// counts its calls.
type fakeResolver struct {
	mu      sync.Mutex
	answers [][]netip.Addr
	err     error
	calls   int
}

func resolverOf(answers ...[]netip.Addr) *fakeResolver { return &fakeResolver{answers: answers} }

func (r *fakeResolver) LookupNetIP(_ context.Context, _, _ string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.err != nil {
		return nil, r.err
	}
	i := min(r.calls, len(r.answers)) - 1
	return append([]netip.Addr(nil), r.answers[i]...), nil
}

func (r *fakeResolver) Calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

var _ netguard.Resolver = (*fakeResolver)(nil)

// TestDialerCanary dials a loopback canary through every spelling of a forbidden address that an
// SSRF attempt might use, and proves that each is refused and that no connection reaches it.
func TestDialerCanary(t *testing.T) {
	v4, _ := startCanary(t, "127.0.0.1:0")
	v6, haveV6 := startCanary(t, "[::1]:0")
	p4 := v4.port

	type dialCase struct {
		name     string
		address  string
		resolver *fakeResolver // nil: the real resolver
	}
	cases := []dialCase{
		{"loopback", net.JoinHostPort("127.0.0.1", p4), nil},
		{"decimal", net.JoinHostPort("2130706433", p4), nil},
		{"hex", net.JoinHostPort("0x7f000001", p4), nil},
		{"hex parts", net.JoinHostPort("0x7f.0.0.1", p4), nil},
		{"octal", net.JoinHostPort("0177.0.0.1", p4), nil},
		{"leading zeros", net.JoinHostPort("127.000.000.001", p4), nil},
		{"short form", net.JoinHostPort("127.1", p4), nil},
		{"trailing dot", net.JoinHostPort("127.0.0.1.", p4), nil},
		{"ipv4-mapped", net.JoinHostPort("::ffff:127.0.0.1", p4), nil},
		{"ipv4-compatible", net.JoinHostPort("::127.0.0.1", p4), nil},
		{"nat64", net.JoinHostPort("64:ff9b::7f00:1", p4), nil},
		{"6to4", net.JoinHostPort("2002:7f00:1::1", p4), nil},
		{"unspecified", net.JoinHostPort("0.0.0.0", p4), nil},
		{"localhost", net.JoinHostPort("localhost", p4), nil},
		{"name to loopback", net.JoinHostPort("canary.test", p4), resolverOf(addrs("127.0.0.1"))},
		{"name to mapped loopback", net.JoinHostPort("mapped.test", p4), resolverOf(addrs("::ffff:127.0.0.1"))},
		{"name to public and loopback", net.JoinHostPort("mixed.test", p4), resolverOf(addrs("8.8.8.8", "127.0.0.1"))},
		{"name to unspecified", net.JoinHostPort("zero.test", p4), resolverOf(addrs("0.0.0.0"))},
		{"name to nothing", net.JoinHostPort("empty.test", p4), resolverOf(nil)},
		// Rebinding: the first answer is the only one asked for; later ones would be public.
		{"rebinding", net.JoinHostPort("rebind.test", p4), resolverOf(addrs("127.0.0.1"), addrs("8.8.8.8"))},
	}
	if haveV6 {
		p6 := v6.port
		cases = append(cases,
			dialCase{"loopback v6", net.JoinHostPort("::1", p6), nil},
			dialCase{"unspecified v6", net.JoinHostPort("::", p6), nil},
			dialCase{"loopback v6 full", net.JoinHostPort("0:0:0:0:0:0:0:1", p6), nil},
			dialCase{"zone", net.JoinHostPort("::1%lo", p6), nil},
			dialCase{"localhost v6", net.JoinHostPort("localhost", p6), nil},
			dialCase{"name to loopback v6", net.JoinHostPort("canary6.test", p6), resolverOf(addrs("::1"))},
			dialCase{"name to public and loopback v6", net.JoinHostPort("mixed6.test", p6), resolverOf(addrs("2606:4700:4700::1111", "::1"))},
		)
	} else {
		t.Log("no IPv6 loopback: skipping the ::1 canary")
	}

	t.Run("strict", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				d := &netguard.Dialer{Timeout: 2 * time.Second}
				if tc.resolver != nil {
					d.Resolver = tc.resolver
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				conn, err := d.DialContext(ctx, "tcp", tc.address)
				if conn != nil {
					conn.Close()
					t.Fatalf("DialContext(%s) connected to %s", tc.address, conn.RemoteAddr())
				}
				var dnsErr *net.DNSError
				switch {
				case errors.Is(err, netguard.ErrForbiddenAddress), errors.Is(err, netguard.ErrHostLiteral):
				case tc.resolver == nil && errors.As(err, &dnsErr):
					t.Logf("DialContext(%s): %v (no local resolution; refused all the same)", tc.address, err)
				default:
					t.Fatalf("DialContext(%s) = %v, want ErrForbiddenAddress or ErrHostLiteral", tc.address, err)
				}
				if tc.resolver != nil {
					if n := tc.resolver.Calls(); n != 1 {
						t.Errorf("DialContext(%s) resolved %d times, want 1", tc.address, n)
					}
				}
			})
		}
	})
	if n := v4.settle(0); n != 0 {
		t.Fatalf("the 127.0.0.1 canary accepted %d connections, want 0", n)
	}
	if haveV6 {
		if n := v6.settle(0); n != 0 {
			t.Fatalf("the ::1 canary accepted %d connections, want 0", n)
		}
	}

	d := &netguard.Dialer{Policy: netguard.Policy{AllowLoopback: true}, Timeout: 5 * time.Second}
	conn, err := d.DialContext(context.Background(), "tcp", net.JoinHostPort("127.0.0.1", p4))
	if err != nil {
		t.Fatalf("DialContext with AllowLoopback: %v", err)
	}
	conn.Close()
	if n := v4.settle(1); n != 1 {
		t.Fatalf("the 127.0.0.1 canary accepted %d connections, want 1", n)
	}
}

// TestDialerResolvesOnce proves that a dial resolves the name once and connects to the address
// it checked, so a rebinding DNS server cannot swap in another address after the check.
func TestDialerResolvesOnce(t *testing.T) {
	c, _ := startCanary(t, "127.0.0.1:0")
	r := resolverOf(addrs("127.0.0.1"), addrs("10.0.0.1"))
	d := &netguard.Dialer{Policy: netguard.Policy{AllowLoopback: true}, Resolver: r, Timeout: 5 * time.Second}
	address := net.JoinHostPort("rebind.test", c.port)

	conn, err := d.DialContext(context.Background(), "tcp", address)
	if err != nil {
		t.Fatalf("first dial: %v", err)
	}
	if got, want := conn.RemoteAddr().String(), net.JoinHostPort("127.0.0.1", c.port); got != want {
		t.Errorf("connected to %s, want %s", got, want)
	}
	conn.Close()
	if n := r.Calls(); n != 1 {
		t.Errorf("first dial resolved %d times, want 1", n)
	}

	_, err = d.DialContext(context.Background(), "tcp", address)
	var ae *netguard.AddrError
	if !errors.As(err, &ae) || ae.Range != "private" {
		t.Errorf("second dial = %v, want a refusal of 10.0.0.1 as private", err)
	}
	if n := r.Calls(); n != 2 {
		t.Errorf("two dials resolved %d times, want 2", n)
	}
	if n := c.settle(1); n != 1 {
		t.Errorf("canary accepted %d connections, want 1", n)
	}
}

// TestDialerTriesInOrder proves that the dialer moves on to the next checked address when one
// fails. Nothing listens on ::1 at the canary's port (or there is no ::1), so the second address
// connects.
func TestDialerTriesInOrder(t *testing.T) {
	c, _ := startCanary(t, "127.0.0.1:0")
	r := resolverOf(addrs("::1", "127.0.0.1"))
	d := &netguard.Dialer{Policy: netguard.Policy{AllowLoopback: true}, Resolver: r, Timeout: 5 * time.Second}
	conn, err := d.DialContext(context.Background(), "tcp", net.JoinHostPort("both.test", c.port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got, want := conn.RemoteAddr().String(), net.JoinHostPort("127.0.0.1", c.port); got != want {
		t.Errorf("connected to %s, want %s", got, want)
	}
}

func TestDialerRefusals(t *testing.T) {
	t.Parallel()
	lookupFailed := errors.New("lookup failed")
	tests := []struct {
		name     string
		network  string
		address  string
		resolver netguard.Resolver
		want     error
	}{
		{"unix", "unix", "/var/run/docker.sock", nil, netguard.ErrForbiddenAddress},
		{"udp", "udp", "8.8.8.8:53", nil, netguard.ErrForbiddenAddress},
		{"no port", "tcp", "example.com", nil, netguard.ErrForbiddenAddress},
		{"port zero", "tcp", "example.com:0", nil, netguard.ErrForbiddenAddress},
		{"port name", "tcp", "example.com:http", nil, netguard.ErrForbiddenAddress},
		{"port too big", "tcp", "example.com:65536", nil, netguard.ErrForbiddenAddress},
		{"port signed", "tcp", "example.com:+80", nil, netguard.ErrForbiddenAddress},
		{"empty host", "tcp", ":80", nil, netguard.ErrHostLiteral},
		{"bad host", "tcp", "exa mple.com:80", nil, netguard.ErrHostLiteral},
		{"metadata", "tcp", "169.254.169.254:80", nil, netguard.ErrForbiddenAddress},
		{"metadata name", "tcp", "metadata.test:80", resolverOf(addrs("169.254.169.254")), netguard.ErrForbiddenAddress},
		{"metadata v6 name", "tcp6", "metadata.test:80", resolverOf(addrs("fd00:ec2::254")), netguard.ErrForbiddenAddress},
		{"invalid answer", "tcp", "zero.test:80", resolverOf([]netip.Addr{{}}), netguard.ErrForbiddenAddress},
		{"lookup error", "tcp", "down.test:80", &fakeResolver{err: lookupFailed}, lookupFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := &netguard.Dialer{Resolver: tc.resolver, Timeout: time.Second}
			conn, err := d.DialContext(context.Background(), tc.network, tc.address)
			if conn != nil {
				conn.Close()
				t.Fatalf("DialContext(%s %s) connected", tc.network, tc.address)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("DialContext(%s %s) = %v, want %v", tc.network, tc.address, err, tc.want)
			}
			if errors.Is(tc.want, lookupFailed) && errors.Is(err, netguard.ErrForbiddenAddress) {
				t.Errorf("a failed lookup must not read as a refusal: %v", err)
			}
		})
	}
}

// TestDialerHTTP wires the Dialer into an http.Transport, as the broker does.
func TestDialerHTTP(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	client := func(p netguard.Policy) *http.Client {
		d := &netguard.Dialer{Policy: p, Timeout: 5 * time.Second}
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
	}

	if _, err := client(netguard.Policy{}).Get(srv.URL); !errors.Is(err, netguard.ErrForbiddenAddress) {
		t.Errorf("strict GET %s = %v, want ErrForbiddenAddress", srv.URL, err)
	}
	resp, err := client(netguard.Policy{AllowLoopback: true}).Get(srv.URL)
	if err != nil {
		t.Fatalf("GET %s with AllowLoopback: %v", srv.URL, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Errorf("body = %q", body)
	}
}

// TestDialerHammer dials the canary from many goroutines through one Dialer.
func TestDialerHammer(t *testing.T) {
	c, _ := startCanary(t, "127.0.0.1:0")
	d := &netguard.Dialer{
		Policy:   netguard.Policy{AllowLoopback: true},
		Resolver: resolverOf(addrs("127.0.0.1")),
		Timeout:  5 * time.Second,
	}
	const goroutines, loops = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*loops)
	for g := range goroutines {
		wg.Go(func() {
			for i := range loops {
				host := "hammer.test"
				if (g+i)%2 == 1 {
					host = "0x7f000001" // refused, never dialled
				}
				conn, err := d.DialContext(context.Background(), "tcp", net.JoinHostPort(host, c.port))
				switch {
				case host == "hammer.test" && err == nil:
					conn.Close()
				case host != "hammer.test" && errors.Is(err, netguard.ErrHostLiteral):
				default:
					errs <- errors.New(host + ": " + strconv.Quote(errString(err)))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	want := int64(goroutines * loops / 2)
	if n := c.settle(want); n != want {
		t.Errorf("canary accepted %d connections, want %d", n, want)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
