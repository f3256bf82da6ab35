package broker

import "time"

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
