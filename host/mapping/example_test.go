package mapping_test

import (
	"fmt"

	"github.com/splicehq/splice/host/mapping"
)

func ExampleCompile() {
	tpl, err := mapping.Compile([]byte(`{"channel":"#orders","text":"New order {{trigger.order.id}} by {{trigger.order.customer.name}}","total":"{{trigger.order.total}}"}`))
	if err != nil {
		panic(err)
	}
	out, missing := tpl.Eval([]byte(`{"trigger":{"order":{"id":42,"total":19.5,"customer":{"name":"Ann"}}}}`))
	fmt.Println(string(out), missing)
	// Output:
	// {"channel":"#orders","text":"New order 42 by Ann","total":19.5} []
}
