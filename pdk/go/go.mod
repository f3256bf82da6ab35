module github.com/splicehq/splice/pdk/go

go 1.26
