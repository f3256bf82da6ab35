package credential

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/splicehq/splice/host/keyring"
	"github.com/splicehq/splice/host/ledger"
)

// Limits on what one credential may hold.
const (
	MaxKeyBytes     = 128      // consumer and credential keys
	MaxSecretsBytes = 64 << 10 // the secrets of one credential, as JSON
)

var (
	// ErrNotFound is returned for a credential that is not stored (for this consumer).
	ErrNotFound = errors.New("credential: not found")
	// ErrInvalid is returned for a credential that cannot be stored as given.
	ErrInvalid = errors.New("credential: invalid")
)

// The ledger objects of the package: each credential (scoped to its consumer), each sealed data key
// (the environment's, by id) and the id of the current data key.
const (
	kindCredential = "credential"
	kindDataKey    = "datakey"
)

var currentKeyName = ledger.ObjectKey{Kind: "meta", ID: "datakey"}

// sealedKey is the stored form of a data key; current the stored pointer to the current one.
type sealedKey struct {
	Sealed []byte `json:"sealed"`
}

type current struct {
	ID string `json:"id"`
}

// Credential is a consumer's credential for one app, without its secrets.
type Credential struct {
	Consumer  string            `json:"consumer"`
	Key       string            `json:"credentialKey"`
	AppKey    string            `json:"appKey"`
	Fields    map[string]string `json:"fields,omitempty"` // non-secret fields, returned by the API
	KeyID     string            `json:"keyId"`            // the data key that sealed the secrets
	CreatedAt time.Time         `json:"createdAt"`
	UpdatedAt time.Time         `json:"updatedAt"`
}

// record is what is stored: the credential and its sealed secrets.
type record struct {
	Credential
	Sealed []byte `json:"sealed"`
}

// Options configures Open.
type Options struct {
	// Env is the environment's name; it is bound into every sealed record.
	Env string `json:"env"`
	// Master seals the environment's data keys. Required.
	Master *keyring.Master `json:"-"`
	// Now is the clock; nil means time.Now.
	Now func() time.Time `json:"-"`
}

// Store is one environment's credentials.
type Store struct {
	db     ledger.Store
	master *keyring.Master
	ring   *keyring.Keyring
	env    string
	now    func() time.Time

	// decoded holds records as decoded, by consumer and key, with the object version they were
	// decoded from: a read whose stored version is the same skips the JSON decode. It holds
	// what the store holds (secrets still sealed), never an opened secret.
	mu      sync.Mutex
	decoded map[string]decodedRecord
}

type decodedRecord struct {
	version uint64
	r       record
}

// maxDecoded bounds Store.decoded; past it an entry is dropped at random.
const maxDecoded = 10_000

// Open returns the Store of the environment whose ledger is db, creating and storing its first
// data key when it has none. Every stored data key is opened with the master key, so that records
// sealed before a rotation still open.
//
// # Errors
//
// A keyring error (keyring.ErrWrongKey: the master key is not the one the environment was created
// with) or a ledger error.
func Open(ctx context.Context, db ledger.Store, opts Options) (*Store, error) {
	if opts.Master == nil || opts.Env == "" {
		return nil, fmt.Errorf("%w: options: env and master are required", ErrInvalid)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{db: db, master: opts.Master, env: opts.Env, now: opts.Now}
	var cur current
	o, err := db.Object(ctx, currentKeyName)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		if cur.ID, err = s.newDataKey(ctx, 0); err != nil {
			return nil, fmt.Errorf("credential: open %s: %w", opts.Env, err)
		}
	case err != nil:
		return nil, fmt.Errorf("credential: open %s: %w", opts.Env, err)
	default:
		if err := json.Unmarshal(o.Value, &cur); err != nil {
			return nil, fmt.Errorf("credential: open %s: current data key: %w", opts.Env, err)
		}
	}
	var currentKey *keyring.DataKey
	var old []*keyring.DataKey
	for p := (ledger.Page{Limit: ledger.MaxPageSize}); ; {
		objs, next, err := db.Objects(ctx, kindDataKey, "", p)
		if err != nil {
			return nil, fmt.Errorf("credential: open %s: %w", opts.Env, err)
		}
		for _, o := range objs {
			var sk sealedKey
			if err := json.Unmarshal(o.Value, &sk); err != nil {
				return nil, fmt.Errorf("credential: open %s: data key %s: %w", opts.Env, o.Key.ID, err)
			}
			dk, err := opts.Master.OpenDataKey(keyring.SealedKey(sk.Sealed))
			if err != nil {
				return nil, fmt.Errorf("credential: open %s: data key %s: %w", opts.Env, o.Key.ID, err)
			}
			if dk.ID() == cur.ID {
				currentKey = dk
			} else {
				old = append(old, dk)
			}
		}
		if next == "" {
			break
		}
		p.Cursor = next
	}
	if currentKey == nil {
		return nil, fmt.Errorf("credential: open %s: the current data key %s is not stored", opts.Env, cur.ID)
	}
	if s.ring, err = keyring.NewKeyring(currentKey, old...); err != nil {
		return nil, fmt.Errorf("credential: open %s: %w", opts.Env, err)
	}
	return s, nil
}

// newDataKey makes and stores a data key, then points the current key at it if the pointer is
// still at version ifVersion (0: absent). The key is stored before it is pointed at, so a crash
// in between leaves an unused key, never a pointer to a missing one.
func (s *Store) newDataKey(ctx context.Context, ifVersion uint64) (string, error) {
	sealed, dk, err := s.master.NewDataKey()
	if err != nil {
		return "", err
	}
	v, _ := json.Marshal(sealedKey{Sealed: sealed})
	if _, err := s.db.Put(ctx, ledger.ObjectKey{Kind: kindDataKey, ID: dk.ID()}, v, 0); err != nil {
		return "", fmt.Errorf("store data key: %w", err)
	}
	ptr, _ := json.Marshal(current{ID: dk.ID()})
	if _, err := s.db.Put(ctx, currentKeyName, ptr, ifVersion); err != nil {
		return "", fmt.Errorf("point at data key: %w", err)
	}
	if s.ring != nil {
		if err := s.ring.Rotate(dk); err != nil {
			return "", err
		}
	} else if s.ring, err = keyring.NewKeyring(dk); err != nil {
		return "", err
	}
	return dk.ID(), nil
}

// Rotate makes a new data key current, stored (sealed under the master key) before it is used.
// Records sealed by older keys still open, and are re-sealed under the new key the next time
// Secrets reads them.
func (s *Store) Rotate(ctx context.Context) error {
	o, err := s.db.Object(ctx, currentKeyName)
	if err != nil {
		return fmt.Errorf("credential: rotate %s: %w", s.env, err)
	}
	if _, err := s.newDataKey(ctx, o.Version); err != nil {
		return fmt.Errorf("credential: rotate %s: %w", s.env, err)
	}
	return nil
}

func recordKey(consumer, key string) ledger.ObjectKey {
	return ledger.ObjectKey{Kind: kindCredential, Consumer: consumer, ID: key}
}

// aad binds a sealed record to its environment, consumer and credential key.
func (s *Store) aad(consumer, key string) []byte {
	return []byte("splice/credential\x00" + s.env + "\x00" + consumer + "\x00" + key)
}

func checkKeys(consumer, key string) error {
	switch {
	case consumer == "" || key == "":
		return fmt.Errorf("%w: consumer and credential key are required", ErrInvalid)
	case len(consumer) > MaxKeyBytes || len(key) > MaxKeyBytes:
		return fmt.Errorf("%w: consumer or credential key longer than %d bytes", ErrInvalid, MaxKeyBytes)
	}
	return nil
}

// Put stores c and its secrets, replacing any credential with the same consumer and key (whose
// creation time it keeps). The secrets are sealed before anything is written.
func (s *Store) Put(ctx context.Context, c Credential, secrets map[string]string) error {
	if err := checkKeys(c.Consumer, c.Key); err != nil {
		return err
	}
	if c.AppKey == "" {
		return fmt.Errorf("%w: appKey is required", ErrInvalid)
	}
	plain, err := json.Marshal(secrets)
	if err != nil {
		return fmt.Errorf("credential: put %s: secrets: %w", c.Key, err)
	}
	if len(plain) > MaxSecretsBytes {
		return fmt.Errorf("%w: secrets of %d bytes, over %d", ErrInvalid, len(plain), MaxSecretsBytes)
	}
	sealed, err := s.ring.Seal(plain, s.aad(c.Consumer, c.Key))
	clear(plain)
	if err != nil {
		return fmt.Errorf("credential: put %s: %w", c.Key, err)
	}
	c.KeyID = s.ring.Current().ID()
	for range 8 {
		now := s.now().UTC()
		c.CreatedAt, c.UpdatedAt = now, now
		old, version, err := s.get(ctx, c.Consumer, c.Key)
		switch {
		case err == nil:
			c.CreatedAt = old.CreatedAt
		case !errors.Is(err, ErrNotFound):
			return err
		}
		err = s.write(ctx, record{Credential: c, Sealed: sealed}, version)
		if !errors.Is(err, ledger.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("credential: put %s: kept changing concurrently", c.Key)
}

// write stores r if its stored version is still version (0: absent).
func (s *Store) write(ctx context.Context, r record, version uint64) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("credential: put %s: %w", r.Key, err)
	}
	if _, err := s.db.Put(ctx, recordKey(r.Consumer, r.Key), b, version); err != nil {
		return fmt.Errorf("credential: put %s: %w", r.Key, err)
	}
	return nil
}

func (s *Store) get(ctx context.Context, consumer, key string) (record, uint64, error) {
	var r record
	if err := checkKeys(consumer, key); err != nil {
		return r, 0, err
	}
	o, err := s.db.Object(ctx, recordKey(consumer, key))
	if errors.Is(err, ledger.ErrNotFound) {
		return r, 0, ErrNotFound
	}
	if err != nil {
		return r, 0, fmt.Errorf("credential: get %s: %w", key, err)
	}
	ck := consumer + "\x00" + key
	s.mu.Lock()
	d, ok := s.decoded[ck]
	s.mu.Unlock()
	if ok && d.version == o.Version {
		return d.r.clone(), o.Version, nil
	}
	if err := json.Unmarshal(o.Value, &r); err != nil {
		return r, 0, fmt.Errorf("credential: get %s: corrupt record: %w", key, err)
	}
	s.mu.Lock()
	if s.decoded == nil {
		s.decoded = map[string]decodedRecord{}
	}
	for k := range s.decoded {
		if len(s.decoded) < maxDecoded {
			break
		}
		delete(s.decoded, k)
	}
	s.decoded[ck] = decodedRecord{version: o.Version, r: r.clone()}
	s.mu.Unlock()
	return r, o.Version, nil
}

// clone is a deep copy of r: callers may change what they get.
func (r record) clone() record {
	r.Fields = maps.Clone(r.Fields)
	r.Sealed = bytes.Clone(r.Sealed)
	return r
}

// Get returns a consumer's credential, without its secrets. Another consumer's credential is
// ErrNotFound, as is one that does not exist.
func (s *Store) Get(ctx context.Context, consumer, key string) (Credential, error) {
	r, _, err := s.get(ctx, consumer, key)
	return r.Credential, err
}

// Secrets opens a credential's secrets, for the HTTP broker only. A record sealed by an older data
// key is re-sealed under the current one.
func (s *Store) Secrets(ctx context.Context, consumer, key string) (map[string]string, error) {
	r, version, err := s.get(ctx, consumer, key)
	if err != nil {
		return nil, err
	}
	secrets, err := s.openSecrets(r, consumer, key)
	if err != nil {
		return nil, err
	}
	if s.ring.NeedsReseal(r.Sealed) {
		plain, _ := json.Marshal(secrets)
		defer clear(plain)
		if r.Sealed, err = s.ring.Seal(plain, s.aad(consumer, key)); err == nil {
			r.KeyID = s.ring.Current().ID()
			err = s.write(ctx, r, version)
		}
		// A record changed since it was read was re-sealed by whoever changed it.
		if err != nil && !errors.Is(err, ledger.ErrConflict) {
			return nil, fmt.Errorf("credential: re-seal %s: %w", key, err)
		}
	}
	return secrets, nil
}

// SwapSecrets replaces a credential's secrets with next if they are still old, and reports
// whether it did: false when another writer changed them since old was read (an OAuth 2.0 refresh
// by another process, say). The broker stores refreshed tokens with it.
func (s *Store) SwapSecrets(ctx context.Context, consumer, key string, old, next map[string]string) (bool, error) {
	r, version, err := s.get(ctx, consumer, key)
	if err != nil {
		return false, err
	}
	cur, err := s.openSecrets(r, consumer, key)
	if err != nil {
		return false, err
	}
	if !maps.Equal(cur, old) {
		return false, nil
	}
	plain, err := json.Marshal(next)
	if err != nil {
		return false, fmt.Errorf("credential: swap %s: %w", key, err)
	}
	if len(plain) > MaxSecretsBytes {
		return false, fmt.Errorf("%w: secrets of %d bytes, over %d", ErrInvalid, len(plain), MaxSecretsBytes)
	}
	sealed, err := s.ring.Seal(plain, s.aad(consumer, key))
	clear(plain)
	if err != nil {
		return false, fmt.Errorf("credential: swap %s: %w", key, err)
	}
	// The write is a compare-and-swap on the version read above: a write in between makes it
	// fail, and the swap reports false, as it should.
	r.Sealed, r.KeyID, r.UpdatedAt = sealed, s.ring.Current().ID(), s.now().UTC()
	if err := s.write(ctx, r, version); err != nil {
		if errors.Is(err, ledger.ErrConflict) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// openSecrets opens the secrets of a record read by get.
func (s *Store) openSecrets(r record, consumer, key string) (map[string]string, error) {
	plain, err := s.ring.Open(r.Sealed, s.aad(consumer, key))
	if err != nil {
		return nil, fmt.Errorf("credential: secrets of %s: %w", key, err)
	}
	defer clear(plain)
	var secrets map[string]string
	if err := json.Unmarshal(plain, &secrets); err != nil {
		return nil, fmt.Errorf("credential: secrets of %s: corrupt", key)
	}
	return secrets, nil
}

// List returns one page of a consumer's credentials (without secrets), in credential key order,
// and the cursor of the next page ("" when there is none).
func (s *Store) List(ctx context.Context, consumer string, p ledger.Page) ([]Credential, string, error) {
	if consumer == "" {
		return nil, "", fmt.Errorf("%w: consumer is required", ErrInvalid)
	}
	objs, next, err := s.db.Objects(ctx, kindCredential, consumer, p)
	if err != nil {
		return nil, "", fmt.Errorf("credential: list: %w", err)
	}
	out := make([]Credential, 0, len(objs))
	for _, o := range objs {
		var r record
		if err := json.Unmarshal(o.Value, &r); err != nil {
			return nil, "", fmt.Errorf("credential: list: corrupt record %q: %w", o.Key.ID, err)
		}
		out = append(out, r.Credential)
	}
	return out, next, nil
}

// Delete removes a consumer's credential; deleting one that does not exist is ErrNotFound.
func (s *Store) Delete(ctx context.Context, consumer, key string) error {
	_, version, err := s.get(ctx, consumer, key)
	if err != nil {
		return err
	}
	if err := s.db.Delete(ctx, recordKey(consumer, key), version); err != nil {
		if errors.Is(err, ledger.ErrNotFound) {
			return ErrNotFound
		}
		return fmt.Errorf("credential: delete %s: %w", key, err)
	}
	return nil
}

// Fields returns the non-secret fields of consumer's credential key (the broker's FieldReader).
//
// # Errors
//
// [ErrNotFound]; ledger errors.
func (s *Store) Fields(ctx context.Context, consumer, key string) (map[string]string, error) {
	c, err := s.Get(ctx, consumer, key)
	if err != nil {
		return nil, err
	}
	return c.Fields, nil
}

// Seal encrypts a secret of consumer's that is kept outside the credential records (an
// automation's webhook signing key) with the environment's current data key, bound to the
// consumer and to purpose: it opens only through Open with the same two. The result is text,
// to be stored as is.
func (s *Store) Seal(consumer, purpose string, plaintext []byte) (string, error) {
	sealed, err := s.ring.Seal(plaintext, s.sealAAD(consumer, purpose))
	if err != nil {
		return "", fmt.Errorf("credential: seal %s: %w", purpose, err)
	}
	return base64.StdEncoding.EncodeToString(sealed), nil
}

// Open decrypts what Seal returned for the same consumer and purpose.
//
// # Errors
//
// [ErrInvalid] for text Seal did not make; a keyring error when it was sealed for another
// consumer or purpose, or with a data key this environment does not have.
func (s *Store) Open(consumer, purpose, sealed string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return nil, fmt.Errorf("%w: sealed %s is not base64", ErrInvalid, purpose)
	}
	b, err := s.ring.Open(raw, s.sealAAD(consumer, purpose))
	if err != nil {
		return nil, fmt.Errorf("credential: open %s: %w", purpose, err)
	}
	return b, nil
}

func (s *Store) sealAAD(consumer, purpose string) []byte {
	return []byte("splice/sealed\x00" + s.env + "\x00" + consumer + "\x00" + purpose)
}
