package validate_test

import (
	"errors"
	"fmt"

	"github.com/splicehq/splice/host/validate"
)

func ExampleManifest() {
	m, err := validate.Manifest([]byte(`{
	  "appKey": "chat",
	  "name": "Chat",
	  "version": "1.0.0",
	  "auth": {"type": "apiKey", "in": "header", "name": "Authorization", "format": "Bearer {{credential.token}}"},
	  "hosts": ["api.chat.example.com"],
	  "actions": [{"key": "send-message", "name": "Send message",
	    "inputSchema": {"type": "object", "required": ["channel", "text"]},
	    "outputSchema": {"type": "object"}}]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.AppKey, m.Version, m.Exports())

	_, err = validate.Manifest([]byte(`{
	  "appKey": "Chat",
	  "name": "Chat",
	  "version": "1.0",
	  "auth": {"type": "apiKey"},
	  "hosts": ["https://api.chat.example.com"]
	}`))
	var ve *validate.Error
	if errors.As(err, &ve) {
		for _, c := range ve.Causes {
			fmt.Printf("%s %s %s\n", c.InstancePath, c.Keyword, c.SchemaPath)
		}
	}
	// Output:
	// chat 1.0.0 [describe action]
	// /appKey pattern #/$defs/slug/pattern
	// /auth required #/$defs/auth/allOf/0/then/required
	// /hosts/0 pattern #/$defs/hostGlob/pattern
	// /version pattern #/properties/version/pattern
}

func ExampleSchema_Validate() {
	sch, err := validate.Compile([]byte(`{"type":"object","required":["text"],"properties":{"text":{"type":"string"}}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sch.Validate([]byte(`{"text":"hello"}`)))
	fmt.Println(sch.Validate([]byte(`{"text":42}`)))
	// Output:
	// <nil>
	// validate: document: /text: type: got number, want string
}
