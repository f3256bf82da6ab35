package broker

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecodeRequestFast holds decodeRequestFast to encoding/json: whatever it decodes,
// encoding/json's Decoder (as DecodeRequest sets it up) decodes to the same Request.
func FuzzDecodeRequestFast(f *testing.F) {
	for _, seed := range []string{
		`{"url":"https://api.example.com/x"}`,
		`{"method":"POST","url":"https://chat.example.com/api/chat.postMessage","headers":{"Content-Type":"application/json","Idempotency-Key":"run/step"},"body":"{\"channel\":\"#orders\",\"text\":\"New order 7\"}","auth":true}`,
		`{"method":"PUT","url":"https://api.example.com/{{credential.apiKey}}","bodyBase64":"AAEC","timeoutMs":1500,"authRefresh":false,"noCredential":true}`,
		`{"url":"x","headers":{"a":"1","a":"2"}}`, `{"url":"x","url":"y"}`, `{"URL":"x"}`, `{"url":"x","extra":1}`,
		`{"url":"x","headers":null}`, `{"url":"x","body":null}`, `{"url":"x","timeoutMs":1.0}`, `{"url":"x","timeoutMs":-0}`,
		`{"url":"x","timeoutMs":99999999999999999999}`, `{"url":"\u0078\ud83d\ude00"}`, "{\"url\":\"\xff\"}", `{"url":"x"} {}`,
		`{"url":"x"} ]`, `{"ur\u006c":"x"}`, `{"url":"x","headers":{"k\u0031":"v\n"}}`, `{"url":"x","auth":1}`, `[]`, `"x"`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := decodeRequestFast(b)
		if !ok {
			return
		}
		var slow Request
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&slow); err != nil || dec.More() {
			t.Fatalf("%q: fast decoded %+v, encoding/json refuses it: %v", b, fast, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q:\nfast          %+v\nencoding/json %+v", b, fast, slow)
		}
	})
}

// TestDecodeRequestFastTakesTheUsual: the requests the PDKs write take the fast path.
func TestDecodeRequestFastTakesTheUsual(t *testing.T) {
	for _, b := range []string{
		`{"method":"POST","url":"https://chat.example.com/api/chat.postMessage","headers":{"Content-Type":"application/json","Idempotency-Key":"r1/s1"},"body":"{\"channel\":\"#orders\",\"text\":\"New order 7 by Zoë\"}","auth":true}`,
		`{"url":"https://api.example.com/x","timeoutMs":2000}`,
	} {
		if _, ok := decodeRequestFast([]byte(b)); !ok {
			t.Errorf("%s: not decoded by the fast path", b)
		}
	}
}

// BenchmarkDecodeRequest decodes the chat connector's request with DecodeRequest and with
// encoding/json alone.
func BenchmarkDecodeRequest(b *testing.B) {
	doc := []byte(`{"method":"POST","url":"http://127.0.0.1:8081/api/chat.postMessage","headers":{"Content-Type":"application/json","Idempotency-Key":"33LALJA1MM901AC6M0HC7OMF/notify"},"body":"{\"channel\":\"#orders\",\"text\":\"New order 1042 by Grace Hopper, total 123.40\"}","auth":true}`)
	b.Run("DecodeRequest", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := DecodeRequest(doc, 1<<20); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			var r Request
			dec := json.NewDecoder(bytes.NewReader(doc))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&r); err != nil || dec.More() {
				b.Fatal(err)
			}
		}
	})
}
