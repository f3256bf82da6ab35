package sandbox

import (
	"context"
	"encoding/base64"
	"encoding/json"
)

// spliceHTTP serves splice_http: the request document goes to the call's HTTPDoer as it is. nil
// means the call has no HTTPDoer (the guest reads offset 0: unavailable).
func (st *callState) spliceHTTP(ctx context.Context, req []byte) []byte {
	if st.http == nil {
		return nil
	}
	return st.http.Do(ctx, req)
}

// extismRequest is Extism's http_request document.
type extismRequest struct {
	URL     string            `json:"url"`
	Method  string            `json:"method"`
	Headers map[string]string `json:"headers"`
}

// brokerResponse is the part of a splice_http response http_request needs.
type brokerResponse struct {
	Status     int               `json:"status"`
	Headers    map[string]string `json:"headers"`
	Body       *string           `json:"body"`
	BodyBase64 *string           `json:"bodyBase64"`
	Error      *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error"`
}

// extismHTTP serves Extism's http_request through the same HTTPDoer as splice_http, without
// credential injection (the document it builds never asks for auth): it returns the response
// body and keeps the status and headers for http_status_code and http_headers. A request that
// gets no response ends the call, as it does on Extism's own engine.
func (st *callState) extismHTTP(ctx context.Context, reqDoc, body []byte) []byte {
	if st.http == nil {
		fail(KindTrap, "http_request: outbound HTTP is not available to this call (no HTTP broker)")
	}
	var er extismRequest
	if err := json.Unmarshal(reqDoc, &er); err != nil {
		fail(KindTrap, "http_request: invalid request document: %v", err)
	}
	doc := map[string]any{"url": er.URL, "method": er.Method, "noCredential": true}
	if len(er.Headers) > 0 {
		doc["headers"] = er.Headers
	}
	if len(body) > 0 {
		doc["bodyBase64"] = base64.StdEncoding.EncodeToString(body)
	}
	b, _ := json.Marshal(doc)
	var r brokerResponse
	if err := json.Unmarshal(st.http.Do(ctx, b), &r); err != nil {
		fail(KindTrap, "http_request: invalid response from the broker: %v", err)
	}
	if r.Error != nil {
		fail(KindTrap, "http_request: %s: %s", r.Error.Kind, r.Error.Message)
	}
	st.httpStatus = int32(r.Status)
	st.httpHeaders, _ = json.Marshal(r.Headers)
	switch {
	case r.Body != nil:
		return []byte(*r.Body)
	case r.BodyBase64 != nil:
		out, err := base64.StdEncoding.DecodeString(*r.BodyBase64)
		if err != nil {
			fail(KindTrap, "http_request: invalid response body from the broker")
		}
		return out
	}
	return nil
}
