// Command chat is the Splice connector "chat", for a Slack-like chat API: the
// action send-message posts a message to a channel, and the pure transform
// format-order turns an order into a message for it (the transform step of
// Splice's demo and of workload W1 of the load benchmark). See README.md.
//
// The credential has a secret token, which the host injects as
// "Authorization: Bearer <token>", and a non-secret baseUrl, which the
// request URL names as the placeholder {{credential.baseUrl}}; the connector
// never sees either value (pdk/ABI.md, "Outbound HTTP").
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o chat.wasm .
//
// # Why user text is written with { escaped
//
// The host replaces {{credential.<field>}} placeholders anywhere in a request
// body that it sends with a credential. A message whose text holds
// "{{credential.token}}" would otherwise have the host post the secret token
// into the channel for everyone to read. The request body writes every "{"
// inside a string as the JSON escape \u007b, which the chat API decodes back
// to "{" and the host's placeholder scanner never matches.
package main

import pdk "github.com/splicehq/splice/pdk/go"

// Limits of send-message's params, the same as in sendMessageInputSchema
// (TestSchemasMatchLimits holds them together).
const (
	maxChannelRunes = 80
	maxTextRunes    = 4000
)

// maxReplyBytes is how much of a reply body the connector reads: a larger 2xx
// body is not parsed (messageId is null). It is also the manifest's request
// for httpResponseBytes.
const maxReplyBytes = 64 << 10

// connector is the declaration the module serves; tests call it natively.
var connector = pdk.Connector{
	AppKey:      "chat",
	Name:        "Chat",
	Version:     "1.0.0",
	Description: "Posts messages to a Slack-like chat API (POST <baseUrl>/api/chat.postMessage with a bearer token), and formats orders as chat messages.",
	Auth: pdk.Auth{
		Type:   pdk.AuthAPIKey,
		In:     "header",
		Name:   "Authorization",
		Format: "Bearer {{credential.token}}",
		Fields: []pdk.AuthField{
			{
				Key:         "token",
				Label:       "API token",
				Description: "The chat API's bearer token. The host sends it as \"Authorization: Bearer <token>\"; the connector never sees it.",
				Secret:      true,
			},
			{
				Key:         "baseUrl",
				Label:       "Base URL",
				Description: "The chat API's base URL, without a trailing slash, e.g. https://chat.example.com (http://127.0.0.1:PORT in development). Its host must be one of the connector's hosts.",
			},
		},
	},
	Hosts: []string{"127.0.0.1", "localhost", "chat.example.com"},
	Actions: []pdk.Action{{
		Key:          "send-message",
		Name:         "Send message",
		Description:  "Posts a message to a channel, or as a reply in a thread, with the step's idempotencyKey as the Idempotency-Key header.",
		InputSchema:  sendMessageInputSchema,
		OutputSchema: sendMessageOutputSchema,
		Handler:      pdk.Handle(sendMessage),
	}},
	Transforms: []pdk.Transform{{
		Key:          "format-order",
		Name:         "Format order",
		Description:  "Turns an order (under \"order\", or the input itself) into a chat message: {\"channel\": \"#orders\", \"text\": \"New order <id> by <customer.name>, total <total>\"}.",
		InputSchema:  formatOrderInputSchema,
		OutputSchema: messageSchema,
		Handler:      pdk.Handle(formatOrder),
	}},
	Limits: pdk.Limits{HTTPCalls: 1, HTTPResponseBytes: maxReplyBytes},
}

func init() { pdk.Register(connector) }

func main() {}

const sendMessageInputSchema = `{
  "type": "object",
  "required": ["channel", "text"],
  "additionalProperties": false,
  "properties": {
    "channel": {"type": "string", "minLength": 1, "maxLength": 80, "description": "The channel to post to, e.g. \"#orders\"."},
    "text": {"type": "string", "minLength": 1, "maxLength": 4000, "description": "The message text."},
    "threadId": {"type": "string", "description": "The id of the thread's first message, to reply in that thread; empty or absent posts a new message."}
  }
}`

const sendMessageOutputSchema = `{
  "type": "object",
  "required": ["ok", "status", "messageId"],
  "additionalProperties": false,
  "properties": {
    "ok": {"const": true},
    "status": {"type": "integer", "minimum": 200, "maximum": 299, "description": "The chat API's HTTP status."},
    "messageId": {"type": ["string", "null"], "description": "The id (or else ts) member of the chat API's JSON reply; null when it has neither."}
  }
}`

const formatOrderInputSchema = `{
  "type": "object",
  "description": "An order, under \"order\" or as the input itself, and an optional channel.",
  "properties": {
    "channel": {"type": "string", "minLength": 1, "maxLength": 80, "description": "The channel of the message; \"#orders\" when absent."}
  },
  "anyOf": [
    {"required": ["order"], "properties": {"order": {"$ref": "#/$defs/order"}}},
    {"$ref": "#/$defs/order"}
  ],
  "$defs": {
    "order": {
      "type": "object",
      "required": ["id"],
      "properties": {
        "id": {"type": ["string", "number"]},
        "customer": {"type": ["object", "null"], "properties": {"name": {"description": "Shown as text; a string, or any value as its JSON."}}},
        "total": {"type": ["number", "string", "null"], "description": "Shown as written: 12.50 stays 12.50."},
        "lines": {"type": ["array", "null"]}
      }
    }
  }
}`

const messageSchema = `{
  "type": "object",
  "required": ["channel", "text"],
  "properties": {
    "channel": {"type": "string", "minLength": 1, "maxLength": 80},
    "text": {"type": "string", "minLength": 1, "maxLength": 4000}
  }
}`
