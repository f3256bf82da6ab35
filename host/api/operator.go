package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"sort"
	"time"

	"github.com/splicehq/splice/host/api/token"
	"github.com/splicehq/splice/host/connector"
	"github.com/splicehq/splice/host/internal/problem"
	"github.com/splicehq/splice/host/sandbox"
	"github.com/splicehq/splice/host/validate"
)

// envName is what an environment may be called: it names a directory and a URL segment.
var envName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)

func (a *API) listEnvironments(w http.ResponseWriter, r *http.Request) {
	names := a.o.Environments.Names()
	sort.Strings(names)
	items := make([]map[string]string, 0, len(names))
	for _, n := range names {
		items = append(items, map[string]string{"name": n})
	}
	writeJSON(w, http.StatusOK, listing{Items: items})
}

func (a *API) createEnvironment(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if !envName.MatchString(req.Name) {
		writeProblem(w, problem.Invalid, "an environment name is 1-40 of a-z, 0-9 and -, starting with a letter", nil)
		return
	}
	if _, err := a.o.Environments.Create(r.Context(), req.Name); err != nil {
		if errors.Is(err, ErrExists) {
			writeProblem(w, problem.Conflict, fmt.Sprintf("environment %q exists", req.Name), nil)
			return
		}
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"name": req.Name})
}

// deployment is a connector version as the API shows it.
type deployment struct {
	AppKey     string          `json:"appKey"`
	Version    string          `json:"version"`
	Module     string          `json:"module"`
	Size       int             `json:"size"`
	Active     bool            `json:"active"`
	DeployedAt time.Time       `json:"deployedAt"`
	Manifest   json.RawMessage `json:"manifest,omitempty"`
}

func show(d connector.Deployment, active bool, withManifest bool) deployment {
	out := deployment{AppKey: d.AppKey, Version: d.Version, Module: d.Module, Size: d.Size, Active: active, DeployedAt: d.DeployedAt}
	if withManifest {
		out.Manifest = d.Manifest
	}
	return out
}

func (a *API) pushConnector(w http.ResponseWriter, r *http.Request) {
	env, ok := a.env(w, r)
	if !ok {
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/wasm" {
		writeProblem(w, problem.UnsupportedMedia, "a connector is pushed as its module, Content-Type: application/wasm", nil)
		return
	}
	activate := r.URL.Query().Get("activate") != "false"
	wasm, ok := readBody(w, r, maxModuleBytes)
	if !ok {
		return
	}
	d, err := env.Deploy(r.Context(), wasm, activate)
	if err != nil {
		a.deployFailed(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, show(d, activate, true))
}

// deployFailed answers an error of Deploy (of a push or a promotion): a module the sandbox
// refuses, or whose manifest is invalid, is connector_rejected; other errors as a.fail answers
// them.
func (a *API) deployFailed(w http.ResponseWriter, err error) {
	var se *sandbox.Error
	var ve *validate.Error
	switch {
	case errors.As(err, &ve):
		writeProblem(w, problem.ConnectorRejected, "the module's manifest is invalid", ve)
	case errors.As(err, &se):
		writeProblem(w, problem.ConnectorRejected, err.Error(), nil)
	default:
		a.fail(w, err)
	}
}

// maxModuleBytes caps an uploaded module (the sandbox caps it too).
const maxModuleBytes = 32 << 20

func (a *API) listConnectors(w http.ResponseWriter, r *http.Request) {
	env, ok := a.env(w, r)
	if !ok {
		return
	}
	pg, ok := page(w, r)
	if !ok {
		return
	}
	apps, next, err := env.Catalog.Apps(r.Context(), pg)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, listing{Items: apps, NextCursor: next})
}

func (a *API) showConnector(w http.ResponseWriter, r *http.Request) {
	env, ok := a.env(w, r)
	if !ok {
		return
	}
	app, err := env.Catalog.App(r.Context(), r.PathValue("appKey"))
	if err != nil {
		a.fail(w, err)
		return
	}
	out := map[string]any{"appKey": app.AppKey, "active": app.Active, "updatedAt": app.UpdatedAt}
	if app.Active != "" {
		d, err := env.Catalog.Version(r.Context(), app.AppKey, app.Active)
		if err != nil {
			a.fail(w, err)
			return
		}
		out["deployment"] = show(d, true, true)
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) listVersions(w http.ResponseWriter, r *http.Request) {
	env, ok := a.env(w, r)
	if !ok {
		return
	}
	appKey := r.PathValue("appKey")
	app, err := env.Catalog.App(r.Context(), appKey)
	if err != nil {
		a.fail(w, err)
		return
	}
	pg, ok := page(w, r)
	if !ok {
		return
	}
	ds, next, err := env.Catalog.Versions(r.Context(), appKey, pg)
	if err != nil {
		a.fail(w, err)
		return
	}
	items := make([]deployment, 0, len(ds))
	for _, d := range ds {
		items = append(items, show(d, d.Version == app.Active, false))
	}
	writeJSON(w, http.StatusOK, listing{Items: items, NextCursor: next})
}

func (a *API) activateConnector(w http.ResponseWriter, r *http.Request) {
	env, ok := a.env(w, r)
	if !ok {
		return
	}
	var req struct {
		Version string `json:"version"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	appKey := r.PathValue("appKey")
	if err := env.Activate(r.Context(), appKey, req.Version); err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"appKey": appKey, "active": req.Version})
}

// promote copies a connector version from another environment into this one.
func (a *API) promote(w http.ResponseWriter, r *http.Request) {
	env, ok := a.env(w, r)
	if !ok {
		return
	}
	var req struct {
		From     string `json:"from"`
		AppKey   string `json:"appKey"`
		Version  string `json:"version"`
		Activate *bool  `json:"activate"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	from, ok := a.o.Environments.Environment(req.From)
	if !ok || req.From == env.Name {
		writeProblem(w, problem.Invalid, fmt.Sprintf("from must name another environment; %q does not", req.From), nil)
		return
	}
	version := req.Version
	if version == "" {
		app, err := from.Catalog.App(r.Context(), req.AppKey)
		if err != nil {
			a.fail(w, err)
			return
		}
		version = app.Active
	}
	d, err := from.Catalog.Version(r.Context(), req.AppKey, version)
	if err != nil {
		a.fail(w, err)
		return
	}
	wasm, err := from.Catalog.Module(r.Context(), d)
	if err != nil {
		a.fail(w, err)
		return
	}
	activate := req.Activate == nil || *req.Activate
	nd, err := env.Deploy(r.Context(), wasm, activate)
	if err != nil {
		// The environment may refuse what another took: its limits differ.
		a.deployFailed(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, show(nd, activate, false))
}

func (a *API) mintToken(w http.ResponseWriter, r *http.Request) {
	env, ok := a.env(w, r)
	if !ok {
		return
	}
	var req struct {
		Consumer   string `json:"consumer"`
		TTLSeconds int64  `json:"ttlSeconds"`
		Alg        string `json:"alg"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	ttl := time.Duration(req.TTLSeconds) * time.Second
	if req.TTLSeconds == 0 {
		ttl = time.Hour
	}
	if ttl <= 0 || ttl > a.o.MaxTokenTTL {
		writeProblem(w, problem.Invalid, fmt.Sprintf("ttlSeconds must be between 1 and %d", int64(a.o.MaxTokenTTL/time.Second)), nil)
		return
	}
	now := a.o.Now()
	tok, err := token.Mint(env.Secret, req.Consumer, ttl, now, req.Alg)
	if err != nil {
		writeProblem(w, problem.Invalid, err.Error(), nil)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": tok, "consumer": req.Consumer, "expiresAt": now.Add(ttl).UTC().Truncate(time.Second)})
}
