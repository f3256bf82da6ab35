package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// errNotLoopback is the refusal of a URL, listen address or dialed address outside the loopback
// interface. Load goes to 127.0.0.0/8, ::1 and localhost only.
var errNotLoopback = errors.New("not a loopback address")

// isLoopbackHost reports whether host, a host name or IP literal without brackets or port, names
// the loopback interface: localhost, an address of 127.0.0.0/8 or ::1 (IPv4-mapped forms too).
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// parseLoopbackURL parses raw and checks that it is an http URL whose host is a loopback address.
//
// # Errors
//
// A malformed URL, a scheme other than http, or a host that is not loopback (wrapping
// errNotLoopback).
func parseLoopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("url %q: %w", raw, err)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("url %s: scheme must be http, not %q", u.Redacted(), u.Scheme)
	}
	if host := u.Hostname(); !isLoopbackHost(host) {
		return nil, fmt.Errorf("url %s: host %q is %w (load goes to 127.0.0.0/8, ::1 or localhost only)",
			u.Redacted(), host, errNotLoopback)
	}
	return u, nil
}

// hostPort returns u's host and port for dialing, port 80 when the URL has none.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// listenLoopback listens on addr (host:port, port 0 for any) after checking that its host is a
// loopback address; an empty host, which would listen on every interface, is refused.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen %q: %w", addr, err)
	}
	if !isLoopbackHost(host) {
		return nil, fmt.Errorf("listen %q: host %q is %w", addr, host, errNotLoopback)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %q: %w", addr, err)
	}
	return ln, nil
}

// dialLoopback dials addr over TCP, refusing before connecting any resolved address that is not
// loopback (a name in /etc/hosts may point elsewhere). It fits fasthttp.HostClient.DialTimeout.
func dialLoopback(addr string, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout, Control: loopbackOnly}
	return d.Dial("tcp", addr)
}

// loopbackOnly is a net.Dialer Control function: it runs after the name was resolved and before
// the connection is made, and refuses any address outside the loopback interface.
func loopbackOnly(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !ap.Addr().Unmap().IsLoopback() {
		return fmt.Errorf("dial %s: %w", address, errNotLoopback)
	}
	return nil
}
