module github.com/splicehq/splice/connectors/chat

go 1.26

require github.com/splicehq/splice/pdk/go v0.0.0

replace github.com/splicehq/splice/pdk/go => ../../pdk/go
