module github.com/splicehq/splice/testdata/conformance/extism-go

go 1.26

require github.com/extism/go-pdk v1.1.3
