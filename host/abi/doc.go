// Package abi owns the wire types of the connector contract: the Go mirror of the connector
// manifest (schemas/connector-manifest.schema.json) and the JSON envelopes that the standard
// exports describe, auth, trigger, action and transform take and return (DESIGN.md, "Connector
// contract"; pdk/ABI.md, "Exports"). It owns nothing else.
//
// It does not validate: decoding a document into these types checks its shape, not its
// contract. Package validate checks manifests against the normative schema and returns a
// [Manifest] only when it is valid. Calling guests is package sandbox's job, brokering their
// HTTP requests package broker's. The package imports only the standard library, so that every
// other package, and tests, can use it.
//
// Values of these types are plain data: safe for concurrent reads, and the caller synchronizes
// writes.
//
// # Names
//
// JSON tags are the schema's names (appKey, tokenUrl, idempotencyKey). Go names use
// initialisms (AppKey, TokenURL, IdempotencyKey). Fields that hold a JSON Schema or an arbitrary
// JSON value (inputSchema, params, state, output) are [encoding/json.RawMessage], kept byte for
// byte as the connector wrote them, so that nothing is lost or reordered on the way through.
//
// # Why Limits fields are pointers
//
// A manifest's limits are requests, and a missing request ("no opinion") differs from any
// value, including httpCalls 0 ("no outbound requests"). Pointers keep that difference; the
// sandbox turns requests into effective limits, min(policy, request).
package abi
