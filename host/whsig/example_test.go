package whsig_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/splicehq/splice/host/whsig"
)

// ExampleVerify checks a webhook the way the ingress does, before storing it: parse the
// environment's secret once, then verify each request's headers and raw body against the clock.
// The values are the Standard Webhooks published test vector.
func ExampleVerify() {
	key, err := whsig.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		panic(err)
	}
	h := whsig.Headers{
		ID:        "msg_p5jXN8AQM9LWM0D4loKWxJek",                                         // webhook-id
		Timestamp: "1614265330",                                                           // webhook-timestamp
		Signature: "v1a,bm90IGNoZWNrZWQ= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", // webhook-signature
	}
	body := []byte(`{"test": 2432232314}`)
	now := time.Unix(1614265330, 0).Add(30 * time.Second) // normally time.Now()

	fmt.Println("genuine:", whsig.Verify(key, h, body, now))

	err = whsig.Verify(key, h, []byte(`{"test": 2432232315}`), now)
	fmt.Println("tampered body is ErrSignature:", errors.Is(err, whsig.ErrSignature))

	err = whsig.Verify(key, h, body, now.Add(time.Hour))
	fmt.Println("replayed an hour later is ErrTimestamp:", errors.Is(err, whsig.ErrTimestamp))

	// A sender (or a test) produces the entry with Sign.
	fmt.Println(whsig.Sign(key, h.ID, time.Unix(1614265330, 0), body))
	// Output:
	// genuine: <nil>
	// tampered body is ErrSignature: true
	// replayed an hour later is ErrTimestamp: true
	// v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
}
