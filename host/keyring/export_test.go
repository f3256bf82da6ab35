package keyring

// Exported for tests only.

// Record layout offsets, for tampering tests.
const (
	HeaderLen = headerLen
	NonceSize = nonceSize
	TagSize   = tagSize
)

// NewDataKeyForTest returns a DataKey for known bytes, so tests can look for them in output.
func NewDataKeyForTest(raw []byte) (*DataKey, error) { return newDataKey(raw) }
