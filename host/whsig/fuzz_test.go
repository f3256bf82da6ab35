package whsig_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/splicehq/splice/host/whsig"
)

// FuzzVerify feeds arbitrary headers and bodies to Verify. It must never panic; every error must
// wrap one of the request sentinels and name the package; a header must verify only if it
// carries the genuine v1 signature (computed here with crypto/hmac, not with Sign); and Sign's
// signature for the same id and body must verify whenever the id is well formed, alone or after
// the fuzzed header when that header is well formed.
func FuzzVerify(f *testing.F) {
	key, err := whsig.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		f.Fatal(err)
	}
	f.Add("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", []byte(`{"test": 2432232314}`))
	f.Add("msg_1", "1700000000", "v1a,abc v1,bm9wZQ== v2,x", []byte(`{}`))
	f.Add("a.1", "2", "v1,"+strings.Repeat("A", 43)+"=", []byte("3.x"))
	f.Add("", "", "", []byte(nil))
	f.Add("id\n", "-5", "v1", []byte{0})
	f.Add("id", "12a", " , ,, v1,", []byte("body"))
	f.Add("id", strings.Repeat("9", 19), strings.Repeat("v1,x ", 20), []byte("body"))
	f.Add(strings.Repeat("i", 300), "00000000001", strings.Repeat("=", 5000), []byte("body"))

	fallback := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, id, ts, sigHeader string, body []byte) {
		// Put the clock on the fuzzed timestamp when it parses, so the signature checks are
		// reached rather than stopped by the tolerance.
		now := fallback
		if sec, err := strconv.ParseInt(ts, 10, 64); err == nil && sec >= 0 && sec < 1<<40 {
			now = time.Unix(sec, 0)
		}

		h := whsig.Headers{ID: id, Timestamp: ts, Signature: sigHeader}
		err := whsig.Verify(key, h, body, now)
		switch {
		case err == nil:
			genuine := independentV1(key, id, ts, body)
			if !slices.Contains(strings.Split(sigHeader, " "), genuine) {
				t.Fatalf("Verify accepted %q for id %q, ts %q without the genuine entry %s", sigHeader, id, ts, genuine)
			}
		case errors.Is(err, whsig.ErrMissing), errors.Is(err, whsig.ErrTimestamp), errors.Is(err, whsig.ErrSignature):
			if !strings.HasPrefix(err.Error(), "whsig: ") {
				t.Fatalf("error %q does not name the package", err)
			}
		default:
			t.Fatalf("Verify error %v wraps no request sentinel", err)
		}

		// Sign's own signature verifies exactly when the id is acceptable.
		signed := whsig.Headers{ID: id, Timestamp: strconv.FormatInt(now.Unix(), 10), Signature: whsig.Sign(key, id, now, body)}
		err = whsig.Verify(key, signed, body, now)
		if !validID(id) {
			if !errors.Is(err, whsig.ErrSignature) && !errors.Is(err, whsig.ErrMissing) {
				t.Fatalf("Verify of malformed id %q: %v, want ErrSignature or ErrMissing", id, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Verify rejected Sign's signature for id %q, ts %d: %v", id, now.Unix(), err)
		}

		// After a hostile header, Sign's signature still verifies unless that header makes the
		// whole one malformed or oversized, which is ErrSignature.
		both := signed
		both.Signature = sigHeader + " " + signed.Signature
		err = whsig.Verify(key, both, body, now)
		if err != nil && !errors.Is(err, whsig.ErrSignature) {
			t.Fatalf("Verify with a hostile header before Sign's signature: %v", err)
		}
		if err != nil && wellFormed(both.Signature) {
			t.Fatalf("Verify refused a well-formed header %q carrying Sign's signature: %v", both.Signature, err)
		}
	})
}

// independentV1 computes the v1 entry with crypto/hmac directly, for the timestamp as written.
func independentV1(key []byte, id, ts string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// wellFormed mirrors the documented webhook-signature rules: at most 4 KiB, at most 16
// space-separated entries, each "version,signature" with both parts non-empty.
func wellFormed(header string) bool {
	if len(header) > 4096 {
		return false
	}
	n := 0
	for _, e := range strings.Split(header, " ") {
		if e == "" {
			continue
		}
		n++
		v, s, ok := strings.Cut(e, ",")
		if !ok || v == "" || s == "" {
			return false
		}
	}
	return n <= 16
}

// validID mirrors the documented webhook-id rules: 1 to 256 bytes, no ASCII control characters.
func validID(id string) bool {
	if id == "" || len(id) > 256 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] == 0x7f {
			return false
		}
	}
	return true
}
