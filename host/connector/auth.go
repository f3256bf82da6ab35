package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/splicehq/splice/host/abi"
	"github.com/splicehq/splice/host/sandbox"
)

// The ops of the auth export (DESIGN.md, "Connector contract"); a connector may define others.
const (
	AuthOpTest    = "test"
	AuthOpRefresh = "refresh"
)

// MaxAuthSetBytes bounds what one auth call may ask the host to store.
const MaxAuthSetBytes = 64 << 10

// AuthRequest is the input of the auth export.
type AuthRequest struct {
	Op string `json:"op"`
	// Credential holds the credential's non-secret fields only: secrets reach the connector as
	// placeholders the broker replaces in its requests.
	Credential map[string]string `json:"credential"`
	Config     map[string]string `json:"config,omitempty"`
}

// AuthResult is the output of the auth export: whether the credential works, and fields for the
// host to store as the credential's secrets (a session token, say). Values that are not strings
// in the guest's output are stored as their JSON text.
type AuthResult struct {
	OK  bool              `json:"ok"`
	Set map[string]string `json:"set,omitempty"`
}

// ErrInvalidAuthOutput is returned when the auth export's output is not {"ok": bool, "set": {}}.
var ErrInvalidAuthOutput = errors.New("connector: invalid auth output")

// Auth calls the auth export (connectors whose auth type is custom or oauth2) with req, its
// outbound requests served by http (a broker session holding the consumer's credential, so that
// placeholders in the login request are filled by the host). The engine stores what the result
// sets; see credential.Store.SwapSecrets.
//
// # Errors
//
// A *sandbox.Error from the call (KindMissingExport for a connector without auth), or
// ErrInvalidAuthOutput.
func (c *Connector) Auth(ctx context.Context, consumer string, req AuthRequest, http sandbox.HTTPDoer) (AuthResult, error) {
	if c.manifest.Auth.Type != abi.AuthCustom && c.manifest.Auth.Type != abi.AuthOAuth2 {
		return AuthResult{}, &sandbox.Error{Kind: sandbox.KindMissingExport, Module: c.module.Name(), Export: abi.ExportAuth,
			Message: fmt.Sprintf("%s uses auth type %s, which has no auth export", c.manifest.AppKey, c.manifest.Auth.Type)}
	}
	if req.Op == "" {
		return AuthResult{}, fmt.Errorf("connector: auth %s: empty op", c.manifest.AppKey)
	}
	if req.Credential == nil {
		req.Credential = map[string]string{}
	}
	in, err := json.Marshal(req)
	if err != nil {
		return AuthResult{}, err
	}
	res, err := c.CallWith(ctx, sandbox.CallOptions{Consumer: consumer, Export: abi.ExportAuth, Input: in, HTTP: http})
	if err != nil {
		return AuthResult{}, err
	}
	return parseAuthResult(res.Output)
}

func parseAuthResult(out []byte) (AuthResult, error) {
	var raw struct {
		OK  *bool                      `json:"ok"`
		Set map[string]json.RawMessage `json:"set"`
	}
	if err := json.Unmarshal(out, &raw); err != nil || raw.OK == nil {
		return AuthResult{}, fmt.Errorf("%w: want {\"ok\": bool, \"set\": {...}}", ErrInvalidAuthOutput)
	}
	if len(out) > MaxAuthSetBytes {
		return AuthResult{}, fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidAuthOutput, len(out), MaxAuthSetBytes)
	}
	r := AuthResult{OK: *raw.OK}
	for k, v := range raw.Set {
		if r.Set == nil {
			r.Set = map[string]string{}
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			r.Set[k] = s
		} else if string(v) != "null" {
			r.Set[k] = string(v)
		}
	}
	return r, nil
}
