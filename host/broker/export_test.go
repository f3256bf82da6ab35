package broker

// ExpandPlaceholders exposes the placeholder scanner to the tests.
var ExpandPlaceholders = expandPlaceholders
