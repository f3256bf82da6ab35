package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// root is the repository root, two levels up from this package.
const root = "../.."

// guest builds .build/wasm/NAME.wasm with make (a no-op when it is up to date) and returns its path.
func guest(t *testing.T, name string) string {
	t.Helper()
	target := ".build/wasm/" + name + ".wasm"
	cmd := exec.Command("make", "-s", target)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make %s: %v\n%s", target, err, out)
	}
	return filepath.Join(root, target)
}

func splice(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append(args, "--cache-dir", t.TempDir())
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestConnectorDescribe(t *testing.T) {
	file := guest(t, "connector-text")
	code, out, errOut := splice(t, "connector", "describe", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var m struct {
		AppKey     string `json:"appKey"`
		Transforms []struct {
			Key string `json:"key"`
		} `json:"transforms"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil || m.AppKey != "text" || len(m.Transforms) != 2 {
		t.Fatalf("output %q: %v", out, err)
	}
}

func TestConnectorDescribeRefusesInvalidManifest(t *testing.T) {
	code, out, errOut := splice(t, "connector", "describe", filepath.Join(root, "testdata/guests/bad_manifest.wasm"))
	if code != 1 || out != "" || !strings.Contains(errOut, "validate: manifest") || !strings.Contains(errOut, "/appKey") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 naming the invalid fields", code, out, errOut)
	}
}

func TestConnectorCall(t *testing.T) {
	text := guest(t, "connector-text")
	fixture := func(name string) string { return filepath.Join(root, "testdata/guests", name+".wasm") }
	inputFile := filepath.Join(t.TempDir(), "in.json")
	if err := os.WriteFile(inputFile, []byte(`{"key":"lower","input":["ABC"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string // must contain
		stderr string // must contain
	}{
		{name: "transform", args: []string{text, "transform", "--input", `{"key":"upper","input":{"a":"b"}}`}, stdout: `"a": "B"`},
		{name: "input from file", args: []string{text, "transform", "--input", "@" + inputFile}, stdout: `"abc"`},
		{name: "both engines", args: []string{text, "transform", "--engine", "extism", "--input", `{"key":"upper","input":"x"}`}, stdout: `"X"`},
		{name: "raw export", args: []string{text, "echo_raw", "--raw", "--input", "not json"}, stdout: "not json"},
		{name: "guest error", args: []string{text, "transform", "--input", `{"key":"nope","input":1}`}, code: 2, stderr: "guest_error: text: unknown transform nope"},
		{name: "timeout", args: []string{fixture("loop_forever"), "run", "--timeout", "100ms"}, code: 2, stderr: "error: timeout:"},
		{name: "memory limit", args: []string{fixture("big_memory"), "run", "--memory", "16"}, code: 2, stderr: "error: memory_limit:"},
		{name: "trap shows the wasm stack trace", args: []string{fixture("trap_div_zero"), "run"}, code: 2, stderr: "wasm stack trace:"},
		{name: "missing export", args: []string{text, "nope"}, code: 2, stderr: "error: missing_export:"},
		{name: "invalid module", args: []string{fixture("malformed"), "run"}, code: 1, stderr: "error: invalid_module:"},
		{name: "input not JSON", args: []string{text, "transform", "--input", "{"}, code: 1, stderr: "--input is not JSON"},
		{name: "bad config flag", args: []string{text, "transform", "--config", "novalue"}, code: 1, stderr: "want key=value"},
		{name: "bad engine", args: []string{text, "transform", "--engine", "v8"}, code: 1, stderr: `unknown engine "v8"`},
		{name: "no such file", args: []string{"/nonexistent.wasm", "run"}, code: 1, stderr: "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := splice(t, append([]string{"connector", "call"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, errOut)
			}
			if !strings.Contains(out, tc.stdout) {
				t.Errorf("stdout %q does not contain %q", out, tc.stdout)
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", errOut, tc.stderr)
			}
		})
	}
}

// TestConnectorCallHTTP calls the http-probe guest with brokered HTTP against a loopback server:
// the --secret reaches the server and nothing the CLI prints.
func TestConnectorCallHTTP(t *testing.T) {
	const secret = "sk_cli_CANARY_3456"
	probe := guest(t, "http-probe")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"key":%q}`, r.Header.Get("X-Api-Key"))
	}))
	defer srv.Close()
	input := fmt.Sprintf(`{"key":"fetch","params":{"url":%q,"auth":true}}`, srv.URL+"/x")
	code, stdout, stderr := splice(t, "connector", "call", probe, "action", "--allow-loopback", "--allow-http",
		"--secret", "apiKey="+secret, "--exchanges", "--input", input)
	if code != 0 || !strings.Contains(stdout, `"status": 200`) || !strings.Contains(stdout, "[redacted]") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, secret) {
		t.Errorf("the secret was printed:\n%s\n%s", stdout, stderr)
	}
	if !strings.Contains(stderr, `"injected": true`) {
		t.Errorf("no exchange printed: %s", stderr)
	}
	// Without --allow-loopback the broker refuses the address.
	_, stdout, _ = splice(t, "connector", "call", probe, "action", "--allow-http", "--secret", "apiKey="+secret, "--input", input)
	if !strings.Contains(stdout, "forbidden_address") {
		t.Errorf("loopback without --allow-loopback: %s", stdout)
	}
}
