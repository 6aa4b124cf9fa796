package main

import (
	"fmt"

	"ferry/platform"
	"ferry/proto"
)

var idUsage = usage{
	name: "id", synopsis: "[--json]",
	help: "Print this device's ID, creating the device's identity on first use.\nGive the ID to your other devices: `ferry device add ID` there.",
}

func runID(g *globals, args []string) int {
	fs := newFlagSet("id")
	asJSON := jsonFlag(fs, "{id}")
	if _, code, ok := g.parse(idUsage, fs, args, 0, 0); !ok {
		return code
	}
	id, err := deviceID(g.home)
	if err != nil {
		return g.fail("id", err, "")
	}
	if *asJSON {
		return g.printJSON(map[string]string{"id": id.String()})
	}
	fmt.Fprintln(g.stdout, id)
	return exitOK
}

// deviceID returns this device's ID, creating its key if needed.
func deviceID(home string) (proto.DeviceID, error) {
	_, pub, err := platform.LoadOrCreateKey(home)
	if err != nil {
		return proto.DeviceID{}, err
	}
	return proto.DeviceID(pub), nil
}
