package whsig_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/splicehq/splice/host/whsig"
)

// testSecret is a fixed 32-byte key ("0123456789abcdef0123456789abcdef") in whsec_ form.
var (
	testKey    = []byte("0123456789abcdef0123456789abcdef")
	testSecret = "whsec_" + base64.StdEncoding.EncodeToString(testKey)
	otherKey   = []byte("fedcba9876543210fedcba9876543210")
	testNow    = time.Unix(1_700_000_000, 0)
	testBody   = []byte(`{"event":"order.created","id":42}`)
)

// signed returns the headers a sender would send for id, ts and body under key.
func signed(key []byte, id string, ts time.Time, body []byte) whsig.Headers {
	return whsig.Headers{
		ID:        id,
		Timestamp: strconv.FormatInt(ts.Unix(), 10),
		Signature: whsig.Sign(key, id, ts, body),
	}
}

// checkErr fails t unless err wraps want (or both are nil), and checks that an error names the
// package and leaks neither the key nor an expected signature.
func checkErr(t *testing.T, err, want error, secrets ...string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("got error %v, want nil", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want one wrapping %v", err, want)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "whsig: ") {
		t.Errorf("error %q does not start with \"whsig: \"", msg)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("error %q contains secret material %q", msg, s)
		}
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	const id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
	good := signed(testKey, id, testNow, testBody)
	goodSig := strings.TrimPrefix(good.Signature, "v1,")
	otherSig := whsig.Sign(otherKey, id, testNow, testBody)
	with := func(f func(h *whsig.Headers)) whsig.Headers {
		h := good
		f(&h)
		return h
	}
	at := func(d time.Duration) whsig.Headers { return signed(testKey, id, testNow.Add(d), testBody) }
	bodyFlipped := bytes.Clone(testBody)
	bodyFlipped[len(bodyFlipped)/2] ^= 1
	id256 := strings.Repeat("i", 256)
	id257 := strings.Repeat("i", 257)
	// padEntry returns an unknown-version entry that makes "entry + " " + good.Signature" n bytes.
	padEntry := func(n int) string {
		return "v9," + strings.Repeat("A", n-len(good.Signature)-1-len("v9,"))
	}
	entries := func(n int) string {
		var b strings.Builder
		for range n - 1 {
			b.WriteString(otherSig + " ")
		}
		b.WriteString(good.Signature)
		return b.String()
	}

	tests := []struct {
		name string
		key  []byte
		h    whsig.Headers
		body []byte
		want error
	}{
		{name: "round trip", h: good},
		{name: "only the last of several entries matches", h: with(func(h *whsig.Headers) {
			h.Signature = otherSig + " v2," + goodSig + " v1a," + goodSig + " v1,bm9wZQ== " + good.Signature
		})},
		{name: "first entry matches", h: with(func(h *whsig.Headers) { h.Signature = good.Signature + " " + otherSig })},
		{name: "runs of spaces separate entries", h: with(func(h *whsig.Headers) { h.Signature = otherSig + "   " + good.Signature })},
		{name: "corrupt v1 entry beside a valid one", h: with(func(h *whsig.Headers) { h.Signature = "v1,***not-base64*** " + good.Signature })},
		{name: "v1a entry alone", h: with(func(h *whsig.Headers) { h.Signature = "v1a," + goodSig }), want: whsig.ErrSignature},
		{name: "unknown version alone", h: with(func(h *whsig.Headers) { h.Signature = "v2," + goodSig }), want: whsig.ErrSignature},
		{name: "version is case-sensitive", h: with(func(h *whsig.Headers) { h.Signature = "V1," + goodSig }), want: whsig.ErrSignature},
		{name: "wrong key", h: with(func(h *whsig.Headers) { h.Signature = otherSig }), want: whsig.ErrSignature},
		{name: "verified with wrong key", key: otherKey, h: good, want: whsig.ErrSignature},
		{name: "body changed by one byte", h: good, body: bodyFlipped, want: whsig.ErrSignature},
		{name: "body truncated", h: good, body: testBody[:len(testBody)-1], want: whsig.ErrSignature},
		{name: "id changed", h: with(func(h *whsig.Headers) { h.ID = id + "x" }), want: whsig.ErrSignature},
		{name: "timestamp changed", h: with(func(h *whsig.Headers) {
			h.Timestamp = strconv.FormatInt(testNow.Unix()+1, 10)
		}), want: whsig.ErrSignature},
		{name: "timestamp with leading zero is not the signed one", h: with(func(h *whsig.Headers) {
			h.Timestamp = "0" + h.Timestamp
		}), want: whsig.ErrSignature},
		{name: "signature truncated", h: with(func(h *whsig.Headers) { h.Signature = good.Signature[:len(good.Signature)-2] }), want: whsig.ErrSignature},
		{name: "unpadded signature", h: with(func(h *whsig.Headers) { h.Signature = strings.TrimRight(good.Signature, "=") }), want: whsig.ErrSignature},
		{name: "url-safe signature", h: with(func(h *whsig.Headers) {
			h.Signature = "v1," + base64.URLEncoding.EncodeToString(mustDecode(t, goodSig))
		}), want: func() error {
			if strings.ContainsAny(goodSig, "+/") {
				return whsig.ErrSignature
			}
			return nil // the encodings agree on this signature
		}()},

		{name: "4m59s old", h: at(-4*time.Minute - 59*time.Second)},
		{name: "4m59s in the future", h: at(4*time.Minute + 59*time.Second)},
		{name: "exactly 5m old", h: at(-whsig.Tolerance)},
		{name: "exactly 5m in the future", h: at(whsig.Tolerance)},
		{name: "5m01s old", h: at(-5*time.Minute - time.Second), want: whsig.ErrTimestamp},
		{name: "5m01s in the future", h: at(5*time.Minute + time.Second), want: whsig.ErrTimestamp},
		{name: "a day old", h: at(-24 * time.Hour), want: whsig.ErrTimestamp},
		{name: "timestamp zero", h: signed(testKey, id, time.Unix(0, 0), testBody), want: whsig.ErrTimestamp},

		{name: "timestamp 12a", h: with(func(h *whsig.Headers) { h.Timestamp = "12a" }), want: whsig.ErrTimestamp},
		{name: "timestamp -5", h: with(func(h *whsig.Headers) { h.Timestamp = "-5" }), want: whsig.ErrTimestamp},
		{name: "timestamp +sign", h: with(func(h *whsig.Headers) { h.Timestamp = "+" + h.Timestamp }), want: whsig.ErrTimestamp},
		{name: "timestamp with space", h: with(func(h *whsig.Headers) { h.Timestamp = " " + h.Timestamp }), want: whsig.ErrTimestamp},
		{name: "timestamp with underscore", h: with(func(h *whsig.Headers) { h.Timestamp = "1_700_000_000" }), want: whsig.ErrTimestamp},
		{name: "timestamp with fraction", h: with(func(h *whsig.Headers) { h.Timestamp += ".5" }), want: whsig.ErrTimestamp},
		{name: "timestamp exponent", h: with(func(h *whsig.Headers) { h.Timestamp = "1.7e9" }), want: whsig.ErrTimestamp},
		{name: "timestamp non-ASCII digit", h: with(func(h *whsig.Headers) { h.Timestamp = "١٧٠٠٠٠٠٠٠٠" }), want: whsig.ErrTimestamp},
		{name: "timestamp 20 digits", h: with(func(h *whsig.Headers) { h.Timestamp = strings.Repeat("1", 20) }), want: whsig.ErrTimestamp},
		{name: "timestamp 19 digits overflowing int64", h: with(func(h *whsig.Headers) { h.Timestamp = strings.Repeat("9", 19) }), want: whsig.ErrTimestamp},
		{name: "timestamp max int64", h: with(func(h *whsig.Headers) { h.Timestamp = "9223372036854775807" }), want: whsig.ErrTimestamp},
		{name: "timestamp empty", h: with(func(h *whsig.Headers) { h.Timestamp = "" }), want: whsig.ErrMissing},

		{name: "id missing", h: with(func(h *whsig.Headers) { h.ID = "" }), want: whsig.ErrMissing},
		{name: "signature missing", h: with(func(h *whsig.Headers) { h.Signature = "" }), want: whsig.ErrMissing},
		{name: "all headers missing", h: whsig.Headers{}, want: whsig.ErrMissing},

		{name: "id of 256 bytes", h: signed(testKey, id256, testNow, testBody)},
		{name: "id of 257 bytes", h: signed(testKey, id257, testNow, testBody), want: whsig.ErrSignature},
		{name: "id with newline", h: signed(testKey, "msg_1\nX-Injected: 1", testNow, testBody), want: whsig.ErrSignature},
		{name: "id with NUL", h: signed(testKey, "msg\x00", testNow, testBody), want: whsig.ErrSignature},
		{name: "id with DEL", h: signed(testKey, "msg\x7f", testNow, testBody), want: whsig.ErrSignature},
		{name: "id with UTF-8", h: signed(testKey, "msg_é.1", testNow, testBody)},

		{name: "signature header of 4 KiB", h: with(func(h *whsig.Headers) { h.Signature = padEntry(4096) + " " + h.Signature })},
		{name: "signature header over 4 KiB", h: with(func(h *whsig.Headers) { h.Signature = padEntry(4097) + " " + h.Signature }), want: whsig.ErrSignature},
		{name: "16 entries", h: with(func(h *whsig.Headers) { h.Signature = entries(16) })},
		{name: "17 entries", h: with(func(h *whsig.Headers) { h.Signature = entries(17) }), want: whsig.ErrSignature},
		{name: "entry without comma", h: with(func(h *whsig.Headers) { h.Signature = "v1" + goodSig + " " + good.Signature }), want: whsig.ErrSignature},
		{name: "entry with empty version", h: with(func(h *whsig.Headers) { h.Signature = "," + goodSig }), want: whsig.ErrSignature},
		{name: "entry with empty signature", h: with(func(h *whsig.Headers) { h.Signature = "v1," }), want: whsig.ErrSignature},
		{name: "only spaces", h: with(func(h *whsig.Headers) { h.Signature = "   " }), want: whsig.ErrSignature},
		{name: "comma-separated instead of space-separated", h: with(func(h *whsig.Headers) { h.Signature = otherSig + "," + good.Signature }), want: whsig.ErrSignature},

		{name: "nil key", key: []byte{}, h: good, want: whsig.ErrSecret},
		{name: "23-byte key", key: testKey[:23], h: signed(testKey[:23], id, testNow, testBody), want: whsig.ErrSecret},
		{name: "24-byte key", key: testKey[:24], h: signed(testKey[:24], id, testNow, testBody)},
		{name: "64-byte key", key: bytes.Repeat(testKey, 2), h: signed(bytes.Repeat(testKey, 2), id, testNow, testBody)},
		{name: "65-byte key", key: bytes.Repeat([]byte{7}, 65), h: signed(bytes.Repeat([]byte{7}, 65), id, testNow, testBody), want: whsig.ErrSecret},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key, body := tc.key, tc.body
			if key == nil {
				key = testKey
			} else if len(key) == 0 {
				key = nil
			}
			if body == nil {
				body = testBody
			}
			err := whsig.Verify(key, tc.h, body, testNow)
			checkErr(t, err, tc.want,
				goodSig, strings.TrimPrefix(whsig.Sign(key, tc.h.ID, testNow, body), "v1,"),
				base64.StdEncoding.EncodeToString(testKey), string(testKey), string(key))
		})
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVerifyEmptyBody checks that an empty (or nil) body is signed and verified like any other.
func TestVerifyEmptyBody(t *testing.T) {
	t.Parallel()
	for _, body := range [][]byte{nil, {}} {
		h := signed(testKey, "msg_empty", testNow, body)
		if err := whsig.Verify(testKey, h, []byte{}, testNow); err != nil {
			t.Errorf("Verify of empty body: %v", err)
		}
		if err := whsig.Verify(testKey, h, []byte(" "), testNow); !errors.Is(err, whsig.ErrSignature) {
			t.Errorf("Verify of a space against an empty body's signature: %v, want ErrSignature", err)
		}
	}
}

// TestKnownAnswer checks Sign and Verify against HMAC-SHA256 computed here with crypto/hmac
// directly, and against the Standard Webhooks published vector.
func TestKnownAnswer(t *testing.T) {
	t.Parallel()
	// independent computes the v1 entry from first principles, without Sign.
	independent := func(key []byte, id, ts, body string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id + "." + ts + "." + body))
		return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	tests := []struct {
		name   string
		secret string
		id     string
		ts     int64
		body   string
		want   string // "" means: compute it independently
	}{
		{
			name:   "independent HMAC",
			secret: testSecret,
			id:     "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
			ts:     1674087231,
			body:   `{"type":"contact.created","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":"1f81eb52-5198-4599-803e-771906343485"}}`,
		},
		{
			name:   "independent HMAC, binary body",
			secret: strings.TrimPrefix(testSecret, "whsec_"),
			id:     "evt.1",
			ts:     1,
			body:   "\x00\xff.\r\n",
		},
		{
			// The published vector of the Standard Webhooks reference libraries: secret, id,
			// timestamp, payload and expected signature from TestWebhookSign in
			// github.com/standard-webhooks/standard-webhooks, libraries/go/webhook_test.go
			// (commit 449485caf9c0303530c19524fbe4096680aafcf1); the other language libraries
			// of that repository (e.g. PHP's testSignFunctionWorks) test the same values.
			name:   "Standard Webhooks published vector",
			secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			id:     "msg_p5jXN8AQM9LWM0D4loKWxJek",
			ts:     1614265330,
			body:   `{"test": 2432232314}`,
			want:   "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key, err := whsig.ParseSecret(tc.secret)
			if err != nil {
				t.Fatalf("ParseSecret: %v", err)
			}
			raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(tc.secret, "whsec_"))
			if err != nil || !bytes.Equal(key, raw) {
				t.Fatalf("ParseSecret gave %x, want %x (%v)", key, raw, err)
			}
			tsStr := strconv.FormatInt(tc.ts, 10)
			want := independent(raw, tc.id, tsStr, tc.body)
			if tc.want != "" && want != tc.want {
				t.Fatalf("independent HMAC %s disagrees with the published %s", want, tc.want)
			}
			ts := time.Unix(tc.ts, 0)
			if got := whsig.Sign(key, tc.id, ts, []byte(tc.body)); got != want {
				t.Errorf("Sign = %s, want %s", got, want)
			}
			h := whsig.Headers{ID: tc.id, Timestamp: tsStr, Signature: want}
			if err := whsig.Verify(key, h, []byte(tc.body), ts.Add(time.Minute)); err != nil {
				t.Errorf("Verify of the known answer: %v", err)
			}
		})
	}
}

func TestSign(t *testing.T) {
	t.Parallel()
	got := whsig.Sign(testKey, "msg_1", testNow, testBody)
	if !strings.HasPrefix(got, "v1,") || len(got) != len("v1,")+44 || strings.Contains(got, " ") {
		t.Fatalf("Sign = %q, want \"v1,\" and 44 characters of base64", got)
	}
	// Sign truncates to whole seconds, as the header does.
	if again := whsig.Sign(testKey, "msg_1", testNow.Add(999*time.Millisecond), testBody); again != got {
		t.Errorf("Sign within the same second = %s, want %s", again, got)
	}
}

func TestParseSecret(t *testing.T) {
	t.Parallel()
	b64 := base64.StdEncoding.EncodeToString
	key24 := bytes.Repeat([]byte{0xa5}, 24)
	key64 := bytes.Repeat([]byte{0x5a}, 64)
	tests := []struct {
		name   string
		secret string
		want   []byte // nil: expect ErrSecret
	}{
		{name: "with prefix", secret: testSecret, want: testKey},
		{name: "without prefix", secret: b64(testKey), want: testKey},
		{name: "24 bytes", secret: "whsec_" + b64(key24), want: key24},
		{name: "64 bytes", secret: "whsec_" + b64(key64), want: key64},
		{name: "padded (25 bytes)", secret: b64(key64[:25]), want: key64[:25]},
		{name: "empty", secret: ""},
		{name: "prefix only", secret: "whsec_"},
		{name: "prefix twice", secret: "whsec_" + testSecret},
		{name: "other prefix", secret: "whsk_" + b64(testKey)},
		{name: "bad base64", secret: "whsec_!!!!" + b64(testKey)},
		{name: "url-safe alphabet", secret: "whsec_" + strings.Repeat("-_", 16)},
		{name: "trailing newline", secret: testSecret + "\n"},
		{name: "embedded newline", secret: testSecret[:20] + "\n" + testSecret[20:]},
		{name: "leading space", secret: " " + testSecret},
		{name: "missing padding", secret: strings.TrimRight(b64(key64[:25]), "=")},
		{name: "non-canonical padding bits", secret: b64(key64[:25])[:33] + "B=="},
		{name: "too short (16 bytes)", secret: "whsec_" + b64(testKey[:16])},
		{name: "too short (23 bytes)", secret: "whsec_" + b64(key24[:23])},
		{name: "too long (65 bytes)", secret: "whsec_" + b64(append(bytes.Clone(key64), 1))},
		{name: "hex, not base64", secret: "whsec_" + strings.Repeat("0a", 32) + "!"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := whsig.ParseSecret(tc.secret)
			if tc.want == nil {
				if got != nil {
					t.Errorf("ParseSecret returned %d key bytes with error %v", len(got), err)
				}
				checkErr(t, err, whsig.ErrSecret, strings.TrimSpace(strings.TrimPrefix(tc.secret, "whsec_")))
				return
			}
			if err != nil {
				t.Fatalf("ParseSecret: %v", err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("ParseSecret = %x, want %x", got, tc.want)
			}
		})
	}
}

func TestNewSecret(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 8 {
		s, err := whsig.NewSecret()
		if err != nil {
			t.Fatalf("NewSecret: %v", err)
		}
		if !strings.HasPrefix(s, "whsec_") {
			t.Errorf("NewSecret = %q, want the whsec_ prefix", s)
		}
		key, err := whsig.ParseSecret(s)
		if err != nil {
			t.Fatalf("ParseSecret(NewSecret()): %v", err)
		}
		if len(key) != 32 {
			t.Errorf("NewSecret key is %d bytes, want 32", len(key))
		}
		if seen[s] {
			t.Fatalf("NewSecret repeated %q", s)
		}
		seen[s] = true
	}
}

// TestVerifyConcurrent shares one key and one body between goroutines under -race: Verify and
// Sign must neither write to their arguments nor share state.
func TestVerifyConcurrent(t *testing.T) {
	t.Parallel()
	key, err := whsig.ParseSecret(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				id := "msg_" + strconv.Itoa(g) + "_" + strconv.Itoa(i)
				h := signed(key, id, testNow, testBody)
				if i%2 == 1 {
					h.Signature = otherKeySig(id)
				}
				err := whsig.Verify(key, h, testBody, testNow)
				if (i%2 == 0) != (err == nil) {
					t.Errorf("goroutine %d, message %d: Verify = %v", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func otherKeySig(id string) string { return whsig.Sign(otherKey, id, testNow, testBody) }
