// Package keyring is the host's envelope encryption for consumers' credentials: a master key
// seals one data key per environment, and data keys seal records (DESIGN.md, "Credentials").
//
// It owns loading (or generating) the master key, making, sealing and opening data keys, the
// byte formats of sealed data keys and sealed records, and choosing a data key by id during
// rotation. It leaves storing sealed keys and records, deciding which environment, consumer and
// credential a record belongs to (the caller passes them as additional authenticated data), and
// when to rotate, to the packages above it (credential, server). It imports only the standard
// library.
//
// [*Master], [*DataKey] and [*Keyring] are safe for concurrent use: Master and DataKey are
// immutable after construction, and a Keyring guards its keys with one lock. [SealedKey] is a
// plain value.
//
// # Formats
//
// A sealed data key ([SealedKey]) is 69 bytes:
//
//	version (1) | master key id (8) | nonce (12) | AES-256-GCM ciphertext of the 32-byte key + tag (48)
//
// A sealed record is:
//
//	version (1) | data key id (8) | nonce (12) | AES-256-GCM ciphertext + tag (16)
//
// Both use format version 1. The version byte and the key id are authenticated (they are part
// of the GCM additional data), so changing either makes opening fail. A key id is the first 8
// bytes of the SHA-256 of the key, printed as 16 hex digits; it names a key without revealing
// it.
//
// # Why random nonces
//
// Every seal draws a fresh 96-bit nonce from crypto/rand ([crypto/cipher.NewGCMWithRandomNonce]),
// so no nonce state needs to be stored or coordinated between processes. The price is a limit of
// about 2^32 seals per data key before the risk of a nonce collision stops being negligible;
// credentials are written far less often than that, and rotation ([Keyring.Rotate]) starts a
// fresh key.
//
// # Why the caller's AAD
//
// [DataKey.Seal] and [DataKey.Open] take additional authenticated data, which the caller sets to
// the record's identity (environment, consumer, credential key). A sealed record copied to
// another consumer then fails to open with [ErrTampered] instead of handing one consumer
// another's secret.
//
// # Why rotation is lazy
//
// Each sealed record carries the id of the data key that sealed it ([KeyID]). A [Keyring] keeps
// the current data key and the older ones, opens a record with whichever key sealed it, and
// reports with [Keyring.NeedsReseal] that a record should be re-sealed under the current key;
// the caller does that when it next touches the record ([Keyring.Reseal]), so rotation never
// has to rewrite every record at once.
//
// # Notes
//
// No error, String, GoString or Format of this package prints key bytes or plaintext: keys print
// as "keyring.Master(<id>)" and "keyring.DataKey(<id>)", and decoding errors never echo their
// input. Neither Master nor DataKey keeps the raw key bytes after construction; only the AES
// key schedule inside the cipher remains.
package keyring
