package schemas_test

import (
	"encoding/json"
	"fmt"
	"io/fs"

	"github.com/splicehq/splice/schemas"
)

func Example() {
	data, err := fs.ReadFile(schemas.FS, schemas.ManifestFile)
	if err != nil {
		fmt.Println(err)
		return
	}
	var doc struct {
		ID       string   `json:"$id"`
		Required []string `json:"required"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(doc.ID)
	fmt.Println(doc.Required)
	// Output:
	// https://splice.dev/schemas/connector-manifest.schema.json
	// [appKey name version auth hosts]
}
