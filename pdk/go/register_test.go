package pdk

import (
	"strings"
	"testing"
)

// TestRegister checks what every export of the module answers before, after
// and after a second Register. It touches the package's registration, so it
// does not run in parallel.
func TestRegister(t *testing.T) {
	defer func() { registered.c, registered.manifest, registered.err = nil, nil, nil }()

	if _, err := serve("describe", nil); err != errNotRegistered {
		t.Fatalf("serve before Register: error = %v, want errNotRegistered", err)
	}
	Register(Connector{AppKey: "a", Name: "A", Version: "1.0.0"})
	got, err := serve("describe", nil)
	if err != nil || !strings.HasPrefix(string(got), `{"appKey":"a"`) {
		t.Fatalf("serve(describe) = %s, %v", got, err)
	}
	if _, err := serve("action", []byte(`{"key":"x"}`)); err == nil || !strings.Contains(err.Error(), `has no action "x"`) {
		t.Fatalf("serve(action) error = %v", err)
	}
	Register(Connector{AppKey: "b", Name: "B", Version: "1.0.0"})
	if _, err := serve("describe", nil); err == nil || !strings.Contains(err.Error(), "Register called twice") {
		t.Fatalf("serve after a second Register: error = %v", err)
	}
}

func TestRegisterInvalid(t *testing.T) {
	defer func() { registered.c, registered.manifest, registered.err = nil, nil, nil }()
	Register(Connector{AppKey: "a"})
	if _, err := serve("transform", []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "name is required") {
		t.Fatalf("serve after an invalid Register: error = %v", err)
	}
}
