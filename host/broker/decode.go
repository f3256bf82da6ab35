package broker

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/splicehq/splice/host/internal/jsonscan"
)

// The members of a request document, a bit each.
const (
	fMethod uint = 1 << iota
	fURL
	fHeaders
	fBody
	fBodyBase64
	fAuth
	fAuthRefresh
	fNoCredential
	fTimeoutMS
)

// requestFields are the members of a request document, as its struct tags spell them.
var requestFields = map[string]uint{"method": fMethod, "url": fURL, "headers": fHeaders, "body": fBody,
	"bodyBase64": fBodyBase64, "auth": fAuth, "authRefresh": fAuthRefresh, "noCredential": fNoCredential,
	"timeoutMs": fTimeoutMS}

// decodeRequestFast decodes the usual request document, which a PDK writes, without
// encoding/json's reflection (a fifth of the broker's CPU time per request went to it): one
// object of the members as spelled in Request's tags, each at most once, strings, booleans, an
// integer timeout and a headers object of strings, no nulls, valid UTF-8. Anything else, ok false,
// goes to encoding/json, which decides (it matches names in any case, merges duplicate members,
// ...). When ok, r is what encoding/json's Decoder (with DisallowUnknownFields) makes of b;
// FuzzDecodeRequestFast checks it.
func decodeRequestFast(b []byte) (r Request, ok bool) {
	if !utf8.Valid(b) || !jsonscan.Valid(b) {
		return Request{}, false
	}
	var seen uint
	ok = true
	isObject := jsonscan.Members(b, func(name, v []byte) bool {
		bit, known := requestFields[string(name[1:len(name)-1])]
		if !known || seen&bit != 0 || len(v) == 0 {
			ok = false
			return false
		}
		seen |= bit
		switch bit {
		case fMethod:
			r.Method, ok = str(v)
		case fURL:
			r.URL, ok = str(v)
		case fBody:
			var s string
			s, ok = str(v)
			r.Body = &s
		case fBodyBase64:
			var s string
			s, ok = str(v)
			r.BodyBase64 = &s
		case fAuth:
			r.Auth, ok = boolean(v)
		case fAuthRefresh:
			r.AuthRefresh, ok = boolean(v)
		case fNoCredential:
			r.NoCredential, ok = boolean(v)
		case fTimeoutMS:
			var err error
			r.TimeoutMS, err = strconv.ParseInt(string(v), 10, 64)
			ok = err == nil
		case fHeaders:
			ok = v[0] == '{'
			if ok {
				r.Headers = map[string]string{}
				jsonscan.Members(v, func(k, hv []byte) bool {
					var key, val string
					key, ok = str(k)
					if ok {
						val, ok = str(hv)
					}
					r.Headers[key] = val // of duplicates the last, as encoding/json does
					return ok
				})
			}
		}
		return ok
	})
	if !isObject || !ok {
		return Request{}, false
	}
	return r, true
}

// str decodes a string token; not ok for any other value. A token with an escape goes to
// encoding/json (a hand-written decoder of the escapes saved 0.7 µs of 3 on the chat connector's
// request, not worth a third copy of what encoding/json and host/validate's parser do).
func str(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	s := v[1 : len(v)-1]
	if bytes.IndexByte(s, '\\') < 0 {
		return string(s), true
	}
	var out string
	err := json.Unmarshal(v, &out)
	return out, err == nil
}

// boolean decodes true or false; not ok for any other value.
func boolean(v []byte) (bool, bool) {
	switch string(v) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}
