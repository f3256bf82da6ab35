package main

// The client of a running server's management API, shared by the commands that talk to one
// (connector push|list|show|versions|activate|promote, token, credential, automation, run,
// activity): the common flags, the token's lookup, requests, the API's errors and the output.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/splicehq/splice/host/server"
)

// defaultServer is the API's URL when --server and $SPLICE_SERVER are not given: serve's
// default listen address.
const defaultServer = "http://" + server.DefaultListen

// defaultTokenFile is where operator commands look for the operator token when none is given:
// the file serve makes in its default data directory.
var defaultTokenFile = filepath.Join(server.DefaultDataDir, "operator-token")

// maxAnswer caps an API answer the client reads (a run document with its exchanges is the
// largest).
const maxAnswer = 64 << 20

// remoteFlags are the flags every command that talks to a server has.
type remoteFlags struct {
	server    string
	token     string
	tokenFile string
	env       string
	timeout   time.Duration
	operator  bool
}

// Default answer deadlines: compileTimeout for the commands after which the server compiles a
// module (push, promote), which takes seconds for a large one and longer on a busy server.
const (
	defaultTimeout = 30 * time.Second
	compileTimeout = 5 * time.Minute
)

// register adds the common flags to cmd, each with its SPLICE_* environment variable. An
// operator command (operator routes) also takes --token-file. A timeout already set in f is the
// default of --timeout; defaultTimeout otherwise.
func (f *remoteFlags) register(cmd *cobra.Command, operator bool) {
	f.operator = operator
	def := f.timeout
	if def == 0 {
		def = defaultTimeout
	}
	fs := pflag.NewFlagSet(cmd.Name(), pflag.ContinueOnError)
	fs.StringVar(&f.server, "server", defaultServer, "the URL of the server's API")
	if operator {
		fs.StringVar(&f.token, "token", "", "the operator token (default: read from --token-file)")
		fs.StringVar(&f.tokenFile, "token-file", "", "a file holding the operator token (default "+defaultTokenFile+", when it exists)")
	} else {
		fs.StringVar(&f.token, "token", "", "a consumer token of the environment (splice token mint --consumer C makes one)")
	}
	fs.StringVar(&f.env, "env", "development", "the environment")
	fs.DurationVar(&f.timeout, "timeout", def, "how long to wait for the server's answer")
	bindEnv(fs)
	cmd.Flags().AddFlagSet(fs)
}

// envName is what an environment may be called (as the API checks it).
var envName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)

// client returns the API client the flags (and their environment variables) describe.
func (f *remoteFlags) client(cmd *cobra.Command) (*client, error) {
	fs := cmd.Flags()
	tokenGiven, fileGiven := fs.Changed("token"), f.operator && fs.Changed("token-file")
	if err := applyEnv(fs); err != nil {
		return nil, err
	}
	base, err := serverURL(f.server)
	if err != nil {
		return nil, err
	}
	if !envName.MatchString(f.env) {
		return nil, fmt.Errorf("--env %q: want one environment name (a-z, 0-9 and -, starting with a letter)", f.env)
	}
	if f.timeout <= 0 {
		return nil, fmt.Errorf("--timeout %v: want a positive duration", f.timeout)
	}
	c := &client{base: base, env: f.env, timeout: f.timeout, operator: f.operator, hc: &http.Client{}}
	switch {
	case tokenGiven && fileGiven:
		return nil, errors.New("give --token or --token-file, not both")
	case fileGiven:
		err = c.readToken(f.tokenFile)
	case f.token != "":
		c.token, c.tokenFrom = strings.TrimSpace(f.token), "--token"
		if !tokenGiven {
			c.tokenFrom = "$SPLICE_TOKEN"
		}
	case f.operator && f.tokenFile != "": // from $SPLICE_TOKEN_FILE
		err = c.readToken(f.tokenFile)
	case f.operator:
		if _, e := os.Stat(defaultTokenFile); e == nil {
			err = c.readToken(defaultTokenFile)
		}
	}
	if err != nil {
		return nil, err
	}
	if c.token == "" {
		if f.operator {
			return nil, fmt.Errorf("no operator token: give --token, --token-file or $SPLICE_TOKEN (splice serve keeps it in <data-dir>/operator-token; %s is read when it exists)", defaultTokenFile)
		}
		return nil, errors.New("no consumer token: give --token or $SPLICE_TOKEN (splice token mint --consumer C makes one)")
	}
	for _, r := range c.token {
		if r <= ' ' || r == 0x7f || r >= utf8.RuneSelf {
			// Never the token itself: only where it came from.
			return nil, fmt.Errorf("the token from %s has characters a token cannot have", c.tokenFrom)
		}
	}
	return c, nil
}

// serverURL checks --server and returns it without a trailing slash; a URL without a scheme is
// taken as http.
func serverURL(s string) (string, error) {
	raw := strings.TrimSpace(s)
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("--server %q: want the server's URL, such as %s", s, defaultServer)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// client talks to one environment of a server's management API, with one token. It is used by
// one command at a time.
type client struct {
	base, env string
	token     string
	tokenFrom string // where the token came from, for messages: "--token", "$SPLICE_TOKEN", a file
	timeout   time.Duration
	operator  bool
	hc        *http.Client
}

func (c *client) readToken(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	c.token, c.tokenFrom = strings.TrimSpace(string(b)), path
	if c.token == "" {
		return fmt.Errorf("token file %s is empty", path)
	}
	return nil
}

// path returns the API path of the environment's collection or object named by parts, each
// escaped: path("automations", id, "enable").
func (c *client) path(parts ...string) string {
	var b strings.Builder
	b.WriteString("/v1/envs/")
	b.WriteString(url.PathEscape(c.env))
	for _, p := range parts {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(p))
	}
	return b.String()
}

// request is one call of the API.
type request struct {
	method, path string
	query        url.Values
	contentType  string
	body         []byte
}

// do sends r and returns the answer's body. An answer that is not 2xx is an *apiError; a server
// that cannot be reached or does not answer in time is an error that says so.
func (c *client) do(ctx context.Context, r request) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.send(ctx, r, "application/json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, c.netError(ctx, err)
	}
	if len(b) > maxAnswer {
		return nil, fmt.Errorf("the answer of %s %s is over %d bytes", r.method, r.path, maxAnswer)
	}
	if resp.StatusCode/100 != 2 {
		return nil, c.answerError(resp, b)
	}
	return b, nil
}

// get is do for a GET.
func (c *client) get(ctx context.Context, path string, query url.Values) ([]byte, error) {
	return c.do(ctx, request{method: http.MethodGet, path: path, query: query})
}

// post is do for a POST of a JSON document (v is marshalled; nil sends no body).
func (c *client) post(ctx context.Context, path string, v any) ([]byte, error) {
	r := request{method: http.MethodPost, path: path}
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		r.body, r.contentType = b, "application/json"
	}
	return c.do(ctx, r)
}

// send sends r and returns the response of any status; the caller closes its body.
func (c *client) send(ctx context.Context, r request, accept string) (*http.Response, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "splice-cli")
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.netError(ctx, err)
	}
	return resp, nil
}

// netError says why the server gave no answer: not reachable, too slow, or the command was
// interrupted.
func (c *client) netError(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its message repeats the method and URL
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("no answer from the server at %s within %s (--timeout)", c.base, c.timeout)
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted: %w", ctx.Err())
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("the server is not reachable at %s: connection refused (is splice serve running? --server or $SPLICE_SERVER says where)", c.base)
	}
	var dns *net.DNSError
	var op *net.OpError
	if errors.As(err, &dns) || (errors.As(err, &op) && op.Op == "dial") {
		return fmt.Errorf("the server is not reachable at %s: %v", c.base, err)
	}
	return fmt.Errorf("the server at %s: %v", c.base, err)
}

// apiError is an answer of the API that is not 2xx: its {"error": {code, message, details}}, or
// for an answer of another shape (a proxy's), the status and the start of the body.
type apiError struct {
	Status  int
	Code    string
	Message string
	Details json.RawMessage
	hint    string
}

// Error returns "<code>: <message>", then the details one per line (when there are any), then a
// hint (when there is one).
func (e *apiError) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	b.WriteString(": ")
	b.WriteString(e.Message)
	for _, l := range detailLines(e.Details) {
		b.WriteString("\n  ")
		b.WriteString(l)
	}
	if e.hint != "" {
		b.WriteString("\nhint: ")
		b.WriteString(e.hint)
	}
	return b.String()
}

// lookedFor adds to a not_found answer what was looked for, and where: the API's message says
// only "not found".
func (c *client) lookedFor(err error, format string, args ...any) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.Code == "not_found" && ae.hint == "" {
		of := ""
		if !c.operator {
			of = " of this token's consumer"
		}
		ae.hint = fmt.Sprintf("looked for %s%s in environment %s", fmt.Sprintf(format, args...), of, c.env)
	}
	return err
}

func (c *client) answerError(resp *http.Response, body []byte) error {
	var doc struct {
		Error *struct {
			Code    string          `json:"code"`
			Message string          `json:"message"`
			Details json.RawMessage `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &doc) == nil && doc.Error != nil && doc.Error.Code != "" {
		e := &apiError{Status: resp.StatusCode, Code: doc.Error.Code, Message: doc.Error.Message, Details: doc.Error.Details}
		if e.Code == "unauthorized" {
			e.hint = c.authHint()
		}
		return e
	}
	msg := http.StatusText(resp.StatusCode)
	if line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n"); line != "" {
		msg += ": " + clip(line, 200)
	}
	return &apiError{Status: resp.StatusCode, Code: fmt.Sprintf("http_%d", resp.StatusCode), Message: msg}
}

// authHint guesses why a token was refused, from its shape alone (a consumer token is a JWT, the
// operator token is not).
func (c *client) authHint() string {
	jwt := strings.HasPrefix(c.token, "eyJ") && strings.Count(c.token, ".") == 2
	switch {
	case c.operator && jwt:
		return fmt.Sprintf("the token from %s is a consumer token; operator commands take the operator token (--token-file %s)", c.tokenFrom, defaultTokenFile)
	case c.operator:
		return fmt.Sprintf("the token from %s is not this server's operator token", c.tokenFrom)
	case !jwt:
		return fmt.Sprintf("the token from %s is not a consumer token; consumer commands take one: splice token mint --consumer C", c.tokenFrom)
	}
	return fmt.Sprintf("the consumer token from %s may have expired, or be of another environment than %q", c.tokenFrom, c.env)
}

// detailLines renders an error's details compactly: a list of problems one per line as
// "path: message", anything else as one line of JSON.
func detailLines(details json.RawMessage) []string {
	if len(details) == 0 || string(details) == "null" {
		return nil
	}
	var list []json.RawMessage
	if json.Unmarshal(details, &list) != nil {
		// An object that holds the list: validate.Error's {"subject", "causes"} ("Causes" from
		// servers before 2026-12-07), or {"problems"}.
		var obj map[string]json.RawMessage
		if json.Unmarshal(details, &obj) == nil {
			for _, k := range []string{"causes", "Causes", "problems", "Problems"} {
				if json.Unmarshal(obj[k], &list) == nil && len(list) > 0 {
					break
				}
			}
		}
	}
	if len(list) == 0 {
		return []string{"details: " + compact(details, 500)}
	}
	var out []string
	for i, item := range list {
		if i == 20 {
			out = append(out, fmt.Sprintf("and %d more", len(list)-i))
			break
		}
		var p struct {
			Message      string `json:"message"`
			Keyword      string `json:"keyword"`
			InstancePath string `json:"instancePath"`
			Pointer      string `json:"pointer"`
			Path         string `json:"path"`
		}
		if json.Unmarshal(item, &p) != nil || p.Message == "" {
			out = append(out, compact(item, 300))
			continue
		}
		where := p.InstancePath + p.Pointer + p.Path
		if where == "" {
			where = "(root)"
		}
		if p.Keyword != "" {
			where += ": " + p.Keyword
		}
		out = append(out, where+": "+p.Message)
	}
	return out
}

// compact returns b as one line of JSON, cut after max bytes.
func compact(b []byte, max int) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return clip(string(b), max)
	}
	return clip(buf.String(), max)
}

// clip cuts s after max bytes (at a rune boundary), marking the cut.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max] + "…"
}

// stream is one server-sent event.
type stream struct {
	id, event string
	data      []byte
}

// errStreamEnded is returned by follow when the server ends the stream.
var errStreamEnded = errors.New("the server ended the stream")

// follow GETs path as server-sent events and calls each for every event, until ctx ends (it
// returns ctx's error), the server ends the stream (errStreamEnded) or each fails. The timeout
// bounds the wait for the answer's headers, not the stream.
func (c *client) follow(ctx context.Context, path string, query url.Values, each func(stream) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var timedOut atomic.Bool
	timer := time.AfterFunc(c.timeout, func() { timedOut.Store(true); cancel() })
	resp, err := c.send(ctx, request{method: http.MethodGet, path: path, query: query}, "text/event-stream")
	timer.Stop()
	if err != nil {
		if timedOut.Load() {
			return fmt.Errorf("no answer from the server at %s within %s (--timeout)", c.base, c.timeout)
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return c.answerError(resp, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return fmt.Errorf("the server at %s answered %q, not an event stream", c.base, ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), maxAnswer)
	var ev stream
	for sc.Scan() {
		line := sc.Text()
		if line == "" { // the end of an event
			if ev.data != nil {
				if err := each(ev); err != nil {
					return err
				}
			}
			ev = stream{id: ev.id}
			continue
		}
		if strings.HasPrefix(line, ":") { // a comment: following, keep-alive
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			ev.id = value
		case "event":
			ev.event = value
		case "data":
			if ev.data != nil {
				ev.data = append(ev.data, '\n')
			}
			ev.data = append(ev.data, value...)
		}
	}
	if timedOut.Load() { // the timer fired as the headers came
		return fmt.Errorf("no answer from the server at %s within %s (--timeout)", c.base, c.timeout)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := sc.Err(); err != nil {
		return c.netError(ctx, err)
	}
	return errStreamEnded
}

// output is a command's --json flag and where it prints.
type output struct {
	json bool
}

func (o *output) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&o.json, "json", false, "print the API's JSON answer")
}

// print writes the answer b: as JSON (indented, otherwise as the API sent it) with --json, else
// what human writes.
func (o *output) print(cmd *cobra.Command, b []byte, human func(w io.Writer) error) error {
	w := cmd.OutOrStdout()
	if o.json {
		return printJSON(w, b)
	}
	return human(w)
}

func printJSON(w io.Writer, b []byte) error {
	var buf bytes.Buffer
	if json.Indent(&buf, b, "", "  ") != nil {
		buf.Reset()
		buf.Write(b)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// decodeAnswer decodes an answer of the API into v.
func decodeAnswer(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("the server's answer is not the JSON expected: %w", err)
	}
	return nil
}

// listing is the shape of every paginated answer.
type listing[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor"`
}

// pageFlags are --limit and --cursor of a list command.
type pageFlags struct {
	limit  int
	cursor string
}

func (p *pageFlags) register(cmd *cobra.Command) {
	cmd.Flags().IntVar(&p.limit, "limit", 0, "list at most this many (default the server's, 100; at most 1000)")
	cmd.Flags().StringVar(&p.cursor, "cursor", "", "list from this cursor, as a previous page's end gave it")
}

func (p *pageFlags) query() url.Values {
	q := url.Values{}
	if p.limit != 0 { // a negative one is the server's to refuse, as any caller's
		q.Set("limit", fmt.Sprint(p.limit))
	}
	if p.cursor != "" {
		q.Set("cursor", p.cursor)
	}
	return q
}

// table writes rows (the first is the header) as aligned columns, and the next page's cursor
// when there is one.
func table(w io.Writer, next string, rows ...[]string) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for line := range strings.Lines(buf.String()) {
		if _, err := fmt.Fprintln(w, strings.TrimRight(line, " \n")); err != nil {
			return err
		}
	}
	if next != "" {
		_, err := fmt.Fprintf(w, "(more: --cursor %s)\n", next)
		return err
	}
	return nil
}

// when formats a time for people: local, to the second; "-" for none.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

// keyValues parses repeated key=value flags. The error of a secret's flag shows none of it.
func keyValues(flag string, list []string, secret bool) (map[string]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(list))
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			if secret {
				return nil, fmt.Errorf("--%s: want key=value", flag)
			}
			return nil, fmt.Errorf("--%s %q: want key=value", flag, kv)
		}
		m[k] = v
	}
	return m, nil
}

// readDocument reads the document of -f: a file, or - for stdin; it must be JSON.
func readDocument(cmd *cobra.Command, file string) ([]byte, error) {
	var b []byte
	var err error
	if file == "-" {
		b, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxAnswer))
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%s is not JSON: %w", file, err)
	}
	return b, nil
}
