package netguard_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"

	"github.com/splicehq/splice/host/broker/netguard"
)

func ExamplePolicy_CheckAddr() {
	var p netguard.Policy // the zero value is the strict policy
	for _, s := range []string{
		"8.8.8.8",
		"2606:4700:4700::1111",
		"10.0.0.1",
		"169.254.169.254",
		"::ffff:127.0.0.1",
		"64:ff9b::7f00:1",
	} {
		if err := p.CheckAddr(netip.MustParseAddr(s)); err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(s, "allowed")
	}
	// Output:
	// 8.8.8.8 allowed
	// 2606:4700:4700::1111 allowed
	// netguard: forbidden address 10.0.0.1 (private)
	// netguard: forbidden address 169.254.169.254 (metadata)
	// netguard: forbidden address ::ffff:127.0.0.1 (loopback, ipv4-mapped)
	// netguard: forbidden address 64:ff9b::7f00:1 (nat64, embedded 127.0.0.1 is loopback)
}

func ExampleCheckHost() {
	for _, host := range []string{"api.example.com", "127.0.0.1", "0x7f000001", "127.1"} {
		addr, isLiteral, err := netguard.CheckHost(host)
		fmt.Println(host, addr, isLiteral, err)
	}
	// Output:
	// api.example.com invalid IP false <nil>
	// 127.0.0.1 127.0.0.1 true <nil>
	// 0x7f000001 invalid IP false netguard: ambiguous host literal: host "0x7f000001": numeric host that is not a canonical dotted-quad IPv4 address
	// 127.1 invalid IP false netguard: ambiguous host literal: host "127.1": numeric host that is not a canonical dotted-quad IPv4 address
}

func ExampleDialer() {
	d := &netguard.Dialer{} // strict policy, net.DefaultResolver, 10 s timeout
	client := &http.Client{Transport: &http.Transport{
		DialContext: d.DialContext,
		Proxy:       nil, // a proxy would hide the destination from the dialer
	}}
	_, err := client.Get("http://169.254.169.254/latest/meta-data/")
	fmt.Println(errors.Is(err, netguard.ErrForbiddenAddress))

	_, err = d.DialContext(context.Background(), "tcp", "0x7f000001:80")
	fmt.Println(err)
	// Output:
	// true
	// netguard: dial tcp "0x7f000001:80": netguard: ambiguous host literal: host "0x7f000001": numeric host that is not a canonical dotted-quad IPv4 address
}
