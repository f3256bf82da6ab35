package keyring_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/splicehq/splice/host/keyring"
)

// ExampleKeyring seals a consumer's credential, rotates the environment's data key, and re-seals
// the record lazily.
func ExampleKeyring() {
	dir, err := os.MkdirTemp("", "keyring")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	// First start: the master key file is generated with 0600 permissions.
	master, err := keyring.LoadMaster(keyring.MasterOptions{File: filepath.Join(dir, "master.key"), Generate: true})
	if err != nil {
		panic(err)
	}

	// One data key per environment; the caller stores the sealed form with the environment.
	sealedKey, dataKey, err := master.NewDataKey()
	if err != nil {
		panic(err)
	}
	fmt.Println("sealed data key bytes:", len(sealedKey))

	kr, err := keyring.NewKeyring(dataKey)
	if err != nil {
		panic(err)
	}
	// The AAD binds the record to its environment, consumer and credential key.
	aad := []byte("env/prod\x00consumer/42\x00slack.token")
	record, err := kr.Seal([]byte("xoxb-secret"), aad)
	if err != nil {
		panic(err)
	}
	if _, err := kr.Open(record, []byte("env/prod\x00consumer/43\x00slack.token")); err != nil {
		fmt.Println("moved to another consumer:", err)
	}

	// Rotation: a new data key becomes current; old records still open and need re-sealing.
	_, next, err := master.NewDataKey()
	if err != nil {
		panic(err)
	}
	if err := kr.Rotate(next); err != nil {
		panic(err)
	}
	fmt.Println("needs reseal:", kr.NeedsReseal(record))
	record, err = kr.Reseal(record, aad)
	if err != nil {
		panic(err)
	}
	fmt.Println("needs reseal after Reseal:", kr.NeedsReseal(record))
	secret, err := kr.Open(record, aad)
	if err != nil {
		panic(err)
	}
	fmt.Println("opened:", string(secret))
	// Output:
	// sealed data key bytes: 69
	// moved to another consumer: keyring: sealed data failed authentication
	// needs reseal: true
	// needs reseal after Reseal: false
	// opened: xoxb-secret
}
