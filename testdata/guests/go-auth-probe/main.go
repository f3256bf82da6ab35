// Command go-auth-probe is the test guest "auth-probe" of the host's custom
// auth: a credential of a username and a secret password that the auth
// export trades for a session token, which the host then injects as
// "Authorization: Session {{credential.session}}".
//
//   - auth, ops test and refresh: POSTs the username and password, as
//     placeholders the host fills in (pdk/ABI.md "Outbound HTTP"), to the
//     config key loginUrl. A 200 with {"session": token} is
//     {"ok":true,"set":{"session":token}}; a 401 is {"ok":false}; anything
//     else is an error.
//   - whoami: GETs url with the credential injected and outputs the status
//     and body.
//
// Its manifest allows the host 127.0.0.1 only. Built by
// `make .build/wasm/auth-probe.wasm`:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o auth-probe.wasm .
package main

import (
	"errors"
	"fmt"

	pdk "github.com/splicehq/splice/pdk/go"
)

// connector is the declaration the module serves; tests call it natively.
var connector = pdk.Connector{
	AppKey:      "auth-probe",
	Name:        "Auth probe",
	Version:     "1.0.0",
	Description: "Test guest: logs in with a username and password and injects the session token it gets back.",
	Auth: pdk.Auth{
		Type:   pdk.AuthCustom,
		In:     "header",
		Name:   "Authorization",
		Format: "Session {{credential.session}}",
		Fields: []pdk.AuthField{
			{Key: "username", Label: "Username"},
			{Key: "password", Label: "Password", Secret: true},
		},
		Handler: auth,
	},
	Hosts: []string{"127.0.0.1"},
	Actions: []pdk.Action{
		{
			Key:          "whoami",
			Name:         "Who am I",
			Description:  "GETs url with the session injected and outputs the status and body.",
			InputSchema:  whoamiInputSchema,
			OutputSchema: whoamiOutputSchema,
			Handler:      pdk.Handle(whoami),
		},
	},
}

func init() { pdk.Register(connector) }

func main() {}

// loginBody is the login request's body. The host replaces the placeholders;
// the guest never sees the password.
const loginBody = `{"username":"{{credential.username}}","password":"{{credential.password}}"}`

// auth serves the auth export: test and refresh both log in again.
func auth(ctx *pdk.Context, req pdk.AuthRequest) (pdk.AuthResult, error) {
	if req.Op != pdk.OpTest && req.Op != pdk.OpRefresh {
		return pdk.AuthResult{}, fmt.Errorf("auth-probe: auth: unknown op %q", req.Op)
	}
	loginURL, ok := req.Config["loginUrl"].(string)
	if !ok || loginURL == "" {
		return pdk.AuthResult{}, errors.New("auth-probe: auth: config loginUrl is missing or not a string")
	}
	res, err := pdk.Fetch(pdk.Request{
		Method:  "POST",
		URL:     loginURL,
		Headers: map[string]string{"Content-Type": "application/json"},
		Body:    []byte(loginBody),
	})
	if err != nil {
		return pdk.AuthResult{}, fmt.Errorf("auth-probe: auth %s: login: %w", req.Op, err)
	}
	switch res.Status {
	case 200:
		var out struct {
			Session string `json:"session"`
		}
		if err := res.JSON(&out); err != nil {
			return pdk.AuthResult{}, fmt.Errorf("auth-probe: auth %s: login: %w", req.Op, err)
		}
		if out.Session == "" {
			return pdk.AuthResult{}, fmt.Errorf("auth-probe: auth %s: login: no session in the response", req.Op)
		}
		return pdk.AuthResult{OK: true, Set: map[string]any{"session": out.Session}}, nil
	case 401:
		return pdk.AuthResult{OK: false}, nil
	}
	return pdk.AuthResult{}, fmt.Errorf("auth-probe: auth %s: login: %w", req.Op,
		&pdk.StatusError{Status: res.Status, Body: res.Body})
}

type whoamiIn struct {
	URL string `json:"url"`
}

type whoamiOut struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

func whoami(ctx *pdk.Context, in whoamiIn) (whoamiOut, error) {
	res, err := pdk.Fetch(pdk.Request{Method: "GET", URL: in.URL, Auth: true})
	if err != nil {
		return whoamiOut{}, err
	}
	return whoamiOut{Status: res.Status, Body: string(res.Body)}, nil
}

const whoamiInputSchema = `{
  "type": "object",
  "required": ["url"],
  "additionalProperties": false,
  "properties": {
    "url": {"type": "string", "description": "The absolute URL to GET with the session injected."}
  }
}`

const whoamiOutputSchema = `{
  "type": "object",
  "required": ["status", "body"],
  "properties": {
    "status": {"type": "integer"},
    "body": {"type": "string"}
  }
}`
