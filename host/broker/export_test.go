package broker

// ExpandPlaceholders exposes the placeholder scanner to the tests.
var ExpandPlaceholders = expandPlaceholders

// EncodeResponse exposes the hand-written response encoder to the tests.
var EncodeResponse = encodeResponse
