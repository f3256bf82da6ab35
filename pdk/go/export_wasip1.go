//go:build wasip1

package pdk

//lint:file-ignore U1000 the host calls these through //go:wasmexport, which staticcheck does not see

// The exports of the connector contract (../ABI.md, "Exports"). Each reads
// the call's input, runs the registered connector and sets the output, or
// sets the error and returns 1.

//go:wasmexport describe
func exportDescribe() int32 { return run("describe", false) }

//go:wasmexport auth
func exportAuth() int32 { return run("auth", true) }

//go:wasmexport trigger
func exportTrigger() int32 { return run("trigger", true) }

//go:wasmexport action
func exportAction() int32 { return run("action", true) }

//go:wasmexport transform
func exportTransform() int32 { return run("transform", true) }

func run(export string, withInput bool) int32 {
	var input []byte
	if withInput {
		input = Input()
	}
	out, err := serve(export, input)
	if err != nil {
		msg := err.Error()
		if msg == "" {
			msg = "pdk: " + export + " failed"
		}
		SetError(msg)
		return 1
	}
	Output(out)
	return 0
}
