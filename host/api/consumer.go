package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/splicehq/splice/host/automation"
	"github.com/splicehq/splice/host/credential"
	"github.com/splicehq/splice/host/engine"
	"github.com/splicehq/splice/host/internal/problem"
	"github.com/splicehq/splice/host/ledger"
	"github.com/splicehq/splice/host/whsig"
)

// SigningPurpose is what an automation's webhook signing secret is sealed for
// (credential.Store.Seal); host/server opens it with the same purpose.
const SigningPurpose = "webhook-signing"

func (a *API) createCredential(w http.ResponseWriter, r *http.Request, env *Environment, consumer string) {
	var req struct {
		Key     string            `json:"credentialKey"`
		AppKey  string            `json:"appKey"`
		Fields  map[string]string `json:"fields"`
		Secrets map[string]string `json:"secrets"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if req.Key == "" || req.AppKey == "" {
		writeProblem(w, problem.Invalid, "credentialKey and appKey are required", nil)
		return
	}
	c := credential.Credential{Consumer: consumer, Key: req.Key, AppKey: req.AppKey, Fields: req.Fields}
	if err := env.Credentials.Put(r.Context(), c, req.Secrets); err != nil {
		a.fail(w, err)
		return
	}
	got, err := env.Credentials.Get(r.Context(), consumer, req.Key)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, got)
}

func (a *API) listCredentials(w http.ResponseWriter, r *http.Request, env *Environment, consumer string) {
	pg, ok := page(w, r)
	if !ok {
		return
	}
	list, next, err := env.Credentials.List(r.Context(), consumer, pg)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, listing{Items: list, NextCursor: next})
}

func (a *API) deleteCredential(w http.ResponseWriter, r *http.Request, env *Environment, consumer string) {
	if err := env.Credentials.Delete(r.Context(), consumer, r.PathValue("key")); err != nil {
		a.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// automationView is an automation as the API shows it.
type automationView struct {
	ID         string          `json:"id"`
	Version    uint64          `json:"version"`
	Enabled    bool            `json:"enabled"`
	Automation json.RawMessage `json:"automation"`
	WebhookURL string          `json:"webhookUrl"`
	CreatedAt  time.Time       `json:"createdAt"`
	UpdatedAt  time.Time       `json:"updatedAt"`
	// SigningSecret is shown once: in the answer that made it.
	SigningSecret string `json:"signingSecret,omitempty"`
}

func (a *API) view(env *Environment, st *automation.Stored) automationView {
	return automationView{ID: st.ID, Version: st.Version, Enabled: st.Enabled(), Automation: st.Document,
		WebhookURL: a.o.BaseURL + "/hooks/" + env.Name + "/" + st.ID, CreatedAt: st.CreatedAt, UpdatedAt: st.UpdatedAt}
}

// signed reports whether the automation's webhooks must be signed.
func signed(p *automation.Program) bool {
	return p.Automation.Signing == automation.SigningStandardWebhooks
}

// newSigningSecret makes a signing secret and seals it for consumer.
func newSigningSecret(env *Environment, consumer string) (plain, sealed string, err error) {
	if plain, err = whsig.NewSecret(); err != nil {
		return "", "", err
	}
	sealed, err = env.Credentials.Seal(consumer, SigningPurpose, []byte(plain))
	return plain, sealed, err
}

func (a *API) createAutomation(w http.ResponseWriter, r *http.Request, env *Environment, consumer string) {
	doc, ok := readBody(w, r, maxJSONBody)
	if !ok {
		return
	}
	var plain, sealed string
	if a, err := automation.Decode(doc); err == nil && a.Signing == automation.SigningStandardWebhooks {
		var err error
		if plain, sealed, err = newSigningSecret(env, consumer); err != nil {
			writeProblem(w, problem.Internal, "the signing secret could not be made", nil)
			return
		}
	}
	st, err := env.Automations.Create(r.Context(), consumer, doc, sealed)
	if err != nil {
		a.fail(w, err)
		return
	}
	v := a.view(env, st)
	v.SigningSecret = plain
	writeJSON(w, http.StatusCreated, v)
}

func (a *API) listAutomations(w http.ResponseWriter, r *http.Request, env *Environment, consumer string) {
	pg, ok := page(w, r)
	if !ok {
		return
	}
	list, next, err := env.Automations.List(r.Context(), consumer, pg)
	if err != nil {
		a.fail(w, err)
		return
	}
	items := make([]automationView, 0, len(list))
	for _, st := range list {
		items = append(items, a.view(env, st))
	}
	writeJSON(w, http.StatusOK, listing{Items: items, NextCursor: next})
}

func (a *API) showAutomation(w http.ResponseWriter, r *http.Request, env *Environment, consumer string) {
	st, err := env.Automations.Get(r.Context(), consumer, r.PathValue("id"))
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a.view(env, st))
}

// replaceAutomation replaces the document; ?version=N (or If-Match: "N") refuses to overwrite a
// newer version.
func (a *API) replaceAutomation(w http.ResponseWriter, r *http.Request, env *Environment, consumer string) {
	doc, ok := readBody(w, r, maxJSONBody)
	if !ok {
		return
	}
	var version uint64
	v := r.URL.Query().Get("version")
	if v == "" {
		v = strings.Trim(r.Header.Get("If-Match"), `"`)
	}
	if v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			writeProblem(w, problem.BadRequest, "version must be a positive integer", nil)
			return
		}
		version = n
	}
	id := r.PathValue("id")
	st, err := env.Automations.Replace(r.Context(), consumer, id, doc, version)
	if err != nil {
		a.fail(w, err)
		return
	}
	out := a.view(env, st)
	if signed(st.Program) && st.Secret == "" {
		plain, sealed, err := newSigningSecret(env, consumer)
		if err != nil {
			writeProblem(w, problem.Internal, "the signing secret could not be made", nil)
			return
		}
		if st, err = env.Automations.SetSecret(r.Context(), consumer, id, sealed); err != nil {
			a.fail(w, err)
			return
		}
		out = a.view(env, st)
		out.SigningSecret = plain
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) deleteAutomation(w http.ResponseWriter, r *http.Request, env *Environment, consumer string) {
	if err := env.Automations.Delete(r.Context(), consumer, r.PathValue("id")); err != nil {
		a.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) enableAutomation(w http.ResponseWriter, r *http.Request, env *Environment, consumer string) {
	a.setEnabled(w, r, env, consumer, true)
}

func (a *API) disableAutomation(w http.ResponseWriter, r *http.Request, env *Environment, consumer string) {
	a.setEnabled(w, r, env, consumer, false)
}

func (a *API) setEnabled(w http.ResponseWriter, r *http.Request, env *Environment, consumer string, on bool) {
	st, err := env.Automations.SetEnabled(r.Context(), consumer, r.PathValue("id"), on)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a.view(env, st))
}

func (a *API) listRuns(w http.ResponseWriter, r *http.Request, env *Environment, consumer string) {
	pg, ok := page(w, r)
	if !ok {
		return
	}
	q := ledger.RunQuery{Consumer: consumer, Automation: r.URL.Query().Get("automation"), Status: ledger.Status(r.URL.Query().Get("status")), Page: pg}
	if q.Status != "" && !q.Status.Valid() {
		writeProblem(w, problem.BadRequest, fmt.Sprintf("status %q is not a run status", q.Status), nil)
		return
	}
	// The store lists by automation or by status; both at once filters the automation's runs
	// here, so a page may hold fewer than its limit while a next cursor remains.
	status := ledger.Status("")
	if q.Automation != "" && q.Status != "" {
		status, q.Status = q.Status, ""
	}
	runs, next, err := env.Store.Runs(r.Context(), q)
	if err != nil {
		a.fail(w, err)
		return
	}
	items := make([]engine.RunSummary, 0, len(runs))
	for _, run := range runs {
		if status == "" || run.Status == status {
			items = append(items, engine.Summary(run))
		}
	}
	writeJSON(w, http.StatusOK, listing{Items: items, NextCursor: next})
}

func (a *API) showRun(w http.ResponseWriter, r *http.Request, env *Environment, consumer string) {
	doc, err := env.Engine.Document(r.Context(), consumer, r.PathValue("id"))
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

func (a *API) replayRun(w http.ResponseWriter, r *http.Request, env *Environment, consumer string) {
	id := r.PathValue("id")
	if err := env.Engine.Replay(r.Context(), consumer, id); err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"run": id, "status": "replaying"})
}

// activity lists the consumer's activity feed, or follows it as server-sent events when the
// caller accepts text/event-stream (from ?cursor=, until the caller goes). Each event's id is the
// cursor that resumes right after it: a client that reconnects with it as Last-Event-ID (as
// EventSource does) or as ?cursor= misses nothing and sees nothing twice.
func (a *API) activity(w http.ResponseWriter, r *http.Request, env *Environment, consumer string) {
	if !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		pg, ok := page(w, r)
		if !ok {
			return
		}
		entries, next, err := env.Store.Activity(r.Context(), consumer, pg)
		if err != nil {
			a.fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, listing{Items: entries, NextCursor: next})
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		writeProblem(w, problem.Internal, "this server cannot stream", nil)
		return
	}
	p, ok := page(w, r)
	if !ok {
		return
	}
	if last := r.Header.Get("Last-Event-ID"); last != "" && p.Cursor == "" {
		p.Cursor = last
	}
	// A cursor that does not parse is refused before the stream starts.
	if _, _, err := env.Store.Activity(r.Context(), consumer, ledger.Page{Cursor: p.Cursor, Limit: 1}); err != nil {
		a.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": following\n\n")
	fl.Flush()
	poll := time.NewTicker(a.o.FollowPoll)
	defer poll.Stop()
	lastWrite := time.Now()
	for {
		entries, next, err := env.Store.Activity(r.Context(), consumer, p)
		if err != nil {
			return
		}
		for _, e := range entries {
			b, _ := json.Marshal(e)
			fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", ledger.ActivityCursor(e.Seq), e.Kind, b)
		}
		if next != "" {
			p.Cursor = next
		}
		if len(entries) > 0 {
			fl.Flush()
			lastWrite = time.Now()
			continue
		}
		if time.Since(lastWrite) > 15*time.Second {
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
			lastWrite = time.Now()
		}
		select {
		case <-r.Context().Done():
			return
		case <-poll.C:
		}
	}
}
