package main

import (
	"strings"
	"testing"
)

func TestCall(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, export, input string
		want                string
		wantErr             string
	}{
		{name: "echo", export: "action", input: `{"key":"echo","params":{"a":[1,"<&>"],"b":null},"idempotencyKey":"k"}`,
			want: `{"output":{"a":[1,"<&>"],"b":null}}`},
		{name: "echo without params", export: "action", input: `{"key":"echo"}`, want: `{"output":{}}`},
		{name: "received with webhook-id", export: "trigger",
			input: `{"op":"receive","key":"received","params":{},"state":null,"request":{"method":"POST","path":"/hooks/dev/a1","headers":{"Webhook-Id":"msg_1"},"query":{},"body":"{\"order\":{\"id\":7}}"},"webhookUrl":"https://splice.test/hooks/dev/a1"}`,
			want:  `{"events":[{"id":"msg_1","payload":{"order":{"id":7}}}]}`},
		{name: "received without webhook-id hashes the body", export: "trigger",
			input: `{"op":"receive","key":"received","request":{"body":"[1]"}}`,
			want:  `{"events":[{"id":"080a9ed428559ef602668b4c00f114f1a11c3f6b02a435f0bdc154578e4d7f22","payload":[1]}]}`},
		{name: "received text body", export: "trigger",
			input: `{"op":"receive","key":"received","request":{"headers":{"webhook-id":"x"},"body":"hi there"}}`,
			want:  `{"events":[{"id":"x","payload":"hi there"}]}`},
		{name: "received subscribe", export: "trigger", input: `{"op":"subscribe","key":"received","webhookUrl":"https://x.test/h"}`,
			want: `{"events":[]}`},
		{name: "received poll", export: "trigger", input: `{"op":"poll","key":"received"}`,
			wantErr: `echo: received is a webhook trigger and does not support op "poll"`},
		{name: "tick first", export: "trigger", input: `{"op":"poll","key":"tick","params":{},"state":null}`,
			want: `{"events":[{"id":"tick-1","payload":{"count":1}}],"state":{"count":1}}`},
		{name: "tick next", export: "trigger", input: `{"op":"poll","key":"tick","state":{"count":41}}`,
			want: `{"events":[{"id":"tick-42","payload":{"count":42}}],"state":{"count":42}}`},
		{name: "tick receive", export: "trigger", input: `{"op":"receive","key":"tick"}`,
			wantErr: `echo: tick is a polling trigger and does not support op "receive"`},
		{name: "auth test", export: "auth", input: `{"op":"test","credential":{},"config":{}}`, want: `{"ok":true,"set":{}}`},
		{name: "unknown action", export: "action", input: `{"key":"shout"}`, wantErr: `pdk: connector echo has no action "shout"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := connector.Call(tc.export, []byte(tc.input))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Call() = %s, %v; want error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Errorf("Call() = %s, %v\nwant %s", got, err, tc.want)
			}
		})
	}
}

func TestManifest(t *testing.T) {
	t.Parallel()
	m, err := connector.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"appKey":"echo"`, `"version":"1.0.0"`, `"hosts":[]`, `"kind":"webhook"`, `"kind":"polling"`, `"transforms":[]`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("manifest lacks %s:\n%s", want, m)
		}
	}
}
