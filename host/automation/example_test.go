package automation_test

import (
	"fmt"

	"github.com/splicehq/splice/host/automation"
)

func ExampleCompile() {
	a, err := automation.Decode([]byte(`{"name": "big orders to chat",
	  "trigger": {"appKey": "shop", "triggerKey": "new-order"},
	  "steps": [
	    {"id": "big", "filter": "trigger.order.total >= 100"},
	    {"id": "notify", "appKey": "chat", "actionKey": "send-message",
	     "inputParams": {"text": "Big order {{trigger.order.id}}"}}]}`))
	if err != nil {
		panic(err)
	}
	p, err := automation.Compile(a)
	if err != nil {
		panic(err)
	}
	ok, _ := p.Steps[0].Condition.Eval(map[string]any{"trigger": map[string]any{"order": map[string]any{"id": 7, "total": 250}}})
	input, _ := p.Steps[1].Input.Eval([]byte(`{"trigger":{"order":{"id":7,"total":250}}}`))
	fmt.Println(ok, string(input))
	// Output:
	// true {"text":"Big order 7"}
}
