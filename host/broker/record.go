package broker

import (
	"time"

	"github.com/splicehq/splice/host/internal/jsonw"
)

// Exchange is the record of one HTTP exchange a connector made (one hop of a redirect chain,
// one token request), as stored in the run. Secrets are masked: injected and sensitive headers
// read "[redacted]", and every secret value of the call's credential (and its URL-escaped and
// base64 forms) is replaced by "[redacted]" wherever it appears. Bodies are cut at the broker's
// MaxRecordedBody. schemas/exchange.schema.json is the normative format; replay reads it.
type Exchange struct {
	Method               string            `json:"method"`
	URL                  string            `json:"url"`
	Redirect             int               `json:"redirect,omitempty"` // 0 for the request itself, n for the n-th redirect hop
	Injected             bool              `json:"injected,omitempty"` // the credential was injected
	RequestHeaders       map[string]string `json:"requestHeaders,omitempty"`
	RequestBody          string            `json:"requestBody,omitempty"`
	RequestBodyEncoding  string            `json:"requestBodyEncoding,omitempty"` // "base64" when not UTF-8
	RequestBodyBytes     int               `json:"requestBodyBytes,omitempty"`
	Status               int               `json:"status,omitempty"`
	ResponseHeaders      map[string]string `json:"responseHeaders,omitempty"`
	ResponseBody         string            `json:"responseBody,omitempty"`
	ResponseBodyEncoding string            `json:"responseBodyEncoding,omitempty"`
	ResponseBodyBytes    int64             `json:"responseBodyBytes,omitempty"`
	Truncated            bool              `json:"truncated,omitempty"` // a body was cut at the recording cap
	StartedAt            time.Time         `json:"startedAt"`
	DurationMS           float64           `json:"durationMs"`
	Error                *ErrorBody        `json:"error,omitempty"`
}

// AppendJSON appends x to dst as json.Marshal writes it, byte for byte, without its reflection:
// records of exchanges are written on every action call. It returns false, and dst unchanged,
// where json.Marshal fails: a duration that is NaN or infinite, or a start time outside the years
// 0 to 9999. TestExchangeAppendJSON checks it against json.Marshal over every field.
func (x *Exchange) AppendJSON(dst []byte) ([]byte, bool) {
	n0 := len(dst)
	dst = append(dst, `{"method":`...)
	dst = jsonw.String(dst, x.Method)
	dst = append(dst, `,"url":`...)
	dst = jsonw.String(dst, x.URL)
	if x.Redirect != 0 {
		dst = append(dst, `,"redirect":`...)
		dst = jsonw.Int(dst, int64(x.Redirect))
	}
	if x.Injected {
		dst = append(dst, `,"injected":true`...)
	}
	if len(x.RequestHeaders) > 0 {
		dst = append(dst, `,"requestHeaders":`...)
		dst = jsonw.StringMap(dst, x.RequestHeaders)
	}
	if x.RequestBody != "" {
		dst = append(dst, `,"requestBody":`...)
		dst = jsonw.String(dst, x.RequestBody)
	}
	if x.RequestBodyEncoding != "" {
		dst = append(dst, `,"requestBodyEncoding":`...)
		dst = jsonw.String(dst, x.RequestBodyEncoding)
	}
	if x.RequestBodyBytes != 0 {
		dst = append(dst, `,"requestBodyBytes":`...)
		dst = jsonw.Int(dst, int64(x.RequestBodyBytes))
	}
	if x.Status != 0 {
		dst = append(dst, `,"status":`...)
		dst = jsonw.Int(dst, int64(x.Status))
	}
	if len(x.ResponseHeaders) > 0 {
		dst = append(dst, `,"responseHeaders":`...)
		dst = jsonw.StringMap(dst, x.ResponseHeaders)
	}
	if x.ResponseBody != "" {
		dst = append(dst, `,"responseBody":`...)
		dst = jsonw.String(dst, x.ResponseBody)
	}
	if x.ResponseBodyEncoding != "" {
		dst = append(dst, `,"responseBodyEncoding":`...)
		dst = jsonw.String(dst, x.ResponseBodyEncoding)
	}
	if x.ResponseBodyBytes != 0 {
		dst = append(dst, `,"responseBodyBytes":`...)
		dst = jsonw.Int(dst, x.ResponseBodyBytes)
	}
	if x.Truncated {
		dst = append(dst, `,"truncated":true`...)
	}
	var ok bool
	dst = append(dst, `,"startedAt":`...)
	if dst, ok = jsonw.Time(dst, x.StartedAt); !ok {
		return dst[:n0], false
	}
	dst = append(dst, `,"durationMs":`...)
	if dst, ok = jsonw.Float(dst, x.DurationMS); !ok {
		return dst[:n0], false
	}
	if e := x.Error; e != nil {
		dst = append(dst, `,"error":{"kind":`...)
		dst = jsonw.String(dst, string(e.Kind))
		dst = append(dst, `,"message":`...)
		dst = jsonw.String(dst, e.Message)
		if e.RetryAfterMS != 0 {
			dst = append(dst, `,"retryAfterMs":`...)
			dst = jsonw.Int(dst, e.RetryAfterMS)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}'), true
}
