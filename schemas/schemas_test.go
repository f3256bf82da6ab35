package schemas_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"strings"
	"testing"

	"github.com/splicehq/splice/schemas"
)

// TestFiles checks that every embedded schema is one JSON object declaring draft 2020-12 and an
// absolute $id under https://splice.dev/schemas/ that ends with its file name.
func TestFiles(t *testing.T) {
	t.Parallel()
	names, err := fs.Glob(schemas.FS, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no schema embedded")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := fs.ReadFile(schemas.FS, name)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(data))
			var doc struct {
				Schema string `json:"$schema"`
				ID     string `json:"$id"`
			}
			if err := dec.Decode(&doc); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if dec.More() {
				t.Fatal("data after the schema object")
			}
			if doc.Schema != "https://json-schema.org/draft/2020-12/schema" {
				t.Errorf("$schema = %q, want draft 2020-12", doc.Schema)
			}
			if want := "https://splice.dev/schemas/" + name; doc.ID != want {
				t.Errorf("$id = %q, want %q", doc.ID, want)
			}
		})
	}
}

// TestManifest checks that the manifest constants name an embedded file and its $id.
func TestManifest(t *testing.T) {
	t.Parallel()
	data, err := fs.ReadFile(schemas.FS, schemas.ManifestFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(schemas.ManifestID, "/"+schemas.ManifestFile) {
		t.Errorf("ManifestID %q does not end with ManifestFile %q", schemas.ManifestID, schemas.ManifestFile)
	}
	if !bytes.Contains(data, []byte(`"$id": "`+schemas.ManifestID+`"`)) {
		t.Errorf("%s does not declare $id %q", schemas.ManifestFile, schemas.ManifestID)
	}
}
