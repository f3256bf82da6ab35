package kv_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/splicehq/splice/host/kv"
)

func ExampleDB_Write() {
	data, err := os.MkdirTemp("", "splice-kv-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(data)

	db, err := kv.Open(kv.Options{Dir: filepath.Join(data, "envs", "development")})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	// Write returns once both puts are fsynced, in one transaction.
	ctx := context.Background()
	if err := db.Write(ctx,
		kv.Put([]byte("event/0001"), []byte(`{"id":"a"}`)),
		kv.Put([]byte("event/0002"), []byte(`{"id":"b"}`)),
	); err != nil {
		log.Fatal(err)
	}
	v, err := db.Get([]byte("event/0002"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(v))

	kvs, next, err := db.Scan([]byte("event/"), nil, 10)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range kvs {
		fmt.Printf("%s = %s\n", p.Key, p.Value)
	}
	fmt.Println("more:", next != nil)
	// Output:
	// {"id":"b"}
	// event/0001 = {"id":"a"}
	// event/0002 = {"id":"b"}
	// more: false
}
